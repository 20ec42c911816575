#include "sim-audit/audit.hpp"

#include <algorithm>
#include <string_view>
#include <tuple>
#include <unordered_map>

#include "common/decimal.hpp"
#include "common/error.hpp"

namespace chargerecon::sim_audit {
namespace {

using ledger::charge_state;

std::string quoted(std::string_view text) { return "'" + quote_peer_text(text, 80) + "'"; }
std::string quoted(const std::string& text) { return quoted(std::string_view(text)); }
std::string quoted(const std::optional<std::string>& text) { return text ? quoted(*text) : std::string("none"); }

bool is_processed(const std::optional<std::string>& status) {
  if (!status) return false;
  return std::ranges::find(ledger::processed_statuses, std::string_view(*status)) !=
         std::end(ledger::processed_statuses);
}

// The three states indexed by charge number. Pointers into the caller's vectors.
class auditor {
 public:
  auditor(const crm_state& crm, const billing_state& billing, const std::vector<ledger_charge>& ledger_charges,
          const audit_options& options)
      : crm_(crm), billing_(billing), ledger_(ledger_charges), options_(options) {
    for (const auto& c : crm_.charges) crm_by_number_.emplace(c.number, &c);
    for (const auto& l : ledger_) ledger_by_number_.emplace(l.number, &l);
    for (const auto& r : billing_.records) billing_by_number_[r.number].push_back(&r);
  }

  audit_report run() {
    summarise();
    check_ledger();
    check_billing();
    check_crm();
    std::ranges::stable_sort(report_.discrepancies, [](const discrepancy& a, const discrepancy& b) {
      return std::tie(a.number, a.rule) < std::tie(b.number, b.rule);
    });
    return std::move(report_);
  }

 private:
  bool billable(const std::optional<std::string>& status) const {
    return status && std::ranges::find(options_.bill_statuses, *status) != options_.bill_statuses.end();
  }

  void flag(std::string rule, std::string_view number, std::string detail) {
    report_.discrepancies.push_back({std::move(rule), std::string(number), std::move(detail)});
  }

  const crm_charge* crm_of(const std::string& number) const {
    const auto it = crm_by_number_.find(number);
    return it == crm_by_number_.end() ? nullptr : it->second;
  }
  const ledger_charge* ledger_of(const std::string& number) const {
    const auto it = ledger_by_number_.find(number);
    return it == ledger_by_number_.end() ? nullptr : it->second;
  }
  const std::vector<const billing_record*>& billing_of(const std::string& number) const {
    static const std::vector<const billing_record*> none;
    const auto it = billing_by_number_.find(number);
    return it == billing_by_number_.end() ? none : it->second;
  }

  void summarise() {
    report_.crm_charges = crm_.charges.size();
    for (const auto& c : crm_.charges) {
      ++report_.crm_by_status[c.status ? *c.status : std::string("(none)")];
      if (c.acknowledged) ++report_.crm_acknowledged;
    }
    report_.billing_records = billing_.records.size();
    report_.billing_posts = billing_.posts_total;
    for (const auto& [key, posts] : billing_.posts_by_key) {
      // A replay is chargerecon posting a key again after a lost answer or a transient
      // failure: expected, and harmless on a billing system that honours the key.
      if (posts > 1) {
        ++report_.replayed_keys;
        report_.replayed_posts += posts - 1;
      }
    }
    std::map<std::string, decimal_sum> totals;
    for (const auto& r : billing_.records) {
      if (!totals[r.currency].add(r.amount))
        flag("billing_amount_invalid", r.number, "billing-fake's amount " + quoted(r.amount) + " is not a JSON number");
    }
    for (const auto& [currency, sum] : totals) report_.billed_total_by_currency[currency] = sum.to_string();

    report_.ledger_charges = ledger_.size();
    for (const auto s : ledger::all_charge_states) report_.ledger_by_state[s] = 0;
    for (const auto& l : ledger_) ++report_.ledger_by_state[l.state];
  }

