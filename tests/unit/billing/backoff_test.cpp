#include "billing/backoff.hpp"

#include <gtest/gtest.h>

namespace chargerecon::billing {
namespace {

using namespace std::chrono_literals;

const backoff_config config{100ms, 1000ms};

TEST(billing_backoff, ceiling_doubles_per_failure_up_to_max) {
  // Just below 1: the draw sits at the top of the ceiling.
  const double top = 0.999999;
  EXPECT_EQ(retry_delay(config, 1, std::nullopt, top), 99ms);
  EXPECT_EQ(retry_delay(config, 2, std::nullopt, top), 199ms);
  EXPECT_EQ(retry_delay(config, 3, std::nullopt, top), 399ms);
  EXPECT_EQ(retry_delay(config, 4, std::nullopt, top), 799ms);
  EXPECT_EQ(retry_delay(config, 5, std::nullopt, top), 999ms);
  EXPECT_EQ(retry_delay(config, 4000000000u, std::nullopt, top), 999ms);
}

TEST(billing_backoff, full_jitter_spans_zero_to_the_ceiling) {
  EXPECT_EQ(retry_delay(config, 3, std::nullopt, 0.0), 0ms);
  EXPECT_EQ(retry_delay(config, 3, std::nullopt, 0.5), 200ms);
}

TEST(billing_backoff, retry_after_wins_when_longer) {
  EXPECT_EQ(retry_delay(config, 1, 7000ms, 0.5), 7000ms);
  EXPECT_EQ(retry_delay(config, 5, 1ms, 0.5), 500ms);
}

TEST(billing_backoff, out_of_range_inputs_stay_in_bounds) {
  EXPECT_EQ(retry_delay(config, 0, std::nullopt, 0.5), 50ms);
  EXPECT_EQ(retry_delay(config, 2, std::nullopt, 7.0), 200ms);
  EXPECT_EQ(retry_delay(config, 2, std::nullopt, -1.0), 0ms);
  EXPECT_EQ(retry_delay({0ms, 0ms}, 9, std::nullopt, 0.5), 0ms);
  EXPECT_EQ(retry_delay({5000ms, 1000ms}, 1, std::nullopt, 0.5), 500ms);
}

}  // namespace
}  // namespace chargerecon::billing
