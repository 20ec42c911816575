#include "crm/client.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/json/parse.hpp>
#include <boost/url/parse.hpp>
#include <deque>
#include <optional>
#include <sstream>

#include "crm/jwt.hpp"

namespace chargerecon::crm {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

std::string ok(const std::string& data) {
  return R"({"data":)" + data + R"(,"status":{"code":"OK","description":"","message":""}})";
}
std::string login_ok(const std::string& token) { return ok(R"({"token":")" + token + R"("})"); }
const std::string one_charge_page =
    ok(R"({"charges_set":[{"number":"I1","billing_system_customer_identifier":"C1","amount":9.99,"currency":"EUR",)"
       R"("charge_status":"APPROVED","received_on":"2026-11-27T05:00:00"}]})");
const std::string token_refused = R"({"data":null,"status":{"code":"ERROR","message":"Token is invalid"}})";

std::string base64url(std::string_view s) {
  auto b = base64_encode(s);
  for (auto& c : b) c = c == '+' ? '-' : c == '/' ? '_' : c;
  while (!b.empty() && b.back() == '=') b.pop_back();
  return b;
}

std::string jwt_expiring_at(std::chrono::system_clock::time_point exp, std::string_view id) {
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(exp.time_since_epoch()).count();
  return base64url(R"({"alg":"HS256"})") + "." +
         base64url(R"({"usr":"ops","jti":")" + std::string(id) + R"(","exp":)" + std::to_string(secs) + "}") + ".sig";
}

// A scripted CRM.COM: answers in order, every request recorded.
struct script {
  using answer_fn = std::function<result<http::response>(const http::request&)>;
  std::vector<http::request> requests;
  std::deque<answer_fn> answers;

  transport fn() {
    return [this](http::request req) -> asio::awaitable<result<http::response>> {
      requests.push_back(std::move(req));
      if (answers.empty()) {
        ADD_FAILURE() << "unexpected request " << requests.back().target;
        co_return error{errc::connection_lost, "script exhausted"};
      }
      auto a = std::move(answers.front());
      answers.pop_front();
      co_return a(requests.back());
    };
  }
  void push(unsigned status, std::string body) {
    answers.push_back([status, body](const http::request&) -> result<http::response> {
      http::response r;
      r.status = status;
      r.body = body;
      return r;
    });
  }
  void push_error(errc e) {
    answers.push_back([e](const http::request&) -> result<http::response> { return error{e, "scripted"}; });
  }

  bool is_login(std::size_t i) const { return requests.at(i).target.rfind("authentication/", 0) == 0; }
  std::size_t logins() const {
    std::size_t n = 0;
    for (std::size_t i = 0; i < requests.size(); ++i) n += is_login(i);
    return n;
  }
  // The token a request carried: in the query of a GET, in the body of a POST.
  std::string token_of(std::size_t i) const {
    const auto& r = requests.at(i);
    if (r.verb == http::method::get) {
      auto u = boost::urls::parse_relative_ref(r.target);
      for (auto p : u->params())
        if (p.key == "token") return std::string(p.value);
      return {};
    }
    auto body = boost::json::parse(r.body).as_object();
    return body.contains("token") ? std::string(body.at("token").as_string()) : std::string();
  }
};

// Injected time: sleeping advances the clock, and every scheduled delay is recorded.
struct fake_time {
  std::chrono::system_clock::time_point now = std::chrono::sys_days{std::chrono::year{2026} / 11 / 27};
  std::vector<milliseconds> sleeps;
  double jitter = 0.5;

