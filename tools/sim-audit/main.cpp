// sim-audit: wiring only. Flags -> fetch both simulators' states and read the ledger ->
// audit (sim_audit_core) -> report and exit status.

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "sim-audit/audit.hpp"
#include "sim-audit/fetch.hpp"
#include "sim-audit/options.hpp"
#include "sim-audit/report.hpp"
#include "sim-audit/states.hpp"

using namespace chargerecon;

namespace {

constexpr int exit_agree = 0;
constexpr int exit_discrepancies = 1;
constexpr int exit_trouble = 2;  // usage, unreachable simulator, unreadable ledger

int trouble(const std::string& what) {
  std::cerr << "sim-audit: " << what << "\n";
  return exit_trouble;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  auto options = sim_audit::parse_options(args);
  if (!options) {
    std::cerr << "sim-audit: " << options.error().diagnostic << "\n\n" << sim_audit::usage_text();
    return exit_trouble;
  }
  if (options->help) {
    std::cout << sim_audit::usage_text();
    return exit_agree;
  }

  try {
    // The ledger first: it is the record of what chargerecond told the other two.
    auto ledger_charges = sim_audit::load_ledger(options->ledger_path);
    if (!ledger_charges) return trouble(ledger_charges.error().to_string());

    auto billing_body = sim_audit::fetch_state(options->billing_url, "state", options->timeout);
    if (!billing_body) return trouble(billing_body.error().to_string());
    auto billing = sim_audit::parse_billing_state(*billing_body);
    if (!billing) return trouble(billing.error().to_string());

    auto crm_body = sim_audit::fetch_state(options->crm_url, "sim/state", options->timeout);
    if (!crm_body) return trouble(crm_body.error().to_string());
    auto crm = sim_audit::parse_crm_state(*crm_body);
    if (!crm) return trouble(crm.error().to_string());

    const auto report = sim_audit::audit(*crm, *billing, *ledger_charges, options->audit);
    std::cout << (options->json ? sim_audit::render_json(report, options->audit)
                                : sim_audit::render_text(report, options->audit));
    std::cout.flush();
    return report.agrees() ? exit_agree : exit_discrepancies;
  } catch (const std::exception& e) {
    return trouble(std::string("failed: ") + e.what());
  }
}
