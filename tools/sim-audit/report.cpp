#include "sim-audit/report.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace chargerecon::sim_audit {

std::string render_text(const audit_report& r, const audit_options& options) {
  std::string out;
  const auto line = [&out](const std::string& text) { out += text + "\n"; };
  const auto n = [](auto v) { return std::to_string(v); };

  std::string statuses;
  for (const auto& [status, count] : r.crm_by_status) statuses += " " + status + "=" + n(count);
  line("crm-sim:      " + n(r.crm_charges) + " charges," + statuses + "; " + n(r.crm_acknowledged) + " acknowledged");

  line("billing-fake: " + n(r.billing_records) + " billed, " + n(r.billing_posts) + " posts, " + n(r.replayed_keys) +
       " charges posted again (" + n(r.replayed_posts) + " idempotent replays)");
  std::string totals;
  for (const auto& [currency, total] : r.billed_total_by_currency)
    totals += (totals.empty() ? "" : ", ") + currency + " " + total;
  line("billed total: " + (totals.empty() ? std::string("nothing") : totals));

  std::string states;
  for (const auto& [state, count] : r.ledger_by_state) states += " " + std::string(to_string(state)) + "=" + n(count);
  line("ledger:       " + n(r.ledger_charges) + " charges," + states);

  for (const auto& d : r.discrepancies) line("discrepancy " + d.rule + " " + d.number + ": " + d.detail);
  if (r.agrees())
    line(std::string("sim-audit: crm-sim, billing-fake and the ledger agree exactly") +
         (options.expect_drained ? "; the backlog is drained" : ""));
  else
    line("sim-audit: " + n(r.discrepancies.size()) + " discrepancies");
  return out;
}

std::string render_json(const audit_report& r, const audit_options& options) {
  boost::json::object by_status;
  for (const auto& [status, count] : r.crm_by_status) by_status[status] = count;
  boost::json::object totals;
  for (const auto& [currency, total] : r.billed_total_by_currency) totals[currency] = total;
  boost::json::object by_state;
  for (const auto& [state, count] : r.ledger_by_state) by_state[to_string(state)] = count;
  boost::json::array discrepancies;
  for (const auto& d : r.discrepancies)
    discrepancies.push_back(boost::json::object{{"rule", d.rule}, {"number", d.number}, {"detail", d.detail}});

  const boost::json::object out{
      {"agrees", r.agrees()},
      {"expect_drained", options.expect_drained},
      {"crm", {{"charges", r.crm_charges}, {"by_status", std::move(by_status)}, {"acknowledged", r.crm_acknowledged}}},
      {"billing",
       {{"records", r.billing_records},
        {"posts", r.billing_posts},
        {"replayed_keys", r.replayed_keys},
        {"replayed_posts", r.replayed_posts},
        {"billed_total", std::move(totals)}}},
      {"ledger", {{"charges", r.ledger_charges}, {"by_state", std::move(by_state)}}},
      {"discrepancies", std::move(discrepancies)},
  };
  return boost::json::serialize(out) + "\n";
}

}  // namespace chargerecon::sim_audit
