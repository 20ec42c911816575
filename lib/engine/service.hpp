#pragma once
// chargerecond's life from a validated config to its exit status: open the ledger, build the
// CRM.COM and billing clients, log in, tell systemd READY, run the reconciler, answer signals
// (SIGTERM/SIGINT: graceful stop bounded by shutdown.deadline), print the run's summary.
// daemon/main.cpp only parses arguments and calls run_service.

#include "config/config.hpp"
#include "observability/event_log.hpp"

#include <string>

namespace chargerecon::engine {

struct service_options {
  bool once = false;  // --once: drain, then exit
  std::string config_path;
};

// Exit statuses (sysexits.h): 0 after a clean stop; 69 (EX_UNAVAILABLE) when start-up failed
// (ledger locked or unusable, login impossible); 70 (EX_SOFTWARE) when the engine stopped on
// an unrecoverable ledger error.
int run_service(const config& cfg, const secrets& sec, const service_options& options, obs::event_log& log);

}  // namespace chargerecon::engine
