#pragma once
// The simulator's random source. Not std::mt19937 + std distributions: the distributions'
// outputs differ between standard libraries, and a seed must replay the same run anywhere.

#include <cstdint>

namespace chargerecon::crm_sim {

// xoshiro256** seeded through splitmix64.
class sim_rng {
 public:
  explicit sim_rng(std::uint64_t seed);

  std::uint64_t next();
  // Uniform in [0, 1), 53 bits.
  double uniform();
  // Uniform in [0, n); 0 when n is 0.
  std::uint64_t below(std::uint64_t n);
  // True with probability p (p <= 0: never, p >= 1: always). Always draws once, so the
  // stream's position does not depend on p.
  bool chance(double p);

 private:
  std::uint64_t s_[4];
};

}  // namespace chargerecon::crm_sim
