// chargerecond end to end: the real daemon against crm-sim and billing-fake over loopback, each
// test with its own simulators, configuration and ledger. The outcome is checked three ways:
// sim-audit over the three states, and directly, from crm-sim's /sim/state, billing-fake's
// /state and the ledger opened read-only.
//
// Every wait is bounded; every random choice is seeded (crm-sim's charges and faults,
// billing-fake's faults, the moments test 5 kills the daemon).

#include <gtest/gtest.h>

#include <csignal>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "ledger/charge_state.hpp"
#include "support/crm_sim_fixture.hpp"
#include "support/daemon_fixture.hpp"

namespace chargerecon::test {
namespace {

using namespace std::chrono_literals;
using ledger::charge_state;

constexpr int exit_unavailable = 69;

// crm-sim with a seeded backlog whose PENDING charges stay PENDING for the whole test.
std::vector<std::string> sim_flags(std::size_t backlog, std::uint64_t seed, std::vector<std::string> extra = {}) {
  std::vector<std::string> f{
      "--backlog", std::to_string(backlog), "--seed", std::to_string(seed), "--pending-resolve-after", "10h",
      "--quiet"};
  f.insert(f.end(), extra.begin(), extra.end());
  return f;
}

daemon_settings settings_for(const crm_sim& crm, const billing_fake& billing) {
  daemon_settings s;
  s.crm_base_url = crm.base_url();
  s.billing_url = billing.bill_url();
  return s;
}

// The simulators' own output (both run --quiet: warnings, errors, a crash), for a run that
// did not end as it should.
std::string peers(const crm_sim& crm, const billing_fake& billing) {
  return "\n--- crm-sim\n" + crm.output() + "\n--- billing-fake\n" + billing.output();
}

// At most this many problems are printed: one broken rule tends to break every charge.
std::string first_problems(const std::vector<std::string>& problems, std::size_t n = 20) {
  std::string out = std::to_string(problems.size()) + " problem(s):\n";
  for (std::size_t i = 0; i < problems.size() && i < n; ++i) out += "  " + problems[i] + "\n";
  return out;
}

// The outcome every drained run must reach, read straight from the two simulators:
// APPROVED charges billed exactly once and acknowledged with billing's reference for them
// (same customer, amount text and currency); other processed charges acknowledged without a
// reference and never billed; PENDING charges never billed nor acknowledged. Charges in
// `parked` (held or dead in the ledger) are left out: the tests that make them check them.
std::vector<std::string> outcome_problems(const sim_state& crm, const billing_state& billing,
                                          const std::set<std::string>& parked = {}) {
  std::vector<std::string> p;
  std::map<std::string, std::size_t> records;
  for (const auto& r : billing.records) ++records[r.number];
  std::size_t approved = 0;
  for (const auto& c : crm.charges) {
    if (parked.contains(c.number)) continue;
    const std::string status = c.status.value_or("?");
    const auto n = records.contains(c.number) ? records[c.number] : 0;
    if (status == "PENDING") {
      if (c.acknowledged) p.push_back(c.number + ": PENDING but acknowledged");
      if (c.ack_attempts != 0) p.push_back(c.number + ": PENDING but an acknowledgement was attempted");
      if (n != 0) p.push_back(c.number + ": PENDING but billed");
      continue;
    }
    if (!c.acknowledged) p.push_back(c.number + " (" + status + "): not acknowledged");
    if (status == "APPROVED") {
      ++approved;
      if (n != 1) {
        p.push_back(c.number + ": APPROVED with " + std::to_string(n) + " billing records");
        continue;
      }
      const auto* r = billing.find(c.number);
      if (c.reference_number != r->reference_number)
        p.push_back(c.number + ": acknowledged with reference '" + c.reference_number.value_or("<none>") +
                    "', billing's is '" + r->reference_number + "'");
      if (r->customer != c.customer || r->currency != c.currency || !c.amount || r->amount != *c.amount)
        p.push_back(c.number + ": billed as " + r->customer + " " + r->amount + " " + r->currency + ", crm-sim has " +
                    c.customer + " " + c.amount.value_or("?") + " " + c.currency);
    } else {
      if (n != 0) p.push_back(c.number + " (" + status + "): billed");
      if (c.reference_number) p.push_back(c.number + " (" + status + "): acknowledged with a reference");
    }
  }
  for (const auto& [number, n] : records)
    if (crm.find(number) == nullptr) p.push_back("billing record for " + number + ", which crm-sim never had");
  if (billing.records.size() != approved)
    p.push_back(std::to_string(billing.records.size()) + " billing records for " + std::to_string(approved) +
                " APPROVED charges");
  return p;
}

std::map<std::string, ledger::charge_record> by_number(const std::vector<ledger::charge_record>& charges) {
  std::map<std::string, ledger::charge_record> out;
  for (const auto& c : charges) out.emplace(c.number, c);
  return out;
}

std::size_t count_status(const sim_state& s, std::string_view status) {
  std::size_t n = 0;
  for (const auto& c : s.charges) n += c.status == status ? 1 : 0;
  return n;
}

// ---- 1. a mixed backlog drains ----------------------------------------------------------------

TEST(daemon, backlog_of_mixed_statuses_drains_with_once) {
  crm_sim crm(sim_flags(5000, 101));
  billing_fake billing;
  auto s = settings_for(crm, billing);
  // Listing PENDING charges too: they must be recorded and watched, yet never billed or
  // acknowledged.
  s.charge_status = {charge_list_filter::processed, charge_list_filter::not_processed};
  daemon_fixture d(s);

  const auto run = d.run_once(90s);
  ASSERT_EQ(run.exit_status, 0) << run.describe() << peers(crm, billing);

  const auto audit = d.audit(crm.origin(), billing.origin(), true);
  EXPECT_EQ(audit.exit_status, 0) << audit.output;

  const auto crm_state = crm.state();
  const auto bill_state = billing.state();
  ASSERT_EQ(crm_state.charges.size(), 5000u);
  // The backlog really is mixed: every status the engine treats differently is present.
  for (const auto* status : {"APPROVED", "DECLINED", "BAD_REQUEST", "REJECTED", "PENDING"})
    ASSERT_GT(count_status(crm_state, status), 0u) << status;
  const auto problems = outcome_problems(crm_state, bill_state);
  EXPECT_TRUE(problems.empty()) << first_problems(problems);
  EXPECT_EQ(bill_state.posts_total, bill_state.records.size()) << "no fault was injected: one post per charge";

  // The ledger agrees: PENDING charges watched, everything else acknowledged, with billing's
  // reference for the billed ones.
  const auto ledger = by_number(d.ledger_charges());
  std::vector<std::string> ledger_problems;
  for (const auto& c : crm_state.charges) {
    const auto it = ledger.find(c.number);
    if (it == ledger.end()) {
      ledger_problems.push_back(c.number + ": not in the ledger");
      continue;
    }
    const auto want = c.status == "PENDING" ? charge_state::pending : charge_state::acknowledged;
    if (it->second.state != want)
      ledger_problems.push_back(c.number + ": " + std::string(ledger::to_string(it->second.state)));
    if (it->second.billing_reference != c.reference_number)
      ledger_problems.push_back(c.number + ": ledger reference differs from the acknowledged one");
    if (c.amount && it->second.amount != *c.amount) ledger_problems.push_back(c.number + ": amount text differs");
  }
  EXPECT_EQ(ledger.size(), crm_state.charges.size());
  EXPECT_TRUE(ledger_problems.empty()) << first_problems(ledger_problems);
}

// ---- 2. acknowledgement refusals are retried until accepted ------------------------------------

TEST(daemon, refused_acknowledgements_are_retried_until_accepted) {
  crm_sim crm(sim_flags(400, 202, {"--ack-refuse-first", "2"}));
  billing_fake billing;
  auto s = settings_for(crm, billing);
  s.ack_backoff_initial = 100ms;  // ack.backoff_initial's allowed minimum
  s.ack_backoff_max = 200ms;
  s.ack_max_attempts = 10;
  daemon_fixture d(s);

  const auto run = d.run_once(90s);
  ASSERT_EQ(run.exit_status, 0) << run.describe() << peers(crm, billing);

  const auto crm_state = crm.state();
  const auto problems = outcome_problems(crm_state, billing.state());
  EXPECT_TRUE(problems.empty()) << first_problems(problems);

  std::vector<std::string> refusal_problems;
  std::size_t processed = 0;
  for (const auto& c : crm_state.charges) {
    if (c.status == "PENDING") continue;
    ++processed;
    if (c.ack_refusals != 2) refusal_problems.push_back(c.number + ": " + std::to_string(c.ack_refusals) + " refusals");
  }
  ASSERT_GT(processed, 0u);
  EXPECT_TRUE(refusal_problems.empty()) << first_problems(refusal_problems);

  std::size_t refused_events = 0;
  for (const auto& e : run.log) refused_events += e.event == "charge.ack_refused" ? 1 : 0;
  EXPECT_EQ(refused_events, 2 * processed);
  for (const auto& e : run.log) EXPECT_NE(e.event, "charge.dead") << e.line;

  const auto audit = d.audit(crm.origin(), billing.origin(), true);
  EXPECT_EQ(audit.exit_status, 0) << audit.output;
}

// ---- 3. refused past ack.max_attempts: dead --------------------------------------------------

TEST(daemon, acknowledgement_refused_past_max_attempts_goes_dead) {
  crm_sim crm(sim_flags(60, 303, {"--ack-refuse-first", "100"}));
  billing_fake billing;
  auto s = settings_for(crm, billing);
  s.ack_max_attempts = 2;
  s.ack_backoff_initial = 100ms;
  s.ack_backoff_max = 100ms;
  daemon_fixture d(s);

  const auto run = d.run_once(60s);
  ASSERT_EQ(run.exit_status, 0) << run.describe() << peers(crm, billing);

  const auto crm_state = crm.state();
  const auto bill_state = billing.state();
  const auto ledger = by_number(d.ledger_charges());
  std::vector<std::string> problems;
  std::size_t dead = 0;
  for (const auto& c : crm_state.charges) {
    if (c.status == "PENDING") continue;
    const auto it = ledger.find(c.number);
    if (it == ledger.end()) {
      problems.push_back(c.number + ": not in the ledger");
      continue;
    }
    if (it->second.state != charge_state::dead)
      problems.push_back(c.number + ": " + std::string(ledger::to_string(it->second.state)) + ", not dead");
    else
      ++dead;
    if (c.acknowledged) problems.push_back(c.number + ": acknowledged in crm-sim");
    if (c.ack_refusals != 2) problems.push_back(c.number + ": " + std::to_string(c.ack_refusals) + " refusals, not 2");
    // Billing came first and stands: the reference waits in the ledger for a person's retry.
    if (c.status == "APPROVED") {
      const auto* r = bill_state.find(c.number);
      if (r == nullptr || bill_state.records_for(c.number) != 1)
        problems.push_back(c.number + ": APPROVED but not billed exactly once");
      else if (it->second.billing_reference != r->reference_number)
        problems.push_back(c.number + ": the ledger's reference is not billing's");
    }
  }
  ASSERT_GT(dead, 0u);
  EXPECT_TRUE(problems.empty()) << first_problems(problems);

  // The operator is told, in the log, how many went dead.
  std::uint64_t logged_dead = 0;
  for (const auto& e : run.log)
    if (e.event == "charge.dead") logged_dead += std::stoull(e.field("charges"));
  EXPECT_EQ(logged_dead, dead) << run.describe();

  // Dead charges are a drained run's legitimate end: the three states still agree.
  const auto audit = d.audit(crm.origin(), billing.origin(), true);
  EXPECT_EQ(audit.exit_status, 0) << audit.output;
}

// ---- 4. billing refuses a customer: held, and the rest flows -----------------------------------

TEST(daemon, held_charges_at_the_head_never_block_the_rest) {
  // Ten customers: C0007's charges are everywhere in the list, from the first page on.
  crm_sim crm(sim_flags(1000, 404, {"--customers", "10"}));
  billing_fake billing({"--reject-customers", "C0007"});
  daemon_fixture d(settings_for(crm, billing));

  const auto run = d.run_once(90s);
  ASSERT_EQ(run.exit_status, 0) << run.describe() << peers(crm, billing);

  const auto crm_state = crm.state();
  const auto bill_state = billing.state();
  const auto ledger = by_number(d.ledger_charges());

  std::set<std::string> held;
  for (const auto& c : crm_state.charges)
    if (c.customer == "C0007" && c.status == "APPROVED") held.insert(c.number);
  ASSERT_FALSE(held.empty());
  // The precondition that makes this a test of the offset RULE: a held charge in the first
  // page, with every later page behind it.
  ASSERT_LT(*held.begin(), crm_state.charges.at(49).number) << "seed 404 no longer puts C0007 on the first page";

  std::set<std::string> held_events;
  for (const auto& e : run.log)
    if (e.event == "charge.held") held_events.insert(e.field("number"));

  std::vector<std::string> problems;
  for (const auto& number : held) {
    const auto* c = crm_state.find(number);
    const auto it = ledger.find(number);
    if (it == ledger.end() || it->second.state != charge_state::held)
      problems.push_back(number + ": not held in the ledger");
    if (c->acknowledged || c->ack_attempts != 0) problems.push_back(number + ": acknowledgement attempted");
    if (bill_state.find(number) != nullptr) problems.push_back(number + ": has a billing record");
    if (!held_events.contains(number)) problems.push_back(number + ": no charge.held event");
  }
  EXPECT_TRUE(problems.empty()) << first_problems(problems);
  EXPECT_EQ(held_events.size(), held.size());

  // Everything else, including every charge behind the first held one, is done.
  const auto rest = outcome_problems(crm_state, bill_state, held);
  EXPECT_TRUE(rest.empty()) << first_problems(rest);
  std::size_t behind = 0;
  std::size_t behind_acknowledged = 0;
  for (const auto& c : crm_state.charges) {
    if (c.number <= *held.begin() || c.status == "PENDING" || held.contains(c.number)) continue;
    ++behind;
    behind_acknowledged += c.acknowledged ? 1 : 0;
  }
  EXPECT_GT(behind, 0u);
  EXPECT_EQ(behind_acknowledged, behind);

  const auto audit = d.audit(crm.origin(), billing.origin(), true);
  EXPECT_EQ(audit.exit_status, 0) << audit.output;
}

// ---- 5. SIGKILL at random moments ------------------------------------------------------------

TEST(daemon, sigkill_at_random_moments_then_restart_reaches_the_exact_outcome) {
  crm_sim crm(sim_flags(3000, 505));
  billing_fake billing({"--latency", "5ms"});
  daemon_fixture d(settings_for(crm, billing));

  std::mt19937_64 rng(20261127);
  const int kills = 5 + static_cast<int>(rng() % 4);
  std::uniform_int_distribution<int> moment_ms(100, 500);
  std::vector<int> moments;
  std::string progress;
  for (int i = 0; i < kills; ++i) {
    const auto moment = std::chrono::milliseconds(moment_ms(rng));
    moments.push_back(static_cast<int>(moment.count()));
    auto p = d.start(false);
    // A daemon that ends on its own before the kill is a failure (it runs until signalled).
    ASSERT_FALSE(p.wait(moment).has_value()) << p.describe();
    ASSERT_TRUE(p.signal(SIGKILL));
    ASSERT_EQ(p.wait(10s), 128 + SIGKILL) << p.describe();
    std::size_t acked = 0;
    for (const auto& c : crm.state().charges) acked += c.acknowledged ? 1 : 0;
    progress += std::to_string(acked) + " ";
  }
  ::testing::Test::RecordProperty("progress", progress);
  std::string schedule;
  for (auto m : moments) schedule += std::to_string(m) + "ms ";
  SCOPED_TRACE("killed after: " + schedule);
  // How far the killed runs got, for the report: the final run must finish the rest.
  std::size_t acknowledged_before = 0;
  for (const auto& c : crm.state().charges) acknowledged_before += c.acknowledged ? 1 : 0;
  ::testing::Test::RecordProperty("acknowledged_before_final_run", static_cast<int>(acknowledged_before));

  const auto run = d.run_once(120s);
  ASSERT_EQ(run.exit_status, 0) << run.describe() << peers(crm, billing);

  const auto audit = d.audit(crm.origin(), billing.origin(), true);
  EXPECT_EQ(audit.exit_status, 0) << audit.output;

  const auto crm_state = crm.state();
  const auto bill_state = billing.state();
  const auto problems = outcome_problems(crm_state, bill_state);
  EXPECT_TRUE(problems.empty()) << first_problems(problems);

  // A post the kill cut short is sent again under the same key: billing may count several
  // posts for one charge, but it holds one record for it.
  std::size_t replayed = 0;
  for (const auto& r : bill_state.records) {
    const auto it = bill_state.posts_by_key.find(r.number);
    ASSERT_NE(it, bill_state.posts_by_key.end()) << r.number << " was billed without its Idempotency-Key";
    EXPECT_EQ(bill_state.records_for(r.number), 1u) << r.number;
    replayed += it->second > 1 ? 1 : 0;
  }
  for (const auto& [key, posts] : bill_state.posts_by_key) EXPECT_NE(crm_state.find(key), nullptr) << key;
  ::testing::Test::RecordProperty("kills", kills);
  ::testing::Test::RecordProperty("replayed_keys", static_cast<int>(replayed));
}

// The crash above, at one chosen instant: billing takes a second per post, and the daemon is
// killed while more than 50 charges are `billing` in the ledger (committed, posts unanswered:
// the biller commits a chunk of up to 50 ahead of its posts, and takes the next chunk before
// the last posts of the previous one are answered). The next run must post every one of them
// again under its Idempotency-Key.
TEST(daemon, restart_reposts_every_charge_a_crash_left_billing) {
  crm_sim crm(sim_flags(160, 515));
  billing_fake billing({"--latency", "1s"});
  daemon_fixture d(settings_for(crm, billing));
  ASSERT_GE(count_status(crm.state(), "APPROVED"), 100u) << "seed 515 no longer gives two chunks of charges to bill";

  const auto billing_in_ledger = [&] {
    std::size_t n = 0;
    for (const auto& c : d.ledger_charges()) n += c.state == charge_state::billing ? 1 : 0;
    return n;
  };
  {
    auto p = d.start(false);
    ASSERT_TRUE(p.wait_for_event("engine.started", 30s)) << p.describe();
    // Read-only looks at the ledger while the daemon runs: the kill comes in the second or so
    // during which both chunks are committed and posts are out.
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (billing_in_ledger() <= 50) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "never more than 50 charges billing\n" << p.describe();
      ASSERT_FALSE(p.wait(20ms).has_value()) << p.describe();
    }
    ASSERT_TRUE(p.signal(SIGKILL));
    ASSERT_EQ(p.wait(10s), 128 + SIGKILL) << p.describe();
  }
  const auto left_billing = billing_in_ledger();
  ASSERT_GT(left_billing, 50u);
  ::testing::Test::RecordProperty("left_billing", static_cast<int>(left_billing));