  client_hooks hooks() {
    return {[this] { return now; },
            [this](milliseconds d) -> asio::awaitable<boost::system::error_code> {
              sleeps.push_back(d);
              now += d;
              co_return boost::system::error_code{};
            },
            [this] { return jitter; }};
  }
};

// Runs one operation to completion on a fresh io_context, under a deadline.
template <class T>
T run(asio::awaitable<T> op) {
  asio::io_context ctx;
  std::optional<T> out;
  asio::co_spawn(
      ctx, [&]() -> asio::awaitable<void> { out.emplace(co_await std::move(op)); },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  ctx.run_for(30s);
  if (!out) throw std::runtime_error("operation did not finish before the deadline");
  return std::move(*out);
}

const credentials creds{"ops", "hunter2-secret", "ACME", "", ""};

struct fixture : ::testing::Test {
  script crm;
  fake_time time;
  client_config config;
  std::optional<client> c;
  std::ostringstream log_text;

  obs::event_log captured_log() {
    return obs::event_log(
        std::make_shared<spdlog::logger>("t", std::make_shared<spdlog::sinks::ostream_sink_st>(log_text)),
        obs::log_format::json);
  }

  client& make(obs::event_log log = obs::event_log::null()) {
    c.emplace(crm.fn(), creds, config, std::move(log), time.hooks());
    return *c;
  }
};

using crm_client = fixture;

TEST_F(crm_client, logs_in_then_calls_with_the_token_and_reuses_it) {
  crm.push(200, login_ok("T1"));
  crm.push(200, one_charge_page);
  crm.push(200, one_charge_page);
  auto& cl = make();
  auto r = run(cl.list_charges(list_status::processed, 0, 50));
  ASSERT_TRUE(r) << r.error().to_string();
  ASSERT_EQ(r->charges.size(), 1u);
  EXPECT_EQ(r->charges[0].amount, "9.99");
  ASSERT_EQ(crm.requests.size(), 2u);
  EXPECT_EQ(crm.requests[0].target, "authentication/token");
  EXPECT_EQ(boost::json::parse(crm.requests[0].body).at("organisation").as_string(), "ACME");
  EXPECT_EQ(crm.token_of(1), "T1");
  EXPECT_TRUE(cl.has_fresh_token());

  ASSERT_TRUE(run(cl.list_charges(list_status::processed, 1, 50)));
  EXPECT_EQ(crm.requests.size(), 3u);
  EXPECT_EQ(crm.logins(), 1u);
  EXPECT_TRUE(time.sleeps.empty());
}

TEST_F(crm_client, token_is_refreshed_before_its_exp) {
  const auto exp = time.now + 2h;
  crm.push(200, login_ok(jwt_expiring_at(exp, "a")));
  crm.push(200, one_charge_page);
  crm.push(200, one_charge_page);
  crm.push(200, login_ok(jwt_expiring_at(exp + 2h, "b")));
  crm.push(200, one_charge_page);
  auto& cl = make(captured_log());
  ASSERT_TRUE(run(cl.list_charges(list_status::processed, 0, 50)));
  EXPECT_EQ(log_text.str().find("crm.token_refreshed"), std::string::npos);

  time.now = exp - config.refresh_margin - 1s;
  EXPECT_TRUE(cl.has_fresh_token());
  ASSERT_TRUE(run(cl.list_charges(list_status::processed, 0, 50)));
  EXPECT_EQ(crm.logins(), 1u);

  time.now = exp - config.refresh_margin;
  EXPECT_FALSE(cl.has_fresh_token());
  ASSERT_TRUE(run(cl.list_charges(list_status::processed, 0, 50)));
  ASSERT_EQ(crm.requests.size(), 5u);
  EXPECT_TRUE(crm.is_login(3));
  EXPECT_EQ(crm.token_of(4), jwt_expiring_at(exp + 2h, "b"));
  EXPECT_NE(log_text.str().find(R"("event":"crm.token_refreshed","reason":"expiry")"), std::string::npos)
      << log_text.str();
}

TEST_F(crm_client, opaque_token_lives_for_the_configured_lifetime) {
  config.token_lifetime = 30min;
  config.refresh_margin = 1min;
  crm.push(200, login_ok("opaque-1"));
  crm.push(200, one_charge_page);
  crm.push(200, one_charge_page);
  crm.push(200, login_ok("opaque-2"));
  crm.push(200, one_charge_page);
  auto& cl = make();
  ASSERT_TRUE(run(cl.list_charges(list_status::processed, 0, 50)));
  time.now += 28min + 59s;
  ASSERT_TRUE(run(cl.list_charges(list_status::processed, 0, 50)));
  EXPECT_EQ(crm.logins(), 1u);
  time.now += 1s;
  ASSERT_TRUE(run(cl.list_charges(list_status::processed, 0, 50)));
  EXPECT_EQ(crm.logins(), 2u);
  EXPECT_EQ(crm.token_of(4), "opaque-2");
}

TEST_F(crm_client, token_refusal_means_one_new_login_and_the_call_repeated) {
  crm.push(200, login_ok("T1"));
  crm.push(200, token_refused);
  crm.push(200, login_ok("T2"));
  crm.push(200, ok(R"({"failed_charges_set":[]})"));
  auto& cl = make();
  auto r = run(cl.acknowledge({{"I1", "C1", std::string("B-1")}}));
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_TRUE(r->empty());
  ASSERT_EQ(crm.requests.size(), 4u);
  EXPECT_EQ(crm.token_of(1), "T1");
  EXPECT_TRUE(crm.is_login(2));
  EXPECT_EQ(crm.token_of(3), "T2");
  auto repeated = crm.requests[1].body;
  repeated.replace(repeated.find("T1"), 2, "T2");
  EXPECT_EQ(crm.requests[3].body, repeated);  // the same call, with the new token
  EXPECT_TRUE(time.sleeps.empty());
}

TEST_F(crm_client, a_second_token_refusal_ends_the_call) {
  crm.push(200, login_ok("T1"));
  crm.push(401, "");
  crm.push(200, login_ok("T2"));
  crm.push(403, R"({"data":null,"status":{"code":"FORBIDDEN","message":null}})");
  auto& cl = make();
  auto r = run(cl.list_charges(list_status::processed, 0, 50));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::crm_token_rejected);
  EXPECT_NE(r.error().diagnostic.find("netflix/charges/list"), std::string::npos);
  EXPECT_EQ(crm.requests.size(), 4u);
  EXPECT_TRUE(crm.answers.empty());
}

TEST_F(crm_client, server_error_then_ok_is_retried_after_a_backoff) {
  crm.push(200, login_ok("T1"));
  crm.push(503, "<html>busy</html>");
  crm.push(200, one_charge_page);
  auto& cl = make();
  auto r = run(cl.list_charges(list_status::processed, 0, 50));
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(crm.requests.size(), 3u);
  EXPECT_EQ(crm.logins(), 1u);
  EXPECT_EQ(time.sleeps, (std::vector<milliseconds>{250ms}));  // jitter 0.5 of 500 ms
}

// A certificate refused (untrusted, expired, another host's name) is refused again on every
// try: the call ends at the first, with the verification's reason, and nothing is slept.
TEST_F(crm_client, a_refused_certificate_is_not_retried_and_names_the_reason) {
  crm.answers.push_back([](const http::request&) -> result<http::response> {
    return error{errc::tls_handshake_failed,
                 "TLS handshake with crm.example:443 failed: the server's certificate was not trusted: "
                 "self-signed certificate (trusting the system's CA store)"};
  });
  auto& cl = make();
  auto r = run(cl.login());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::tls_handshake_failed) << r.error().to_string();
  EXPECT_NE(r.error().diagnostic.find("self-signed certificate"), std::string::npos) << r.error().diagnostic;
  EXPECT_EQ(crm.requests.size(), 1u);
  EXPECT_TRUE(time.sleeps.empty());

