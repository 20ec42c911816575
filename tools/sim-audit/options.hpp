#pragma once
// sim-audit's command line: every flag and its help line in one place.

#include <chrono>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "sim-audit/audit.hpp"

namespace chargerecon::sim_audit {

struct cli_options {
  std::string crm_url;      // crm-sim's root: http://127.0.0.1:P
  std::string billing_url;  // billing-fake's root: http://127.0.0.1:Q
  std::string ledger_path;
  audit_options audit;
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};  // per state fetch
  bool json = false;
  bool help = false;
};

// `args` without the program name. --flag VALUE and --flag=VALUE both work.
// Errors: invalid_argument naming the flag (unknown, missing value, bad value, or a mandatory
// flag absent).
result<cli_options> parse_options(const std::vector<std::string>& args);

std::string usage_text();

}  // namespace chargerecon::sim_audit
