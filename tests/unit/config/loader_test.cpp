#include "config/loader.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "support/process.hpp"

namespace chargerecon {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// The smallest valid configuration: the mandatory keys, 8 lines. Tests append lines 9 on.
const std::string minimal =
    "crm:\n"                                                 // 1
    "  base_url: https://crm.example.net/crmapi/rest/v2/\n"  // 2
    "  username: chargerecon\n"                              // 3
    "  organisation: ACME\n"                                 // 4
    "billing:\n"                                             // 5
    "  url: https://billing.example.net/charges\n"           // 6
    "ledger:\n"                                              // 7
    "  path: /var/lib/chargerecon/ledger.db\n";              // 8

// Every problem of `yaml` as it is printed; empty when the configuration is valid.
std::vector<std::string> problems(const std::string& yaml) {
  auto r = parse_config(yaml, "test.yaml");
  std::vector<std::string> out;
  if (r) return out;
  for (const auto& p : r.error().problems) out.push_back(p.to_string());
  return out;
}

config valid(const std::string& yaml) {
  auto r = parse_config(yaml, "test.yaml");
  if (!r) {
    ADD_FAILURE() << r.error().to_error().diagnostic;
    return {};
  }
  return *r;
}

TEST(config_loader, minimal_configuration_takes_every_default) {
  const config c = valid(minimal);
  const config defaults;
  EXPECT_EQ(c.crm.base_url, "https://crm.example.net/crmapi/rest/v2/");
  EXPECT_EQ(c.crm.username, "chargerecon");
  EXPECT_EQ(c.crm.organisation, "ACME");
  EXPECT_EQ(c.crm.password_file, "");
  EXPECT_EQ(c.crm.unit, "");
  EXPECT_EQ(c.crm.timeout, 30s);
  EXPECT_EQ(c.crm.connect_timeout, 10s);
  EXPECT_FALSE(c.crm.allow_plain_http);
  EXPECT_EQ(c.crm.token_lifetime, 110min);
  EXPECT_EQ(c.crm.max_response_size, 16u * 1024 * 1024);
  EXPECT_EQ(c.poll.interval, 30s);
  EXPECT_THAT(c.poll.charge_status, ElementsAre(charge_list_filter::processed));
  EXPECT_EQ(c.poll.page_size, 50u);
  EXPECT_EQ(c.billing.url, "https://billing.example.net/charges");
  EXPECT_EQ(c.billing.token_file, "");
  EXPECT_EQ(c.billing.concurrency, 8u);
  EXPECT_EQ(c.billing.timeout, 30s);
  EXPECT_THAT(c.billing.bill_statuses, ElementsAre(crm_charge_status::approved));
  EXPECT_EQ(c.billing.backoff_initial, defaults.billing.backoff_initial);
  EXPECT_EQ(c.billing.backoff_max, defaults.billing.backoff_max);
  EXPECT_EQ(c.ack.batch_size, 50u);
  EXPECT_EQ(c.ack.linger, 200ms);
  EXPECT_EQ(c.ack.max_attempts, 10u);
  EXPECT_EQ(c.ack.backoff_initial, 5s);
  EXPECT_EQ(c.ack.backoff_max, 10min);
  EXPECT_THAT(c.ack.done_error_codes, IsEmpty());
  EXPECT_EQ(c.ledger.path, "/var/lib/chargerecon/ledger.db");
  EXPECT_EQ(c.log.level, obs::log_level::info);
  EXPECT_FALSE(c.log.format.has_value());
  EXPECT_EQ(c.metrics.listen, "127.0.0.1:9464");
  EXPECT_EQ(c.shutdown.deadline, 10s);
}

TEST(config_loader, null_values_count_as_absent) {
  const config c = valid(minimal +
                         "poll:\n"
                         "  interval:\n"
                         "  page_size: ~\n"
                         "metrics:\n");
  EXPECT_EQ(c.poll.interval, 30s);
  EXPECT_EQ(c.poll.page_size, 50u);
  EXPECT_EQ(c.metrics.listen, "127.0.0.1:9464");
}

TEST(config_loader, every_value_is_read) {
  const config c = valid(
      "crm:\n"
      "  base_url: https://crm.example.net/crmapi/rest/v2/\n"
      "  web_api_key_file: /etc/chargerecon/key\n"
      "  unit: HQ\n"
      "  ca_file: /etc/ssl/crm.pem\n"
      "  timeout: 45s\n"
      "  connect_timeout: 500ms\n"
      "  allow_plain_http: true\n"
      "  token_lifetime: 1h\n"
      "  max_response_size: 512KiB\n"
      "poll:\n"
      "  interval: 5m\n"
      "  charge_status: [PROCESSED, NOT_PROCESSED]\n"
      "  page_size: 20\n"
      "billing:\n"
      "  url: https://billing.example.net/charges\n"
      "  token_file: billing-token\n"
      "  concurrency: 256\n"
      "  timeout: 1m\n"
      "  connect_timeout: 2s\n"
      "  allow_plain_http: false\n"
      "  ca_file: /etc/ssl/billing.pem\n"
      "  bill_statuses:\n"
      "    - APPROVED\n"
      "    - DECLINED\n"
      "  backoff_initial: 250ms\n"
      "  backoff_max: 1h\n"
      "ack:\n"
      "  batch_size: 1\n"
      "  linger: 0ms\n"
      "  max_attempts: 3\n"
      "  backoff_initial: 1s\n"
      "  backoff_max: 2m\n"
      "  done_error_codes: [ALREADY_ACKNOWLEDGED, \"E-17\"]\n"
      "ledger:\n"
      "  path: ledger.db\n"
      "log:\n"
      "  level: debug\n"
      "  format: json\n"
      "metrics:\n"
      "  listen: \"[::1]:0\"\n"
      "shutdown:\n"
      "  deadline: 30s\n");
  EXPECT_EQ(c.crm.username, "");
  EXPECT_EQ(c.crm.web_api_key_file, "/etc/chargerecon/key");
  EXPECT_EQ(c.crm.unit, "HQ");
  EXPECT_EQ(c.crm.ca_file, "/etc/ssl/crm.pem");
  EXPECT_EQ(c.crm.timeout, 45s);
  EXPECT_EQ(c.crm.connect_timeout, 500ms);
  EXPECT_TRUE(c.crm.allow_plain_http);
  EXPECT_EQ(c.crm.token_lifetime, 1h);
  EXPECT_EQ(c.crm.max_response_size, 512u * 1024);
  EXPECT_EQ(c.poll.interval, 5min);
  EXPECT_THAT(c.poll.charge_status, ElementsAre(charge_list_filter::processed, charge_list_filter::not_processed));
  EXPECT_EQ(c.poll.page_size, 20u);
  EXPECT_EQ(c.billing.url, "https://billing.example.net/charges");
  EXPECT_EQ(c.billing.token_file, "billing-token");
  EXPECT_EQ(c.billing.concurrency, 256u);
  EXPECT_EQ(c.billing.timeout, 1min);
  EXPECT_EQ(c.billing.connect_timeout, 2s);
  EXPECT_EQ(c.billing.ca_file, "/etc/ssl/billing.pem");
  EXPECT_THAT(c.billing.bill_statuses, ElementsAre(crm_charge_status::approved, crm_charge_status::declined));
  EXPECT_EQ(c.billing.backoff_initial, 250ms);
  EXPECT_EQ(c.billing.backoff_max, 1h);
  EXPECT_EQ(c.ack.batch_size, 1u);
  EXPECT_EQ(c.ack.linger, 0ms);
  EXPECT_EQ(c.ack.max_attempts, 3u);
  EXPECT_EQ(c.ack.backoff_initial, 1s);
  EXPECT_EQ(c.ack.backoff_max, 2min);
  EXPECT_THAT(c.ack.done_error_codes, ElementsAre("ALREADY_ACKNOWLEDGED", "E-17"));
  EXPECT_EQ(c.ledger.path, "ledger.db");
  EXPECT_EQ(c.log.level, obs::log_level::debug);
  EXPECT_EQ(c.log.format, obs::log_format::json);
  EXPECT_EQ(c.metrics.listen, "[::1]:0");
  EXPECT_EQ(c.shutdown.deadline, 30s);
}

TEST(config_loader, unknown_keys_are_reported_with_path_line_and_a_suggestion) {
  EXPECT_THAT(problems(minimal + "poll:\n  intervall: 5s\n"),
              ElementsAre("test.yaml:10: poll.intervall: unknown key; did you mean 'interval'?"));
  EXPECT_THAT(problems(minimal + "pol:\n  interval: 5s\n"),
              ElementsAre("test.yaml:9: pol: unknown key; did you mean 'poll'?"));
  EXPECT_THAT(problems(minimal + "colour: blue\n"), ElementsAre("test.yaml:9: colour: unknown key"));
}

TEST(config_loader, a_password_pasted_into_the_file_is_refused_without_being_repeated) {
  const auto found = problems(minimal + "  password: hunter2-secret\n");  // under ledger:
  ASSERT_EQ(found.size(), 1u);
  EXPECT_THAT(found[0], HasSubstr("test.yaml:9: ledger.password: unknown key"));
  EXPECT_THAT(found[0], HasSubstr("secrets are read from files"));
  EXPECT_THAT(found[0], ::testing::Not(HasSubstr("hunter2")));
}

TEST(config_loader, duplicate_keys_are_reported) {
  EXPECT_THAT(problems(minimal + "poll:\n  interval: 5s\n  interval: 10s\n"),
              ElementsAre("test.yaml:11: poll.interval: duplicate key (first set at line 10)"));
}

TEST(config_loader, wrong_types_say_what_was_expected) {
  EXPECT_THAT(problems(minimal + "poll:\n  interval: soon\n"),
              ElementsAre("test.yaml:10: poll.interval: expected a duration like 500ms, 30s, 5m, 1h, got 'soon'"));
  EXPECT_THAT(problems(minimal + "poll:\n  interval: [5s]\n"),
              ElementsAre("test.yaml:10: poll.interval: expected a duration like 500ms, 30s, 5m, 1h, got a list"));
  EXPECT_THAT(problems(minimal + "poll:\n  page_size: many\n"),
              ElementsAre("test.yaml:10: poll.page_size: expected a whole number, got 'many'"));
  EXPECT_THAT(problems(minimal + "poll:\n  page_size: 2.5\n"),
              ElementsAre("test.yaml:10: poll.page_size: expected a whole number, got '2.5'"));
  EXPECT_THAT(problems("crm:\n"
                       "  base_url: https://crm.example.net/\n"
                       "  allow_plain_http: yes\n"
                       "billing:\n"
                       "  url: https://b.example.net/\n"
                       "ledger:\n"
                       "  path: /l.db\n"),
              ElementsAre("test.yaml:3: crm.allow_plain_http: expected true or false, got 'yes'"));
  EXPECT_THAT(problems(minimal + "log:\n  level: {a: b}\n"),
              ElementsAre("test.yaml:10: log.level: expected a text value, got a mapping"));
  EXPECT_THAT(problems(minimal + "poll:\n  charge_status: PROCESSED\n"),
              ElementsAre("test.yaml:10: poll.charge_status: expected a list like [PROCESSED, NOT_PROCESSED], got "
                          "'PROCESSED'"));
  EXPECT_THAT(problems(minimal + "shutdown: 10s\n"),
              ElementsAre("test.yaml:9: shutdown: expected a mapping of shutdown settings, got a single value"));
}

TEST(config_loader, a_section_of_the_wrong_type_is_one_problem_not_one_per_key) {
  EXPECT_THAT(problems("crm: [a]\n"
                       "billing:\n"
                       "  url: https://b.example.net/\n"
                       "ledger:\n"
                       "  path: /l.db\n"),
              ElementsAre("test.yaml:1: crm: expected a mapping of crm settings, got a list"));
}

TEST(config_loader, bad_duration_forms_are_refused) {
  const auto one = [](const std::string& value) {
    const auto found = problems(minimal + "poll:\n  interval: " + value + "\n");
    return found.size() == 1 ? found[0] : "(" + std::to_string(found.size()) + " problems)";
  };
  EXPECT_EQ(one("30"), "test.yaml:10: poll.interval: '30' has no unit; expected a duration like 500ms, 30s, 5m, 1h");
  EXPECT_EQ(one("-5s"), "test.yaml:10: poll.interval: '-5s' is negative; expected a duration like 500ms, 30s, 5m, 1h");
  EXPECT_EQ(one("\"5 s\""), "test.yaml:10: poll.interval: expected a duration like 500ms, 30s, 5m, 1h, got '5 s'");
  EXPECT_EQ(one("1.5s"), "test.yaml:10: poll.interval: expected a duration like 500ms, 30s, 5m, 1h, got '1.5s'");
  EXPECT_EQ(one("2d"), "test.yaml:10: poll.interval: expected a duration like 500ms, 30s, 5m, 1h, got '2d'");
  EXPECT_EQ(one("5S"), "test.yaml:10: poll.interval: expected a duration like 500ms, 30s, 5m, 1h, got '5S'");
  EXPECT_EQ(one("0s"), "test.yaml:10: poll.interval: 0s is out of range 1s..24h");
  EXPECT_EQ(one("999ms"), "test.yaml:10: poll.interval: 999ms is out of range 1s..24h");
  EXPECT_EQ(one("25h"), "test.yaml:10: poll.interval: 25h is out of range 1s..24h");
  EXPECT_EQ(one("99999999999999999999h"), "test.yaml:10: poll.interval: 99999999999999999999h is out of range 1s..24h");
  EXPECT_EQ(one("1000ms"), "(0 problems)");
}

TEST(config_loader, parse_and_format_duration) {
  EXPECT_EQ(parse_duration("500ms"), 500ms);
  EXPECT_EQ(parse_duration("30s"), 30s);
  EXPECT_EQ(parse_duration("5m"), 5min);
  EXPECT_EQ(parse_duration("1h"), 1h);
  EXPECT_EQ(parse_duration("0ms"), 0ms);
  EXPECT_FALSE(parse_duration(""));
  EXPECT_FALSE(parse_duration("s"));
  EXPECT_FALSE(parse_duration("5"));
  EXPECT_FALSE(parse_duration("-5s"));
  EXPECT_FALSE(parse_duration("+5s"));
  EXPECT_FALSE(parse_duration(" 5s"));
  EXPECT_FALSE(parse_duration("5s "));
  EXPECT_FALSE(parse_duration("5sec"));
  EXPECT_FALSE(parse_duration("1000000h"));  // beyond a century
  EXPECT_EQ(format_duration(90s), "90s");
  EXPECT_EQ(format_duration(90min), "90m");
  EXPECT_EQ(format_duration(2h), "2h");
  EXPECT_EQ(format_duration(1500ms), "1500ms");
  EXPECT_EQ(format_duration(0ms), "0ms");
}

TEST(config_loader, numbers_out_of_range_name_the_range) {
  EXPECT_THAT(problems(minimal + "poll:\n  page_size: 80\n"),
              ElementsAre("test.yaml:10: poll.page_size: 80 is out of range 1..50"));
  EXPECT_THAT(problems(minimal + "poll:\n  page_size: 0\n"),
              ElementsAre("test.yaml:10: poll.page_size: 0 is out of range 1..50"));
  EXPECT_THAT(problems(minimal + "poll:\n  page_size: 51\n"),
              ElementsAre("test.yaml:10: poll.page_size: 51 is out of range 1..50"));
  EXPECT_THAT(problems(minimal + "poll:\n  page_size: -1\n"),
              ElementsAre("test.yaml:10: poll.page_size: -1 is out of range 1..50"));
  EXPECT_THAT(problems(minimal + "poll:\n  page_size: 99999999999999999999999\n"),
              ElementsAre("test.yaml:10: poll.page_size: 99999999999999999999999 is out of range 1..50"));
  EXPECT_THAT(problems(minimal + "ack:\n  batch_size: 51\n"),
              ElementsAre("test.yaml:10: ack.batch_size: 51 is out of range 1..50"));
  EXPECT_THAT(problems(minimal + "ack:\n  max_attempts: 0\n"),
              ElementsAre("test.yaml:10: ack.max_attempts: 0 is out of range 1..1000"));
  // billing: is at line 5 of minimal; a second billing section would be a duplicate key.
  EXPECT_THAT(problems("crm:\n"
                       "  base_url: https://crm.example.net/\n"
                       "  username: u\n"
                       "  organisation: o\n"
                       "billing:\n"
                       "  url: https://b.example.net/\n"
                       "  concurrency: 0\n"
                       "ledger:\n"
                       "  path: /l.db\n"),
              ElementsAre("test.yaml:7: billing.concurrency: 0 is out of range 1..256"));
}

TEST(config_loader, sizes) {
  const auto crm_with = [](const std::string& size) {
    return "crm:\n"
           "  base_url: https://crm.example.net/\n"
           "  username: u\n"
           "  organisation: o\n"
           "  max_response_size: " +
           size +
           "\n"
           "billing:\n"
           "  url: https://b.example.net/\n"
           "ledger:\n"
           "  path: /l.db\n";
  };
  EXPECT_EQ(valid(crm_with("1GiB")).crm.max_response_size, 1024u * 1024 * 1024);
  EXPECT_EQ(valid(crm_with("65536")).crm.max_response_size, 65536u);
  EXPECT_EQ(valid(crm_with("65536B")).crm.max_response_size, 65536u);
  EXPECT_THAT(problems(crm_with("16MB")),
              ElementsAre("test.yaml:5: crm.max_response_size: expected a size like 65536, 512KiB, 16MiB, got '16MB'"));
  EXPECT_THAT(problems(crm_with("2GiB")),
              ElementsAre("test.yaml:5: crm.max_response_size: 2GiB is out of range 64KiB..1GiB"));
  EXPECT_THAT(problems(crm_with("1KiB")),
              ElementsAre("test.yaml:5: crm.max_response_size: 1KiB is out of range 64KiB..1GiB"));
}

TEST(config_loader, bad_enum_values_list_the_allowed_ones) {
  EXPECT_THAT(problems(minimal + "log:\n  format: xml\n"),
              ElementsAre("test.yaml:10: log.format: expected text, json or auto, got 'xml'"));
  EXPECT_THAT(problems(minimal + "log:\n  level: loud\n"),
              ElementsAre("test.yaml:10: log.level: expected one of trace, debug, info, warn, error, critical, off, "
                          "got 'loud'"));
  EXPECT_THAT(problems(minimal + "poll:\n  charge_status:\n    - PROCESSED\n    - processed\n"),
              ElementsAre("test.yaml:12: poll.charge_status[1]: expected PROCESSED or NOT_PROCESSED, got 'processed'"));
  EXPECT_THAT(problems(minimal + "poll:\n  charge_status: [PROCESSED, PROCESSED]\n"),
              ElementsAre("test.yaml:10: poll.charge_status[1]: PROCESSED is listed twice"));
  EXPECT_THAT(problems(minimal + "poll:\n  charge_status: []\n"),
              ElementsAre("test.yaml:10: poll.charge_status: must list at least one of PROCESSED, NOT_PROCESSED"));
  EXPECT_THAT(problems(minimal + "poll:\n  charge_status: [NOT_PROCESSED]\n"),
              ElementsAre("test.yaml:10: poll.charge_status: without PROCESSED no charge is ever billed or "
                          "acknowledged (NOT_PROCESSED lists PENDING charges only)"));
  EXPECT_THAT(problems(minimal + "ack:\n  done_error_codes: [\"\"]\n"),
              ElementsAre("test.yaml:10: ack.done_error_codes[0]: an empty error code matches nothing"));
}

TEST(config_loader, pending_charges_are_never_billed) {
  const std::string yaml =
      "crm:\n"
      "  base_url: https://crm.example.net/\n"
      "  username: u\n"
      "  organisation: o\n"
      "billing:\n"
      "  url: https://b.example.net/\n"
      "  bill_statuses: [PENDING]\n"
      "ledger:\n"
      "  path: /l.db\n";
  const auto found = problems(yaml);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_THAT(found[0], HasSubstr("test.yaml:7: billing.bill_statuses[0]: PENDING charges are never billed"));
  EXPECT_THAT(found[0], HasSubstr("expected one of APPROVED, DECLINED, BAD_REQUEST, REJECTED"));

  std::string other = yaml;
  other.replace(other.find("[PENDING]"), 9, "[APPROVED, PAID]");
  EXPECT_THAT(problems(other),
              ElementsAre("test.yaml:7: billing.bill_statuses[1]: expected one of APPROVED, DECLINED, BAD_REQUEST, "
                          "REJECTED, got 'PAID'"));
}

TEST(config_loader, missing_mandatory_keys_are_each_reported) {
  // Sections present: the section's line. Sections absent: no line.
  EXPECT_THAT(problems("crm:\n"
                       "  username: u\n"
                       "  organisation: o\n"
                       "billing:\n"
                       "  concurrency: 2\n"
                       "ledger:\n"
                       "  path: \"\"\n"),
              ElementsAre("test.yaml:1: crm.base_url: mandatory key is missing",
                          "test.yaml:4: billing.url: mandatory key is missing",
                          "test.yaml:7: ledger.path: mandatory key is missing"));
  EXPECT_THAT(problems(""), ElementsAre("test.yaml: crm.base_url: mandatory key is missing",
                                        "test.yaml: billing.url: mandatory key is missing",
                                        "test.yaml: ledger.path: mandatory key is missing"));
}

TEST(config_loader, login_settings_must_pick_one_way) {
  const std::string tail =
      "billing:\n"
      "  url: https://b.example.net/\n"
      "ledger:\n"
      "  path: /l.db\n";
  EXPECT_THAT(problems("crm:\n"
                       "  base_url: https://crm.example.net/\n"
                       "  username: u\n" +
                       tail),
              ElementsAre("test.yaml:1: crm.organisation: mandatory with crm.username: authentication/token needs it"));
  EXPECT_THAT(problems("crm:\n"
                       "  base_url: https://crm.example.net/\n"
                       "  username: u\n"
                       "  organisation: o\n"
                       "  web_api_key_file: /k\n" +
                       tail),
              ElementsAre("test.yaml:5: crm.web_api_key_file: set either crm.username (password login) or "
                          "crm.web_api_key_file (Web API key login), not both"));
  EXPECT_THAT(problems("crm:\n"
                       "  base_url: https://crm.example.net/\n"
                       "  password_file: /p\n"
                       "  organisation: o\n" +
                       tail),
              ElementsAre("test.yaml:3: crm.password_file: used only with crm.username (password login); set "
                          "crm.username or drop this key",
                          "test.yaml:4: crm.organisation: used only with crm.username (password login); a Web API "
                          "key login sends no organisation"));
  // The Web API key login needs nothing but the URL (the key comes from a file).
  EXPECT_THAT(problems("crm:\n  base_url: https://crm.example.net/\n" + tail), IsEmpty());
}

TEST(config_loader, urls_are_checked) {
  const auto crm_url = [](const std::string& url, const std::string& extra = "") {
    return problems(
        "crm:\n"
        "  base_url: " +
        url +
        "\n"
        "  username: u\n"
        "  organisation: o\n" +
        extra +
        "billing:\n"
        "  url: https://b.example.net/\n"
        "ledger:\n"
        "  path: /l.db\n");
  };
  EXPECT_THAT(crm_url("crm.example.net/crmapi"),
              ElementsAre("test.yaml:2: crm.base_url: expected an absolute https:// or http:// URL, got "
                          "'crm.example.net/crmapi'"));
  EXPECT_THAT(crm_url("\"https://crm example\""),
              ElementsAre("test.yaml:2: crm.base_url: expected an absolute https:// or http:// URL, got "
                          "'https://crm example'"));
  EXPECT_THAT(crm_url("ftp://crm.example.net/"),
              ElementsAre("test.yaml:2: crm.base_url: the scheme must be https or http, got 'ftp'"));
  EXPECT_THAT(crm_url("https:///crmapi/"), ElementsAre("test.yaml:2: crm.base_url: has no host: 'https:///crmapi/'"));
  EXPECT_THAT(crm_url("https://crm.example.net:99999/"),
              ElementsAre("test.yaml:2: crm.base_url: port '99999' is out of range 1..65535"));
  EXPECT_THAT(crm_url("https://crm.example.net/api/?x=1"),
              ElementsAre("test.yaml:2: crm.base_url: must not have a ?query: request paths and parameters are "
                          "appended to it"));
  EXPECT_THAT(crm_url("https://crm.example.net/api/#top"),
              ElementsAre("test.yaml:2: crm.base_url: must not have a #fragment: 'https://crm.example.net/api/#top'"));

  const auto with_password = crm_url("https://admin:s3cr3t-pw@crm.example.net/");
  ASSERT_EQ(with_password.size(), 1u);
  EXPECT_EQ(with_password[0],
            "test.yaml:2: crm.base_url: must not carry a user name or password: credentials are read from files");

  EXPECT_THAT(crm_url("https://crm.example.net/crmapi/rest/v2/"), IsEmpty());
  EXPECT_THAT(crm_url("HTTPS://crm.example.net:8443/crmapi/rest/v2"), IsEmpty());
}

TEST(config_loader, plain_http_needs_loopback_or_the_explicit_flag) {
  const auto with = [](const std::string& crm_url, const std::string& billing_url, const std::string& crm_extra = "",
                       const std::string& billing_extra = "") {
    return problems(
        "crm:\n"
        "  base_url: " +
        crm_url +
        "\n"
        "  username: u\n"
        "  organisation: o\n" +
        crm_extra +
        "billing:\n"
        "  url: " +
        billing_url + "\n" + billing_extra +
        "ledger:\n"
        "  path: /l.db\n");
  };
  EXPECT_THAT(
      with("http://crm.example.net/crmapi/rest/v2/", "http://10.1.2.3:8080/charges"),
      ElementsAre("test.yaml:2: crm.base_url: plain http to a non-loopback host needs crm.allow_plain_http: true",
                  "test.yaml:6: billing.url: plain http to a non-loopback host needs "
                  "billing.allow_plain_http: true"));
  EXPECT_THAT(with("http://crm.example.net/", "http://10.1.2.3:8080/charges", "  allow_plain_http: true\n",
                   "  allow_plain_http: true\n"),
              IsEmpty());
  EXPECT_THAT(with("http://127.0.0.1:18080/crmapi/rest/v2/", "http://[::1]:18081/charges"), IsEmpty());
  EXPECT_THAT(with("http://127.8.9.10/", "http://LocalHost:9/"), IsEmpty());
  // 127.example.net is a name, not a loopback address.
  EXPECT_THAT(
      with("http://127.example.net/", "https://b.example.net/"),
      ElementsAre("test.yaml:2: crm.base_url: plain http to a non-loopback host needs crm.allow_plain_http: true"));
}

TEST(config_loader, backoff_max_below_initial_is_refused) {
  EXPECT_THAT(problems(minimal + "ack:\n  backoff_initial: 1m\n  backoff_max: 30s\n"),
              ElementsAre("test.yaml:11: ack.backoff_max: 30s is shorter than ack.backoff_initial (1m)"));
  EXPECT_THAT(problems(minimal + "ack:\n  backoff_max: 1s\n"),
              ElementsAre("test.yaml:10: ack.backoff_max: 1s is shorter than ack.backoff_initial (5s)"));
}

TEST(config_loader, metrics_listen_is_host_and_port) {
  EXPECT_EQ(valid(minimal + "metrics:\n  listen: \"\"\n").metrics.listen, "");
  EXPECT_EQ(valid(minimal + "metrics:\n  listen: 0.0.0.0:9464\n").metrics.listen, "0.0.0.0:9464");
  for (const std::string bad :
       {"9464", "localhost:9464", "127.0.0.1:", "127.0.0.1:65536", "::1:9464", "[::1]", "[nonsense]:1"}) {
    const auto found = problems(minimal + "metrics:\n  listen: \"" + bad + "\"\n");
    ASSERT_EQ(found.size(), 1u) << bad;
    EXPECT_THAT(found[0], HasSubstr("test.yaml:10: metrics.listen: ")) << bad;
    EXPECT_THAT(found[0], HasSubstr("expected host:port like 127.0.0.1:9464 or [::1]:9464, got '" + bad + "'"));
  }
  auto v4 = parse_listen_address("127.0.0.1:9464");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, 9464);
  auto v6 = parse_listen_address("[::1]:0");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 0);
  EXPECT_EQ(parse_listen_address("x").error().code, make_error_code(errc::config_invalid));
}

