#pragma once
// The benchmark's procedure: for each latency, fresh simulators and a fresh ledger for
// chargerecond --once, then again for the baseline, on the same seeded backlog; each run
// measured (wall time, the process's own rusage, calls and posts the simulators counted) and
// audited with sim-audit.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "bench/report.hpp"
#include "common/error.hpp"

namespace chargerecon::bench {

struct bench_options {
  std::uint64_t charges = 10000;
  std::vector<double> latencies_ms{0, 5, 20};
  std::size_t concurrency = 32;
  std::optional<std::uint64_t> baseline_charges;  // default: charges
  std::optional<std::filesystem::path> out;       // the JSON file
  std::filesystem::path build_dir;                // where chargerecond, crm-sim, ... were built
  std::uint64_t seed = 1;
  std::string reject_customers = "C0007";  // "" for none
  std::uint64_t timeout_s = 3600;          // per reconciler run: SIGKILL past it
  // chargerecond runs per latency, each on fresh simulators and a fresh ledger: the row shows
  // the median run, the notes every run (a shared machine's speed varies from run to run).
  std::uint64_t repeat = 1;
  bool keep = false;                       // keep the scratch directory
  bool help = false;
};

// Errors: invalid_argument naming the flag.
result<bench_options> parse_options(const std::vector<std::string>& args);
extern const char* const usage_text;

// Runs every latency, printing progress on stderr. Errors: a simulator or reconciler that
// cannot be started, a state that cannot be fetched; a failed run or audit is a result (its
// exit status and audit_ok say so), not an error.
result<bench_report> run_bench(const bench_options& options);

}  // namespace chargerecon::bench
