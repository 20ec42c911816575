#include "chaos/schedule.hpp"

#include <algorithm>

#include "crm-sim/rng.hpp"

namespace chargerecon::chaos {

std::string_view to_string(kill_phase p) {
  switch (p) {
    case kill_phase::startup:
      return "startup";
    case kill_phase::listing:
      return "listing";
    case kill_phase::billing:
      return "billing";
    case kill_phase::acknowledging:
      return "acknowledging";
  }
  return "?";
}

std::vector<kill_moment> make_kill_schedule(const schedule_params& params) {
  // A stream of its own: the same seed also drives the simulators, whose draws must not
  // depend on how many kills were asked for.
  crm_sim::sim_rng rng(params.seed ^ 0x6b696c6c73ULL);
  std::vector<kill_moment> out;
  out.reserve(params.kills);
  for (std::uint64_t i = 0; i < params.kills; ++i) out.push_back({all_kill_phases[i % 4], {}, 0});
  // Fisher-Yates with our own generator: std::shuffle's output differs between libraries.
  for (std::size_t i = out.size(); i > 1; --i) std::swap(out[i - 1], out[rng.below(i)]);

  // The work one kill should let through on average, in charges.
  const std::uint64_t per_kill = std::max<std::uint64_t>(1, params.charges / std::max<std::uint64_t>(1, params.kills));
  const auto up_to = [&rng](std::uint64_t max) { return 1 + rng.below(std::max<std::uint64_t>(1, max)); };
  for (auto& m : out) {
    switch (m.phase) {
      case kill_phase::startup:
        m.delay = std::chrono::milliseconds(rng.below(static_cast<std::uint64_t>(params.startup_window.count()) + 1));
        break;
      case kill_phase::listing:
        m.count = up_to(std::max<std::uint64_t>(3, 2 * per_kill / std::max(1U, params.page_size)));
        break;
      case kill_phase::billing:
        m.count = up_to(2 * per_kill);
        break;
      case kill_phase::acknowledging:
        m.count = up_to(std::max<std::uint64_t>(3, 2 * per_kill / std::max(1U, params.ack_batch)));
        break;
    }
  }
  return out;
}

}  // namespace chargerecon::chaos