TEST(config_loader, several_mistakes_are_all_reported_in_file_order) {
  EXPECT_THAT(
      problems("crm:\n"                                 // 1
               "  base_url: http://crm.example.net/\n"  // 2
               "  username: u\n"                        // 3
               "  organisation: o\n"                    // 4
               "  timout: 5s\n"                         // 5
               "poll:\n"                                // 6
               "  page_size: 80\n"                      // 7
               "  interval: soon\n"                     // 8
               "billing:\n"                             // 9
               "  url: https://b.example.net/\n"        // 10
               "log:\n"                                 // 11
               "  format: xml\n"),                      // 12
      ElementsAre("test.yaml:2: crm.base_url: plain http to a non-loopback host needs crm.allow_plain_http: true",
                  "test.yaml:5: crm.timout: unknown key; did you mean 'timeout'?",
                  "test.yaml:7: poll.page_size: 80 is out of range 1..50",
                  "test.yaml:8: poll.interval: expected a duration like 500ms, 30s, 5m, 1h, got 'soon'",
                  "test.yaml:12: log.format: expected text, json or auto, got 'xml'",
                  "test.yaml: ledger.path: mandatory key is missing"));
}

TEST(config_loader, problems_without_a_line_come_last) {
  EXPECT_THAT(problems("poll:\n  page_size: 0\n"), ElementsAre("test.yaml:2: poll.page_size: 0 is out of range 1..50",
                                                               "test.yaml: crm.base_url: mandatory key is missing",
                                                               "test.yaml: billing.url: mandatory key is missing",
                                                               "test.yaml: ledger.path: mandatory key is missing"));
}

