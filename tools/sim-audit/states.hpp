#pragma once
// Reading the three states sim-audit compares: the simulators' state answers (JSON text, parsed
// here) and the ledger (opened read_only, so it works beside a running daemon).

#include <filesystem>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "sim-audit/audit.hpp"

namespace chargerecon::sim_audit {

// crm-sim's GET /sim/state body: {"charges": [{"number", "customer", "status" (string or null),
// "amount" (string or null), "currency", "acknowledged", "reference_number" (string or null),
// ...}], ...}. Members not listed here are ignored.
// Errors: malformed_answer naming the member that is missing or of the wrong type.
result<crm_state> parse_crm_state(std::string_view body);

// billing-fake's GET /state body: {"records": [{"reference_number", "number", "customer",
// "amount", "currency", ...}], "posts_total", "posts_by_key": {"<key>": n, ...}}.
// Errors: malformed_answer naming the member that is missing or of the wrong type.
result<billing_state> parse_billing_state(std::string_view body);

// Every charge of the ledger at `path`, in one read transaction (a consistent snapshot), with
// `released` set from the audit trail for the acknowledged charges that carry no billing
// reference. Errors: those of sqlite_ledger::open in read_only mode, ledger_read_failed.
result<std::vector<ledger_charge>> load_ledger(const std::filesystem::path& path);

}  // namespace chargerecon::sim_audit
