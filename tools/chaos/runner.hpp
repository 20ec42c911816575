#pragma once
// The chaos run's procedure: simulators with hostile faults, chargerecond killed and restarted
// at the schedule's moments, faults off, a final drain, and the audit. Prints progress on
// stderr; the report says what came of it.

#include "chaos/options.hpp"
#include "chaos/report.hpp"
#include "common/error.hpp"

namespace chargerecon::chaos {

// Errors: what kept the run from going on (a binary missing, a simulator that did not start,
// a state that could not be fetched). Discrepancies, a daemon that exited on its own or a
// drain that failed are results, in the report.
result<chaos_report> run_chaos(const chaos_options& options);

}  // namespace chargerecon::chaos