TEST(config_loader, the_root_must_be_a_mapping) {
  EXPECT_THAT(problems("- crm\n- poll\n"),
              ElementsAre("test.yaml:1: the configuration must be a mapping of sections (crm, poll, billing, ack, "
                          "ledger, log, metrics, shutdown), got a list"));
  EXPECT_THAT(problems("just text\n"),
              ElementsAre("test.yaml:1: the configuration must be a mapping of sections (crm, poll, billing, ack, "
                          "ledger, log, metrics, shutdown), got a single value"));
}

TEST(config_loader, yaml_syntax_errors_carry_their_line) {
  const auto found = problems(minimal + "poll:\n  interval: [5s\n  page_size: 3\n");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_THAT(found[0], ::testing::StartsWith("test.yaml:"));
  EXPECT_THAT(found[0], HasSubstr("YAML syntax error: "));
  auto r = parse_config("crm:\n  base_url: x\n   bad: indentation\n", "f.yaml");
  ASSERT_FALSE(r);
  ASSERT_EQ(r.error().problems.size(), 1u);
  EXPECT_EQ(r.error().problems[0].line, 3u);
  EXPECT_THAT(r.error().problems[0].message, HasSubstr("YAML syntax error"));
}

// Found by fuzzing: yaml-cpp's message can carry a byte of the file as it is, and problems are
// printed to a terminal by --check-config.
TEST(config_loader, yaml_syntax_errors_quote_the_bytes_they_name) {
  EXPECT_THAT(problems("crm:\n  base_url: \"\\\a\"\n"),
              ElementsAre("test.yaml:2: YAML syntax error: unknown escape character: \\x07"));
}