  // A connection dropped during the handshake is another matter: retried like a failed connect.
  crm.push_error(errc::connect_failed);
  crm.push(200, login_ok("T1"));
  auto again = run(cl.login());
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_EQ(crm.requests.size(), 3u);
}

TEST_F(crm_client, transient_failures_are_bounded_and_back_off_exponentially) {
  crm.push(200, login_ok("T1"));
  crm.push(502, "");
  crm.push_error(errc::request_timeout);
  crm.push(200, R"({"data":{"charges_set":[)");  // truncated transfer
  crm.push(200, R"({"data":null,"status":{"code":"ERROR","message":"Database unavailable"}})");
  auto& cl = make();
  auto r = run(cl.list_charges(list_status::processed, 0, 50));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::crm_retries_exhausted);
  EXPECT_NE(r.error().diagnostic.find("gave up after 4 attempts"), std::string::npos) << r.error().diagnostic;
  EXPECT_NE(r.error().diagnostic.find("Database unavailable"), std::string::npos) << r.error().diagnostic;
  EXPECT_EQ(crm.requests.size(), 5u);
  EXPECT_EQ(time.sleeps, (std::vector<milliseconds>{250ms, 500ms, 1000ms}));
}

TEST_F(crm_client, client_errors_are_not_retried) {
  crm.push(200, login_ok("T1"));
  crm.push(400, R"({"data":null,"status":{"code":"ERROR","message":"offset is mandatory"}})");
  auto& cl = make();
  auto r = run(cl.list_charges(list_status::processed, 0, 50));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::crm_http_status);
  EXPECT_EQ(r.error().diagnostic.rfind("netflix/charges/list: HTTP 400: ", 0), 0u) << r.error().diagnostic;
  EXPECT_EQ(crm.requests.size(), 2u);
  EXPECT_TRUE(time.sleeps.empty());
}

