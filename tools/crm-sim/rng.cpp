#include "crm-sim/rng.hpp"

namespace chargerecon::crm_sim {

namespace {

std::uint64_t splitmix64(std::uint64_t& x) {
  std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

sim_rng::sim_rng(std::uint64_t seed) {
  for (auto& word : s_) word = splitmix64(seed);
}

std::uint64_t sim_rng::next() {
  const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const std::uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double sim_rng::uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

std::uint64_t sim_rng::below(std::uint64_t n) {
  // The modulo bias is below 2^-40 for the small n the simulator uses.
  const std::uint64_t x = next();
  return n == 0 ? 0 : x % n;
}

bool sim_rng::chance(double p) { return uniform() < p; }

}  // namespace chargerecon::crm_sim
