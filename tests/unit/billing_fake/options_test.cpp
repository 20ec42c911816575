#include "billing-fake/options.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <unistd.h>

namespace chargerecon::billing_fake {
namespace {

using namespace std::chrono_literals;

TEST(billing_fake_options, defaults) {
  const auto o = parse_options({});
  ASSERT_TRUE(o) << o.error().to_string();
  EXPECT_EQ(o->fake.path, "/bill");
  EXPECT_EQ(o->server.listen_address, "127.0.0.1");
  EXPECT_EQ(o->server.port, 0);
  EXPECT_TRUE(o->fake.token.empty());
  EXPECT_EQ(o->fake.drop, 0.0);
  EXPECT_FALSE(o->help);
}

TEST(billing_fake_options, every_flag_in_both_forms) {
  const auto o = parse_options({"--listen", "::1", "--port=8080", "--port-file", "/tmp/p", "--path=/v1/charges",
                                "--token-file", "/tmp/t", "--reject-customers", "C0007,C0013", "--latency", "250ms",
                                "--jitter=2s", "--fail-5xx", "0.1", "--rate-limit=0.2", "--apply-then-drop", "0.05",
                                "--drop", "0.05", "--seed", "7", "--quiet"});
  ASSERT_TRUE(o) << o.error().to_string();
  EXPECT_EQ(o->server.listen_address, "::1");
  EXPECT_EQ(o->server.port, 8080);
  EXPECT_EQ(o->port_file, "/tmp/p");
  EXPECT_EQ(o->fake.path, "/v1/charges");
  EXPECT_EQ(o->token_file, "/tmp/t");
  EXPECT_EQ(o->fake.reject_customers, (std::set<std::string, std::less<>>{"C0007", "C0013"}));
  EXPECT_EQ(o->fake.latency, 250ms);
  EXPECT_EQ(o->fake.jitter, 2000ms);
  EXPECT_EQ(o->fake.fail_5xx, 0.1);
  EXPECT_EQ(o->fake.rate_limit, 0.2);
  EXPECT_EQ(o->fake.apply_then_drop, 0.05);
  EXPECT_EQ(o->fake.drop, 0.05);
  EXPECT_EQ(o->fake.seed, 7u);
  EXPECT_TRUE(o->quiet);
}

TEST(billing_fake_options, help) {
  const auto o = parse_options({"--help"});
  ASSERT_TRUE(o);
  EXPECT_TRUE(o->help);
  EXPECT_NE(usage_text().find("--apply-then-drop"), std::string::npos);
}

TEST(billing_fake_options, bad_flags_are_refused_naming_the_flag) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--nope"}, "--nope"},
      {{"--port"}, "--port"},
      {{"--port", "70000"}, "--port"},
      {{"--latency", "fast"}, "--latency"},
      {{"--drop", "1.5"}, "--drop"},
      {{"--rate-limit", "-0.1"}, "--rate-limit"},
      {{"--fail-5xx", "nan"}, "--fail-5xx"},
      {{"--seed", "-1"}, "--seed"},
      {{"--path", "bill"}, "--path"},
      {{"--reject-customers", "C1,,C2"}, "--reject-customers"},
      {{"--quiet=yes"}, "--quiet"},
      {{"--drop", "0.6", "--fail-5xx", "0.6"}, "add up"},
      {{"--tls-cert", "c.pem"}, "--tls-key"},
      {{"stray"}, "stray"},
  };
  for (const auto& [args, mention] : cases) {
    const auto o = parse_options(args);
    ASSERT_FALSE(o) << args.front();
    EXPECT_EQ(o.error().code, make_error_code(errc::invalid_argument));
    EXPECT_NE(o.error().diagnostic.find(mention), std::string::npos) << o.error().diagnostic;
  }
}

TEST(billing_fake_options, token_file_first_line) {
  char path[] = "/tmp/billing-fake-token-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  {
    std::ofstream(path) << "tok-123\r\nsecond line\n";
  }
  const auto t = read_token_file(path);
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, "tok-123");
  {
    std::ofstream(path) << "\n";
  }
  EXPECT_FALSE(read_token_file(path));
  std::remove(path);
  const auto missing = read_token_file(path);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, make_error_code(errc::secret_unreadable));
}

}  // namespace
}  // namespace chargerecon::billing_fake
