#include "billing/backoff.hpp"

#include <algorithm>
#include <cmath>

namespace chargerecon::billing {

std::chrono::milliseconds retry_delay(const backoff_config& config, unsigned failures,
                                      std::optional<std::chrono::milliseconds> retry_after, double unit_random) {
  using std::chrono::milliseconds;
  const milliseconds max = std::max(config.max, milliseconds{0});
  const milliseconds initial = std::clamp(config.initial, milliseconds{0}, max);

  // Doubling stops as soon as it reaches max, so no shift can overflow.
  milliseconds ceiling = initial;
  for (unsigned i = 1; i < failures && ceiling < max && ceiling.count() > 0; ++i) ceiling = std::min(max, ceiling * 2);

  const double r = std::clamp(unit_random, 0.0, 1.0);
  auto jittered = milliseconds{static_cast<milliseconds::rep>(std::floor(r * static_cast<double>(ceiling.count())))};
  jittered = std::clamp(jittered, milliseconds{0}, ceiling);
  if (retry_after) return std::max(jittered, *retry_after);
  return jittered;
}

}  // namespace chargerecon::billing
