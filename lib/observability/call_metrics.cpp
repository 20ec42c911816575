#include "observability/call_metrics.hpp"

#include <boost/asio/error.hpp>
#include <chrono>
#include <memory>

#include "observability/metrics.hpp"

namespace chargerecon::obs {

std::optional<std::string_view> call_error_class(const result<http::response>& r) {
  if (r) {
    if (r->status >= 500) return "http_5xx";
    if (r->status >= 400) return "http_4xx";
    return std::nullopt;
  }
  const auto& code = r.error().code;
  if (code == boost::asio::error::operation_aborted) return std::nullopt;
  if (code.category() != chargerecon_category()) return "other";
  switch (static_cast<errc>(code.value())) {
    case errc::connect_timeout:
    case errc::request_timeout:
      return "timeout";
    case errc::resolve_failed:
    case errc::connect_failed:
      return "connect";
    case errc::tls_setup_failed:
    case errc::tls_handshake_failed:
      return "tls";
    case errc::connection_lost:
    case errc::http_protocol_error:
    case errc::response_too_large:
      return "connection";
    default:
      return "other";
  }
}

std::string call_method_label(std::string_view target) {
  target = target.substr(0, target.find_first_of("?#"));
  while (!target.empty() && target.front() == '/') target.remove_prefix(1);
  return std::string(target);
}

namespace {

struct instrumented {
  http_exchange inner;
  registry* metrics;
  call_metrics_options options;
  std::string duration_name;
  std::string errors_name;

  labels method_labels(const http::request& req) const {
    if (!options.by_method) return {};
    return {{"method", call_method_label(req.target)}};
  }

  void record(const http::request& req, const result<http::response>& r, std::chrono::steady_clock::duration took) {
    const auto cls = call_error_class(r);
    if (!r && !cls) return;  // cancelled: says nothing about the peer
    auto l = method_labels(req);
    metrics
        ->get_histogram(duration_name, "Duration of one HTTP exchange with " + options.peer + ", answered or failed", l)
        .observe(std::chrono::duration<double>(took).count());
    if (cls) {
      l.emplace_back("class", std::string(*cls));
      metrics->get_counter(errors_name, "Failed HTTP exchanges with " + options.peer + ", by class", l).inc();
    }
    if (options.on_answer) options.on_answer(req, r);
  }
};

// The frame holds the state (a shared_ptr), so the call does not depend on the std::function
// that started it outliving the suspension.
boost::asio::awaitable<result<http::response>> observed_exchange(std::shared_ptr<instrumented> state,
                                                                 http::request req) {
  // The request is moved into the exchange; keep what the labels need.
  http::request shape;
  shape.verb = req.verb;
  shape.target = req.target;
  const auto start = std::chrono::steady_clock::now();
  auto r = co_await state->inner(std::move(req));
  state->record(shape, r, std::chrono::steady_clock::now() - start);
  co_return r;
}

}  // namespace

http_exchange instrument_exchange(http_exchange inner, registry& metrics, call_metrics_options options) {
  auto state = std::make_shared<instrumented>();
  state->inner = std::move(inner);
  state->metrics = &metrics;
  state->duration_name = "chargerecon_" + options.peer + "_request_duration_seconds";
  state->errors_name = "chargerecon_" + options.peer + "_request_errors_total";
  state->options = std::move(options);
  return [state](http::request req) { return observed_exchange(state, std::move(req)); };
}

}  // namespace chargerecon::obs
