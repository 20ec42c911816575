#include "chaos/schedule.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

namespace chargerecon::chaos {
namespace {

using namespace std::chrono_literals;

bool same(const std::vector<kill_moment>& a, const std::vector<kill_moment>& b) {
  return std::ranges::equal(a, b, [](const kill_moment& x, const kill_moment& y) {
    return x.phase == y.phase && x.delay == y.delay && x.count == y.count;
  });
}

TEST(chaos_schedule, a_seed_replays_the_same_kills_and_another_seed_does_not) {
  const schedule_params p{50, 400, 20, 20, 500ms, 7};
  EXPECT_TRUE(same(make_kill_schedule(p), make_kill_schedule(p)));
  auto other = p;
  other.seed = 8;
  EXPECT_FALSE(same(make_kill_schedule(p), make_kill_schedule(other)));
}

TEST(chaos_schedule, every_phase_gets_a_quarter_of_the_kills_in_a_mixed_order) {
  const auto s = make_kill_schedule({50, 400, 20, 20, 500ms, 1});
  ASSERT_EQ(s.size(), 50u);
  std::map<kill_phase, int> per_phase;
  for (const auto& m : s) ++per_phase[m.phase];
  EXPECT_EQ(per_phase[kill_phase::startup], 13);
  EXPECT_EQ(per_phase[kill_phase::listing], 13);
  EXPECT_EQ(per_phase[kill_phase::billing], 12);
  EXPECT_EQ(per_phase[kill_phase::acknowledging], 12);
  // Shuffled: not the round-robin it was dealt in.
  bool round_robin = true;
  for (std::size_t i = 0; i < s.size(); ++i) round_robin = round_robin && s[i].phase == all_kill_phases[i % 4];
  EXPECT_FALSE(round_robin);
}

TEST(chaos_schedule, moments_stay_within_the_startup_window_and_scale_with_the_work_per_kill) {
  const auto s = make_kill_schedule({400, 20000, 20, 20, 500ms, 3});
  const std::uint64_t per_kill = 20000 / 400;  // 50 charges
  std::uint64_t posts = 0, billing_kills = 0;
  for (const auto& m : s) {
    if (m.phase == kill_phase::startup) {
      EXPECT_LE(m.delay, 500ms);
      EXPECT_EQ(m.count, 0u);
      continue;
    }
    EXPECT_GE(m.count, 1u);  // a kill moment is always after some progress
    if (m.phase == kill_phase::billing) {
      EXPECT_LE(m.count, 2 * per_kill);
      posts += m.count;
      ++billing_kills;
    } else {
      EXPECT_LE(m.count, std::max<std::uint64_t>(3, 2 * per_kill / 20));
    }
  }
  // On average the work of one kill: the schedule covers the backlog rather than a corner of it.
  const double mean = static_cast<double>(posts) / static_cast<double>(billing_kills);
  EXPECT_GT(mean, 0.6 * per_kill);
  EXPECT_LT(mean, 1.4 * per_kill);
}

TEST(chaos_schedule, a_tiny_backlog_still_waits_for_some_progress) {
  for (const auto& m : make_kill_schedule({300, 10, 50, 50, 500ms, 5})) {
    if (m.phase != kill_phase::startup) {
      EXPECT_GE(m.count, 1u);
      EXPECT_LE(m.count, 3u);
    }
  }
}

}  // namespace
}  // namespace chargerecon::chaos
