#include "config/diff.hpp"

#include <algorithm>
#include <array>
#include <string_view>

namespace chargerecon {

std::vector<std::string> changed_keys(const config& a, const config& b) {
  std::vector<std::string> out;
  const auto check = [&](std::string_view key, bool differs) {
    if (differs) out.emplace_back(key);
  };
  check("crm.base_url", a.crm.base_url != b.crm.base_url);
  check("crm.username", a.crm.username != b.crm.username);
  check("crm.password_file", a.crm.password_file != b.crm.password_file);
  check("crm.web_api_key_file", a.crm.web_api_key_file != b.crm.web_api_key_file);
  check("crm.organisation", a.crm.organisation != b.crm.organisation);
  check("crm.unit", a.crm.unit != b.crm.unit);
  check("crm.ca_file", a.crm.ca_file != b.crm.ca_file);
  check("crm.timeout", a.crm.timeout != b.crm.timeout);
  check("crm.connect_timeout", a.crm.connect_timeout != b.crm.connect_timeout);
  check("crm.allow_plain_http", a.crm.allow_plain_http != b.crm.allow_plain_http);
  check("crm.token_lifetime", a.crm.token_lifetime != b.crm.token_lifetime);
  check("crm.max_response_size", a.crm.max_response_size != b.crm.max_response_size);
  check("poll.interval", a.poll.interval != b.poll.interval);
  check("poll.charge_status", a.poll.charge_status != b.poll.charge_status);
  check("poll.page_size", a.poll.page_size != b.poll.page_size);
  check("billing.url", a.billing.url != b.billing.url);
  check("billing.token_file", a.billing.token_file != b.billing.token_file);
  check("billing.concurrency", a.billing.concurrency != b.billing.concurrency);
  check("billing.timeout", a.billing.timeout != b.billing.timeout);
  check("billing.connect_timeout", a.billing.connect_timeout != b.billing.connect_timeout);
  check("billing.allow_plain_http", a.billing.allow_plain_http != b.billing.allow_plain_http);
  check("billing.ca_file", a.billing.ca_file != b.billing.ca_file);
  check("billing.bill_statuses", a.billing.bill_statuses != b.billing.bill_statuses);
  check("billing.backoff_initial", a.billing.backoff_initial != b.billing.backoff_initial);
  check("billing.backoff_max", a.billing.backoff_max != b.billing.backoff_max);
  check("ack.batch_size", a.ack.batch_size != b.ack.batch_size);
  check("ack.linger", a.ack.linger != b.ack.linger);
  check("ack.max_attempts", a.ack.max_attempts != b.ack.max_attempts);
  check("ack.backoff_initial", a.ack.backoff_initial != b.ack.backoff_initial);
  check("ack.backoff_max", a.ack.backoff_max != b.ack.backoff_max);
  check("ack.done_error_codes", a.ack.done_error_codes != b.ack.done_error_codes);
  check("ledger.path", a.ledger.path != b.ledger.path);
  check("log.level", a.log.level != b.log.level);
  check("log.format", a.log.format != b.log.format);
  check("metrics.listen", a.metrics.listen != b.metrics.listen);
  check("shutdown.deadline", a.shutdown.deadline != b.shutdown.deadline);
  return out;
}

bool applies_live(const std::string& key) {
  static constexpr std::array<std::string_view, 10> live = {
      "poll.interval",   "poll.page_size",      "billing.backoff_initial", "billing.backoff_max", "ack.batch_size",
      "ack.linger",      "ack.done_error_codes", "log.level",              "log.format",          "shutdown.deadline"};
  return std::find(live.begin(), live.end(), key) != live.end();
}

}  // namespace chargerecon