  const auto run = d.run_once(60s);
  ASSERT_EQ(run.exit_status, 0) << run.describe() << peers(crm, billing);
  const auto audit = d.audit(crm.origin(), billing.origin(), true);
  EXPECT_EQ(audit.exit_status, 0) << audit.output;
  const auto problems = outcome_problems(crm.state(), billing.state());
  EXPECT_TRUE(problems.empty()) << first_problems(problems);
}

// ---- 6. one ledger, one daemon -------------------------------------------------------------------

TEST(daemon, second_daemon_on_the_same_ledger_refuses_to_start) {
  crm_sim crm(sim_flags(200, 606));
  billing_fake billing;
  daemon_fixture d(settings_for(crm, billing));

  auto first = d.start(false);
  ASSERT_TRUE(first.wait_for_event("engine.started", 30s)) << first.describe();

  auto second = d.start(true);
  const auto status = second.wait(30s);
  ASSERT_EQ(status, exit_unavailable) << second.describe();
  const auto refused = second.events("ledger.open_failed");
  ASSERT_EQ(refused.size(), 1u) << second.describe();
  const auto why = refused.front().field("error");
  EXPECT_NE(why.find(d.ledger_path().string() + ".lock"), std::string::npos) << why;
  EXPECT_NE(why.find("pid " + std::to_string(first.pid())), std::string::npos) << why;
  EXPECT_TRUE(second.events("engine.started").empty());

  // The first one is unaffected: still running, and it stops cleanly.
  EXPECT_TRUE(first.running()) << first.describe();
  ASSERT_TRUE(first.signal(SIGTERM));
  EXPECT_EQ(first.wait(30s), 0) << first.describe();
}

// ---- 7. SIGTERM during a run --------------------------------------------------------------------

TEST(daemon, sigterm_during_a_run_exits_zero_and_a_later_once_run_drains) {
  crm_sim crm(sim_flags(2000, 707));
  billing_fake billing({"--latency", "5ms"});
  auto s = settings_for(crm, billing);
  s.shutdown_deadline = 10s;
  s.log_level = obs::log_level::debug;  // for charge.billed, the sign of mid-run
  daemon_fixture d(s);

  auto p = d.start(false);
  // Mid-run: billing has answered some charges, most are still ahead.
  ASSERT_TRUE(p.wait_for_event("charge.billed", 30s)) << p.describe();
  ASSERT_TRUE(p.signal(SIGTERM));
  const auto status = p.wait(s.shutdown_deadline + 20s);
  ASSERT_EQ(status, 0) << p.describe();
  EXPECT_EQ(p.events("engine.stopping").size(), 1u) << p.describe();
  EXPECT_EQ(p.events("engine.stopped").size(), 1u) << p.describe();
  // The graceful stop finished within shutdown.deadline: nothing had to be cut off.
  EXPECT_TRUE(p.events("engine.deadline_reached").empty()) << p.describe();

  const auto run = d.run_once(90s);
  ASSERT_EQ(run.exit_status, 0) << run.describe() << peers(crm, billing);
  const auto audit = d.audit(crm.origin(), billing.origin(), true);
  EXPECT_EQ(audit.exit_status, 0) << audit.output;
  const auto problems = outcome_problems(crm.state(), billing.state());
  EXPECT_TRUE(problems.empty()) << first_problems(problems);
}

// ---- 8. faults on both sides ----------------------------------------------------------------------

// One --once run must drain: --once keeps passing until nothing is left unfinished, so a
// second run would only hide a --once that exits early.
TEST(daemon, faults_on_both_sides_still_drain_exactly) {
  crm_sim crm(sim_flags(
      2000, 808, {"--fail-5xx", "0.05", "--drop", "0.05", "--truncate-json", "0.02", "--ack-apply-then-drop", "0.05"}));
  billing_fake billing({"--fail-5xx", "0.05", "--rate-limit", "0.05", "--apply-then-drop", "0.05", "--seed", "808"});
  auto s = settings_for(crm, billing);
  s.crm_timeout = 5s;
  s.billing_timeout = 5s;
  daemon_fixture d(s);

  const auto run = d.run_once(150s);
  ASSERT_EQ(run.exit_status, 0) << run.describe() << peers(crm, billing);

  const auto audit = d.audit(crm.origin(), billing.origin(), true);
  EXPECT_EQ(audit.exit_status, 0) << audit.output;
  const auto crm_state = crm.state();
  const auto bill_state = billing.state();
  const auto problems = outcome_problems(crm_state, bill_state);
  EXPECT_TRUE(problems.empty()) << first_problems(problems);
  // The faults did happen: billing saw more posts than it holds records.
  EXPECT_GT(bill_state.posts_total, bill_state.records.size());
}

}  // namespace
}  // namespace chargerecon::test
