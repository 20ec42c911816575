#pragma once
// chargerecond's configuration: plain structs, defaults in the member initialisers, durations
// as std::chrono types. loader.hpp fills them from YAML and validates them as a whole, and
// writer.hpp writes them back; every key is documented in etc/chargerecon.yaml (a test keeps
// the two in step). Each struct compares equal member by member, so a round trip can be checked.
//
// Secrets are not here: the configuration names files, and load_secrets() (loader.hpp) reads
// them into `secrets`, whose values no diagnostic, log line or printer ever shows.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "observability/event_log.hpp"

namespace chargerecon {

// charges/list's `charge_status` filter.
enum class charge_list_filter {
  processed,      // APPROVED, DECLINED, BAD_REQUEST, REJECTED
  not_processed,  // PENDING: listed for visibility, never billed nor acknowledged
};

// A charge's status as CRM.COM reports it.
enum class crm_charge_status { pending, approved, declined, bad_request, rejected };

// The spelling CRM.COM uses ("PROCESSED", "BAD_REQUEST").
std::string_view to_string(charge_list_filter f);
std::string_view to_string(crm_charge_status s);
std::optional<charge_list_filter> parse_charge_list_filter(std::string_view text);
std::optional<crm_charge_status> parse_crm_charge_status(std::string_view text);

struct crm_config {
  // {server}/crmapi/rest/v2/ - https, or http to a loopback host, or http anywhere with
  // allow_plain_http. Mandatory.
  std::string base_url;

  // Log in with authentication/token (username + password + organisation [+ unit]) when
  // `username` is set; otherwise with authentication/web_api_key/token (the Web API key).
  std::string username;
  // Empty: $CREDENTIALS_DIRECTORY/crm-password. A relative name is looked up there too.
  std::string password_file;
  // Empty: $CREDENTIALS_DIRECTORY/crm-web-api-key (used only when `username` is empty).
  std::string web_api_key_file;
  std::string organisation;  // mandatory with `username`
  std::string unit;          // optional: empty sends none

  std::string ca_file;                                          // PEM bundle to trust; empty: the system's store
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};  // one request: write + read
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(10)};
  bool allow_plain_http = false;
  // Used only when a token's `exp` cannot be read. CRM.COM tokens die two hours after issue;
  // we only see one after it was issued (latency, the server's clock), so we renew 10 minutes
  // early rather than have a pass fail half-way on an expired token.
  std::chrono::milliseconds token_lifetime{std::chrono::minutes(110)};
  std::size_t max_response_size = 16 * 1024 * 1024;  // bytes, headers + body of one answer

  bool operator==(const crm_config&) const = default;
};

struct poll_config {
  std::chrono::milliseconds interval{std::chrono::seconds(30)};  // from the end of one pass to the next
  std::vector<charge_list_filter> charge_status{charge_list_filter::processed};
  unsigned page_size = 50;  // charges/list's number_of_results, 1..50

  bool operator==(const poll_config&) const = default;
};

struct billing_config {
  std::string url;           // POST target of the billing adapter; mandatory
  std::string token_file;    // bearer token; empty: $CREDENTIALS_DIRECTORY/billing-token if present, else none
  unsigned concurrency = 8;  // charges in flight to billing at once, 1..256
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(10)};
  bool allow_plain_http = false;
  std::string ca_file;
  // Charges of these statuses are sent to billing; the other processed ones are only
  // acknowledged. Never PENDING: CRM.COM has not decided those yet.
  std::vector<crm_charge_status> bill_statuses{crm_charge_status::approved};
  std::chrono::milliseconds backoff_initial{std::chrono::seconds(1)};  // transient failures
  std::chrono::milliseconds backoff_max{std::chrono::minutes(5)};

  bool operator==(const billing_config&) const = default;
};

struct ack_config {
  unsigned batch_size = 50;  // charges per charges/acknowledge call, 1..50
  // How long a ready acknowledgement waits for others to fill its batch.
  std::chrono::milliseconds linger{200};
  unsigned max_attempts = 10;  // refused acknowledgements before the charge is parked as dead
  std::chrono::milliseconds backoff_initial{std::chrono::seconds(5)};
  std::chrono::milliseconds backoff_max{std::chrono::minutes(10)};
  // failed_charges_set error codes that mean "already acknowledged": counted as done.
  std::vector<std::string> done_error_codes;

  bool operator==(const ack_config&) const = default;
};

struct ledger_config {
  std::string path;  // SQLite file; mandatory

  bool operator==(const ledger_config&) const = default;
};

struct log_config {
  obs::log_level level = obs::log_level::info;
  // Empty: text when stderr is a terminal, json otherwise (see resolve_log_format).
  std::optional<obs::log_format> format;

  bool operator==(const log_config&) const = default;
};

// Defaulting rule for log.format: a person at a terminal reads text; anything else (journald,
// a container runtime, a pipe) is a collector, where one JSON object per line keeps the event
// fields queryable.
inline obs::log_format resolve_log_format(const log_config& c, bool stderr_is_terminal) {
  if (c.format) return *c.format;
  return stderr_is_terminal ? obs::log_format::text : obs::log_format::json;
}

struct metrics_config {
  std::string listen = "127.0.0.1:9464";  // host:port ([v6]:port); empty disables the endpoint

  bool operator==(const metrics_config&) const = default;
};

struct shutdown_config {
  // After SIGTERM, how long work in flight may take before it is cut off.
  std::chrono::milliseconds deadline{std::chrono::seconds(10)};

  bool operator==(const shutdown_config&) const = default;
};

struct config {
  crm_config crm;
  poll_config poll;
  billing_config billing;
  ack_config ack;
  ledger_config ledger;
  log_config log;
  metrics_config metrics;
  shutdown_config shutdown;

  bool operator==(const config&) const = default;
};

// A secret read from a file. There is deliberately no operator<<, no formatter and no
// implicit conversion: reading the value takes a call named reveal(), easy to audit.
class secret {
 public:
  secret() = default;
  explicit secret(std::string value) : value_(std::move(value)) {}
  std::string_view reveal() const { return value_; }
  bool empty() const { return value_.empty(); }

 private:
  std::string value_;
};

struct secrets {
  secret crm_password;     // set when crm.username is set
  secret crm_web_api_key;  // set when crm.username is empty
  std::optional<secret> billing_token;
};

}  // namespace chargerecon
