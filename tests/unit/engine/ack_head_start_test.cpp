#include "engine/ack_head_start.hpp"

#include <gtest/gtest.h>

namespace chargerecon::engine {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

TEST(ack_head_start, is_a_sixteenth_of_the_last_list_call) {
  EXPECT_EQ(ack_head_start(milliseconds(8)), microseconds(500));
  EXPECT_EQ(ack_head_start(microseconds(1600)), microseconds(100));
}

TEST(ack_head_start, never_less_than_50_us_even_before_any_list_call) {
  EXPECT_EQ(ack_head_start(microseconds(0)), microseconds(50));
  EXPECT_EQ(ack_head_start(microseconds(700)), microseconds(50));
}

TEST(ack_head_start, never_more_than_1_ms_however_slow_crm_is) {
  EXPECT_EQ(ack_head_start(milliseconds(20)), microseconds(1000));
  EXPECT_EQ(ack_head_start(std::chrono::seconds(30)), microseconds(1000));
}

}  // namespace
}  // namespace chargerecon::engine