TEST(config_loader, only_one_document) {
  EXPECT_THAT(problems(minimal + "---\nledger:\n  path: /x\n"),
              ElementsAre("test.yaml:10: holds 2 YAML documents; expected one"));
}

// Found by fuzzing (tests/fuzz/regressions/config/): yaml-cpp's LoadAll never returned on a ','
// left at the top level, piling up empty documents until memory ran out (--check-config of a
// file holding "," ended in std::bad_alloc).
TEST(config_loader, a_stray_comma_at_the_top_level_is_a_syntax_error_not_a_hang) {
  EXPECT_THAT(problems(","), ElementsAre("test.yaml:1: YAML syntax error: unexpected ','"));
  EXPECT_THAT(problems(",l::"), ElementsAre("test.yaml:1: YAML syntax error: unexpected ','"));
  EXPECT_THAT(problems("# a comment\n[1],\n"), ElementsAre("test.yaml:2: YAML syntax error: unexpected ','"));
  EXPECT_THAT(problems("{crm: {}},"), ElementsAre("test.yaml:1: YAML syntax error: unexpected ','"));
  EXPECT_THAT(problems(minimal + "---\n,\n"), ElementsAre("test.yaml:10: YAML syntax error: unexpected ','"));
  const auto inside = problems(minimal + ",\n");
  ASSERT_EQ(inside.size(), 1u);
  EXPECT_THAT(inside[0], ::testing::StartsWith("test.yaml:9: YAML syntax error: "));
  EXPECT_THAT(problems(minimal + "---\nledger:\n  path: /x\n---\n"),
              ElementsAre("test.yaml:10: holds 3 YAML documents; expected one"));
}

