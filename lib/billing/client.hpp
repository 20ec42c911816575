#pragma once
// billing::client: posts charges to the operator's billing system under the HTTP contract
// (../shared/spec/billing-http.md): at most `concurrency` posts in flight, a timeout per post,
// transient failures retried with exponential backoff and full jitter that honours Retry-After,
// up to max_attempts per call. The engine owns the charge's fate across calls: a call that gives
// up leaves the charge in the ledger, and the engine comes back to it later.
//
// Threading: one executor (the protocol io_context thread) runs every post of a client; the
// slot count is not guarded against other threads.

#include "billing/answer.hpp"
#include "billing/backoff.hpp"
#include "billing/request.hpp"
#include "common/error.hpp"
#include "http/message.hpp"
#include "observability/event_log.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>

namespace chargerecon::http {
class client;
}

namespace chargerecon::billing {

// One HTTP exchange with billing: the same shape as the CRM client's. It must honour terminal
// cancellation of the awaiting coroutine (the per-post timeout relies on it).
using transport = std::function<boost::asio::awaitable<result<http::response>>(http::request)>;

// Sends through `c`, which must outlive every post made with the returned transport.
transport make_transport(http::client& c);

// A uniform draw in [0, 1). Tests inject a fixed sequence.
using random_source = std::function<double()>;

// Waits `delay`; yields operation_aborted (or any error) when cancelled, and must honour the
// awaiting coroutine's cancellation. Tests inject one that records the delay and returns at once.
using sleeper = std::function<boost::asio::awaitable<boost::system::error_code>(std::chrono::milliseconds)>;

struct client_config {
  std::size_t concurrency = 4;                          // billing.concurrency; at least 1
  std::chrono::milliseconds post_timeout{30000};        // one exchange, queueing for a slot excluded
  unsigned max_attempts = 5;                            // tries per post() call; at least 1
  backoff_config backoff;                               // between tries
  std::chrono::seconds max_retry_after{default_max_retry_after};  // cap on billing's Retry-After
  post_target target;                                   // path suffix and bearer token
};

// Every try of this call failed transiently (timeouts, connection errors, 408/429/5xx,
// protocol errors). `last` is the final failure: errc::billing_transient,
// errc::billing_protocol_error, or the transport's code (request_timeout, connect_failed, ...).
struct gave_up {
  unsigned attempts = 0;
  error last;
  // Billing's Retry-After on the last answer (capped), for the engine's next-try time.
  std::optional<std::chrono::milliseconds> retry_after;
};

using outcome = std::variant<billed, rejected, gave_up>;

class client {
 public:
  // Throws std::invalid_argument when concurrency or max_attempts is 0 (a start-up bug: config
  // validation refuses those values first). Empty `random`/`sleep` select a seeded PRNG and a
  // steady_timer on the awaiting coroutine's executor.
  client(transport send, client_config config, obs::event_log log, random_source random = {}, sleeper sleep = {});
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  // Posts one charge: `raw_charge_json` is the charge exactly as CRM.COM sent it (it is the body,
  // byte for byte) and `charge_number` its number (the Idempotency-Key).
  // Returns the outcome of the call; an error only when the call could not decide one:
  // invalid_argument (a number that cannot be a header value), or
  // boost::asio::error::operation_aborted when cancelled (the awaiting coroutine's cancellation
  // slot, whichever types its cancellation state lets through), whether waiting for a slot, in an
  // exchange (the exchange is aborted) or between tries. After a cancelled or abandoned post,
  // billing may or may not hold the charge: the same Idempotency-Key makes the next post safe.
  // Logs billing.post_retry, billing.rejected, billing.protocol_error and billing.gave_up.
  // The arguments are moved into the coroutine frame; only *this must outlive the co_await.
  boost::asio::awaitable<result<outcome>> post(std::string charge_number, std::string raw_charge_json);

  // Posts currently holding a slot (an exchange under way). For metrics and tests.
  std::size_t in_flight() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace chargerecon::billing
