#pragma once
// The benchmark's results: one row per latency, printed as a table for people and written as
// JSON for machines (CI, comparisons between runs). Pure: text in, text out.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bench/model.hpp"

namespace chargerecon::bench {

struct latency_result {
  double latency_ms = 0;  // on each side: per CRM.COM call and per billing post
  std::size_t concurrency = 0;
  workload engine_workload;
  network_bound bound;  // for engine_workload
  measurement engine;                    // the median of engine_runs by charges/s
  std::vector<measurement> engine_runs;  // every chargerecond run, in order (--repeat)
  measurement baseline;
  // The baseline ran on fewer charges than the engine: its rate is taken as is (extrapolated
  // linearly, since a sequential loop's time grows linearly with the charges).
  bool baseline_extrapolated = false;
};

struct bench_report {
  std::uint64_t seed = 0;
  std::string reject_customers;  // billing-fake --reject-customers: their charges end held
  std::vector<latency_result> results;
};

// The index of the median run by charges/s (of an even count, the slower of the middle two:
// a figure the runs reached at least half the time). 0 for an empty list.
std::size_t median_run(const std::vector<measurement>& runs);

// engine rate / bound rate; nullopt at zero latency (no network bound).
std::optional<double> ratio_to_bound(const latency_result& r);
// engine rate / baseline rate.
std::optional<double> ratio_to_baseline(const latency_result& r);

// A fixed-width table with one line per latency and the two processes, then notes (the model,
// extrapolations, failed audits).
std::string format_table(const bench_report& report);

// One JSON object: {"seed", "reject_customers", "model", "results": [{"latency_ms",
// "concurrency", "workload", "bound", "engine", "engine_runs", "baseline", "ratio_to_bound",
// "ratio_to_baseline"}]}; a missing ratio or bound rate is null.
std::string format_json(const bench_report& report);

}  // namespace chargerecon::bench