TEST(config_loader, problems_convert_to_an_error) {
  auto r = parse_config(minimal + "poll:\n  page_size: 80\n  interval: soon\n", "f.yaml");
  ASSERT_FALSE(r);
  const error e = r.error().to_error();
  EXPECT_EQ(e.code, make_error_code(errc::config_invalid));
  EXPECT_EQ(e.diagnostic,
            "f.yaml:10: poll.page_size: 80 is out of range 1..50\n"
            "f.yaml:11: poll.interval: expected a duration like 500ms, 30s, 5m, 1h, got 'soon'");
  EXPECT_THROW((void)r.value(), boost::system::system_error);
}

TEST(config_loader, an_unreadable_file_is_one_problem) {
  auto r = load_config("/nonexistent/chargerecon.yaml");
  ASSERT_FALSE(r);
  ASSERT_EQ(r.error().problems.size(), 1u);
  EXPECT_EQ(r.error().problems[0].to_string(), "/nonexistent/chargerecon.yaml: cannot open: No such file or directory");
}

// A document holding minimal's keys plus `line` ("key: value") in `section`, replacing that
// key when minimal has it; returns the text and the line `line` landed on.
std::pair<std::string, std::size_t> with_key(const std::string& section, const std::string& key,
                                             const std::string& value) {
  const std::vector<std::pair<std::string, std::vector<std::string>>> base = {
      {"crm", {"base_url: https://crm.example.net/crmapi/rest/v2/", "username: chargerecon", "organisation: ACME"}},
      {"billing", {"url: https://billing.example.net/charges"}},
      {"ledger", {"path: /var/lib/chargerecon/ledger.db"}},
  };
  std::string text;
  std::size_t line = 0, at = 0;
  bool placed = false;
  const auto add = [&](const std::string& l) {
    text += l + "\n";
    ++line;
  };
  for (const auto& [name, keys] : base) {
    add(name + ":");
    for (const auto& k : keys) {
      if (name == section && k.starts_with(key + ":")) {
        add("  " + key + ": " + value);
        at = line;
        placed = true;
      } else {
        add("  " + k);
      }
    }
    if (name == section && !placed) {
      add("  " + key + ": " + value);
      at = line;
      placed = true;
    }
  }
  if (!placed) {
    add(section + ":");
    add("  " + key + ": " + value);
    at = line;
  }
  return {text, at};
}

