#pragma once
// When the chaos run kills chargerecond: a seeded plan, one moment per kill, spread over the
// daemon's phases. Moments are relative to what the simulators saw since the daemon started
// (so many list calls, posts or acknowledgements), or to its start for the startup phase, so
// that a slower machine or a sanitizer build shifts them in time but not in meaning. Pure.

#include <chrono>
#include <cstdint>
#include <string_view>
#include <vector>

namespace chargerecon::chaos {

enum class kill_phase {
  startup,        // a delay after the spawn: config, ledger open, first login
  listing,        // after crm-sim counted this many charges/list calls from this daemon
  billing,        // after billing-fake counted this many posts
  acknowledging,  // after crm-sim counted this many charges/acknowledge calls
};

inline constexpr kill_phase all_kill_phases[] = {kill_phase::startup, kill_phase::listing, kill_phase::billing,
                                                 kill_phase::acknowledging};

std::string_view to_string(kill_phase p);

struct kill_moment {
  kill_phase phase = kill_phase::startup;
  std::chrono::milliseconds delay{0};  // startup: after the spawn
  std::uint64_t count = 0;             // the others: the rise of the phase's counter, at least 1
};

struct schedule_params {
  std::uint64_t kills = 50;
  std::uint64_t charges = 1000;
  unsigned page_size = 50;  // poll.page_size
  unsigned ack_batch = 50;  // ack.batch_size
  std::chrono::milliseconds startup_window{500};
  std::uint64_t seed = 1;
};

// `kills` moments. Each phase gets a quarter of them (the remainder to the first phases), in a
// seeded order. Counts are drawn so that the kills together cover about twice the backlog's
// work: the run keeps killing while work remains, whatever the backlog's size.
// The same params give the same schedule.
std::vector<kill_moment> make_kill_schedule(const schedule_params& params);

}  // namespace chargerecon::chaos
