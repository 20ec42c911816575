#include "billing/client.hpp"

#include "support/io_deadline.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <deque>
#include <sstream>

namespace chargerecon::billing {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using std::chrono::milliseconds;
using test::require;
using test::run_io;

struct captured_log {
  std::ostringstream out;
  obs::event_log log{std::make_shared<spdlog::logger>("billing-test", std::make_shared<spdlog::sinks::ostream_sink_st>(out)),
                     obs::log_format::text};
  bool has(std::string_view event) const { return out.str().find(event) != std::string::npos; }
};

http::response answer(unsigned status, std::string body, std::vector<http::header_field> headers = {}) {
  http::response r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

http::response created(std::string_view reference) {
  return answer(201, R"({"reference_number": ")" + std::string(reference) + R"("})");
}

// A transport that plays a script of answers in order and keeps every request it was given.
struct script {
  std::deque<result<http::response>> answers;
  std::vector<http::request> requests;
};

asio::awaitable<result<http::response>> play(std::shared_ptr<script> s, http::request req) {
  s->requests.push_back(std::move(req));
  if (s->answers.empty()) co_return error{errc::connection_lost, "script ran out of answers"};
  auto next = std::move(s->answers.front());
  s->answers.pop_front();
  co_return next;
}

transport scripted(std::shared_ptr<script> s) {
  return [s](http::request req) { return play(s, std::move(req)); };
}

// Records each wait instead of sleeping.
struct sleeps {
  std::vector<milliseconds> delays;
};

asio::awaitable<boost::system::error_code> record_sleep(std::shared_ptr<sleeps> s, milliseconds d) {
  s->delays.push_back(d);
  co_return boost::system::error_code{};
}

sleeper recording(std::shared_ptr<sleeps> s) {
  return [s](milliseconds d) { return record_sleep(s, d); };
}

random_source fixed(double value) {
  return [value] { return value; };
}

asio::awaitable<void> tick() {
  asio::steady_timer t(co_await asio::this_coro::executor, 1ms);
  co_await t.async_wait(asio::use_awaitable);
}

// Polls between other handlers; the global deadline of run_io bounds it.
template <class Pred>
asio::awaitable<void> until(Pred pred) {
  while (!pred()) co_await tick();
}

const std::string raw_charge = R"({"number":"I0001","billing_system_customer_identifier":"C0001","amount":0.1,"currency":"EUR"})";

// Runs one post to completion and returns its result.
result<outcome> post_once(client& c, std::string number = "I0001", std::string raw = raw_charge) {
  asio::io_context ioc;
  std::optional<result<outcome>> got;
  auto body = [&]() -> asio::awaitable<void> { got = co_await c.post(number, raw); };
  EXPECT_TRUE(run_io(ioc, body()));
  if (!got) return error{errc::invalid_argument, "the post did not finish"};
  return std::move(*got);
}

client_config quick_config() {
  client_config c;
  c.concurrency = 2;
  c.max_attempts = 4;
  c.backoff = {100ms, 10000ms};
  c.post_timeout = 10s;
  return c;
}

TEST(billing_client, billed_on_first_answer_with_the_request_of_the_contract) {
  auto s = std::make_shared<script>();
  s->answers.push_back(created("B-000001"));
  auto config = quick_config();
  config.target = {"bill", "tok"};
  client c(scripted(s), config, obs::event_log::null(), fixed(0.5), recording(std::make_shared<sleeps>()));
  const auto r = post_once(c);
  ASSERT_TRUE(r) << r.error().to_string();
  ASSERT_TRUE(std::holds_alternative<billed>(*r));
  EXPECT_EQ(std::get<billed>(*r).reference, "B-000001");
  ASSERT_EQ(s->requests.size(), 1u);
  EXPECT_EQ(s->requests[0].body, raw_charge);
  EXPECT_EQ(s->requests[0].target, "bill");
  EXPECT_EQ(http::find_header(s->requests[0].headers, "Idempotency-Key"), "I0001");
  EXPECT_EQ(http::find_header(s->requests[0].headers, "Authorization"), "Bearer tok");
}

TEST(billing_client, conflict_is_an_idempotent_replay_not_a_failure) {
  auto s = std::make_shared<script>();
  s->answers.push_back(answer(409, R"({"reference_number":"B-000042"})"));
  client c(scripted(s), quick_config(), obs::event_log::null(), fixed(0.5), recording(std::make_shared<sleeps>()));
  const auto r = post_once(c);
  ASSERT_TRUE(r);
  ASSERT_TRUE(std::holds_alternative<billed>(*r));
  EXPECT_EQ(std::get<billed>(*r).reference, "B-000042");
  EXPECT_TRUE(std::get<billed>(*r).replay);
}

TEST(billing_client, transient_failures_are_retried_with_the_same_key_then_billed) {
  auto s = std::make_shared<script>();
  s->answers.push_back(answer(503, R"({"error":"maintenance"})"));
  s->answers.push_back(error{errc::connect_failed, "connect to 127.0.0.1:9 refused"});
  s->answers.push_back(answer(408, ""));
  s->answers.push_back(created("B-000003"));
  auto slept = std::make_shared<sleeps>();
  captured_log logs;
  client c(scripted(s), quick_config(), logs.log, fixed(0.5), recording(slept));
  const auto r = post_once(c);
  ASSERT_TRUE(r);
  ASSERT_TRUE(std::holds_alternative<billed>(*r));
  EXPECT_EQ(std::get<billed>(*r).reference, "B-000003");
  ASSERT_EQ(s->requests.size(), 4u);
  for (const auto& req : s->requests) {
    EXPECT_EQ(http::find_header(req.headers, "Idempotency-Key"), "I0001");
    EXPECT_EQ(req.body, raw_charge);
  }
  // Full jitter at a draw of 0.5: half of 100, 200, 400 ms.
  EXPECT_EQ(slept->delays, (std::vector<milliseconds>{50ms, 100ms, 200ms}));
  EXPECT_TRUE(logs.has("billing.post_retry"));
  EXPECT_TRUE(logs.has("maintenance"));
}

TEST(billing_client, retry_after_is_honoured_when_longer_than_the_backoff) {
  auto s = std::make_shared<script>();
  s->answers.push_back(answer(429, "", {{"Retry-After", "7"}}));
  s->answers.push_back(answer(503, "", {{"Retry-After", "0"}}));
  s->answers.push_back(created("B-1"));
  auto slept = std::make_shared<sleeps>();
  client c(scripted(s), quick_config(), obs::event_log::null(), fixed(0.0), recording(slept));
  const auto r = post_once(c);
  ASSERT_TRUE(r);
  EXPECT_TRUE(std::holds_alternative<billed>(*r));
  ASSERT_EQ(slept->delays.size(), 2u);
  EXPECT_GE(slept->delays[0], 7000ms);
  EXPECT_EQ(slept->delays[1], 0ms);
}

TEST(billing_client, retry_after_above_the_cap_waits_the_cap) {
  auto s = std::make_shared<script>();
  s->answers.push_back(answer(503, "", {{"Retry-After", "86400"}}));
  s->answers.push_back(created("B-1"));
  auto slept = std::make_shared<sleeps>();
  auto config = quick_config();
  config.max_retry_after = 60s;
  client c(scripted(s), config, obs::event_log::null(), fixed(0.0), recording(slept));
  ASSERT_TRUE(post_once(c));
  EXPECT_EQ(slept->delays, (std::vector<milliseconds>{60000ms}));
}

TEST(billing_client, rejection_is_not_retried) {
  auto s = std::make_shared<script>();
  s->answers.push_back(answer(422, R"({"error":"customer C0007 unknown"})"));
  s->answers.push_back(created("B-never"));
  auto slept = std::make_shared<sleeps>();
  captured_log logs;
  client c(scripted(s), quick_config(), logs.log, fixed(0.5), recording(slept));
  const auto r = post_once(c);
  ASSERT_TRUE(r);
  ASSERT_TRUE(std::holds_alternative<rejected>(*r));
  EXPECT_EQ(std::get<rejected>(*r).status, 422u);
  EXPECT_EQ(std::get<rejected>(*r).reason, "'customer C0007 unknown'");
  EXPECT_EQ(s->requests.size(), 1u);
  EXPECT_TRUE(slept->delays.empty());
  EXPECT_TRUE(logs.has("billing.rejected"));
}

TEST(billing_client, gives_up_after_max_attempts_with_the_last_failure) {
  auto s = std::make_shared<script>();
  for (int i = 0; i < 10; ++i) s->answers.push_back(answer(500, "oops"));
  auto slept = std::make_shared<sleeps>();
  captured_log logs;
  auto config = quick_config();
  config.max_attempts = 3;
  client c(scripted(s), config, logs.log, fixed(0.5), recording(slept));
  const auto r = post_once(c);
  ASSERT_TRUE(r);
  ASSERT_TRUE(std::holds_alternative<gave_up>(*r));
  EXPECT_EQ(std::get<gave_up>(*r).attempts, 3u);
  EXPECT_EQ(std::get<gave_up>(*r).last.code, make_error_code(errc::billing_transient));
  EXPECT_NE(std::get<gave_up>(*r).last.diagnostic.find("I0001"), std::string::npos);
  EXPECT_EQ(s->requests.size(), 3u);
  EXPECT_EQ(slept->delays.size(), 2u);  // no wait after the last try
  EXPECT_FALSE(std::get<gave_up>(*r).retry_after.has_value());
  EXPECT_TRUE(logs.has("billing.gave_up"));
}

TEST(billing_client, a_refused_certificate_is_not_retried) {
  auto s = std::make_shared<script>();
  for (int i = 0; i < 4; ++i)
    s->answers.push_back(error{errc::tls_handshake_failed,
                               "TLS handshake with billing.example:443 failed: the server's certificate was not trusted"});
  auto slept = std::make_shared<sleeps>();
  captured_log logs;
  client c(scripted(s), quick_config(), logs.log, fixed(0.5), recording(slept));
  const auto r = post_once(c);
  ASSERT_TRUE(r);
  ASSERT_TRUE(std::holds_alternative<gave_up>(*r));
  EXPECT_EQ(std::get<gave_up>(*r).attempts, 1u);
  EXPECT_EQ(std::get<gave_up>(*r).last.code, make_error_code(errc::tls_handshake_failed));
  EXPECT_NE(std::get<gave_up>(*r).last.diagnostic.find("not trusted"), std::string::npos);
  EXPECT_EQ(s->requests.size(), 1u);
  EXPECT_TRUE(slept->delays.empty());
  EXPECT_TRUE(logs.has("billing.gave_up"));
  // A connection that dropped mid-handshake is transient, and retried as before.
  auto dropped = std::make_shared<script>();
  dropped->answers.push_back(error{errc::connect_failed, "TLS handshake with billing.example:443 failed: end of stream"});
  dropped->answers.push_back(created("B-1"));
  client again(scripted(dropped), quick_config(), logs.log, fixed(0.5), recording(slept));
  const auto billed_after_retry = post_once(again);
  ASSERT_TRUE(billed_after_retry);
  EXPECT_TRUE(std::holds_alternative<billed>(*billed_after_retry));
  EXPECT_EQ(dropped->requests.size(), 2u);
}

TEST(billing_client, giving_up_passes_billings_last_retry_after_on) {
  auto s = std::make_shared<script>();
  s->answers.push_back(answer(429, "", {{"Retry-After", "30"}}));
  auto config = quick_config();
  config.max_attempts = 1;
  client c(scripted(s), config, obs::event_log::null(), fixed(0.5), recording(std::make_shared<sleeps>()));
  const auto r = post_once(c);
  ASSERT_TRUE(r);
  ASSERT_TRUE(std::holds_alternative<gave_up>(*r));
  EXPECT_EQ(std::get<gave_up>(*r).retry_after, 30000ms);
}

TEST(billing_client, protocol_error_is_logged_loudly_and_retried) {
  auto s = std::make_shared<script>();
  s->answers.push_back(answer(200, R"({"reference_number": ""})"));
  s->answers.push_back(created("B-9"));
  captured_log logs;
  client c(scripted(s), quick_config(), logs.log, fixed(0.5), recording(std::make_shared<sleeps>()));
  const auto r = post_once(c);
  ASSERT_TRUE(r);
  ASSERT_TRUE(std::holds_alternative<billed>(*r));
  EXPECT_EQ(std::get<billed>(*r).reference, "B-9");
  EXPECT_TRUE(logs.has("error billing.protocol_error"));
}

TEST(billing_client, protocol_errors_until_the_end_give_up_as_protocol_errors) {
  auto s = std::make_shared<script>();
  s->answers.push_back(answer(201, "{}"));
  client_config config = quick_config();
  config.max_attempts = 1;
  client c(scripted(s), config, obs::event_log::null(), fixed(0.5), recording(std::make_shared<sleeps>()));
  const auto r = post_once(c);
  ASSERT_TRUE(r);
  ASSERT_TRUE(std::holds_alternative<gave_up>(*r));
  EXPECT_EQ(std::get<gave_up>(*r).last.code, make_error_code(errc::billing_protocol_error));
}

TEST(billing_client, the_token_never_reaches_the_log) {
  auto s = std::make_shared<script>();
  s->answers.push_back(answer(503, "busy"));
  s->answers.push_back(answer(422, "no"));
  captured_log logs;
  auto config = quick_config();
  config.target.bearer_token = "s3cret-t0ken";
  client c(scripted(s), config, logs.log, fixed(0.5), recording(std::make_shared<sleeps>()));
  ASSERT_TRUE(post_once(c));
  EXPECT_TRUE(logs.has("billing.post_retry"));
  EXPECT_FALSE(logs.has("s3cret-t0ken"));
}

TEST(billing_client, a_number_that_cannot_be_a_key_is_refused_before_sending) {
  auto s = std::make_shared<script>();
  client c(scripted(s), quick_config(), obs::event_log::null(), fixed(0.5), recording(std::make_shared<sleeps>()));
  const auto r = post_once(c, "I1\r\nX: y");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, make_error_code(errc::invalid_argument));
  EXPECT_TRUE(s->requests.empty());
}

// --- concurrency, timeouts and cancellation: exchanges that take time on real timers ---

struct gauge {
  const client* c = nullptr;
  int now = 0;
  int max = 0;
  std::size_t client_max = 0;
  int calls = 0;
};

asio::awaitable<result<http::response>> slow_exchange(std::shared_ptr<gauge> g, http::request req) {
  ++g->calls;
  g->max = std::max(g->max, ++g->now);
  g->client_max = std::max(g->client_max, g->c->in_flight());
  asio::steady_timer t(co_await asio::this_coro::executor, 2ms);
  co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
  --g->now;
  co_return created("R-" + std::string(*http::find_header(req.headers, "Idempotency-Key")));
}

TEST(billing_client, never_more_posts_in_flight_than_the_concurrency) {
  auto g = std::make_shared<gauge>();
  auto config = quick_config();
  config.concurrency = 3;
  client c([g](http::request r) { return slow_exchange(g, std::move(r)); }, config, obs::event_log::null(), fixed(0.5),
           recording(std::make_shared<sleeps>()));
  g->c = &c;
  asio::io_context ioc;
  std::vector<std::optional<result<outcome>>> results(20);
  auto body = [&]() -> asio::awaitable<void> {
    const auto ex = co_await asio::this_coro::executor;
    for (std::size_t i = 0; i < results.size(); ++i)
      asio::co_spawn(ex, c.post("I" + std::to_string(i), raw_charge),
                     [&results, i](std::exception_ptr e, result<outcome> r) {
                       if (!e) results[i] = std::move(r);
                     });
    co_return;
  };
  ASSERT_TRUE(run_io(ioc, body()));
  EXPECT_EQ(g->calls, 20);
  EXPECT_EQ(g->max, 3);  // reached the limit, never above it
  EXPECT_LE(g->client_max, 3u);
  EXPECT_EQ(c.in_flight(), 0u);
  for (std::size_t i = 0; i < results.size(); ++i) {
    ASSERT_TRUE(results[i] && *results[i]) << i;
    ASSERT_TRUE(std::holds_alternative<billed>(**results[i])) << i;
    EXPECT_EQ(std::get<billed>(**results[i]).reference, "R-I" + std::to_string(i));
  }
}

// An exchange that never answers unless `hang` is off; it only ends by cancellation.
struct probe {
  bool hang = true;
  int started = 0;
  std::vector<boost::system::error_code> ended_with;
};

asio::awaitable<result<http::response>> hanging_exchange(std::shared_ptr<probe> p, http::request) {
  ++p->started;
  if (!p->hang) co_return created("B-late");
  asio::steady_timer t(co_await asio::this_coro::executor, asio::steady_timer::time_point::max());
  const auto ec = std::get<0>(co_await t.async_wait(asio::as_tuple(asio::use_awaitable)));
  p->ended_with.push_back(ec);
  co_return error{ec, "exchange ended"};
}

transport hanging(std::shared_ptr<probe> p) {
  return [p](http::request r) { return hanging_exchange(p, std::move(r)); };
}

TEST(billing_client, a_post_without_answer_times_out_and_its_exchange_is_cancelled) {
  auto p = std::make_shared<probe>();
  auto config = quick_config();
  config.post_timeout = 20ms;
  config.max_attempts = 2;
  auto slept = std::make_shared<sleeps>();
  client c(hanging(p), config, obs::event_log::null(), fixed(0.5), recording(slept));
  const auto r = post_once(c);
  ASSERT_TRUE(r) << r.error().to_string();
  ASSERT_TRUE(std::holds_alternative<gave_up>(*r));
  EXPECT_EQ(std::get<gave_up>(*r).attempts, 2u);
  EXPECT_EQ(std::get<gave_up>(*r).last.code, make_error_code(errc::request_timeout));
  EXPECT_EQ(p->started, 2);
  EXPECT_EQ(p->ended_with,
            (std::vector<boost::system::error_code>{asio::error::operation_aborted, asio::error::operation_aborted}));
  EXPECT_EQ(slept->delays.size(), 1u);
}

TEST(billing_client, cancellation_aborts_an_exchange_under_way) {
  auto p = std::make_shared<probe>();
  client c(hanging(p), quick_config(), obs::event_log::null(), fixed(0.5), recording(std::make_shared<sleeps>()));
  asio::io_context ioc;
  std::optional<result<outcome>> got;
  asio::cancellation_signal cancel;
  auto body = [&]() -> asio::awaitable<void> {
    asio::co_spawn(co_await asio::this_coro::executor, c.post("I0001", raw_charge),
                   asio::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr e, result<outcome> r) {
                     if (!e) got = std::move(r);
                   }));
    co_await until([&] { return p->started == 1; });
    require(c.in_flight() == 1, "the post holds a slot");
    cancel.emit(asio::cancellation_type::terminal);
    co_await until([&] { return got.has_value(); });
  };
  ASSERT_TRUE(run_io(ioc, body()));
  ASSERT_TRUE(got && !*got);
  EXPECT_EQ(got->error().code, asio::error::operation_aborted);
  EXPECT_EQ(p->ended_with, std::vector<boost::system::error_code>{asio::error::operation_aborted});
  EXPECT_EQ(c.in_flight(), 0u);
}

