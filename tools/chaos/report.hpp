#pragma once
// What a chaos run shows: its figures and every discrepancy, as text for a person and JSON for
// the README and CI. Pure.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "sim-audit/audit.hpp"

namespace chargerecon::chaos {

// The counters a simulator's stats endpoint reports (crm-sim GET /sim/stats, billing-fake
// GET /stats): its calls (crm-sim: by method; billing-fake: "posts") and faults by kind.
struct sim_counters {
  std::map<std::string, std::uint64_t, std::less<>> calls;
  std::map<std::string, std::uint64_t, std::less<>> faults;
  std::uint64_t call(std::string_view name) const;
};

// Errors: malformed_answer naming the member missing or of the wrong type.
result<sim_counters> parse_crm_stats(std::string_view body);
result<sim_counters> parse_billing_stats(std::string_view body);

struct chaos_report {
  std::uint64_t seed = 0;
  std::uint64_t kills_requested = 0;
  std::uint64_t kills = 0;     // SIGKILLs the daemon got (and survived: it was restarted after each)
  std::uint64_t restarts = 0;  // starts after a kill: the next life, or the final --once run
  // Where the kills landed: a phase whose moment was reached, or "idle" for a kill made
  // before its moment because the phase's counter stood still (or the deadline passed).
  std::map<std::string, std::uint64_t> kills_by_phase;
  std::uint64_t kills_early = 0;  // the "idle" ones
  sim_counters crm;               // at the end
  sim_counters billing;
  sim_audit::audit_report audit;  // the charges, by status and state
  double wall_s = 0;              // the whole run
  double chaos_s = 0;             // the kill phase
  double drain_s = 0;             // the final --once run
  int drain_exit = -1;
  std::vector<sim_audit::discrepancy> discrepancies;  // sim-audit's and the run's own
  bool passed() const { return discrepancies.empty(); }
};

std::string render_text(const chaos_report& r);
std::string render_json(const chaos_report& r);

}  // namespace chargerecon::chaos
