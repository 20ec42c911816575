#include "observability/health.hpp"

#include <gtest/gtest.h>

#include <boost/asio/ip/address.hpp>

#include "config/config.hpp"
#include "config/loader.hpp"

namespace chargerecon::obs {
namespace {

using namespace std::chrono_literals;

readiness_inputs healthy() {
  readiness_inputs in;
  in.logged_in = true;
  in.ledger_ok = true;
  in.started = std::chrono::system_clock::time_point(std::chrono::hours(1000));
  in.now = in.started + 10min;
  in.last_successful_pass = in.now - 5s;
  in.poll_interval = 30s;
  return in;
}

TEST(readiness, ready_when_logged_in_ledger_fine_and_a_recent_pass) {
  const auto r = assess_readiness(healthy());
  EXPECT_TRUE(r.ready);
  EXPECT_EQ(r.reason, "ready");
}

TEST(readiness, a_pass_is_recent_within_three_intervals_and_a_minute) {
  EXPECT_EQ(max_pass_age(30s), 150s);
  auto in = healthy();
  in.last_successful_pass = in.now - 150s;
  EXPECT_TRUE(assess_readiness(in).ready);
  in.last_successful_pass = in.now - 151s;
  const auto r = assess_readiness(in);
  EXPECT_FALSE(r.ready);
  EXPECT_EQ(r.reason, "the last successful pass ended 151 s ago");
}

TEST(readiness, before_the_first_pass_the_start_counts) {
  auto in = healthy();
  in.last_successful_pass.reset();
  in.now = in.started + 100s;  // a long first pass over a backlog
  EXPECT_TRUE(assess_readiness(in).ready);
  in.now = in.started + 200s;
  const auto r = assess_readiness(in);
  EXPECT_FALSE(r.ready);
  EXPECT_EQ(r.reason, "no successful pass in the 200 s since the start");
}

TEST(readiness, names_every_reason_at_once) {
  auto in = healthy();
  in.logged_in = false;
  in.ledger_ok = false;
  const auto r = assess_readiness(in);
  EXPECT_FALSE(r.ready);
  EXPECT_EQ(r.reason, "not logged in to CRM.COM; ledger operations are failing (see ledger.write_failed)");
}

// /metrics, /healthz and /readyz are for the host's own scraper unless an operator says so.
TEST(metrics_endpoint, listens_on_loopback_by_default) {
  const auto addr = parse_listen_address(metrics_config{}.listen);
  ASSERT_TRUE(addr) << addr.error().to_string();
  boost::system::error_code ec;
  const auto ip = boost::asio::ip::make_address(addr->host, ec);
  ASSERT_FALSE(ec) << addr->host;
  EXPECT_TRUE(ip.is_loopback()) << addr->host;
}

}  // namespace
}  // namespace chargerecon::obs
