#include "ledger/timestamp.hpp"

#include <gtest/gtest.h>

namespace chargerecon::ledger {
namespace {

using namespace std::chrono;

TEST(timestamp, formats_utc_with_milliseconds) {
  const timestamp t = sys_days{year{2026} / November / 27} + hours(5) + minutes(40) + seconds(1) + milliseconds(23);
  EXPECT_EQ(format_timestamp(t), "2026-11-27T05:40:01.023Z");
  EXPECT_EQ(format_timestamp(sys_days{year{1970} / January / 1}), "1970-01-01T00:00:00.000Z");
}

TEST(timestamp, round_trips) {
  const timestamp t = sys_days{year{2024} / February / 29} + hours(23) + minutes(59) + seconds(59) + milliseconds(999);
  EXPECT_EQ(parse_timestamp(format_timestamp(t)), t);
}

TEST(timestamp, text_order_is_time_order) {
  const timestamp a = sys_days{year{2026} / September / 30} + hours(23);
  const timestamp b = a + milliseconds(1);
  const timestamp c = sys_days{year{2026} / October / 1};
  EXPECT_LT(format_timestamp(a), format_timestamp(b));
  EXPECT_LT(format_timestamp(b), format_timestamp(c));
}

TEST(timestamp, cuts_a_clock_reading_to_milliseconds) {
  const system_clock::time_point t = sys_days{year{2026} / January / 2} + microseconds(1'999);
  EXPECT_EQ(format_timestamp(to_timestamp(t)), "2026-01-02T00:00:00.001Z");
}

TEST(timestamp, clamps_years_outside_four_digits_so_the_text_stays_sortable) {
  EXPECT_EQ(format_timestamp(sys_days{year{-3} / June / 1}), "0000-01-01T00:00:00.000Z");
  EXPECT_EQ(format_timestamp(sys_days{year{12000} / June / 1}), "9999-12-31T23:59:59.999Z");
  EXPECT_EQ(format_timestamp(sys_days{year{9999} / December / 31} + hours(23) + minutes(59) + seconds(59) +
                             milliseconds(999)),
            "9999-12-31T23:59:59.999Z");
  EXPECT_EQ(format_timestamp(sys_days{year{5} / March / 4} + hours(7) + minutes(8) + seconds(9) + milliseconds(10)),
            "0005-03-04T07:08:09.010Z");
}

TEST(timestamp, refuses_anything_but_the_exact_format) {
  for (const char* bad : {"", "2026-11-27", "2026-11-27T05:40:01Z", "2026-11-27T05:40:01.123",
                          "2026-11-27 05:40:01.123Z", "2026-13-01T00:00:00.000Z", "2026-02-30T00:00:00.000Z",
                          "2026-11-27T24:00:00.000Z", "2026-11-27T05:60:00.000Z", "2026-11-27T05:40:60.000Z",
                          "2026-11-27T05:40:01.123Z ", "2026-11-27T05:40:01.12aZ", "+026-11-27T05:40:01.123Z"}) {
    EXPECT_FALSE(parse_timestamp(bad)) << bad;
  }
}

}  // namespace
}  // namespace chargerecon::ledger