TEST_F(crm_client, refused_logins_back_off_growing_to_a_cap) {
  auto& cl = make();
  for (int i = 0; i < 9; ++i) {
    if (i % 2)
      crm.push(401, "");
    else
      crm.push(200, R"({"data":null,"status":{"code":"ERROR","message":"Invalid username or password"}})");
    auto r = run(cl.login());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, errc::crm_login_refused) << r.error().to_string();
  }
  EXPECT_EQ(time.sleeps, (std::vector<milliseconds>{5s, 10s, 20s, 40s, 80s, 160s, 300s, 300s}));
  EXPECT_EQ(crm.requests.size(), 9u);

  // A call meets the same gate, and its refused login is not retried within the call.
  crm.push(401, "");
  auto call = run(cl.list_charges(list_status::processed, 0, 50));
  ASSERT_FALSE(call);
  EXPECT_EQ(call.error().code, errc::crm_login_refused);
  EXPECT_EQ(crm.requests.size(), 10u);
  EXPECT_EQ(time.sleeps.back(), 300s);

  // Success resets the backoff: the next refusal waits nothing, the one after 5 s.
  crm.push(200, login_ok("T1"));
  ASSERT_TRUE(run(cl.login()));
  time.sleeps.clear();
  crm.push(401, "");
  crm.push(401, "");
  EXPECT_FALSE(run(cl.login()));
  EXPECT_FALSE(run(cl.login()));
  EXPECT_EQ(time.sleeps, (std::vector<milliseconds>{5s}));
}

TEST_F(crm_client, login_server_errors_are_transient) {
  crm.push(503, "");
  crm.push(200, login_ok("T1"));
  crm.push(200, one_charge_page);
  auto& cl = make();
  ASSERT_TRUE(run(cl.list_charges(list_status::processed, 0, 50)));
  EXPECT_EQ(crm.logins(), 2u);
  EXPECT_EQ(time.sleeps, (std::vector<milliseconds>{250ms}));
}

TEST_F(crm_client, devices_are_split_into_calls_of_1000_and_failures_merged) {
  std::vector<std::string> esns(2500);
  for (std::size_t i = 0; i < esns.size(); ++i) esns[i] = "ESN" + std::to_string(i);
  crm.push(200, login_ok("T1"));
  crm.push(200, ok(R"({"failed_devices_set":[{"esn":"ESN7"}]})"));
  crm.push(200, ok(R"({})"));
  crm.push(200, ok(R"({"failed_devices_set":[{"esn":"ESN2400"},{"esn":"ESN2499"}]})"));
  auto& cl = make();
  auto r = run(cl.register_devices({group_identifier::by::name, "Set-top boxes"}, esns));
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->failed_esns, (std::vector<std::string>{"ESN7", "ESN2400", "ESN2499"}));
  ASSERT_EQ(crm.requests.size(), 4u);
  const std::size_t expected_sizes[] = {1000, 1000, 500};
  for (std::size_t i = 1; i < 4; ++i) {
    EXPECT_EQ(crm.requests[i].target, "netflix/operators/register_devices");
    const auto body = boost::json::parse(crm.requests[i].body).as_object();
    EXPECT_EQ(body.at("token").as_string(), "T1");
    EXPECT_EQ(body.at("devices").as_array().size(), expected_sizes[i - 1]);
  }
  EXPECT_EQ(boost::json::parse(crm.requests[3].body).at("devices").as_array()[0].at("esn").as_string(), "ESN2000");
}

