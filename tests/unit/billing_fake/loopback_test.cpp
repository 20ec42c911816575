// billing::client and billing-fake speaking the contract over real loopback sockets (port 0),
// through the project's HTTP client and server, with every fault the fake can inject.

#include "billing-fake/fake.hpp"
#include "billing/client.hpp"
#include "http/client.hpp"
#include "http/server.hpp"
#include "support/io_deadline.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

#include <map>

namespace chargerecon::billing_fake {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using test::require;
using test::run_io;

asio::awaitable<http::server_reply> serve(fake& f, http::server_request request) {
  co_return f.handle(request).reply;
}

// Backoff delays are not what this test is about: retry at once.
asio::awaitable<boost::system::error_code> no_sleep(std::chrono::milliseconds) {
  co_return boost::system::error_code{};
}

std::string amount_text(int i) {
  static const std::vector<std::string> texts = {"0.1", "10.50", "1E+2", "0.30000000000000004", "7"};
  return texts[static_cast<std::size_t>(i) % texts.size()];
}

std::string charge_json(int i, std::string_view customer = "C0001") {
  return R"({"number":"I)" + std::to_string(i) + R"(","billing_system_customer_identifier":")" + std::string(customer) +
         R"(","amount":)" + amount_text(i) + R"(,"currency":"EUR","charge_status":"APPROVED"})";
}

struct loopback {
  asio::io_context ioc;
  fake f;
  std::unique_ptr<http::server> server;
  std::unique_ptr<http::client> http_client;
  bool server_done = false;

  explicit loopback(fake_config config) : f(std::move(config)) {
    auto s = http::server::create(ioc.get_executor(), {}, [this](http::server_request r) { return serve(f, std::move(r)); });
    if (!s) throw std::runtime_error(s.error().to_string());
    server = std::move(*s);
    http::client_config cc;
    cc.base_url = "http://127.0.0.1:" + std::to_string(server->port()) + "/bill";
    cc.request_timeout = 10s;
    auto c = http::client::create(ioc.get_executor(), cc);
    if (!c) throw std::runtime_error(c.error().to_string());
    http_client = std::move(*c);
    asio::co_spawn(ioc, server->run(), [this](std::exception_ptr) { server_done = true; });
  }

  // Leaves the io_context without work: no listening socket, no idle connection.
  void shut_down() {
    http_client->close_idle();
    server->stop();
  }
};

TEST(billing_fake_loopback, every_charge_is_billed_exactly_once_through_every_fault) {
  fake_config fc;
  fc.drop = 0.1;
  fc.fail_5xx = 0.1;
  fc.rate_limit = 0.1;
  fc.apply_then_drop = 0.1;
  fc.seed = 2026;
  loopback net(fc);

  billing::client_config bc;
  bc.concurrency = 4;
  bc.max_attempts = 30;
  bc.post_timeout = 10s;
  billing::client billing(billing::make_transport(*net.http_client), bc, obs::event_log::null(), {}, no_sleep);

  constexpr int charges = 200;
  std::map<std::string, result<billing::outcome>> outcomes;
  auto body = [&]() -> asio::awaitable<void> {
    const auto ex = co_await asio::this_coro::executor;
    for (int i = 0; i < charges; ++i)
      asio::co_spawn(ex, billing.post("I" + std::to_string(i), charge_json(i)),
                     [&outcomes, i](std::exception_ptr e, result<billing::outcome> r) {
                       if (!e) outcomes.emplace("I" + std::to_string(i), std::move(r));
                     });
    while (outcomes.size() < charges) {
      asio::steady_timer t(ex, 5ms);
      co_await t.async_wait(asio::use_awaitable);
    }
    net.shut_down();
  };
  ASSERT_TRUE(run_io(net.ioc, body(), 120s));
  EXPECT_TRUE(net.server_done);

  // billing-fake's state and the outcomes agree exactly: one record per charge, the reference
  // each post returned (first time or replayed), the amount text as sent.
  ASSERT_EQ(net.f.records().size(), static_cast<std::size_t>(charges));
  std::map<std::string, const record*> by_number;
  for (const auto& r : net.f.records()) by_number[r.number] = &r;
  ASSERT_EQ(by_number.size(), static_cast<std::size_t>(charges));
  int replays = 0;
  for (int i = 0; i < charges; ++i) {
    const auto number = "I" + std::to_string(i);
    const auto& o = outcomes.at(number);
    ASSERT_TRUE(o) << number << ": " << o.error().to_string();
    ASSERT_TRUE(std::holds_alternative<billing::billed>(*o)) << number;
    const auto& b = std::get<billing::billed>(*o);
    EXPECT_EQ(b.reference, by_number.at(number)->reference_number) << number;
    EXPECT_EQ(by_number.at(number)->amount, amount_text(i)) << number;
    EXPECT_EQ(by_number.at(number)->raw_body, charge_json(i)) << number;
    replays += b.replay ? 1 : 0;
  }
  // The faults did happen: retries were needed, and answers lost after billing came back as 409s.
  EXPECT_GT(net.f.posts_total(), static_cast<std::uint64_t>(charges));
  EXPECT_GT(replays, 0);
}

TEST(billing_fake_loopback, rejection_and_token_over_the_wire) {
  fake_config fc;
  fc.token = "t0ken";
  fc.reject_customers = {"C0007"};
  loopback net(fc);

  billing::client_config good;
  good.target.bearer_token = "t0ken";
  good.max_attempts = 2;
  billing::client_config wrong = good;
  wrong.target.bearer_token = "other";
  billing::client with_token(billing::make_transport(*net.http_client), good, obs::event_log::null(), {}, no_sleep);
  billing::client with_wrong_token(billing::make_transport(*net.http_client), wrong, obs::event_log::null(), {}, no_sleep);

  std::optional<result<billing::outcome>> billed, refused, unauthorized;
  auto body = [&]() -> asio::awaitable<void> {
    billed = co_await with_token.post("I1", charge_json(1));
    refused = co_await with_token.post("I7", charge_json(7, "C0007"));
    unauthorized = co_await with_wrong_token.post("I2", charge_json(2));
    net.shut_down();
  };
  ASSERT_TRUE(run_io(net.ioc, body()));

  ASSERT_TRUE(billed && *billed);
  ASSERT_TRUE(std::holds_alternative<billing::billed>(**billed));
  EXPECT_EQ(std::get<billing::billed>(**billed).reference, "B-000001");

  ASSERT_TRUE(refused && *refused);
  ASSERT_TRUE(std::holds_alternative<billing::rejected>(**refused));
  EXPECT_EQ(std::get<billing::rejected>(**refused).status, 422u);
  EXPECT_NE(std::get<billing::rejected>(**refused).reason.find("C0007"), std::string::npos);

  // 401 is not a rejection of the charge: it is retried, then left for the engine's next round.
  ASSERT_TRUE(unauthorized && *unauthorized);
  ASSERT_TRUE(std::holds_alternative<billing::gave_up>(**unauthorized));
  EXPECT_EQ(std::get<billing::gave_up>(**unauthorized).attempts, 2u);

  EXPECT_EQ(net.f.records().size(), 1u);
  EXPECT_EQ(net.f.posts_for("I7"), 1u);
  EXPECT_EQ(net.f.posts_for("I2"), 2u);
}

}  // namespace
}  // namespace chargerecon::billing_fake
