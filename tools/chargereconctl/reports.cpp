#include "chargereconctl/reports.hpp"

#include <algorithm>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <set>

#include "chargereconctl/cli.hpp"

namespace chargerecon::ctl {
namespace {

using namespace std::chrono;
using ledger::charge_state;

bool billable(const ledger::charge_record& c, const reconcile_rules& rules) {
  return std::ranges::find(rules.bill_statuses, c.status) != rules.bill_statuses.end();
}

std::string when(ledger::timestamp t, ledger::timestamp now) {
  return ledger::format_timestamp(t) + " (" + format_age(duration_cast<milliseconds>(now - t)) + " ago)";
}

std::string last_error_note(const ledger::charge_record& c) {
  return c.last_error.empty() ? std::string() : "; last error: " + quote_peer_text(c.last_error, 160);
}

finding from_charge(finding_kind kind, const ledger::charge_record& c, std::string detail) {
  return finding{kind,     c.number, c.customer, std::string(ledger::to_string(c.state)),
                 c.status, c.amount, c.currency, std::move(detail)};
}

}  // namespace

std::string_view to_string(finding_kind k) {
  switch (k) {
    case finding_kind::not_billed:
      return "not_billed";
    case finding_kind::billed_not_acknowledged:
      return "billed_not_acknowledged";
    case finding_kind::ack_overdue:
      return "ack_overdue";
    case finding_kind::billed_without_reference:
      return "billed_without_reference";
    case finding_kind::acknowledged_unbilled:
      return "acknowledged_unbilled";
    case finding_kind::billed_not_billable:
      return "billed_not_billable";
    case finding_kind::held:
      return "held";
    case finding_kind::dead:
      return "dead";
    case finding_kind::crm_unknown:
      return "crm_unknown";
    case finding_kind::crm_lists_acknowledged:
      return "crm_lists_acknowledged";
    case finding_kind::crm_left_list:
      return "crm_left_list";
    case finding_kind::crm_malformed:
      return "crm_malformed";
    case finding_kind::crm_pass_incomplete:
      return "crm_pass_incomplete";
  }
  return "?";
}

bool released_matters(const ledger::charge_record& c, const reconcile_rules& rules) {
  return c.state == charge_state::acknowledged && !c.billing_reference && !c.billed_at && billable(c, rules);
}

bool has_release(const std::vector<ledger::event_record>& events) {
  return std::ranges::any_of(events, [](const ledger::event_record& e) { return e.kind == "release"; });
}

std::vector<finding> check_charge(const ledger::charge_record& c, ledger::timestamp now, const reconcile_rules& rules,
                                  bool released) {
  std::vector<finding> out;
  const auto overdue = [&](ledger::timestamp since) { return now - since > rules.older_than; };
  if (c.billing_reference && !billable(c, rules))
    out.push_back(from_charge(finding_kind::billed_not_billable, c,
                              "billing reference " + *c.billing_reference + " on a " + c.status +
                                  " charge, which billing.bill_statuses does not bill: check billing for a "
                                  "charge billed in error"));
  switch (c.state) {
    case charge_state::pending:
      break;
    case charge_state::seen:
    case charge_state::billing:
      if (billable(c, rules) && overdue(c.first_seen))
        out.push_back(from_charge(finding_kind::not_billed, c,
                                  "first seen " + when(c.first_seen, now) + ", " + std::to_string(c.bill_attempts) +
                                      " failed billing attempts" + last_error_note(c) +
                                      ": is chargerecond running and billing reachable?"));
      break;
    case charge_state::billed:
      if (!c.billing_reference) {
        out.push_back(from_charge(finding_kind::billed_without_reference, c,
                                  "the ledger says billed but holds no billing reference: find the charge in "
                                  "billing by its number (the Idempotency-Key)"));
      } else {
        const auto since = c.billed_at.value_or(c.updated_at);
        if (overdue(since))
          out.push_back(from_charge(finding_kind::billed_not_acknowledged, c,
                                    "billed " + when(since, now) + " as " + *c.billing_reference + ", " +
                                        std::to_string(c.ack_attempts) + " acknowledgements refused" +
                                        last_error_note(c)));
      }
      break;
    case charge_state::ack_pending:
      if (overdue(c.first_seen))
        out.push_back(from_charge(finding_kind::ack_overdue, c,
                                  "waiting for its acknowledgement since it was first seen " + when(c.first_seen, now) +
                                      ", " + std::to_string(c.ack_attempts) + " acknowledgements refused" +
                                      last_error_note(c)));
      break;
    case charge_state::acknowledged:
      if (!c.billing_reference && c.billed_at) {
        out.push_back(from_charge(finding_kind::billed_without_reference, c,
                                  "acknowledged, billed at " + ledger::format_timestamp(*c.billed_at) +
                                      ", but no billing reference is recorded"));
      } else if (!c.billing_reference && billable(c, rules) && !released) {
        out.push_back(from_charge(finding_kind::acknowledged_unbilled, c,
                                  "a billable " + c.status +
                                      " charge acknowledged without a billing reference and without a person's "
                                      "release: check billing for it"));
      }
      break;
    case charge_state::held:
      out.push_back(from_charge(finding_kind::held, c,
                                "billing refused it" + last_error_note(c) +
                                    ": fix the cause, then `chargereconctl retry " + c.number +
                                    " --reason ...`, or `release` it"));
      break;
    case charge_state::dead:
      out.push_back(from_charge(finding_kind::dead, c,
                                "CRM.COM refused its acknowledgement " + std::to_string(c.ack_attempts) + " times" +
                                    last_error_note(c) + ": once the refusal is understood, `chargereconctl retry " +
                                    c.number + " --reason ...`"));
      break;
  }
  return out;
}

crm_comparison compare_with_crm(const crm_listing& listing,
                                const std::map<std::string, ledger::charge_record, std::less<>>& ledger_charges,
                                ledger::timestamp pass_start, ledger::timestamp now, const reconcile_rules& rules) {
  crm_comparison out;
  std::set<std::string, std::less<>> listed;
  for (const auto& c : listing.charges) {
    listed.insert(c.number);
    ++out.listed;
    const auto it = ledger_charges.find(c.number);
    if (it == ledger_charges.end()) {
      const auto received = c.received_on ? parse_date_arg(*c.received_on, false) : std::nullopt;
      if (received && now - *received < rules.older_than) {
        ++out.not_judged_recent;
        continue;
      }
      out.findings.push_back(finding{finding_kind::crm_unknown, c.number, c.customer, "",
                                     std::string(crm::to_wire(c.status)), c.amount, c.currency,
                                     "CRM.COM lists it (received " + c.received_on.value_or("at an unknown time") +
                                         "), the ledger has never recorded it: is chargerecond polling?"});
      continue;
    }
    const auto& rec = it->second;
    if (rec.state == charge_state::acknowledged && rec.acknowledged_at && *rec.acknowledged_at < pass_start)
      out.findings.push_back(from_charge(finding_kind::crm_lists_acknowledged, rec,
                                         "acknowledged " + when(*rec.acknowledged_at, now) +
                                             " in the ledger, yet CRM.COM still lists it: the acknowledgement did "
                                             "not take; `chargereconctl show " +
                                             rec.number + "` has its trail"));
  }
  for (const auto& m : listing.malformed) {
    out.listed += 1;
    if (m.number) listed.insert(*m.number);
    out.findings.push_back(finding{finding_kind::crm_malformed, m.number.value_or(""), "", "", "", "", "",
                                   m.diagnostic + "; element: " + m.raw_json});
  }
  if (!listing.complete) {
    out.findings.push_back(finding{finding_kind::crm_pass_incomplete, "", "", "", "", "", "",
                                   "charges/list repeated charges instead of ending after " +
                                       std::to_string(listing.pages) +
                                       " pages; charges that left the list were not judged: run it again"});
    out.left_list_judged = false;
    out.not_judged_reason = "the pass did not complete";
    return out;
  }
  const auto acked_during_pass = std::ranges::count_if(ledger_charges, [&](const auto& entry) {
    return entry.second.acknowledged_at && *entry.second.acknowledged_at >= pass_start;
  });
  if (acked_during_pass > 0) {
    out.left_list_judged = false;
    out.not_judged_reason = "chargerecond acknowledged " + std::to_string(acked_during_pass) +
                            " charges during the pass, which moves CRM.COM's list under it: run again when it "
                            "is idle";
    return out;
  }
  for (const auto& [number, rec] : ledger_charges) {
    if (rec.state == charge_state::acknowledged || rec.state == charge_state::pending) continue;
    if (listed.contains(number) || rec.updated_at >= pass_start) continue;
    out.findings.push_back(from_charge(
        finding_kind::crm_left_list, rec,
        "the ledger says " + std::string(ledger::to_string(rec.state)) +
            " but CRM.COM no longer lists it: it was acknowledged elsewhere, or an acknowledgement's answer was "
            "lost; if chargerecond was acknowledging it just then, the next run will not report it"));
  }
  return out;
}

void money_tally::add(std::string_view amount, const std::string& currency) {
  if (amount.empty()) return;
  // Checked apart first, so an unreadable amount does not leave an empty currency behind.
  if (decimal_sum probe; !probe.add(amount)) {
    ++unreadable_;
    return;
  }
  sums_[currency].add(amount);
}

money_totals money_tally::totals() const {
  money_totals out;
  out.unreadable = unreadable_;
  for (const auto& [currency, sum] : sums_) out.by_currency[currency] = sum.to_string();
  return out;
}

money_totals total_findings(const std::vector<finding>& findings) {
  std::set<std::string> seen;
  money_tally tally;
  for (const auto& f : findings)
    if (!f.number.empty() && seen.insert(f.number).second) tally.add(f.amount, f.currency);
  return tally.totals();
}

std::string format_age(milliseconds age) {
  if (age < milliseconds(0)) return "-" + format_age(-age);
  if (age < seconds(1)) return std::to_string(age.count()) + "ms";
  const auto d = duration_cast<days>(age);
  const auto h = duration_cast<hours>(age - d);
  const auto m = duration_cast<minutes>(age - d - h);
  const auto s = duration_cast<seconds>(age - d - h - m);
  if (d.count() > 0) return std::to_string(d.count()) + "d " + std::to_string(h.count()) + "h";
  if (h.count() > 0) return std::to_string(h.count()) + "h " + std::to_string(m.count()) + "m";
  if (m.count() > 0) return std::to_string(m.count()) + "m " + std::to_string(s.count()) + "s";
  return std::to_string(s.count()) + "s";
}

std::string csv_field(std::string_view text) {
  const bool quote = text.find_first_of(",\"\r\n") != std::string_view::npos ||
                     (!text.empty() && (text.front() == ' ' || text.back() == ' '));
  if (!quote) return std::string(text);
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string csv_row(const std::vector<std::string>& fields) {
  std::string out;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i) out += ',';
    out += csv_field(fields[i]);
  }
  out += "\r\n";
  return out;
}

std::vector<std::string> export_fields(const ledger::charge_record& c) {
  const auto opt_time = [](const std::optional<ledger::timestamp>& t) {
    return t ? ledger::format_timestamp(*t) : std::string();
  };
  return {c.number,
          c.customer,
          c.status,
          c.amount,
          c.currency,
          std::string(ledger::to_string(c.state)),
          c.billing_reference.value_or(""),
          ledger::format_timestamp(c.first_seen),
          opt_time(c.billed_at),
          opt_time(c.acknowledged_at)};
}

std::string export_csv_header() {
  return csv_row(std::vector<std::string>(std::begin(export_columns), std::end(export_columns)));
}

std::string export_csv_line(const ledger::charge_record& c) { return csv_row(export_fields(c)); }

std::string export_jsonl_line(const ledger::charge_record& c) {
  const auto fields = export_fields(c);
  boost::json::object o;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const auto column = export_columns[i];
    const bool optional = column == "billing_reference" || column == "billed_at" || column == "acknowledged_at";
    if (optional && fields[i].empty())
      o[column] = nullptr;
    else
      o[column] = fields[i];
  }
  return boost::json::serialize(o) + "\n";
}

}  // namespace chargerecon::ctl
