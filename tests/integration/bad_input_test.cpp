// Bad input from CRM.COM, end to end: the real chargerecond against crm-sim (serving charges
// posted raw, charges changed under the daemon, and acknowledge answers that name charges the
// request did not send) and billing-fake. After each run the three states are read back:
// every good charge is billed exactly once with its exact amount text and acknowledged with
// billing's reference; a bad one is reported by name and is neither billed nor acknowledged.
//
// Every wait is bounded and every random choice seeded (crm-sim's backlog).

#include <gtest/gtest.h>

#include <csignal>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "ledger/charge_state.hpp"
#include "support/crm_sim_fixture.hpp"
#include "support/daemon_fixture.hpp"

namespace chargerecon::test {
namespace {

using namespace std::chrono_literals;
using ledger::charge_state;

std::string raw_charge(const std::string& number, const std::string& status, const std::string& amount,
                       const std::string& customer = "C0901") {
  return R"({"number":")" + number + R"(","billing_system_customer_identifier":")" + customer + R"(","amount":)" +
         amount + R"(,"currency":"EUR","charge_status":")" + status + R"(","received_on":"2026-01-05T10:00:00"})";
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out = std::to_string(lines.size()) + " problem(s):\n";
  for (const auto& l : lines) out += "  " + l + "\n";
  return out;
}

std::map<std::string, ledger::charge_record> ledger_by_number(const daemon_fixture& d) {
  std::map<std::string, ledger::charge_record> out;
  for (auto& c : d.ledger_charges()) out.emplace(c.number, std::move(c));
  return out;
}

// Generated charges (not posted raw, not in `skip`): APPROVED billed once with crm-sim's exact
// values and acknowledged with billing's reference; other processed ones acknowledged, unbilled.
std::vector<std::string> generated_outcome(const sim_state& crm, const billing_state& billing,
                                           const std::set<std::string>& skip = {}) {
  std::vector<std::string> p;
  for (const auto& c : crm.charges) {
    if (c.raw || skip.contains(c.number) || c.status == "PENDING") continue;
    if (!c.acknowledged) p.push_back(c.number + ": not acknowledged");
    const auto* r = billing.find(c.number);
    if (c.status != "APPROVED") {
      if (r != nullptr) p.push_back(c.number + " (" + c.status.value_or("?") + "): billed");
      continue;
    }
    if (r == nullptr || billing.records_for(c.number) != 1) {
      p.push_back(c.number + ": APPROVED, not billed exactly once");
      continue;
    }
    if (c.reference_number != r->reference_number) p.push_back(c.number + ": acknowledged without billing's reference");
    if (r->amount != c.amount.value_or("") || r->customer != c.customer || r->currency != c.currency)
      p.push_back(c.number + ": billed as " + r->customer + " " + r->amount + " " + r->currency);
  }
  return p;
}

// ---- malformed elements among good ones ---------------------------------------------------------

TEST(bad_input, malformed_elements_among_good_ones_are_reported_and_never_billed_nor_acknowledged) {
  // 30 generated charges and the 16 posted ones fit in one page of 50: the two copies of
  // B-CONFLICT are seen together (copies a page apart meet the "changed" rule instead).
  crm_sim crm({"--backlog", "30", "--seed", "4242", "--pending-ratio", "0", "--quiet"});
  billing_fake billing;

  // Good charges, with the amounts that tempt a program to round, normalise or refuse. The spec
  // bills by status alone (APPROVED), so each of these is billed and billing receives its text.
  const std::map<std::string, std::string> good_amounts = {
      {"G-NEG", "-12.50"},
      {"G-ZERO", "0"},
      {"G-ZEROS", "0.00"},
      {"G-HUGE", "123456789012345678901234567890.123456789"},
      {"G-TINY", "0.000000000000000000000001"},
      {"G-EXP", "1E+2"},
  };
  std::vector<std::string> elements;
  for (const auto& [number, amount] : good_amounts) elements.push_back(raw_charge(number, "APPROVED", amount));
  elements.push_back(raw_charge("G-DECLINED", "DECLINED", "7.50"));
  // The same charge listed twice, both copies alike: recorded and billed once.
  elements.push_back(raw_charge("G-TWICE", "APPROVED", "3.50"));
  // Bad ones, with the part of the diagnostic charge.malformed must carry.
  std::map<std::string, std::string> bad_field;
  elements.push_back(R"({"number":"B-STRING-AMOUNT","billing_system_customer_identifier":"C0901","amount":"12.50",)"
                     R"("currency":"EUR","charge_status":"APPROVED"})");
  bad_field["B-STRING-AMOUNT"] = ".amount: expected a number, got string";
  elements.push_back(raw_charge("B-UNKNOWN-STATUS", "REFUNDED", "4.00"));
  bad_field["B-UNKNOWN-STATUS"] = ".charge_status: unknown value REFUNDED";
  elements.push_back(R"({"number":"B-NO-CUSTOMER","amount":5.00,"currency":"EUR","charge_status":"APPROVED"})");
  bad_field["B-NO-CUSTOMER"] = ".billing_system_customer_identifier: missing";
  elements.push_back(R"({"number":"B-DATE","billing_system_customer_identifier":"C0901","amount":6.00,)"
                     R"("currency":"EUR","charge_status":"APPROVED","received_on":"yesterday"})");
  bad_field["B-DATE"] = ".received_on: expected a date YYYY-MM-DDTHH:MM:SS, got yesterday";
  // One number twice with two amounts: which would we bill? Neither.
  elements.push_back(raw_charge("B-CONFLICT", "APPROVED", "10.00"));
  elements.push_back(raw_charge("G-TWICE", "APPROVED", "3.50"));
  elements.push_back(raw_charge("B-CONFLICT", "APPROVED", "20.00"));
  bad_field["B-CONFLICT"] = ".number: charge B-CONFLICT is also at [";
  elements.push_back("42");

  std::string array = "[";
  for (std::size_t i = 0; i < elements.size(); ++i) array += (i ? "," : "") + elements[i];
  array += "]";
  ASSERT_EQ(crm.post_charges(array), elements.size());

  daemon_fixture d(daemon_settings{.crm_base_url = crm.base_url(), .billing_url = billing.bill_url()});
  const auto run = d.run_once(90s);
  ASSERT_EQ(run.exit_status, 0) << run.describe() << "\n" << crm.output();

  const auto crm_state = crm.state();
  const auto bill_state = billing.state();
  const auto ledger = ledger_by_number(d);
  std::vector<std::string> problems = generated_outcome(crm_state, bill_state);

  // Good raw charges: billed once with their exact amount text, acknowledged with the reference.
  for (const auto& [number, amount] : good_amounts) {
    const auto* r = bill_state.find(number);
    if (r == nullptr || bill_state.records_for(number) != 1) {
      problems.push_back(number + ": not billed exactly once");
      continue;
    }
    if (r->amount != amount) problems.push_back(number + ": billing received amount " + r->amount + ", not " + amount);
    const auto* c = crm_state.find(number);
    if (!c->acknowledged || c->reference_number != r->reference_number)
      problems.push_back(number + ": not acknowledged with billing's reference");
    const auto it = ledger.find(number);
    if (it == ledger.end() || it->second.state != charge_state::acknowledged || it->second.amount != amount)
      problems.push_back(number + ": not acknowledged in the ledger with its exact amount");
  }
  if (bill_state.find("G-DECLINED") != nullptr) problems.push_back("G-DECLINED: billed");
  if (!crm_state.find("G-DECLINED")->acknowledged) problems.push_back("G-DECLINED: not acknowledged");
  if (bill_state.records_for("G-TWICE") != 1) problems.push_back("G-TWICE: not billed exactly once");
  if (billing.state().posts_by_key.at("G-TWICE") != 1) problems.push_back("G-TWICE: posted more than once");
  for (const auto& c : crm_state.charges)
    if (c.number == "G-TWICE" && !c.acknowledged) problems.push_back("G-TWICE: a copy is still listed");

  // Bad ones: named in the log with the offending field, never billed, never acknowledged,
  // never even attempted, and not in the ledger (nothing in them could be trusted).
  std::map<std::string, std::vector<std::string>> malformed_errors;
  for (const auto& e : run.log)
    if (e.event == "charge.malformed") malformed_errors[e.field("number")].push_back(e.field("error"));
  for (const auto& [number, field] : bad_field) {
    const auto& errors = malformed_errors[number];
    bool named = false;
    for (const auto& err : errors)
      named = named || (err.starts_with("netflix/charges/list: data.charges_set[") && err.find(field) != std::string::npos);
    if (!named) problems.push_back(number + ": no charge.malformed naming '" + field + "'");
    if (bill_state.find(number) != nullptr || bill_state.posts_by_key.contains(number))
      problems.push_back(number + ": posted to billing");
    for (const auto& c : crm_state.charges)
      if (c.number == number && (c.acknowledged || c.ack_attempts != 0))
        problems.push_back(number + ": acknowledgement attempted");
    if (ledger.contains(number)) problems.push_back(number + ": recorded in the ledger");
  }
  // The element that is not an object has no number: reported with the '?' placeholder.
  bool not_object = false;
  for (const auto& err : malformed_errors["?"])
    not_object = not_object || err.find("expected an object, got number") != std::string::npos;
  if (!not_object) problems.push_back("42: no charge.malformed for the element that is not an object");
  EXPECT_TRUE(problems.empty()) << joined(problems) << run.describe();

  // The ledger holds exactly the good charges: crm-sim's generated ones and the good raw ones.
  std::size_t generated = 0;
  for (const auto& c : crm_state.charges) generated += c.raw ? 0 : 1;
  EXPECT_EQ(ledger.size(), generated + good_amounts.size() + 2) << "G-DECLINED and G-TWICE besides the amounts";
}

// ---- a known charge comes back changed ------------------------------------------------------------

TEST(bad_input, a_known_charge_that_changes_keeps_its_first_values_and_is_billed_once) {
  // Every acknowledgement refused at first, so the charges stay listed while they change.
  crm_sim crm({"--backlog", "40", "--seed", "777", "--pending-ratio", "0", "--ack-refuse-first", "1000000", "--quiet"});
  billing_fake billing;
  daemon_settings s{.crm_base_url = crm.base_url(), .billing_url = billing.bill_url()};
  s.ack_max_attempts = 1000;
  daemon_fixture d(s);

  const auto before = crm.state();
  std::vector<const sim_charge*> approved, declined;
  for (const auto& c : before.charges) (c.status == "APPROVED" ? approved : declined).push_back(&c);
  ASSERT_GE(approved.size(), 2u) << "seed 777 no longer draws two APPROVED charges";
  ASSERT_GE(declined.size(), 1u) << "seed 777 no longer draws a charge that is not APPROVED";
  const sim_charge amount_changed = *approved[0];
  const sim_charge customer_changed = *approved[1];
  const sim_charge declined_changed = *declined[0];

  auto daemon = d.start();
  // Billed (and refused acknowledgement) before anything changes.
  const auto billed_all = [&] { return billing.state().records.size() == approved.size(); };
  for (int i = 0; i < 300 && !billed_all(); ++i) std::this_thread::sleep_for(100ms);
  ASSERT_TRUE(billed_all()) << daemon.describe();
  ASSERT_TRUE(daemon.wait_for_event("charge.ack_refused", 30s)) << daemon.describe();

  crm.amend(R"({"number":")" + amount_changed.number + R"(","amount":99999.999})");
  crm.amend(R"({"number":")" + customer_changed.number + R"(","billing_system_customer_identifier":"C9999"})");
  crm.amend(R"({"number":")" + declined_changed.number + R"(","amount":1.5,"currency":"USD"})");
  ASSERT_TRUE(daemon.wait_for_events("charge.changed", 3, 30s)) << daemon.describe();

  // Let acknowledgements through: the first values go to CRM.COM, billed with the first amount.
  crm.post_faults(R"({"ack_refuse_first":0})");
  const auto settled = [&] {
    const auto st = crm.state();
    for (const auto& c : st.charges)
      if (!c.acknowledged && c.number != customer_changed.number) return false;
    return true;
  };
  for (int i = 0; i < 300 && !settled(); ++i) std::this_thread::sleep_for(100ms);
  EXPECT_TRUE(settled()) << daemon.describe();
  ASSERT_TRUE(daemon.signal(SIGTERM));
  ASSERT_EQ(daemon.wait(30s), 0) << daemon.describe();

  const auto crm_state = crm.state();
  const auto bill_state = billing.state();
  const auto ledger = ledger_by_number(d);
  std::vector<std::string> problems =
      generated_outcome(crm_state, bill_state, {amount_changed.number, customer_changed.number, declined_changed.number});

  // Billed exactly once, with the first amount; never with the new one.
  const auto* a = bill_state.find(amount_changed.number);
  if (a == nullptr || bill_state.records_for(amount_changed.number) != 1 ||
      bill_state.posts_by_key.at(amount_changed.number) != 1)
    problems.push_back(amount_changed.number + ": not posted and billed exactly once");
  else if (a->amount != *amount_changed.amount)
    problems.push_back(amount_changed.number + ": billed " + a->amount + ", first amount " + *amount_changed.amount);
  if (!crm_state.find(amount_changed.number)->acknowledged ||
      (a != nullptr && crm_state.find(amount_changed.number)->reference_number != a->reference_number))
    problems.push_back(amount_changed.number + ": not acknowledged with billing's reference");
  const auto& la = ledger.at(amount_changed.number);
  if (la.amount != *amount_changed.amount || la.state != charge_state::acknowledged)
    problems.push_back(amount_changed.number + ": ledger has " + la.amount + " " + std::string(ledger::to_string(la.state)));

  // Billed once to the first customer; CRM.COM now refuses the acknowledgement that names that
  // customer, so it is retried (and would go dead at ack.max_attempts): never acknowledged
  // under a customer billing was not told about.
  const auto* b = bill_state.find(customer_changed.number);
  if (b == nullptr || bill_state.records_for(customer_changed.number) != 1 || b->customer != customer_changed.customer)
    problems.push_back(customer_changed.number + ": not billed exactly once to " + customer_changed.customer);
  if (crm_state.find(customer_changed.number)->acknowledged)
    problems.push_back(customer_changed.number + ": acknowledged after its customer changed");
  const auto& lb = ledger.at(customer_changed.number);
  if (lb.customer != customer_changed.customer || lb.state != charge_state::billed)
    problems.push_back(customer_changed.number + ": ledger has " + lb.customer + " " +
                       std::string(ledger::to_string(lb.state)));

  // Not billable: never billed, acknowledged with its first values.
  if (bill_state.find(declined_changed.number) != nullptr) problems.push_back(declined_changed.number + ": billed");
  if (!crm_state.find(declined_changed.number)->acknowledged)
    problems.push_back(declined_changed.number + ": not acknowledged");
  EXPECT_TRUE(problems.empty()) << joined(problems) << daemon.describe();

  // Each change is logged once, and audited in the ledger with both versions.
  std::multiset<std::string> changed_events;
  for (const auto& e : daemon.events("charge.changed")) changed_events.insert(e.field("number"));
  EXPECT_EQ(changed_events, (std::multiset<std::string>{amount_changed.number, customer_changed.number,
                                                         declined_changed.number}));
  bool audited = false;
  for (const auto& e : d.ledger_events(amount_changed.number))
    audited = audited || (e.kind == "changed" && e.detail_json.find("99999.999") != std::string::npos &&
                          e.detail_json.find(*amount_changed.amount) != std::string::npos);
  EXPECT_TRUE(audited) << "no 'changed' audit row with both amounts for " << amount_changed.number;
}

// ---- an acknowledge answer names charges that were not sent ----------------------------------------

TEST(bad_input, an_acknowledge_answer_naming_charges_not_sent_acknowledges_nothing_in_the_ledger) {
  crm_sim crm({"--backlog", "60", "--seed", "9090", "--pending-ratio", "0", "--quiet"});
  billing_fake billing;
  // Every answer that refuses its first charge misnames that refusal, until told otherwise.
  crm.post_faults(R"({"ack_misname_next":1000000})");
  daemon_settings s{.crm_base_url = crm.base_url(), .billing_url = billing.bill_url()};
  s.ack_max_attempts = 1000;
  daemon_fixture d(s);

  auto daemon = d.start();
  // (A retry whose first charge crm-sim had applied is answered truthfully, so the count of
  // misnamed answers depends on batching; one is enough.)
  ASSERT_TRUE(daemon.wait_for_event("crm.ack_refusal_unknown", 60s)) << daemon.describe();

  // crm-sim applied all but the first charge of each request, and refused that one under a
  // number nobody sent; the ledger, which cannot tell which, recorded none of them: it may lag
  // behind CRM.COM, never run ahead of it. (The ledger is read first: crm-sim only gains
  // acknowledgements after that.)
  {
    const auto ledger = ledger_by_number(d);
    const auto crm_state = crm.state();
    std::vector<std::string> ahead;
    std::size_t crm_acknowledged = 0, ledger_acknowledged = 0;
    for (const auto& c : crm_state.charges) {
      crm_acknowledged += c.acknowledged ? 1 : 0;
      const auto it = ledger.find(c.number);
      if (it == ledger.end() || it->second.state != charge_state::acknowledged) continue;
      ++ledger_acknowledged;
      if (!c.acknowledged) ahead.push_back(c.number + ": acknowledged in the ledger, not in crm-sim");
    }
    EXPECT_TRUE(ahead.empty()) << joined(ahead);
    EXPECT_GT(crm_acknowledged, 0u) << "crm-sim applied nothing: the fault did not play";
    EXPECT_LT(ledger_acknowledged, crm_acknowledged) << "the ledger took the untrusted answers";
  }
  std::size_t untrusted = 0;
  for (const auto& e : daemon.events("charge.ack_refused"))
    untrusted += e.field("error_code") == "chargerecon.untrusted_answer" ? 1 : 0;
  EXPECT_GT(untrusted, 0u) << daemon.describe();
  for (const auto& e : daemon.events("crm.ack_refusal_unknown")) EXPECT_EQ(e.field("number").rfind("UNSENT-", 0), 0u);

  // Truthful answers again: everything is re-acknowledged with the same references and settles.
  crm.post_faults(R"({"ack_misname_next":0})");
  ASSERT_TRUE(daemon.signal(SIGTERM));
  ASSERT_EQ(daemon.wait(30s), 0) << daemon.describe();
  const auto run = d.run_once(60s);
  ASSERT_EQ(run.exit_status, 0) << run.describe();

  const auto crm_state = crm.state();
  const auto bill_state = billing.state();
  const auto problems = generated_outcome(crm_state, bill_state);
  EXPECT_TRUE(problems.empty()) << joined(problems);
  const auto audit = d.audit(crm.origin(), billing.origin(), true);
  EXPECT_EQ(audit.exit_status, 0) << audit.output;
}

}  // namespace
}  // namespace chargerecon::test
