#pragma once
// sim-audit's judgement: do crm-sim's state, billing-fake's state and the ledger agree exactly?
// Pure functions over parsed states (no sockets, no files), so that every rule is unit-tested
// with hand-made states that break it. main.cpp fetches the states and prints the report.
//
// The three states are snapshots taken one after the other. They are only expected to agree
// when no chargerecond is running against them (after `chargerecond --once`, or after a stop).

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ledger/charge_state.hpp"

namespace chargerecon::sim_audit {

// One charge of crm-sim's GET /sim/state. status and amount are absent for a charge posted
// raw through /sim/charges without them; amount is the exact text crm-sim serves.
struct crm_charge {
  std::string number;
  std::string customer;
  std::optional<std::string> status;
  std::optional<std::string> amount;
  std::string currency;
  bool acknowledged = false;
  std::optional<std::string> reference_number;
};

struct crm_state {
  std::vector<crm_charge> charges;
};

// One record of billing-fake's GET /state: a charge billing holds as billed.
struct billing_record {
  std::string reference_number;
  std::string number;
  std::string customer;
  std::string amount;  // the JSON number text exactly as chargerecon posted it
  std::string currency;
};

struct billing_state {
  std::vector<billing_record> records;
  std::uint64_t posts_total = 0;
  std::map<std::string, std::uint64_t, std::less<>> posts_by_key;  // Idempotency-Key -> posts
  // Posts that replayed a billed key with another charge in the body, by key.
  std::map<std::string, std::uint64_t, std::less<>> replay_conflicts;
  // The customers billing-fake refuses (its --reject-customers), when its state says.
  std::optional<std::set<std::string, std::less<>>> reject_customers;
};

// What the audit needs of one ledger charge.
struct ledger_charge {
  std::string number;
  std::string customer;
  std::string status;
  std::string amount;
  std::string currency;
  ledger::charge_state state = ledger::charge_state::pending;
  std::optional<std::string> billing_reference;
  // A person released it (held -> acknowledged without billing): then a billable charge is
  // rightly acknowledged with no reference.
  bool released = false;
};

struct audit_options {
  std::vector<std::string> bill_statuses{"APPROVED"};
  // The run is over: every processed charge must have reached a final state, and an
  // acknowledgement crm-sim applied but whose answer chargerecond never saw is a discrepancy.
  bool expect_drained = false;
  // No charge may end dead: the run's acknowledgement refusals all end before ack.max_attempts
  // (a chaos run's), so a dead charge means the daemon miscounted or mishandled an answer.
  bool forbid_dead = false;
};

// One way the states disagree. `rule` is a stable name (tests and scripts match on it),
// `number` the charge concerned, `detail` what differs, with peer text quoted.
struct discrepancy {
  std::string rule;
  std::string number;
  std::string detail;
};

struct audit_report {
  // crm-sim
  std::size_t crm_charges = 0;
  std::map<std::string, std::size_t> crm_by_status;  // "(none)" for a raw charge without one
  std::size_t crm_acknowledged = 0;
  // billing-fake
  std::size_t billing_records = 0;
  std::uint64_t billing_posts = 0;
  std::size_t replayed_keys = 0;                                // Idempotency-Keys posted more than once
  std::uint64_t replayed_posts = 0;                             // the posts beyond the first, summed over those keys
  std::map<std::string, std::string> billed_total_by_currency;  // exact decimal text
  // the ledger
  std::size_t ledger_charges = 0;
  std::map<ledger::charge_state, std::size_t> ledger_by_state;  // every state, zeros included

  std::vector<discrepancy> discrepancies;
  bool agrees() const { return discrepancies.empty(); }
};

// The rules, each a discrepancy `rule` name:
//   ledger_charge_not_in_crm       a ledger charge crm-sim does not have
//   ledger_customer_differs, ledger_amount_differs, ledger_currency_differs, ledger_status_differs
//                                  the ledger's first observation differs from crm-sim (status:
//                                  except for a charge the ledger still watches as pending)
//   billing_charge_not_in_ledger   a billing record whose number the ledger does not know
//   billing_charge_not_billed      ... the ledger knows, but not as billed, acknowledged or dead (a
//                                  charge still in billing only with expect_drained: its answer
//                                  may have been lost in flight)
//   billing_reference_differs      ... the ledger holds another (or no) billing reference
//   billing_charge_not_in_crm      a billing record whose number crm-sim does not have
//   billing_status_not_billable    a billing record for a processed charge whose status is no
//                                  bill status
//   billing_amount_invalid         a billing record whose amount is not a JSON number's text
//   billing_amount_differs, billing_customer_differs, billing_currency_differs
//                                  a billing record's text is not crm-sim's
//   billing_duplicate_records      more than one billing record for one charge number
//   billing_post_not_in_ledger     billing-fake was posted a key (a charge number) the ledger
//                                  does not know, whatever came of the post
//   billing_replay_differs         billing-fake was posted a billed key again with another
//                                  customer, amount or currency in the body
//   held_not_refused               a held ledger charge of a customer billing-fake does not refuse
//                                  (only when billing-fake's state names the customers it refuses)
//   dead_charge                    with forbid_dead: a charge dead in the ledger
//   ledger_reference_not_in_billing the ledger holds a billing reference billing-fake has no
//                                  record of
//   crm_ack_unknown_to_ledger      crm-sim acknowledged a charge the ledger never recorded
//   crm_ack_not_in_ledger          crm-sim acknowledged it, the ledger does not say so (only
//                                  with expect_drained: the answer may have been lost in flight)
//   ledger_ack_not_in_crm          the ledger says acknowledged, crm-sim does not
//   ack_reference_differs          a billable charge acknowledged with a reference_number other
//                                  than billing's reference for it
//   ack_without_billing            a billable charge acknowledged with no billing record (and
//                                  not released by a person)
//   ack_reference_on_unbilled      a charge that is not billable acknowledged with a reference
//   pending_acknowledged, pending_billed
//                                  a charge crm-sim has as PENDING (or with a status it does not
//                                  document as processed) acknowledged / billed
//   held_acknowledged, held_billed a ledger held charge acknowledged in crm-sim / with a billing record
//   dead_acknowledged              a ledger dead charge acknowledged in crm-sim
//   not_drained                    with expect_drained: a processed crm-sim charge that is not
//                                  acknowledged, held or dead in the ledger
// Discrepancies come sorted by charge number, then rule.
audit_report audit(const crm_state& crm, const billing_state& billing, const std::vector<ledger_charge>& ledger_charges,
                   const audit_options& options);

}  // namespace chargerecon::sim_audit
