// etc/chargerecon.yaml is the documentation of every key and the demo's configuration: it
// must load, and it must mention every key the loader knows, so the two cannot drift apart.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <string>

#include "config/loader.hpp"

namespace chargerecon {
namespace {

const std::string example_path = std::string(CHARGERECON_SOURCE_DIR) + "/etc/chargerecon.yaml";

TEST(example_config, is_valid) {
  auto r = load_config(example_path);
  ASSERT_TRUE(r) << r.error().to_error().diagnostic;
  // The demo talks to crm-sim and billing-fake on loopback.
  EXPECT_EQ(r->crm.base_url, "http://127.0.0.1:18080/crmapi/rest/v2/");
  EXPECT_FALSE(r->crm.allow_plain_http);
  EXPECT_FALSE(r->billing.allow_plain_http);
}

TEST(example_config, sets_every_key_the_loader_knows) {
  const YAML::Node root = YAML::LoadFile(example_path);
  const auto keys = config_key_paths();
  ASSERT_THAT(
      keys, ::testing::IsSupersetOf({"crm.base_url", "poll.page_size", "billing.bill_statuses", "ack.done_error_codes",
                                     "ledger.path", "log.format", "metrics.listen", "shutdown.deadline"}));
  for (const std::string& path : keys) {
    const auto dot = path.find('.');
    ASSERT_NE(dot, std::string::npos) << path;
    const std::string section = path.substr(0, dot);
    const std::string key = path.substr(dot + 1);
    ASSERT_TRUE(root[section].IsMap()) << "etc/chargerecon.yaml lacks the section " << section;
    EXPECT_TRUE(root[section][key].IsDefined()) << "etc/chargerecon.yaml does not document " << path;
  }
}

TEST(example_config, documents_the_defaults_of_the_structs) {
  // Where the example sets a value, it is the struct's default, except the demo's own values.
  auto r = load_config(example_path);
  ASSERT_TRUE(r) << r.error().to_error().diagnostic;
  const config d;
  const config& c = *r;
  EXPECT_EQ(c.crm.timeout, d.crm.timeout);
  EXPECT_EQ(c.crm.connect_timeout, d.crm.connect_timeout);
  EXPECT_EQ(c.crm.token_lifetime, d.crm.token_lifetime);
  EXPECT_EQ(c.crm.max_response_size, d.crm.max_response_size);
  EXPECT_EQ(c.poll.interval, d.poll.interval);
  EXPECT_EQ(c.poll.charge_status, d.poll.charge_status);
  EXPECT_EQ(c.poll.page_size, d.poll.page_size);
  EXPECT_EQ(c.billing.concurrency, d.billing.concurrency);
  EXPECT_EQ(c.billing.timeout, d.billing.timeout);
  EXPECT_EQ(c.billing.connect_timeout, d.billing.connect_timeout);
  EXPECT_EQ(c.billing.bill_statuses, d.billing.bill_statuses);
  EXPECT_EQ(c.billing.backoff_initial, d.billing.backoff_initial);
  EXPECT_EQ(c.billing.backoff_max, d.billing.backoff_max);
  EXPECT_EQ(c.ack.batch_size, d.ack.batch_size);
  EXPECT_EQ(c.ack.linger, d.ack.linger);
  EXPECT_EQ(c.ack.max_attempts, d.ack.max_attempts);
  EXPECT_EQ(c.ack.backoff_initial, d.ack.backoff_initial);
  EXPECT_EQ(c.ack.backoff_max, d.ack.backoff_max);
  EXPECT_EQ(c.ack.done_error_codes, d.ack.done_error_codes);
  EXPECT_EQ(c.log.level, d.log.level);
  EXPECT_EQ(c.log.format, d.log.format);
  EXPECT_EQ(c.metrics.listen, d.metrics.listen);
  EXPECT_EQ(c.shutdown.deadline, d.shutdown.deadline);
}

}  // namespace
}  // namespace chargerecon
