#pragma once
// sim-audit's output: a text summary for people, or one JSON object for scripts.

#include <string>

#include "sim-audit/audit.hpp"

namespace chargerecon::sim_audit {

// Lines: crm-sim's charges by status and acknowledged; billing-fake's records, posts and
// idempotent replays; billed totals per currency (exact decimal text); the ledger's charges by
// state (billed, acknowledged, held, dead, pending ...); then one line per discrepancy,
// "discrepancy <rule> <number>: <detail>", and the verdict.
std::string render_text(const audit_report& report, const audit_options& options);

// {"agrees", "expect_drained", "crm": {"charges", "by_status", "acknowledged"},
//  "billing": {"records", "posts", "replayed_keys", "replayed_posts", "billed_total": {cur: "text"}},
//  "ledger": {"charges", "by_state": {state: n}},
//  "discrepancies": [{"rule", "number", "detail"}]}
std::string render_json(const audit_report& report, const audit_options& options);

}  // namespace chargerecon::sim_audit
