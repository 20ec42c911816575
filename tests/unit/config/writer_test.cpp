// to_yaml is what bench, chaos and the integration fixtures hand chargerecond: whatever they
// put in a config must reach the daemon unchanged, so every config read back from its own
// YAML must equal the one written.
#include "config/writer.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <string>
#include <vector>

#include "config/diff.hpp"
#include "config/loader.hpp"

namespace chargerecon {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// The struct's defaults plus the three keys no configuration can do without.
config defaults_with_mandatory_keys() {
  config c;
  c.crm.base_url = "https://crm.example.net/crmapi/rest/v2/";
  c.billing.url = "https://billing.example.net/charges";
  c.ledger.path = "/var/lib/chargerecon/ledger.db";
  return c;
}

// Password login with every other key away from its default. The free-text keys hold what YAML
// would misread unquoted: a leading '*' (an alias) or '&' (an anchor), ': ' (a mapping),
// ' #' (a comment), a leading '[' (a list), and list items spelled like null, a bool, a number.
// The URLs cannot carry those: the loader refuses a #fragment, and a space is no URL.
config every_key_set() {
  config c;
  c.crm.base_url = "http://crm.example.net:8080/crmapi/rest/v2/";
  c.crm.username = "*operator";
  c.crm.password_file = "/run/credentials/crm password";
  c.crm.organisation = "ACME: Billing #1";
  c.crm.unit = "&east";
  c.crm.ca_file = "/etc/ssl/private CA/ca #2.pem";
  c.crm.timeout = 45s;
  c.crm.connect_timeout = 1500ms;
  c.crm.allow_plain_http = true;
  c.crm.token_lifetime = 2h;
  c.crm.max_response_size = 3 * 1024 * 1024;
  c.poll.interval = 90s;
  c.poll.charge_status = {charge_list_filter::not_processed, charge_list_filter::processed};
  c.poll.page_size = 7;
  c.billing.url = "http://billing.example.net/bill";
  c.billing.token_file = "billing token: v2";
  c.billing.concurrency = 3;
  c.billing.timeout = 1min;
  c.billing.connect_timeout = 250ms;
  c.billing.allow_plain_http = true;
  c.billing.ca_file = "\"quoted\" ca.pem";
  c.billing.bill_statuses = {crm_charge_status::declined, crm_charge_status::approved, crm_charge_status::bad_request,
                             crm_charge_status::rejected};
  c.billing.backoff_initial = 20ms;
  c.billing.backoff_max = 3h;
  c.ack.batch_size = 9;
  c.ack.linger = 0ms;
  c.ack.max_attempts = 1000;
  c.ack.backoff_initial = 250ms;
  c.ack.backoff_max = 24h;
  c.ack.done_error_codes = {"ALREADY_ACKNOWLEDGED", "null", "~", "true", "*", "42", "a, b"};
  c.ledger.path = "/var/lib/charge recon/ledger #1.db";
  c.log.level = obs::log_level::trace;
  c.log.format = obs::log_format::text;
  c.metrics.listen = "[::1]:9465";
  c.shutdown.deadline = 100ms;
  return c;
}

// The config `c` gives when its YAML is read back; a failure shows the problems and the text.
config read_back(const config& c) {
  const std::string yaml = to_yaml(c);
  auto r = parse_config(yaml, "written.yaml");
  if (!r) {
    ADD_FAILURE() << r.error().to_error().diagnostic << "\n--- written\n" << yaml;
    return {};
  }
  return *r;
}

void expect_round_trip(const config& c) {
  const config back = read_back(c);
  EXPECT_THAT(changed_keys(c, back), IsEmpty()) << to_yaml(c);
  EXPECT_TRUE(back == c) << to_yaml(c);
}

TEST(config_writer, the_defaults_read_back_equal) { expect_round_trip(defaults_with_mandatory_keys()); }

TEST(config_writer, a_config_with_every_key_changed_reads_back_equal) {
  const config c = every_key_set();
  // Only the Web API key file is left at its default: it goes with no username (next test).
  std::vector<std::string> unchanged;
  const auto changed = changed_keys(config{}, c);
  for (const auto& key : config_key_paths())
    if (std::find(changed.begin(), changed.end(), key) == changed.end()) unchanged.push_back(key);
  ASSERT_THAT(unchanged, ElementsAre("crm.web_api_key_file"));
  expect_round_trip(c);
}

TEST(config_writer, a_web_api_key_login_reads_back_equal) {
  config c = every_key_set();
  c.crm.username.clear();
  c.crm.password_file.clear();
  c.crm.organisation.clear();
  c.crm.web_api_key_file = "- crm web api key #2";
  c.crm.max_response_size = 70000;  // no KiB multiple: written in bytes
  c.log.format = obs::log_format::json;
  c.metrics.listen.clear();  // no metrics endpoint
  c.ack.done_error_codes.clear();
  expect_round_trip(c);
}

TEST(config_writer, an_unset_log_format_is_written_auto_and_stays_unset) {
  config c = defaults_with_mandatory_keys();
  c.log.format.reset();
  EXPECT_THAT(to_yaml(c), HasSubstr("format: auto\n"));
  EXPECT_FALSE(read_back(c).log.format.has_value());
}

TEST(config_writer, writes_every_key_the_loader_reads_in_its_order) {
  const YAML::Node root = YAML::Load(to_yaml(defaults_with_mandatory_keys()));
  std::vector<std::string> written;
  for (const auto& section : root)
    for (const auto& key : section.second) written.push_back(section.first.Scalar() + "." + key.first.Scalar());
  EXPECT_EQ(written, config_key_paths());
}

// Tests of the daemon's refusals write such configs on purpose: each value must reach the
// loader as it was set, and be refused for itself.
TEST(config_writer, values_the_loader_refuses_are_written_as_they_are) {
  config c = defaults_with_mandatory_keys();
  c.poll.page_size = 500;
  c.billing.url = "https://billing.example.net/bill#part";
  const auto r = parse_config(to_yaml(c), "written.yaml");
  ASSERT_FALSE(r);
  std::vector<std::string> problems;
  for (const auto& p : r.error().problems) problems.push_back(p.key + ": " + p.message);
  EXPECT_THAT(problems, ElementsAre("poll.page_size: 500 is out of range 1..50",
                                    "billing.url: must not have a #fragment: "
                                    "'https://billing.example.net/bill#part'"));
}

}  // namespace
}  // namespace chargerecon
