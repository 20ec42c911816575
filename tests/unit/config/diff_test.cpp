#include "config/diff.hpp"
#include "config/loader.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

namespace chargerecon {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(config_diff, equal_configs_change_nothing) {
  const config c;
  EXPECT_THAT(changed_keys(c, c), IsEmpty());
}

TEST(config_diff, names_each_changed_key) {
  config a, b;
  b.poll.interval = std::chrono::seconds(5);
  b.billing.url = "https://billing.example.net/bill";
  b.log.level = obs::log_level::debug;
  EXPECT_THAT(changed_keys(a, b), ElementsAre("poll.interval", "billing.url", "log.level"));
}

TEST(config_diff, intervals_and_logging_apply_live_endpoints_need_a_restart) {
  EXPECT_TRUE(applies_live("poll.interval"));
  EXPECT_TRUE(applies_live("ack.linger"));
  EXPECT_TRUE(applies_live("log.format"));
  EXPECT_FALSE(applies_live("crm.base_url"));
  EXPECT_FALSE(applies_live("ledger.path"));
  EXPECT_FALSE(applies_live("billing.concurrency"));
}

// Every key the loader knows is compared: a new key cannot silently escape reload handling.
TEST(config_diff, covers_every_config_key) {
  config a;
  const auto keys = config_key_paths();
  std::vector<std::string> compared;
  // Change every field through a config that differs in each one.
  config b;
  b.crm.base_url = "x"; b.crm.username = "x"; b.crm.password_file = "x"; b.crm.web_api_key_file = "x";
  b.crm.organisation = "x"; b.crm.unit = "x"; b.crm.ca_file = "x"; b.crm.timeout = std::chrono::seconds(1);
  b.crm.connect_timeout = std::chrono::seconds(1); b.crm.allow_plain_http = true;
  b.crm.token_lifetime = std::chrono::minutes(1); b.crm.max_response_size = 1;
  b.poll.interval = std::chrono::seconds(1); b.poll.charge_status.push_back(charge_list_filter::not_processed);
  b.poll.page_size = 1; b.billing.url = "x"; b.billing.token_file = "x"; b.billing.concurrency = 1;
  b.billing.timeout = std::chrono::seconds(1); b.billing.connect_timeout = std::chrono::seconds(1);
  b.billing.allow_plain_http = true; b.billing.ca_file = "x"; b.billing.bill_statuses.clear();
  b.billing.backoff_initial = std::chrono::seconds(9); b.billing.backoff_max = std::chrono::seconds(9);
  b.ack.batch_size = 1; b.ack.linger = std::chrono::seconds(9); b.ack.max_attempts = 1;
  b.ack.backoff_initial = std::chrono::seconds(9); b.ack.backoff_max = std::chrono::seconds(9);
  b.ack.done_error_codes = {"x"}; b.ledger.path = "x"; b.log.level = obs::log_level::error;
  b.log.format = obs::log_format::json; b.metrics.listen = "x"; b.shutdown.deadline = std::chrono::seconds(1);
  const auto changed = changed_keys(a, b);
  for (const auto& k : keys)
    EXPECT_NE(std::find(changed.begin(), changed.end(), k), changed.end()) << k << " is not compared on reload";
}

}  // namespace
}  // namespace chargerecon