TEST(billing_client, cancellation_stops_the_wait_before_a_retry) {
  auto s = std::make_shared<script>();
  s->answers.push_back(answer(503, "busy"));
  auto config = quick_config();
  config.backoff = {std::chrono::hours(1), std::chrono::hours(1)};
  captured_log logs;
  // The real sleeper: a steady_timer that would wait about an hour.
  client c(scripted(s), config, logs.log, fixed(0.9));
  asio::io_context ioc;
  std::optional<result<outcome>> got;
  asio::cancellation_signal cancel;
  auto body = [&]() -> asio::awaitable<void> {
    asio::co_spawn(co_await asio::this_coro::executor, c.post("I0001", raw_charge),
                   asio::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr e, result<outcome> r) {
                     if (!e) got = std::move(r);
                   }));
    // billing.post_retry is logged right before the wait starts.
    co_await until([&] { return logs.has("billing.post_retry"); });
    cancel.emit(asio::cancellation_type::terminal);
    co_await until([&] { return got.has_value(); });
  };
  ASSERT_TRUE(run_io(ioc, body()));
  ASSERT_TRUE(got && !*got);
  EXPECT_EQ(got->error().code, asio::error::operation_aborted);
  EXPECT_EQ(s->requests.size(), 1u);
}

TEST(billing_client, cancellation_stops_the_wait_for_a_slot_and_leaks_none) {
  auto p = std::make_shared<probe>();
  auto config = quick_config();
  config.concurrency = 1;
  client c(hanging(p), config, obs::event_log::null(), fixed(0.5), recording(std::make_shared<sleeps>()));
  asio::io_context ioc;
  std::optional<result<outcome>> first, second, third;
  asio::cancellation_signal cancel_first, cancel_second;
  auto body = [&]() -> asio::awaitable<void> {
    const auto ex = co_await asio::this_coro::executor;
    asio::co_spawn(ex, c.post("I0001", raw_charge),
                   asio::bind_cancellation_slot(cancel_first.slot(), [&](std::exception_ptr e, result<outcome> r) {
                     if (!e) first = std::move(r);
                   }));
    asio::co_spawn(ex, c.post("I0002", raw_charge),
                   asio::bind_cancellation_slot(cancel_second.slot(), [&](std::exception_ptr e, result<outcome> r) {
                     if (!e) second = std::move(r);
                   }));
    co_await until([&] { return p->started == 1; });
    co_await tick();
    require(p->started == 1, "the second post waits for the only slot");
    cancel_second.emit(asio::cancellation_type::terminal);
    co_await until([&] { return second.has_value(); });
    require(p->started == 1 && c.in_flight() == 1 && !first, "the first post is still under way");

    cancel_first.emit(asio::cancellation_type::terminal);
    co_await until([&] { return first.has_value(); });
    require(c.in_flight() == 0, "both slots given back");

    // The one slot is free again: a new post goes straight through.
    p->hang = false;
    third = co_await c.post("I0003", raw_charge);
  };
  ASSERT_TRUE(run_io(ioc, body()));
  ASSERT_TRUE(second && !*second);
  EXPECT_EQ(second->error().code, asio::error::operation_aborted);
  ASSERT_TRUE(first && !*first);
  EXPECT_EQ(first->error().code, asio::error::operation_aborted);
  ASSERT_TRUE(third && *third);
  EXPECT_TRUE(std::holds_alternative<billed>(**third));
  EXPECT_EQ(p->started, 2);
}

TEST(billing_client, zero_concurrency_or_attempts_is_a_startup_error) {
  auto s = std::make_shared<script>();
  auto config = quick_config();
  config.concurrency = 0;
  EXPECT_THROW(client(scripted(s), config, obs::event_log::null()), std::invalid_argument);
  config = quick_config();
  config.max_attempts = 0;
  EXPECT_THROW(client(scripted(s), config, obs::event_log::null()), std::invalid_argument);
}

}  // namespace
}  // namespace chargerecon::billing
