#pragma once
// How long to wait before the next try of a billing post. Pure: the random draw is an input.

#include <chrono>
#include <optional>

namespace chargerecon::billing {

struct backoff_config {
  std::chrono::milliseconds initial{500};  // the ceiling of the first wait
  std::chrono::milliseconds max{30000};    // the ceiling never grows past this
};

// Exponential backoff with full jitter (a uniform draw in [0, min(max, initial * 2^(failures-1))]),
// so that posts failing together do not come back together; then at least what billing asked
// for in Retry-After, since waiting less would only earn another 429/503.
// `failures` counts failed tries so far (1 after the first); `unit_random` is in [0, 1).
std::chrono::milliseconds retry_delay(const backoff_config& config, unsigned failures,
                                      std::optional<std::chrono::milliseconds> retry_after, double unit_random);

}  // namespace chargerecon::billing