TEST(config_loader, every_key_of_the_wrong_type_is_named_with_its_line) {
  const auto keys = config_key_paths();
  ASSERT_GT(keys.size(), 30u);
  for (const auto& path : keys) {
    const auto dot = path.find('.');
    ASSERT_NE(dot, std::string::npos) << path;
    for (const std::string value : {"{x: 1}", "[[1], {a: b}]"}) {
      const auto [yaml, line] = with_key(path.substr(0, dot), path.substr(dot + 1), value);
      const auto found = problems(yaml);
      // The key itself, or one of its list elements ("billing.bill_statuses[1]").
      const std::string where = "test.yaml:" + std::to_string(line) + ": " + path;
      std::size_t named = 0;
      for (const auto& f : found) {
        if (f.starts_with(where)) {
          ++named;
          EXPECT_THAT(f, ::testing::ContainsRegex("expected|must|mandatory")) << f;
          continue;
        }
        // The one follow-on: a wrongly typed user name counts as absent, which changes what
        // crm.organisation means (and the reverse).
        const bool login_pair = path == "crm.username" || path == "crm.organisation";
        EXPECT_TRUE(login_pair && f.find("crm.organisation: ") != std::string::npos) << path << ": " << f;
      }
      EXPECT_GE(named, 1u) << path << " = " << value << "\n" << yaml << ::testing::PrintToString(found);
    }
  }
}

