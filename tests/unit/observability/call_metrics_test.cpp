#include "observability/call_metrics.hpp"

#include <gtest/gtest.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "observability/metrics.hpp"
#include "support/io_deadline.hpp"

namespace chargerecon::obs {
namespace {

namespace asio = boost::asio;

result<http::response> answer(unsigned status) {
  http::response r;
  r.status = status;
  return r;
}

bool contains(const std::string& text, const std::string& line) { return text.find(line + "\n") != std::string::npos; }

TEST(call_error_class, answers_below_400_are_successes) {
  EXPECT_EQ(call_error_class(answer(200)), std::nullopt);
  EXPECT_EQ(call_error_class(answer(302)), std::nullopt);
  EXPECT_EQ(call_error_class(answer(404)), "http_4xx");
  EXPECT_EQ(call_error_class(answer(429)), "http_4xx");
  EXPECT_EQ(call_error_class(answer(503)), "http_5xx");
}

TEST(call_error_class, transport_errors_fall_in_a_few_classes) {
  const auto of = [](errc e) { return call_error_class(result<http::response>(error{e, "x"})); };
  EXPECT_EQ(of(errc::request_timeout), "timeout");
  EXPECT_EQ(of(errc::connect_timeout), "timeout");
  EXPECT_EQ(of(errc::connect_failed), "connect");
  EXPECT_EQ(of(errc::resolve_failed), "connect");
  EXPECT_EQ(of(errc::tls_handshake_failed), "tls");
  EXPECT_EQ(of(errc::connection_lost), "connection");
  EXPECT_EQ(of(errc::response_too_large), "connection");
  EXPECT_EQ(of(errc::invalid_request), "other");
  EXPECT_EQ(call_error_class(result<http::response>(error{boost::system::error_code(asio::error::broken_pipe)})),
            "other");
}

TEST(call_error_class, a_cancelled_call_is_no_failure_of_the_peer) {
  EXPECT_EQ(call_error_class(result<http::response>(error{boost::system::error_code(asio::error::operation_aborted)})),
            std::nullopt);
}

TEST(call_method_label, is_the_path_without_query) {
  EXPECT_EQ(call_method_label("netflix/charges/list?offset=0&number_of_results=50"), "netflix/charges/list");
  EXPECT_EQ(call_method_label("/authentication/token"), "authentication/token");
  EXPECT_EQ(call_method_label("bill#x"), "bill");
}

TEST(instrument_exchange, records_latency_and_errors_by_method_and_class) {
  asio::io_context ioc;
  registry metrics;
  std::vector<std::string> seen;
  call_metrics_options o;
  o.peer = "crm";
  o.by_method = true;
  o.on_answer = [&](const http::request& req, const result<http::response>& r) {
    seen.push_back(req.target + (r ? " " + std::to_string(r->status) : " error"));
  };
  unsigned calls = 0;
  http_exchange inner = [&](http::request req) -> asio::awaitable<result<http::response>> {
    ++calls;
    if (req.target.starts_with("netflix/charges/acknowledge")) co_return error{errc::request_timeout, "slow"};
    if (req.target.starts_with("authentication")) co_return answer(500);
    co_return answer(200);
  };
  auto send = instrument_exchange(inner, metrics, o);
  auto body = [&]() -> asio::awaitable<void> {
    http::request list;
    list.target = "netflix/charges/list?offset=0";
    auto r = co_await send(list);
    test::require(r && r->status == 200, "the answer passes through");
    co_await send(list);
    http::request ack;
    ack.verb = http::method::post;
    ack.target = "netflix/charges/acknowledge";
    auto e = co_await send(ack);
    test::require(!e && e.error().code == make_error_code(errc::request_timeout), "the error passes through");
    http::request login;
    login.verb = http::method::post;
    login.target = "authentication/token";
    co_await send(login);
  };
  ASSERT_TRUE(test::run_io(ioc, body()));
  EXPECT_EQ(calls, 4u);
  const auto text = metrics.render();
  EXPECT_TRUE(contains(text, "# TYPE chargerecon_crm_request_duration_seconds histogram")) << text;
  EXPECT_TRUE(contains(text, "chargerecon_crm_request_duration_seconds_count{method=\"netflix/charges/list\"} 2"))
      << text;
  EXPECT_TRUE(
      contains(text, "chargerecon_crm_request_duration_seconds_count{method=\"netflix/charges/acknowledge\"} 1"));
  EXPECT_TRUE(contains(
      text, "chargerecon_crm_request_errors_total{method=\"netflix/charges/acknowledge\",class=\"timeout\"} 1"));
  EXPECT_TRUE(
      contains(text, "chargerecon_crm_request_errors_total{method=\"authentication/token\",class=\"http_5xx\"} 1"));
  EXPECT_EQ(text.find("chargerecon_crm_request_errors_total{method=\"netflix/charges/list\""), std::string::npos)
      << text;
  EXPECT_EQ(seen, (std::vector<std::string>{"netflix/charges/list?offset=0 200", "netflix/charges/list?offset=0 200",
                                            "netflix/charges/acknowledge error", "authentication/token 500"}));
}

// An exchange that waits for a long time unless cancelled, as the HTTP client does.
asio::awaitable<result<http::response>> slow_exchange(http::request req) {
  static_cast<void>(req);
  asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::hours(1));
  boost::system::error_code ec;
  co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return error{boost::system::error_code(ec)};
  co_return answer(200);
}

TEST(instrument_exchange, without_method_label_and_cancellation_reaches_the_inner_exchange) {
  asio::io_context ioc;
  registry metrics;
  call_metrics_options o;
  o.peer = "billing";
  bool answered = false;
  o.on_answer = [&](const http::request&, const result<http::response>&) { answered = true; };
  auto send = instrument_exchange(slow_exchange, metrics, o);
  asio::cancellation_signal cancel;
  std::optional<result<http::response>> outcome;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        co_await asio::this_coro::throw_if_cancelled(false);
        // A named request: GCC 12 destroys a temporary in a co_await expression wrongly once the
        // awaited coroutine has suspended.
        http::request req;
        outcome = co_await send(std::move(req));
      },
      asio::bind_cancellation_slot(cancel.slot(), asio::detached));
  asio::steady_timer later(ioc, std::chrono::milliseconds(10));
  later.async_wait([&](boost::system::error_code) { cancel.emit(asio::cancellation_type::terminal); });
  ioc.run_for(std::chrono::seconds(10));
  ASSERT_TRUE(outcome.has_value());
  ASSERT_FALSE(*outcome);
  EXPECT_EQ(outcome->error().code, asio::error::operation_aborted);
  EXPECT_FALSE(answered) << "a cancelled exchange is not reported";
  EXPECT_EQ(metrics.render().find("chargerecon_billing_request_duration_seconds_count"), std::string::npos)
      << "a cancelled exchange is not observed";
}

}  // namespace
}  // namespace chargerecon::obs
