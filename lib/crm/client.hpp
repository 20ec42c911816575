#pragma once
// crm::client: the netflix methods of CRM.COM as awaitables, with login, token refresh, and
// bounded retries folded in. It talks through a `transport` (one HTTP exchange), so it runs
// against scripted answers in tests and against http::client in the daemon
// (crm/http_transport.hpp). The decisions live in pure code (answers, requests, retry_policy);
// this class only sequences them.
//
// Every attempt of every call (retries included) first makes sure the token is fresh:
//   - no token yet, or now >= expiry - refresh_margin: log in (expiry from the JWT's exp, else
//     token_lifetime after login);
//   - a call refused for its token (HTTP 401/403, or a status naming the token or an expiry):
//     exactly one new login, then the call is repeated; a second refusal ends the call with
//     errc::crm_token_rejected;
//   - login refused for its credentials (HTTP 4xx other than 408/429, or status not OK): the
//     call ends with errc::crm_login_refused, and the NEXT login waits 5 s, 10 s, ... up to
//     5 min (login_backoff) after the previous refusal, so a wrong password never spins.
// Transient failures (connect/resolve errors, timeouts, lost connections, HTTP 5xx/408/429,
// malformed answers — possibly a truncated transfer — and statuses other than OK) are
// retried with exponential backoff and full jitter, at most retry.max_attempts attempts, then
// the call ends with errc::crm_retries_exhausted carrying the last diagnostic. Other HTTP 4xx
// are not retried (errc::crm_http_status). Argument and limit errors (invalid_argument,
// crm_limit_exceeded) are returned before anything is sent.
//
// Log events (never with a token or password): crm.login, crm.token_refreshed,
// crm.login_refused (error: the credentials were refused), crm.login_delayed, crm.token_rejected
// (one new login follows), crm.call_retry, crm.call_failed.
//
// Cancellation: every call honours the awaiting coroutine's cancellation (its slot reaches the
// transport and the backoff timer) and then ends with boost::asio::error::operation_aborted,
// provided the caller's coroutine runs with this_coro::throw_if_cancelled(false) (the engine's
// do); under Asio's default the same cancellation surfaces as a thrown system_error instead;
// the waits run on an asio steady_timer on the coroutine's executor (see timer_sleeper).
// Concurrency: calls may be in flight concurrently on one executor (single thread). Two calls
// that find the token stale at the same moment may both log in; tokens are independent, so
// that only costs a request. Arguments are moved into the coroutine frame: only the client
// itself must outlive the co_await.

#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "crm/requests.hpp"
#include "crm/retry_policy.hpp"
#include "crm/types.hpp"
#include "http/message.hpp"
#include "observability/event_log.hpp"

namespace chargerecon::crm {

// One HTTP exchange. Errors are the HTTP layer's (resolve_failed, connect_failed, ...,
// operation_aborted when cancelled); any HTTP status is a success at this level.
using transport = std::function<boost::asio::awaitable<result<http::response>>(http::request)>;

// Wall-clock time: JWT exp is in seconds since the epoch.
using wall_clock = std::function<std::chrono::system_clock::time_point()>;

// Waits `delay`; returns boost::asio::error::operation_aborted when cancelled, else success.
using sleeper = std::function<boost::asio::awaitable<boost::system::error_code>(std::chrono::milliseconds)>;

// The default sleeper: a steady_timer on the awaiting coroutine's executor, so cancelling the
// coroutine interrupts the wait.
sleeper timer_sleeper();

struct client_config {
  // How long a token is trusted when its exp cannot be read (CRM.COM tokens last two hours).
  std::chrono::seconds token_lifetime{std::chrono::minutes(110)};
  // Log in again this long before the token expires (must be shorter than token_lifetime).
  std::chrono::seconds refresh_margin{std::chrono::minutes(5)};
  retry_config retry;
  login_backoff_config login_backoff;
};

// Seams for tests; empty members get the real thing (system_clock, timer_sleeper, a seeded
// std::mt19937_64).
struct client_hooks {
  wall_clock now;
  crm::sleeper sleep;
  random_source random;
};

class client {
 public:
  client(transport send, credentials creds, client_config config, obs::event_log log, client_hooks hooks = {});
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  // Logs in now, whatever the current token's age (transient failures retried as above).
  // Errors: crm_login_refused, crm_retries_exhausted, invalid_argument (incomplete credentials).
  boost::asio::awaitable<result<void>> login();

  // One page of netflix/charges/list. Errors: invalid_argument / crm_limit_exceeded
  // (number_of_results outside 1..50, bad field names), and those of every call.
  boost::asio::awaitable<result<charges_page>> list_charges(list_status status, std::size_t offset,
                                                            unsigned number_of_results,
                                                            std::vector<std::string> fields = {});

  // At most 50 items (crm_limit_exceeded otherwise: batching is the engine's job, because it
  // records which batch each charge went in). Returns the refused items; an empty `items`
  // returns no refusals without a call.
  boost::asio::awaitable<result<std::vector<ack_refusal>>> acknowledge(std::vector<ack_item> items);

  boost::asio::awaitable<result<std::vector<promotion>>> list_promotions(std::vector<std::string> fields = {});
  boost::asio::awaitable<result<std::vector<subscription>>> show_subscription(subscription_query query);

  // subscriptions/create is not idempotent (a repeat may create a second subscription), so it
  // is repeated only when the request provably never reached CRM.COM: resolve, connect or TLS
  // handshake failures (and once after a token refusal, which CRM.COM answers before acting).
  // A timeout or lost connection after sending ends the call with that error: a person checks.
  boost::asio::awaitable<result<subscription_signup>> create_subscription(subscription_create_request request);

  boost::asio::awaitable<result<void>> suspend(std::string customer);
  boost::asio::awaitable<result<void>> unsuspend(std::string customer);

  // More than 1000 devices are split into consecutive calls of at most 1000 (the method's
  // limit) and their failed_devices_set merged, so callers need not know the limit. The calls
  // run one after the other; if one fails the whole operation fails with its error, and the
  // slices already sent stay (un)registered: repeating the whole operation is safe, since
  // (un)registering a device twice leaves it in the same state.
  boost::asio::awaitable<result<device_result>> register_devices(group_identifier group, std::vector<std::string> esns);
  boost::asio::awaitable<result<device_result>> unregister_devices(group_identifier group,
                                                                   std::vector<std::string> esns);

  // Whether a token is held and not yet due for refresh (health and tests).
  bool has_fresh_token() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace chargerecon::crm