TEST(config_loader, an_unknown_key_in_every_section_is_named) {
  for (const std::string section : {"crm", "poll", "billing", "ack", "ledger", "log", "metrics", "shutdown"}) {
    const auto [yaml, line] = with_key(section, "colour", "blue");
    EXPECT_THAT(problems(yaml),
                ElementsAre("test.yaml:" + std::to_string(line) + ": " + section + ".colour: unknown key"))
        << yaml;
  }
}

TEST(config_loader, absurd_values_are_refused_with_their_range) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"poll", "interval: 100000000h"},     {"billing", "concurrency: 1000000"},  {"billing", "timeout: 0ms"},
      {"ack", "max_attempts: 4294967297"},  {"ack", "linger: 10h"},             {"crm", "timeout: 0s"},
      {"shutdown", "deadline: 0s"},         {"billing", "concurrency: -3"},     {"ack", "batch_size: 1e3"},
  };
  for (const auto& [section, line_text] : cases) {
    const auto colon = line_text.find(':');
    const auto [yaml, line] = with_key(section, line_text.substr(0, colon), line_text.substr(colon + 2));
    const auto found = problems(yaml);
    ASSERT_EQ(found.size(), 1u) << line_text << ::testing::PrintToString(found);
    EXPECT_THAT(found[0], ::testing::StartsWith("test.yaml:" + std::to_string(line) + ": " + section + "." +
                                                line_text.substr(0, colon) + ": "));
  }
}

