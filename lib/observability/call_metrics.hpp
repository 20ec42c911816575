#pragma once
// Latency and error metrics for one peer's HTTP exchanges (CRM.COM, billing), recorded by a
// decorator around the exchange function the protocol clients already take (crm::transport,
// billing::transport have this very type), so lib/crm and lib/billing stay free of metrics.
//
// For peer "crm" the decorator records
//   chargerecon_crm_request_duration_seconds{method}     every exchange that ended (answer or
//                                                        transport error), cancelled ones aside
//   chargerecon_crm_request_errors_total{method,class}   the failed ones, by call_error_class
// and likewise chargerecon_billing_request_* (no method label when by_method is false).

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "http/message.hpp"

namespace chargerecon::obs {

class registry;

// One HTTP exchange: the shape of crm::transport and billing::transport.
using http_exchange = std::function<boost::asio::awaitable<result<http::response>>(http::request)>;

// Why an exchange failed, as a small fixed set of label values an alert can name:
//   "timeout" (connect or request timeout), "connect" (resolve or connect refused),
//   "tls", "connection" (lost mid-request, not HTTP, answer too large), "http_4xx", "http_5xx",
//   "other" (any other error code).
// nullopt for a success (any answer below 400) and for a cancelled call (our decision, not a
// failure of the peer). An answer of 200 whose body reports an error is a success here: the
// protocol clients judge bodies, and log what they find.
std::optional<std::string_view> call_error_class(const result<http::response>& r);

// The method label of a request target: its path without query or leading '/'
// ("netflix/charges/list?offset=0" -> "netflix/charges/list"). Our targets are fixed method
// paths, so the label set stays small.
std::string call_method_label(std::string_view target);

struct call_metrics_options {
  std::string peer;        // metric name stem: "crm" -> chargerecon_crm_request_...
  bool by_method = false;  // add the method label (call_method_label of the target)
  // Called after every exchange that was not cancelled, on the awaiting coroutine's executor.
  std::function<void(const http::request&, const result<http::response>&)> on_answer;
};

// Wraps `inner`. `metrics` must outlive every exchange made through the result. Cancellation
// passes through untouched: the wrapper awaits `inner` in the caller's coroutine.
http_exchange instrument_exchange(http_exchange inner, registry& metrics, call_metrics_options options);

}  // namespace chargerecon::obs