TEST_F(crm_client, create_subscription_is_repeated_only_when_it_never_left) {
  subscription_create_request req;
  req.customer = "CUST-1";
  crm.push(200, login_ok("T1"));
  crm.push_error(errc::connect_failed);
  crm.push(200, ok(R"({"netflix_token":"NT-1"})"));
  auto& cl = make();
  auto r = run(cl.create_subscription(req));
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->token, "NT-1");
  EXPECT_EQ(crm.requests.size(), 3u);

  crm.push_error(errc::request_timeout);
  auto timed_out = run(cl.create_subscription(req));
  ASSERT_FALSE(timed_out);
  EXPECT_EQ(timed_out.error().code, errc::request_timeout);
  crm.push(502, "");
  auto bad_gateway = run(cl.create_subscription(req));
  ASSERT_FALSE(bad_gateway);
  EXPECT_EQ(bad_gateway.error().code, errc::crm_http_status);
  EXPECT_EQ(crm.requests.size(), 5u);
}

TEST_F(crm_client, create_subscription_goes_on_after_a_transient_login_failure) {
  subscription_create_request req;
  req.customer = "CUST-1";
  crm.push(503, "");
  crm.push(200, login_ok("T1"));
  crm.push(200, ok(R"({"url":"https://signup.example/nt"})"));
  auto& cl = make();
  auto r = run(cl.create_subscription(req));
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->url, "https://signup.example/nt");
  EXPECT_EQ(crm.requests.size(), 3u);
  EXPECT_EQ(time.sleeps, (std::vector<milliseconds>{250ms}));
}

TEST_F(crm_client, limits_are_refused_before_anything_is_sent) {
  auto& cl = make();
  std::vector<ack_item> many(51, ack_item{"I1", "C1", std::nullopt});
  auto r = run(cl.acknowledge(many));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::crm_limit_exceeded);
  auto page = run(cl.list_charges(list_status::processed, 0, 51));
  ASSERT_FALSE(page);
  EXPECT_EQ(page.error().code, errc::crm_limit_exceeded);
  subscription_create_request req;
  req.customer = "C";
  req.validity_duration = 86401s;
  EXPECT_EQ(run(cl.create_subscription(req)).error().code, errc::crm_limit_exceeded);
  auto none = run(cl.acknowledge({}));
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  EXPECT_TRUE(crm.requests.empty());
}

TEST_F(crm_client, acknowledge_returns_the_refused_items) {
  crm.push(200, login_ok("T1"));
  crm.push(
      200,
      ok(R"({"failed_charges_set":[{"number":"I2","reference_number":"B-2","error_code":"E7","error_description":"x"}]})"));
  auto& cl = make();
  auto r = run(cl.acknowledge({{"I1", "C1", std::string("B-1")}, {"I2", "C2", std::string("B-2")}}));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].number, "I2");
  EXPECT_EQ((*r)[0].error_code, "E7");
}

