#pragma once
// chargerecon-chaos's command line: every flag, its default and its help line in one place.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace chargerecon::chaos {

struct chaos_options {
  std::uint64_t charges = 2000;  // crm-sim's backlog
  std::uint64_t seed = 1;        // simulators' faults and charges, and the kill schedule
  std::uint64_t kills = 50;
  std::optional<std::filesystem::path> report;  // the figures as JSON
  // Where the binaries are: each flag, else next to chargerecon-chaos, else the build tree.
  std::optional<std::filesystem::path> chargerecond, crm_sim, billing_fake;
  std::filesystem::path build_dir;             // default: the build tree this program is in
  std::string held_customers = "C0007,C0013";  // billing-fake refuses them: their charges end held
  std::uint64_t customers = 50;
  double pending_ratio = 0.05;                    // born PENDING and staying so: never billed nor acknowledged
  std::chrono::seconds cycle_deadline{60};        // the longest one life of the daemon waits for its kill moment
  std::chrono::seconds stall{3};                  // a kill moment whose counter stands still this long comes early
  std::chrono::seconds drain_timeout{1800};       // the final --once run's limit
  std::optional<std::filesystem::path> work_dir;  // default: a new directory under $TMPDIR
  bool keep = false;                              // keep the work directory when the run passes
  bool help = false;
};

// `args` without the program name. --flag VALUE and --flag=VALUE both work.
// Errors: invalid_argument naming the flag (unknown, missing value, bad value).
result<chaos_options> parse_options(const std::vector<std::string>& args);

std::string usage_text();

}  // namespace chargerecon::chaos