  void check_ledger() {
    for (const auto& l : ledger_) {
      const auto* c = crm_of(l.number);
      if (!c) {
        flag("ledger_charge_not_in_crm", l.number,
             "the ledger holds it (" + std::string(to_string(l.state)) + "); crm-sim has no such charge");
        continue;
      }
      if (l.customer != c->customer)
        flag("ledger_customer_differs", l.number,
             "ledger customer " + quoted(l.customer) + ", crm-sim " + quoted(c->customer));
      if (l.amount != c->amount)
        flag("ledger_amount_differs", l.number, "ledger amount " + quoted(l.amount) + ", crm-sim " + quoted(c->amount));
      if (l.currency != c->currency)
        flag("ledger_currency_differs", l.number,
             "ledger currency " + quoted(l.currency) + ", crm-sim " + quoted(c->currency));
      // A watched charge may have resolved in crm-sim since the ledger last looked at it.
      if (l.state != charge_state::pending && l.status != c->status)
        flag("ledger_status_differs", l.number, "ledger status " + quoted(l.status) + ", crm-sim " + quoted(c->status));

      const auto& records = billing_of(l.number);
      if (l.billing_reference && records.empty())
        flag("ledger_reference_not_in_billing", l.number,
             "the ledger holds billing reference " + quoted(*l.billing_reference) +
                 "; billing-fake has no record of the charge");
      if (l.state == charge_state::acknowledged && !c->acknowledged)
        flag("ledger_ack_not_in_crm", l.number, "the ledger has it acknowledged; crm-sim does not");
      if (l.state == charge_state::held) {
        if (c->acknowledged) flag("held_acknowledged", l.number, "held in the ledger, yet acknowledged in crm-sim");
        if (!records.empty())
          flag("held_billed", l.number,
               "held in the ledger, yet billing-fake holds " + quoted(records.front()->reference_number));
      }
      if (l.state == charge_state::dead && c->acknowledged)
        flag("dead_acknowledged", l.number, "dead in the ledger, yet acknowledged in crm-sim");
      if (l.state == charge_state::dead && options_.forbid_dead)
        flag("dead_charge", l.number, "dead in the ledger: its acknowledgement was given up");
      if (l.state == charge_state::held && billing_.reject_customers &&
          !billing_.reject_customers->contains(l.customer))
        flag("held_not_refused", l.number,
             "held in the ledger, yet billing-fake does not refuse customer " + quoted(l.customer));
    }
  }

  void check_billing() {
    for (const auto& [key, posts] : billing_.posts_by_key) {
      if (!ledger_of(key))
        flag("billing_post_not_in_ledger", key,
             "billing-fake was posted it " + std::to_string(posts) + " time(s); the ledger does not know it");
    }
    for (const auto& [key, n] : billing_.replay_conflicts)
      flag("billing_replay_differs", key,
           "billing-fake was posted it again " + std::to_string(n) + " time(s) with another charge in the body");
    for (const auto& [number, records] : billing_by_number_) {
      if (records.size() > 1) {
        std::string refs;
        for (const auto* r : records) refs += (refs.empty() ? "" : ", ") + quoted(r->reference_number);
        flag("billing_duplicate_records", number,
             "billing-fake holds " + std::to_string(records.size()) + " records: " + refs);
      }
      const auto* c = crm_of(number);
      const auto* l = ledger_of(number);
      const bool watched = c && !is_processed(c->status);
      for (const auto* r : records) {
        if (!l) {
          flag("billing_charge_not_in_ledger", number,
               "billing-fake billed it as " + quoted(r->reference_number) + "; the ledger does not know it");
        } else if (l->state == charge_state::held || (l->state == charge_state::pending && watched)) {
          // Reported as held_billed / pending_billed.
        } else if (l->state == charge_state::billing && !options_.expect_drained) {
          // A billing answer lost in flight (or a crash after the post): the next run re-posts
          // with the same key and gets this reference back.
        } else if (l->state != charge_state::billed && l->state != charge_state::acknowledged &&
                   l->state != charge_state::dead) {
          // dead: billed, then its acknowledgement was refused until it gave up.
          flag("billing_charge_not_billed", number,
               "billing-fake billed it as " + quoted(r->reference_number) + "; the ledger has it " +
                   std::string(to_string(l->state)));
        } else if (l->billing_reference != r->reference_number) {
          flag("billing_reference_differs", number,
               "billing-fake reference " + quoted(r->reference_number) + ", ledger " + quoted(l->billing_reference));
        }

        if (!c) {
          flag("billing_charge_not_in_crm", number,
               "billing-fake billed it as " + quoted(r->reference_number) + "; crm-sim has no such charge");
          continue;
        }
        if (watched)
          flag(
              "pending_billed", number,
              "crm-sim status " + quoted(c->status) + ", yet billing-fake billed it as " + quoted(r->reference_number));
        else if (!billable(c->status))
          flag("billing_status_not_billable", number,
               "crm-sim status " + quoted(c->status) + " is not a bill status, yet billing-fake billed it as " +
                   quoted(r->reference_number));
        if (r->amount != c->amount)
          flag("billing_amount_differs", number,
               "billing-fake amount " + quoted(r->amount) + ", crm-sim " + quoted(c->amount));
        if (r->customer != c->customer)
          flag("billing_customer_differs", number,
               "billing-fake customer " + quoted(r->customer) + ", crm-sim " + quoted(c->customer));
        if (r->currency != c->currency)
          flag("billing_currency_differs", number,
               "billing-fake currency " + quoted(r->currency) + ", crm-sim " + quoted(c->currency));
      }
    }
  }

