// The billing-fake executable itself: flags, port file, the contract over loopback, SIGTERM.

#include "http/client.hpp"
#include "support/io_deadline.hpp"
#include "support/process.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>

namespace chargerecon::billing_fake {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

#ifdef CHARGERECON_BILLING_FAKE_PATH
const std::filesystem::path program = CHARGERECON_BILLING_FAKE_PATH;
#else
const std::filesystem::path program;
#endif

class billing_fake_binary : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(program.empty()) << "the billing-fake target is not defined";
    ASSERT_TRUE(std::filesystem::exists(program)) << program << " is missing: build the billing-fake target first";
  }
  test::temp_dir dir{"billing-fake-test"};

  test::child_process start(const std::vector<std::string>& args) {
    return test::child_process::spawn(program, args, {}, dir / "out.txt", dir / "err.txt");
  }
};

TEST_F(billing_fake_binary, serves_the_contract_and_stops_cleanly_on_sigterm) {
  test::write_file(dir / "token", "t0ken\n", 0600);
  auto child = start({"--port-file", (dir / "port").string(), "--token-file", (dir / "token").string(),
                      "--reject-customers", "C0007", "--seed", "3"});
  const auto port = test::wait_for_port_file(dir / "port", 30s, child);
  ASSERT_TRUE(port) << child.output();

  asio::io_context ioc;
  http::client_config cc;
  cc.base_url = "http://127.0.0.1:" + std::to_string(*port) + "/";
  auto client = http::client::create(ioc.get_executor(), cc);
  ASSERT_TRUE(client) << client.error().to_string();

  const auto charge = [](std::string_view number, std::string_view customer) {
    http::request r;
    r.verb = http::method::post;
    r.target = "bill";
    r.content_type = "application/json";
    r.body = R"({"number":")" + std::string(number) + R"(","billing_system_customer_identifier":")" +
             std::string(customer) + R"(","amount":0.1,"currency":"EUR"})";
    r.headers = {{"Idempotency-Key", std::string(number)}, {"Authorization", "Bearer t0ken"}};
    return r;
  };
  std::vector<unsigned> statuses;
  std::string state;
  auto body = [&]() -> asio::awaitable<void> {
    for (auto req : {charge("I1", "C0001"), charge("I1", "C0001"), charge("I7", "C0007")}) {
      auto r = co_await (*client)->send(std::move(req));
      test::require(r.has_value(), "the POST got an answer");
      statuses.push_back(r->status);
    }
    auto unauthorized = charge("I2", "C0001");
    unauthorized.headers.pop_back();
    auto r = co_await (*client)->send(std::move(unauthorized));
    test::require(r.has_value(), "the unauthorised POST got an answer");
    statuses.push_back(r->status);
    http::request get;
    get.target = "state";
    auto s = co_await (*client)->send(std::move(get));
    test::require(s.has_value() && s->status == 200, "GET /state answered 200");
    state = s->body;
    (*client)->close_idle();
  };
  ASSERT_TRUE(test::run_io(ioc, body()));
  EXPECT_EQ(statuses, (std::vector<unsigned>{201, 409, 422, 401}));
  const auto v = boost::json::parse(state).as_object();
  ASSERT_EQ(v.at("records").as_array().size(), 1u);
  EXPECT_EQ(v.at("records").as_array().at(0).as_object().at("amount").as_string(), "0.1");
  EXPECT_EQ(v.at("posts_by_key").as_object().at("I1").to_number<int>(), 2);

  ASSERT_TRUE(child.signal(SIGTERM));
  EXPECT_EQ(child.wait(30s), 0) << child.output();
  EXPECT_EQ(test::read_file(dir / "err.txt").find("t0ken"), std::string::npos) << "the token reached the log";
}

TEST_F(billing_fake_binary, a_bad_flag_prints_usage_and_exits_64) {
  auto child = start({"--fail-5xx", "2"});
  EXPECT_EQ(child.wait(30s), 64);
  const auto err = test::read_file(dir / "err.txt");
  EXPECT_NE(err.find("--fail-5xx"), std::string::npos) << err;
  EXPECT_NE(err.find("usage: billing-fake"), std::string::npos) << err;
}

TEST_F(billing_fake_binary, help_prints_usage_and_exits_0) {
  auto child = start({"--help"});
  EXPECT_EQ(child.wait(30s), 0);
  EXPECT_NE(test::read_file(dir / "out.txt").find("usage: billing-fake"), std::string::npos);
}

}  // namespace
}  // namespace chargerecon::billing_fake
