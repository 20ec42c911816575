#include "observability/health.hpp"

namespace chargerecon::obs {

std::chrono::milliseconds max_pass_age(std::chrono::milliseconds poll_interval) {
  return 3 * poll_interval + std::chrono::seconds(60);
}

readiness assess_readiness(const readiness_inputs& in) {
  std::string reasons;
  const auto add = [&](const std::string& r) { reasons += (reasons.empty() ? "" : "; ") + r; };
  if (!in.logged_in) add("not logged in to CRM.COM");
  if (!in.ledger_ok) add("ledger operations are failing (see ledger.write_failed)");
  const auto since = in.last_successful_pass.value_or(in.started);
  const auto age = std::chrono::duration_cast<std::chrono::seconds>(in.now - since);
  if (age > max_pass_age(in.poll_interval))
    add(in.last_successful_pass ? "the last successful pass ended " + std::to_string(age.count()) + " s ago"
                                : "no successful pass in the " + std::to_string(age.count()) + " s since the start");
  if (reasons.empty()) return {true, "ready"};
  return {false, reasons};
}

}  // namespace chargerecon::obs
