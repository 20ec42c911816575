#pragma once
// When to try a CRM.COM call again, and when to log in again: pure decisions, no clocks, no I/O.
// The client maps them to timers; the tests read them as a table.

#include <chrono>
#include <functional>
#include <string_view>

namespace chargerecon::crm {

// How one attempt failed, as far as repeating it is concerned.
enum class failure_class {
  not_sent,        // resolve/connect failed (or the connection dropped in the TLS handshake): the request
                   // provably never reached CRM.COM
  transport,       // timeout, connection lost, garbled HTTP: it may have reached CRM.COM
  http_transient,  // HTTP 5xx, 408, 429
  malformed,       // an answer that does not parse (it may be a truncated transfer)
  status_not_ok,   // status.code other than "OK", not about the token (RULE: retried, bounded)
  token,           // the token was refused: HTTP 401/403 or a message naming the token
  permanent,       // any other 4xx, a refused certificate, or a local configuration error: repeating cannot help
};
std::string_view to_string(failure_class c);

struct retry_config {
  unsigned max_attempts = 4;  // attempts per call, the first included (a token relogin not counted)
  std::chrono::milliseconds backoff_initial{500};
  std::chrono::milliseconds backoff_max{std::chrono::seconds(30)};
};

// Uniform in [0, 1). Injected so tests choose the jitter.
using random_source = std::function<double()>;

enum class retry_action { retry, relogin_and_repeat, give_up };

struct retry_decision {
  retry_action action = retry_action::give_up;
  std::chrono::milliseconds delay{0};  // before the next attempt (retry only)
};

struct attempt_state {
  unsigned attempt = 1;      // the attempt that just failed, 1-based
  bool relogged_in = false;  // this call already logged in again after a token failure
  bool idempotent = true;    // false: repeat only what provably never reached CRM.COM
};

// Exponential backoff with full jitter: uniform in [0, min(max, initial * 2^(attempt-1))].
std::chrono::milliseconds backoff_delay(const retry_config& config, unsigned attempt, double random01);

// - token: one relogin then the call is repeated (at once, outside the attempt budget); a
//   second token failure gives up.
// - permanent: give up.
// - non-idempotent calls: only not_sent is retried.
// - everything else: retried after backoff_delay while attempt < max_attempts.
retry_decision decide_retry(const retry_config& config, const attempt_state& state, failure_class failure,
                            const random_source& random);

// Login refused for its credentials: the next login waits initial, doubling per consecutive
// refusal up to max (5 s, 10 s, ... 5 min), so a wrong password never becomes a tight loop.
// No jitter: one daemon logs in, and operators read these delays in the log.
struct login_backoff_config {
  std::chrono::milliseconds initial{std::chrono::seconds(5)};
  std::chrono::milliseconds max{std::chrono::minutes(5)};
};
// 0 for no refusal yet.
std::chrono::milliseconds login_refusal_delay(const login_backoff_config& config, unsigned consecutive_refusals);

// RULE: refresh before expiry. True when now >= expiry - margin.
bool token_needs_refresh(std::chrono::system_clock::time_point now, std::chrono::system_clock::time_point expiry,
                         std::chrono::milliseconds margin);

}  // namespace chargerecon::crm
