#pragma once
// What /readyz answers, as a pure decision over what the daemon knows: ready means logged in
// to CRM.COM, the ledger taking writes, and a pass over charges/list ended well recently.

#include <chrono>
#include <optional>
#include <string>

namespace chargerecon::obs {

struct readiness_inputs {
  bool logged_in = false;  // the last login attempt got a token
  bool ledger_ok = true;   // no ledger operation failed since the previous health refresh
  std::chrono::system_clock::time_point now{};
  // The end of the last successful pass; nullopt before the first one, when the run's start
  // (`started`) counts instead, so that a long first pass over a backlog is not "not ready".
  std::optional<std::chrono::system_clock::time_point> last_successful_pass;
  std::chrono::system_clock::time_point started{};
  std::chrono::milliseconds poll_interval{std::chrono::seconds(30)};
};

struct readiness {
  bool ready = false;
  std::string reason;  // "ready", or every reason it is not, separated by "; "
};

// A pass is recent while it ended within 3 x poll.interval + 60 s: three missed passes, plus
// room for one slow pass over a large list.
std::chrono::milliseconds max_pass_age(std::chrono::milliseconds poll_interval);

readiness assess_readiness(const readiness_inputs& in);

}  // namespace chargerecon::obs