  void check_crm() {
    for (const auto& c : crm_.charges) {
      const auto* l = ledger_of(c.number);
      if (!is_processed(c.status)) {
        if (c.acknowledged)
          flag("pending_acknowledged", c.number,
               "crm-sim status " + quoted(c.status) + ", yet acknowledged (reference " + quoted(c.reference_number) +
                   ")");
        continue;
      }
      if (c.acknowledged) check_acknowledged(c, l);

      const bool final_in_ledger = l && (l->state == charge_state::acknowledged || l->state == charge_state::held ||
                                         l->state == charge_state::dead);
      // An acknowledged one that is not final in the ledger is reported by check_acknowledged.
      if (options_.expect_drained && !final_in_ledger && !c.acknowledged)
        flag("not_drained", c.number,
             "processed (" + quoted(c.status) + ") but " +
                 (l ? "only " + std::string(to_string(l->state)) + " in the ledger"
                    : std::string("unknown to the ledger")));
    }
  }

  void check_acknowledged(const crm_charge& c, const ledger_charge* l) {
    if (!l) {
      flag("crm_ack_unknown_to_ledger", c.number,
           "crm-sim has it acknowledged (reference " + quoted(c.reference_number) + "); the ledger never recorded it");
      return;
    }
    // Acknowledged held and dead charges are reported by check_ledger, once.
    if (l->state == charge_state::held || l->state == charge_state::dead) return;
    // An answer lost in flight leaves the ledger behind crm-sim until the next run
    // re-acknowledges, so that is only wrong once drained.
    if (l->state != charge_state::acknowledged && options_.expect_drained)
      flag("crm_ack_not_in_ledger", c.number,
           "crm-sim has it acknowledged; the ledger has it " + std::string(to_string(l->state)));

    const auto& records = billing_of(c.number);
    if (billable(c.status)) {
      if (records.empty()) {
        if (!(l->released && !c.reference_number))
          flag("ack_without_billing", c.number,
               "bill status " + quoted(c.status) + " acknowledged with reference " + quoted(c.reference_number) +
                   ", but billing-fake has no record of it");
      } else if (c.reference_number != records.front()->reference_number) {
        flag("ack_reference_differs", c.number,
             "acknowledged with reference " + quoted(c.reference_number) + ", billing-fake's is " +
                 quoted(records.front()->reference_number));
      }
    } else if (c.reference_number) {
      flag("ack_reference_on_unbilled", c.number,
           "status " + quoted(c.status) + " is not billed, yet acknowledged with reference " +
               quoted(c.reference_number));
    }
  }

  const crm_state& crm_;
  const billing_state& billing_;
  const std::vector<ledger_charge>& ledger_;
  const audit_options& options_;
  std::unordered_map<std::string, const crm_charge*> crm_by_number_;
  std::unordered_map<std::string, const ledger_charge*> ledger_by_number_;
  std::map<std::string, std::vector<const billing_record*>> billing_by_number_;
  audit_report report_;
};

}  // namespace

audit_report audit(const crm_state& crm, const billing_state& billing, const std::vector<ledger_charge>& ledger_charges,
                   const audit_options& options) {
  return auditor(crm, billing, ledger_charges, options).run();
}

}  // namespace chargerecon::sim_audit