TEST(config_loader, tabs_for_indentation_are_a_yaml_error_with_its_line) {
  const auto found = problems("crm:\n\tbase_url: https://crm.example.net/\n");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_THAT(found[0], ::testing::StartsWith("test.yaml:2: "));
  EXPECT_THAT(found[0], HasSubstr("YAML syntax error"));
}

TEST(config_loader, a_file_of_comments_or_blanks_is_missing_every_mandatory_key) {
  for (const std::string text : {"# nothing yet\n\n# really\n", "\n\n   \n", "---\n", "~\n"}) {
    EXPECT_THAT(problems(text), ElementsAre("test.yaml: crm.base_url: mandatory key is missing",
                                            "test.yaml: billing.url: mandatory key is missing",
                                            "test.yaml: ledger.path: mandatory key is missing"))
        << text;
  }
}

TEST(config_loader, invalid_utf8_or_a_nul_byte_is_a_problem_not_a_crash) {
  for (const std::string& text : {minimal + "log:\n  level: \"\xC3\x28\"\n", minimal + "log:\n  level: in\xFF" "fo\n",
                                 minimal + std::string("log:\n  level: in\0fo\n", 20)}) {
    const auto found = problems(text);
    ASSERT_FALSE(found.empty()) << text;
    for (const auto& f : found) EXPECT_THAT(f, ::testing::StartsWith("test.yaml:")) << f;
  }
}

TEST(config_loader, a_directory_or_an_empty_file_as_the_configuration) {
  test::temp_dir dir("config-loader");
  auto d = load_config(dir.path().string());
  ASSERT_FALSE(d);
  ASSERT_EQ(d.error().problems.size(), 1u);
  EXPECT_EQ(d.error().problems[0].to_string(), dir.path().string() + ": cannot read: Is a directory");

  const std::string empty = (dir / "empty.yaml").string();
  test::write_file(empty, "", 0600);
  auto e = load_config(empty);
  ASSERT_FALSE(e);
  ASSERT_EQ(e.error().problems.size(), 3u);
  EXPECT_EQ(e.error().problems[0].to_string(), empty + ": crm.base_url: mandatory key is missing");
}

TEST(config_loader, log_format_defaults_by_terminal) {
  log_config c;
  EXPECT_EQ(resolve_log_format(c, true), obs::log_format::text);
  EXPECT_EQ(resolve_log_format(c, false), obs::log_format::json);
  c.format = obs::log_format::text;
  EXPECT_EQ(resolve_log_format(c, false), obs::log_format::text);
  EXPECT_FALSE(valid(minimal + "log:\n  format: auto\n").log.format.has_value());
}

TEST(config_loader, enum_spellings_round_trip) {
  for (auto s : {crm_charge_status::pending, crm_charge_status::approved, crm_charge_status::declined,
                 crm_charge_status::bad_request, crm_charge_status::rejected})
    EXPECT_EQ(parse_crm_charge_status(to_string(s)), s);
  EXPECT_EQ(to_string(crm_charge_status::bad_request), "BAD_REQUEST");
  EXPECT_EQ(to_string(charge_list_filter::not_processed), "NOT_PROCESSED");
  EXPECT_EQ(parse_charge_list_filter("PROCESSED"), charge_list_filter::processed);
  EXPECT_FALSE(parse_charge_list_filter("processed"));
}

}  // namespace
}  // namespace chargerecon
