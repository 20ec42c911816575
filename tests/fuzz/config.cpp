// chargerecond's configuration, fed as YAML text through parse_config (no file and no secret is
// read). Beyond not crashing and no exception escaping yaml-cpp: a refused file gets problems
// that name this file and a line inside it; an accepted one holds only values the daemon can use
// (ranges, URLs the HTTP client takes, durations that print and read back). The input is also
// tried as one duration and one listen address.
#include <algorithm>

#include "answer_checks.hpp"
#include "config/diff.hpp"
#include "config/loader.hpp"
#include "fuzz_check.hpp"
#include "fuzz_targets.hpp"
#include "http/client.hpp"

namespace chargerecon::fuzz {
namespace {

constexpr std::string_view file_name = "fuzz.yaml";

void check_duration(std::chrono::milliseconds d, std::string_view what) {
  require(d.count() >= 0, what);
  require(parse_duration(format_duration(d)) == d, what);
}

void check_valid(const chargerecon::config& c) {
  require(http::parse_base_url(c.crm.base_url, c.crm.allow_plain_http).has_value(),
          "an accepted crm.base_url is one the HTTP client takes");
  require(http::parse_base_url(c.billing.url, c.billing.allow_plain_http).has_value(),
          "an accepted billing.url is one the HTTP client takes");
  require(!c.ledger.path.empty(), "the ledger path is set");
  require(c.poll.page_size >= 1 && c.poll.page_size <= 50, "poll.page_size is 1..50");
  require(c.ack.batch_size >= 1 && c.ack.batch_size <= 50, "ack.batch_size is 1..50");
  require(c.billing.concurrency >= 1 && c.billing.concurrency <= 256, "billing.concurrency is 1..256");
  require(!c.poll.charge_status.empty(), "some list is polled");
  require(std::find(c.billing.bill_statuses.begin(), c.billing.bill_statuses.end(), crm_charge_status::pending) ==
              c.billing.bill_statuses.end(),
          "PENDING charges are never billed");
  require(c.metrics.listen.empty() || parse_listen_address(c.metrics.listen).has_value(),
          "metrics.listen is empty or an address");
  for (const auto d : {c.crm.timeout, c.crm.connect_timeout, c.crm.token_lifetime, c.poll.interval, c.billing.timeout,
                       c.billing.connect_timeout, c.billing.backoff_initial, c.billing.backoff_max, c.ack.linger,
                       c.ack.backoff_initial, c.ack.backoff_max, c.shutdown.deadline})
    check_duration(d, "a configured duration prints and reads back as itself");
  require(changed_keys(c, c).empty(), "a configuration differs from nothing in itself");
}

void check_refused(const config_error& e, std::string_view input) {
  require(!e.problems.empty(), "a refused configuration names at least one problem");
  const auto lines = static_cast<std::size_t>(std::count(input.begin(), input.end(), '\n')) + 1;
  for (const auto& p : e.problems) {
    require(p.file == file_name, "a problem names the file");
    require(p.line <= lines, "a problem's line is inside the file");
    require(!p.message.empty(), "a problem says what is wrong");
    // Keys and values from the file are quoted: --check-config prints these lines to a terminal.
    require(printable(p.to_string()), "a problem holds no control character");
  }
  require(!e.to_error().diagnostic.empty(), "the refusal has a diagnostic");
}

}  // namespace

void config(std::string_view input) {
  const auto parsed = parse_config(input, file_name);
  if (parsed)
    check_valid(*parsed);
  else
    check_refused(parsed.error(), input);

  if (const auto d = parse_duration(input)) check_duration(*d, "a duration prints and reads back as itself");
  if (const auto address = parse_listen_address(input)) require(!address->host.empty(), "an address has a host");
}

}  // namespace chargerecon::fuzz
