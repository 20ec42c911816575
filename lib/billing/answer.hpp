#pragma once
// What an answer of the billing system means for chargerecon (../shared/spec/billing-http.md,
// "Responses"). Pure: no I/O, no clock of its own; the client maps the classes to retries,
// ledger transitions and log events.

#include "http/message.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace chargerecon::billing {

// 200/201 with a non-empty reference_number, or 409 carrying the first one (an idempotent replay:
// billing already holds this Idempotency-Key, so the charge is billed exactly as before).
struct billed {
  std::string reference;  // as billing sent it; stored in the ledger and sent to CRM.COM
  bool replay = false;    // true for 409
};

// 400/404/422: billing will never take this charge as sent; a person must look at it.
struct rejected {
  unsigned status = 0;
  std::string reason;  // billing's "error" text (or the body when it has none), already quoted
};

// 408, 429, 5xx and every status the contract does not name: worth another try later.
struct transient {
  unsigned status = 0;
  std::optional<std::chrono::seconds> retry_after;  // billing's Retry-After, capped
  std::string reason;                               // ours, with billing's text quoted
};

// A 2xx (or 409) without a usable reference_number. Retried like a transient failure, but it
// means the shim in front of billing breaks the contract, so it is logged loudly.
struct protocol_error {
  unsigned status = 0;
  std::string reason;
};

using answer = std::variant<billed, rejected, transient, protocol_error>;

// Billing asking for a pause longer than this is treated as asking for this much: the engine
// comes back to a charge later anyway, and one hostile header must not park a post for a day.
inline constexpr std::chrono::seconds default_max_retry_after{300};

// Classifies one answer. `now` resolves a Retry-After given as an HTTP-date.
answer classify(unsigned status, const std::vector<http::header_field>& headers, std::string_view body,
                std::chrono::system_clock::time_point now,
                std::chrono::seconds max_retry_after = default_max_retry_after);

inline answer classify(const http::response& r, std::chrono::system_clock::time_point now,
                       std::chrono::seconds max_retry_after = default_max_retry_after) {
  return classify(r.status, r.headers, r.body, now, max_retry_after);
}

// Retry-After's value (RFC 9110 10.2.3): delta-seconds, or an HTTP-date in any of its three
// forms (IMF-fixdate, RFC 850, asctime). A date in the past means 0. Anything else: nullopt
// (ignored, as if absent). The result is never above max_wait.
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value, std::chrono::system_clock::time_point now,
                                                      std::chrono::seconds max_wait = default_max_retry_after);

}  // namespace chargerecon::billing
