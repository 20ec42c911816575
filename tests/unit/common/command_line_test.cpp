#include "common/command_line.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace chargerecon::cli {
namespace {

using namespace std::chrono;
using ::testing::HasSubstr;

// --quiet is a switch, --port and --path take a value; nothing else is known.
const flag_kinds kinds = known_flags({"quiet"}, {"port", "path"});

// "name=value" or "name" per flag read, in order.
result<std::vector<std::string>> read(const std::vector<std::string>& args) {
  std::vector<std::string> seen;
  auto r = read_flags(args, kinds, [&](const flag& f) -> result<void> {
    seen.push_back(std::string(f.name) + (f.value ? "=" + std::string(*f.value) : ""));
    return {};
  });
  if (!r) return r.error();
  return seen;
}

std::string refusal(const std::vector<std::string>& args) {
  const auto r = read(args);
  if (r) {
    ADD_FAILURE() << "accepted";
    return {};
  }
  EXPECT_EQ(r.error().code, make_error_code(errc::invalid_argument));
  return r.error().diagnostic;
}

TEST(read_flags, values_after_the_flag_or_after_an_equals_sign) {
  EXPECT_EQ(read({"--port", "80", "--quiet", "--path=/a=b", "--path=", "--port", "--quiet"}).value(),
            (std::vector<std::string>{"port=80", "quiet", "path=/a=b", "path=", "port=--quiet"}));
  EXPECT_TRUE(read({}).value().empty());
}

TEST(read_flags, refusals_name_the_flag_or_the_argument) {
  EXPECT_EQ(refusal({"--colour", "red"}), "unknown flag --colour");
  EXPECT_EQ(refusal({"--port=1", "--colour=red"}), "unknown flag --colour");
  EXPECT_EQ(refusal({"--port"}), "--port: needs a value");
  EXPECT_EQ(refusal({"--quiet=yes"}), "--quiet: takes no value");
  EXPECT_EQ(refusal({"--quiet", "stray"}), "unexpected argument 'stray'");
  EXPECT_EQ(refusal({"-p", "80"}), "unexpected argument '-p'");
}

TEST(read_flags, peer_text_in_a_refusal_is_escaped) {
  EXPECT_THAT(refusal({"--col\nour"}), HasSubstr("--col\\x0Aour"));
  EXPECT_EQ(refusal({"--col\nour"}).find('\n'), std::string::npos);
  EXPECT_EQ(refusal({"st\x1bray"}).find('\x1b'), std::string::npos);
}

TEST(read_flags, stop_at_the_first_refusal_of_apply) {
  std::vector<std::string> applied;
  const auto r = read_flags({"--port", "1", "--port", "2", "--port", "3"}, kinds, [&](const flag& f) -> result<void> {
    applied.emplace_back(*f.value);
    if (*f.value == "2") return flag_error(f.name, "is taken");
    return {};
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().diagnostic, "--port: is taken");
  EXPECT_EQ(applied, (std::vector<std::string>{"1", "2"}));
}

TEST(read_flag, reads_one_flag_of_a_kind_the_caller_chose) {
  const std::vector<std::string> args{"--state", "held", "--json"};
  std::size_t i = 0;
  const auto state = read_flag(args, i, flag_kind::value_flag).value();
  EXPECT_EQ(state.name, "state");
  EXPECT_EQ(state.value, "held");
  EXPECT_EQ(i, 1u);
  i = 2;
  const auto json = read_flag(args, i, flag_kind::switch_flag).value();
  EXPECT_EQ(json.name, "json");
  EXPECT_FALSE(json.value);
  EXPECT_EQ(flag_name("--older-than=1h"), "older-than");
}

TEST(flag_values, whole_numbers_within_their_range) {
  EXPECT_EQ(whole_number("port", "0", 0, 65535).value(), 0u);
  EXPECT_EQ(whole_number<std::uint16_t>("port", "65535", 0, 65535).value(), 65535);
  EXPECT_EQ(whole_number("seed", "18446744073709551615", 0, UINT64_MAX).value(), UINT64_MAX);
  EXPECT_EQ(whole_number("port", "70000", 0, 65535).error().diagnostic,
            "--port: '70000' is not a whole number from 0 to 65535");
  EXPECT_EQ(whole_number("kills", "0", 1, 100).error().diagnostic, "--kills: '0' is not a whole number from 1 to 100");
  for (const char* bad : {"", "-1", "+1", "1.0", "1e3", " 1", "1 ", "0x10", "18446744073709551616"})
    EXPECT_FALSE(whole_number("seed", bad, 0, UINT64_MAX)) << bad;
}

TEST(flag_values, numbers_and_probabilities_within_their_range) {
  EXPECT_EQ(number("rate", "2.5", 0, 100000).value(), 2.5);
  EXPECT_EQ(number("rate", "1e5", 0, 100000).value(), 100000);
  EXPECT_EQ(number("ratio", "0.9", 0, 0.5).error().diagnostic, "--ratio: '0.9' is not a number from 0 to 0.5");
  EXPECT_EQ(probability("drop", "0").value(), 0);
  EXPECT_EQ(probability("drop", "1").value(), 1);
  EXPECT_EQ(probability("drop", "0.25").value(), 0.25);
  EXPECT_EQ(probability("drop", "1.5").error().diagnostic, "--drop: '1.5' is not a probability from 0 to 1");
  for (const char* bad : {"", "-0.1", "nan", "inf", "often", "0.5x", " 0.5"}) {
    EXPECT_FALSE(probability("drop", bad)) << bad;
    EXPECT_FALSE(number("rate", bad, 0, 100000)) << bad;
  }
}

TEST(durations, parse_with_units_and_bare_numbers_in_the_given_unit) {
  EXPECT_EQ(parse_duration("5ms", seconds(1)).value(), milliseconds(5));
  EXPECT_EQ(parse_duration("2s", seconds(1)).value(), seconds(2));
  EXPECT_EQ(parse_duration("10m", seconds(1)).value(), minutes(10));
  EXPECT_EQ(parse_duration("10min", seconds(1)).value(), minutes(10));
  EXPECT_EQ(parse_duration("2h", seconds(1)).value(), hours(2));
  EXPECT_EQ(parse_duration("30", seconds(1)).value(), seconds(30));
  EXPECT_EQ(parse_duration("30", milliseconds(1)).value(), milliseconds(30));
  EXPECT_EQ(parse_duration("0", seconds(1)).value(), milliseconds(0));
  EXPECT_EQ(parse_duration("87840h", seconds(1)).value(), hours(87840));  // ten years
  for (const char* bad : {"", "ms", "5 ms", "5d", "-5s", "+5s", "5s ", "87841h", "99999999999999999h"})
    EXPECT_FALSE(parse_duration(bad, seconds(1))) << bad;
  EXPECT_EQ(parse_duration("5d", seconds(1)).error().diagnostic, "'5d' is not a duration like 250ms, 2s, 5m or 1h");
  EXPECT_EQ(parse_duration("87841h", seconds(1)).error().diagnostic, "'87841h' is longer than ten years");
  EXPECT_EQ(duration("latency", "fast", milliseconds(1)).error().diagnostic,
            "--latency: 'fast' is not a duration like 250ms, 2s, 5m or 1h");
  EXPECT_EQ(duration("latency", "250", milliseconds(1)).value(), milliseconds(250));
}

}  // namespace
}  // namespace chargerecon::cli
