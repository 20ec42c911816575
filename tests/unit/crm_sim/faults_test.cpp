#include "crm-sim/faults.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "common/command_line.hpp"

namespace chargerecon::crm_sim {
namespace {

using namespace std::chrono;

std::vector<fault_decision> rolls(std::uint64_t seed, const fault_config& config, int n) {
  fault_dice dice(seed);
  std::vector<fault_decision> out;
  for (int i = 0; i < n; ++i) out.push_back(dice.roll(config, call_kind::netflix));
  return out;
}

bool same(const std::vector<fault_decision>& a, const std::vector<fault_decision>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].outcome != b[i].outcome || a[i].delay != b[i].delay || a[i].http_status != b[i].http_status ||
        a[i].apply_then_drop != b[i].apply_then_drop || a[i].variant != b[i].variant) {
      return false;
    }
  }
  return true;
}

fault_config mixed() {
  fault_config c;
  c.latency = milliseconds(5);
  c.jitter = milliseconds(2);
  c.fail_5xx = 0.2;
  c.drop = 0.2;
  c.malformed_json = 0.2;
  c.truncate_json = 0.2;
  c.ack_apply_then_drop = 0.3;
  return c;
}

TEST(fault_dice, decisions_replay_by_seed) {
  EXPECT_TRUE(same(rolls(9, mixed(), 200), rolls(9, mixed(), 200)));
  EXPECT_FALSE(same(rolls(9, mixed(), 200), rolls(10, mixed(), 200)));
}

TEST(fault_dice, every_outcome_occurs_and_latency_stays_within_jitter) {
  int counts[5] = {};
  for (const auto& d : rolls(3, mixed(), 2000)) {
    ++counts[static_cast<int>(d.outcome)];
    EXPECT_GE(d.delay, milliseconds(3));
    EXPECT_LE(d.delay, milliseconds(7));
    if (d.outcome == fault_outcome::fail_5xx) {
      EXPECT_TRUE(d.http_status == 500 || d.http_status == 502 || d.http_status == 503 || d.http_status == 504);
    }
    if (d.outcome != fault_outcome::none) {
      EXPECT_FALSE(d.apply_then_drop);
    }
  }
  for (const int n : counts) EXPECT_GT(n, 100);
}

TEST(fault_dice, nothing_happens_without_settings) {
  for (const auto& d : rolls(5, fault_config{}, 500)) {
    EXPECT_EQ(d.outcome, fault_outcome::none);
    EXPECT_EQ(d.delay, milliseconds(0));
    EXPECT_FALSE(d.apply_then_drop);
  }
}

TEST(fault_dice, login_gets_only_latency_5xx_and_drop) {
  fault_config c;
  c.malformed_json = 1;
  c.truncate_json = 1;
  c.ack_apply_then_drop = 1;
  fault_dice dice(1);
  for (int i = 0; i < 100; ++i) {
    const auto d = dice.roll(c, call_kind::login);
    EXPECT_EQ(d.outcome, fault_outcome::none);
    EXPECT_FALSE(d.apply_then_drop);
  }
  c.drop = 1;
  EXPECT_EQ(dice.roll(c, call_kind::login).outcome, fault_outcome::drop);
  c.fail_5xx = 1;
  EXPECT_EQ(dice.roll(c, call_kind::login).outcome, fault_outcome::fail_5xx);
}

// cli::parse_duration's own cases are in tests/unit/common/command_line_test.cpp.
TEST(durations, format_the_shortest_spelling_that_reads_back) {
  EXPECT_EQ(format_duration(hours(2)), "2h");
  EXPECT_EQ(format_duration(seconds(30)), "30s");
  EXPECT_EQ(format_duration(milliseconds(5)), "5ms");
  for (const milliseconds d : {milliseconds(hours(2)), milliseconds(seconds(30)), milliseconds(5), milliseconds(0)})
    EXPECT_EQ(cli::parse_duration(format_duration(d), seconds(1)).value(), d) << format_duration(d);
}

TEST(fault_settings, apply_all_or_nothing_and_read_back) {
  fault_config c;
  ASSERT_TRUE(apply_fault_settings(c, R"({"latency":"5ms","jitter":2,"fail_5xx":0.25,"token_expiry_every":30,
                                          "ack_refuse_first":2,"ack_refuse_code":"BUSY","drop":0,
                                          "ack_misname_next":3})"));
  EXPECT_EQ(c.latency, milliseconds(5));
  EXPECT_EQ(c.jitter, milliseconds(2));
  EXPECT_EQ(c.fail_5xx, 0.25);
  EXPECT_EQ(c.token_expiry_every, seconds(30));
  EXPECT_EQ(c.ack_refuse_first, 2u);
  EXPECT_EQ(c.ack_refuse_code, "BUSY");
  const auto json = fault_settings_json(c);
  EXPECT_EQ(json.at("latency"), "5ms");
  EXPECT_EQ(json.at("token_expiry_every"), "30s");
  EXPECT_EQ(json.at("ack_refuse_first").to_number<int>(), 2);
  EXPECT_EQ(c.ack_misname_next, 3u);
  EXPECT_EQ(json.at("ack_misname_next").to_number<int>(), 3);
  EXPECT_FALSE(apply_fault_settings(c, R"({"ack_misname_next":-1})"));
  EXPECT_FALSE(apply_fault_settings(c, R"({"ack_misname_next":"2"})"));

  const auto before = c;
  auto bad = apply_fault_settings(c, R"({"drop":0.5,"fail_5xx":1.5})");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().diagnostic.find("fail_5xx"), std::string::npos);
  EXPECT_EQ(c.drop, before.drop);  // nothing applied
  auto unknown = apply_fault_settings(c, R"({"explode":1})");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().diagnostic.find("explode"), std::string::npos);
  EXPECT_FALSE(apply_fault_settings(c, "[1]"));
  EXPECT_FALSE(apply_fault_settings(c, R"({"ack_refuse_code":""})"));
}

}  // namespace
}  // namespace chargerecon::crm_sim