TEST_F(crm_client, other_methods_go_through_the_same_path) {
  crm.push(200, login_ok("T1"));
  crm.push(200, ok(R"([{"code":"NFX-1M","name":"One month"}])"));
  crm.push(200, ok(R"([{"subscription_number":"S1","netflix_sate":"ACTIVE","life_cycle_state":"EFFECTIVE"}])"));
  crm.push(200, ok("{}"));
  crm.push(200, ok("{}"));
  crm.push(200, ok("{}"));
  auto& cl = make();
  auto promos = run(cl.list_promotions());
  ASSERT_TRUE(promos);
  EXPECT_EQ(promos->at(0).code, "NFX-1M");
  auto subs = run(cl.show_subscription({subscription_query::by::billing_system_customer_identifier, "C1", {}}));
  ASSERT_TRUE(subs);
  EXPECT_EQ(subs->at(0).netflix_state, "ACTIVE");
  EXPECT_TRUE(run(cl.suspend("C1")));
  EXPECT_TRUE(run(cl.unsuspend("C1")));
  auto un = run(cl.unregister_devices({group_identifier::by::id, "7"}, {"E1"}));
  ASSERT_TRUE(un);
  EXPECT_TRUE(un->failed_esns.empty());
  ASSERT_EQ(crm.requests.size(), 6u);
  EXPECT_EQ(crm.requests[3].target, "netflix/subscriptions/suspend");
  EXPECT_EQ(crm.requests[4].target, "netflix/subscriptions/unsuspend");
  for (std::size_t i = 1; i < 6; ++i) EXPECT_EQ(crm.token_of(i), "T1") << i;
}

TEST_F(crm_client, cancellation_interrupts_the_backoff_wait) {
  crm.push(200, login_ok("T1"));
  crm.push(503, "");
  config.retry.backoff_initial = 1h;
  config.retry.backoff_max = 1h;
  asio::io_context ctx;
  asio::cancellation_signal cancel;
  bool waiting = false;
  client_hooks hooks = time.hooks();
  // The real timer, with a hook that cancels the call once it is waiting.
  hooks.sleep = [&](milliseconds d) -> asio::awaitable<boost::system::error_code> {
    waiting = true;
    asio::post(ctx, [&] { cancel.emit(asio::cancellation_type::terminal); });
    co_return co_await timer_sleeper()(d);
  };
  hooks.random = [] { return 1.0; };
  client cl(crm.fn(), creds, config, obs::event_log::null(), hooks);
  std::optional<result<charges_page>> out;
  asio::co_spawn(
      ctx, [&]() -> asio::awaitable<void> { out.emplace(co_await cl.list_charges(list_status::processed, 0, 50)); },
      asio::bind_cancellation_slot(cancel.slot(), [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      }));
  ctx.run_for(30s);
  EXPECT_TRUE(ctx.stopped());  // out of work: the hour-long timer is gone
  EXPECT_TRUE(waiting);
  ASSERT_TRUE(out);
  ASSERT_FALSE(*out);
  EXPECT_EQ(out->error().code, asio::error::operation_aborted);
  EXPECT_EQ(crm.requests.size(), 2u);
}

TEST_F(crm_client, logs_name_events_but_never_the_password_or_token) {
  const auto t1 = jwt_expiring_at(time.now + 2h, "first");
  const auto t2 = jwt_expiring_at(time.now + 2h, "second");
  crm.push(200, login_ok(t1));
  // A lower layer that echoes the request target (and so the token) in its diagnostic.
  crm.answers.push_back([](const http::request& r) -> result<http::response> {
    return error{errc::connection_lost, "lost " + r.target};
  });
  crm.push(401, "");
  crm.push(200, login_ok(t2));
  crm.push(200, one_charge_page);
  auto& cl = make(captured_log());
  ASSERT_TRUE(run(cl.list_charges(list_status::processed, 0, 50)));
  const auto text = log_text.str();
  for (auto event : {"crm.login", "crm.call_retry", "crm.token_rejected", "crm.token_refreshed"})
    EXPECT_NE(text.find(event), std::string::npos) << event << "\n" << text;
  EXPECT_EQ(text.find("hunter2-secret"), std::string::npos) << text;
  EXPECT_EQ(text.find(t1), std::string::npos) << text;
  EXPECT_EQ(text.find(t2), std::string::npos) << text;
  EXPECT_NE(text.find("[token]"), std::string::npos) << text;
  EXPECT_NE(text.find(R"("event":"crm.token_refreshed","reason":"auth_failure")"), std::string::npos) << text;
}

}  // namespace
}  // namespace chargerecon::crm
