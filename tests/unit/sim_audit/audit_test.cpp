#include "sim-audit/audit.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

namespace chargerecon::sim_audit {
namespace {

using ledger::charge_state;
using rule_hits = std::vector<std::pair<std::string, std::string>>;  // (rule, number)

// A finished run in exact agreement, one charge of every kind:
//   I1 APPROVED billed B-000001 and acknowledged with it (posted twice: one idempotent replay)
//   I2 DECLINED acknowledged without billing
//   I3 PENDING  untouched, unknown to the ledger (chargerecond polls PROCESSED only)
//   I4 APPROVED held: billing refused the customer; not acknowledged
//   I5 APPROVED billed B-000002, acknowledgement refused until dead
//   I6 APPROVED held, then released by a person: acknowledged without a reference
struct states {
  crm_state crm;
  billing_state billing;
  std::vector<ledger_charge> ledger;
  audit_options options;

  states() {
    crm.charges = {
        {"I1", "C0001", "APPROVED", "19.99", "EUR", true, "B-000001"},
        {"I2", "C0002", "DECLINED", "0.1", "USD", true, std::nullopt},
        {"I3", "C0003", "PENDING", "7", "EUR", false, std::nullopt},
        {"I4", "C0007", "APPROVED", "10.00", "EUR", false, std::nullopt},
        {"I5", "C0004", "APPROVED", "0.30", "EUR", false, std::nullopt},
        {"I6", "C0007", "APPROVED", "2.675", "GBP", true, std::nullopt},
    };
    billing.records = {
        {"B-000001", "I1", "C0001", "19.99", "EUR"},
        {"B-000002", "I5", "C0004", "0.30", "EUR"},
    };
    billing.posts_total = 5;
    billing.posts_by_key = {{"I1", 2}, {"I4", 1}, {"I5", 1}, {"I6", 1}};
    ledger = {
        {"I1", "C0001", "APPROVED", "19.99", "EUR", charge_state::acknowledged, "B-000001", false},
        {"I2", "C0002", "DECLINED", "0.1", "USD", charge_state::acknowledged, std::nullopt, false},
        {"I4", "C0007", "APPROVED", "10.00", "EUR", charge_state::held, std::nullopt, false},
        {"I5", "C0004", "APPROVED", "0.30", "EUR", charge_state::dead, "B-000002", false},
        {"I6", "C0007", "APPROVED", "2.675", "GBP", charge_state::acknowledged, std::nullopt, true},
    };
    options.expect_drained = true;
  }

  crm_charge& crm_charge_of(const std::string& number) {
    return *std::ranges::find(crm.charges, number, &crm_charge::number);
  }
  ledger_charge& ledger_charge_of(const std::string& number) {
    return *std::ranges::find(ledger, number, &ledger_charge::number);
  }

  audit_report run() const { return audit(crm, billing, ledger, options); }
  rule_hits hits() const {
    rule_hits out;
    for (const auto& d : run().discrepancies) out.emplace_back(d.rule, d.number);
    return out;
  }
};

rule_hits one(std::string rule, std::string number) { return {{std::move(rule), std::move(number)}}; }

TEST(sim_audit, a_consistent_finished_run_has_no_discrepancy) {
  states s;
  EXPECT_EQ(s.hits(), rule_hits{});
  s.options.expect_drained = false;
  EXPECT_EQ(s.hits(), rule_hits{});
}

TEST(sim_audit, the_summary_counts_every_state_and_totals_exactly) {
  const auto r = states().run();
  EXPECT_TRUE(r.agrees());
  EXPECT_EQ(r.crm_charges, 6u);
  EXPECT_EQ(r.crm_by_status, (std::map<std::string, std::size_t>{{"APPROVED", 4}, {"DECLINED", 1}, {"PENDING", 1}}));
  EXPECT_EQ(r.crm_acknowledged, 3u);
  EXPECT_EQ(r.billing_records, 2u);
  EXPECT_EQ(r.billing_posts, 5u);
  EXPECT_EQ(r.replayed_keys, 1u);
  EXPECT_EQ(r.replayed_posts, 1u);
  // 19.99 + 0.30 in exact decimal, the larger scale kept.
  EXPECT_EQ(r.billed_total_by_currency, (std::map<std::string, std::string>{{"EUR", "20.29"}}));
  EXPECT_EQ(r.ledger_charges, 5u);
  EXPECT_EQ(r.ledger_by_state.size(), std::size(ledger::all_charge_states));
  EXPECT_EQ(r.ledger_by_state.at(charge_state::acknowledged), 3u);
  EXPECT_EQ(r.ledger_by_state.at(charge_state::held), 1u);
  EXPECT_EQ(r.ledger_by_state.at(charge_state::dead), 1u);
  EXPECT_EQ(r.ledger_by_state.at(charge_state::pending), 0u);
}

// --- the ledger against crm-sim ------------------------------------------------------------

TEST(sim_audit, a_ledger_charge_crm_sim_does_not_have) {
  states s;
  s.ledger.push_back({"I9", "C0001", "APPROVED", "1", "EUR", charge_state::seen, std::nullopt, false});
  EXPECT_EQ(s.hits(), one("ledger_charge_not_in_crm", "I9"));
}

TEST(sim_audit, ledger_values_that_differ_from_crm_sim) {
  {
    states s;
    s.ledger_charge_of("I2").customer = "C0009";
    EXPECT_EQ(s.hits(), one("ledger_customer_differs", "I2"));
  }
  {
    states s;
    s.ledger_charge_of("I2").amount = "0.10";  // the same number, not the same text
    EXPECT_EQ(s.hits(), one("ledger_amount_differs", "I2"));
  }
  {
    states s;
    s.ledger_charge_of("I2").currency = "EUR";
    EXPECT_EQ(s.hits(), one("ledger_currency_differs", "I2"));
  }
  {
    states s;
    s.ledger_charge_of("I2").status = "REJECTED";
    EXPECT_EQ(s.hits(), one("ledger_status_differs", "I2"));
  }
}

TEST(sim_audit, a_watched_charge_that_resolved_since_is_not_a_status_difference) {
  states s;
  s.options.expect_drained = false;
  s.ledger.push_back({"I3", "C0003", "PENDING", "7", "EUR", charge_state::pending, std::nullopt, false});
  s.crm_charge_of("I3").status = "APPROVED";
  EXPECT_EQ(s.hits(), rule_hits{});
  // Once drained, the ledger should have moved it on.
  s.options.expect_drained = true;
  EXPECT_EQ(s.hits(), one("not_drained", "I3"));
}

// --- billing-fake against the ledger and crm-sim -------------------------------------------

TEST(sim_audit, a_billing_record_the_ledger_does_not_know) {
  states s;
  s.options.expect_drained = false;
  s.crm.charges.push_back({"I7", "C0001", "APPROVED", "1.00", "EUR", false, std::nullopt});
  s.billing.records.push_back({"B-000003", "I7", "C0001", "1.00", "EUR"});
  EXPECT_EQ(s.hits(), one("billing_charge_not_in_ledger", "I7"));
}

TEST(sim_audit, a_billing_record_for_a_charge_the_ledger_never_marked_billed) {
  states s;
  s.crm.charges.push_back({"I7", "C0001", "APPROVED", "1.00", "EUR", false, std::nullopt});
  s.billing.records.push_back({"B-000003", "I7", "C0001", "1.00", "EUR"});
  s.ledger.push_back({"I7", "C0001", "APPROVED", "1.00", "EUR", charge_state::seen, std::nullopt, false});
  s.options.expect_drained = false;
  // seen is committed before the post: billing cannot hold it yet.
  EXPECT_EQ(s.hits(), one("billing_charge_not_billed", "I7"));
}

TEST(sim_audit, a_billing_answer_lost_in_flight_is_a_discrepancy_only_once_drained) {
  states s;
  s.crm.charges.push_back({"I7", "C0001", "APPROVED", "1.00", "EUR", false, std::nullopt});
  s.billing.records.push_back({"B-000003", "I7", "C0001", "1.00", "EUR"});
  s.ledger.push_back({"I7", "C0001", "APPROVED", "1.00", "EUR", charge_state::billing, std::nullopt, false});
  s.options.expect_drained = false;
  EXPECT_EQ(s.hits(), rule_hits{});
  s.options.expect_drained = true;
  EXPECT_EQ(s.hits(), (rule_hits{{"billing_charge_not_billed", "I7"}, {"not_drained", "I7"}}));
}

TEST(sim_audit, a_billing_reference_that_is_not_the_ledgers) {
  states s;
  s.ledger_charge_of("I1").billing_reference = "B-000009";
  EXPECT_EQ(s.hits(), one("billing_reference_differs", "I1"));
}

TEST(sim_audit, a_billing_record_crm_sim_does_not_have) {
  states s;
  s.billing.records.push_back({"B-000003", "I99", "C0001", "1.00", "EUR"});
  EXPECT_EQ(s.hits(), (rule_hits{{"billing_charge_not_in_crm", "I99"}, {"billing_charge_not_in_ledger", "I99"}}));
}

TEST(sim_audit, a_billing_record_for_a_status_that_is_not_billed) {
  states s;
  s.billing.records.push_back({"B-000003", "I2", "C0002", "0.1", "USD"});
  const auto h = s.hits();
  EXPECT_NE(std::ranges::find(h, std::pair<std::string, std::string>{"billing_status_not_billable", "I2"}), h.end());
  // ... unless the operator bills DECLINED charges too (then the ledger would hold the reference).
  s.options.bill_statuses = {"APPROVED", "DECLINED"};
  s.ledger_charge_of("I2").billing_reference = "B-000003";
  s.crm_charge_of("I2").reference_number = "B-000003";
  EXPECT_EQ(s.hits(), rule_hits{});
}

TEST(sim_audit, billing_text_that_differs_from_crm_sim) {
  {
    states s;
    // What a client that parsed the amount into a double and printed it back would post.
    s.billing.records[1].amount = "0.3";
    EXPECT_EQ(s.hits(), one("billing_amount_differs", "I5"));
  }
  {
    states s;
    s.billing.records[1].customer = "C0005";
    EXPECT_EQ(s.hits(), one("billing_customer_differs", "I5"));
  }
  {
    states s;
    s.billing.records[1].currency = "USD";
    EXPECT_EQ(s.hits(), one("billing_currency_differs", "I5"));
  }
}

TEST(sim_audit, a_billing_amount_that_is_not_a_number) {
  states s;
  s.billing.records[1].amount = "\"0.30\"";
  EXPECT_EQ(s.hits(), (rule_hits{{"billing_amount_differs", "I5"}, {"billing_amount_invalid", "I5"}}));
}

TEST(sim_audit, two_billing_records_for_one_charge) {
  states s;
  s.billing.records.push_back({"B-000003", "I1", "C0001", "19.99", "EUR"});
  const auto h = s.hits();
  EXPECT_NE(std::ranges::find(h, std::pair<std::string, std::string>{"billing_duplicate_records", "I1"}), h.end());
  EXPECT_EQ(std::ranges::count(h, std::pair<std::string, std::string>{"billing_duplicate_records", "I1"}), 1);
}

TEST(sim_audit, replays_are_counted_not_flagged) {
  states s;
  s.billing.posts_by_key["I5"] = 4;
  s.billing.posts_total += 3;
  const auto r = s.run();
  EXPECT_TRUE(r.agrees());
  EXPECT_EQ(r.replayed_keys, 2u);
  EXPECT_EQ(r.replayed_posts, 4u);
}

TEST(sim_audit, a_ledger_reference_billing_fake_has_no_record_of) {
  states s;
  s.billing.records.pop_back();  // B-000002, I5's
  EXPECT_EQ(s.hits(), one("ledger_reference_not_in_billing", "I5"));
}

// --- acknowledgements -----------------------------------------------------------------------

TEST(sim_audit, an_acknowledgement_of_a_charge_the_ledger_never_recorded) {
  states s;
  s.crm.charges.push_back({"I8", "C0001", "DECLINED", "1.00", "EUR", true, std::nullopt});
  EXPECT_EQ(s.hits(), one("crm_ack_unknown_to_ledger", "I8"));
  s.options.expect_drained = false;
  EXPECT_EQ(s.hits(), one("crm_ack_unknown_to_ledger", "I8"));
}

TEST(sim_audit, an_acknowledgement_answer_lost_in_flight_is_a_discrepancy_only_once_drained) {
  states s;
  s.ledger_charge_of("I1").state = charge_state::billed;
  EXPECT_EQ(s.hits(), one("crm_ack_not_in_ledger", "I1"));
  s.options.expect_drained = false;
  EXPECT_EQ(s.hits(), rule_hits{});
}

TEST(sim_audit, the_ledger_says_acknowledged_and_crm_sim_does_not) {
  states s;
  s.crm_charge_of("I2").acknowledged = false;
  EXPECT_EQ(s.hits(), one("ledger_ack_not_in_crm", "I2"));
  s.options.expect_drained = false;
  EXPECT_EQ(s.hits(), one("ledger_ack_not_in_crm", "I2"));
}

TEST(sim_audit, a_billable_charge_acknowledged_with_another_reference) {
  states s;
  s.crm_charge_of("I1").reference_number = "B-000002";
  EXPECT_EQ(s.hits(), one("ack_reference_differs", "I1"));
  s.crm_charge_of("I1").reference_number.reset();
  EXPECT_EQ(s.hits(), one("ack_reference_differs", "I1"));
}

TEST(sim_audit, a_billable_charge_acknowledged_without_being_billed) {
  states s;
  s.ledger_charge_of("I6").released = false;  // not a person's decision: the engine skipped billing
  EXPECT_EQ(s.hits(), one("ack_without_billing", "I6"));
}

TEST(sim_audit, a_released_charge_acknowledged_with_a_reference_is_still_wrong) {
  states s;
  s.crm_charge_of("I6").reference_number = "B-000001";
  EXPECT_EQ(s.hits(), one("ack_without_billing", "I6"));
}

TEST(sim_audit, an_unbilled_charge_acknowledged_with_a_reference) {
  states s;
  s.crm_charge_of("I2").reference_number = "B-000001";
  EXPECT_EQ(s.hits(), one("ack_reference_on_unbilled", "I2"));
}

// --- PENDING, held, dead --------------------------------------------------------------------

TEST(sim_audit, a_pending_charge_acknowledged) {
  states s;
  s.crm_charge_of("I3").acknowledged = true;
  EXPECT_EQ(s.hits(), one("pending_acknowledged", "I3"));
}

TEST(sim_audit, a_charge_with_an_undocumented_status_is_watched_like_pending) {
  states s;
  s.crm.charges.push_back({"I10", "C0001", std::nullopt, std::nullopt, "EUR", true, std::nullopt});
  s.crm.charges.push_back({"I11", "C0001", "REFUNDED", "1.00", "EUR", false, std::nullopt});
  // Unacknowledged, it is not "not drained": chargerecond must leave it alone.
  EXPECT_EQ(s.hits(), one("pending_acknowledged", "I10"));
}

TEST(sim_audit, a_pending_charge_billed) {
  states s;
  s.ledger.push_back({"I3", "C0003", "PENDING", "7", "EUR", charge_state::pending, std::nullopt, false});
  s.billing.records.push_back({"B-000003", "I3", "C0003", "7", "EUR"});
  EXPECT_EQ(s.hits(), one("pending_billed", "I3"));
}

TEST(sim_audit, a_held_charge_acknowledged) {
  states s;
  s.crm_charge_of("I4").acknowledged = true;
  EXPECT_EQ(s.hits(), one("held_acknowledged", "I4"));
}

TEST(sim_audit, a_held_charge_billed) {
  states s;
  s.billing.records.push_back({"B-000003", "I4", "C0007", "10.00", "EUR"});
  EXPECT_EQ(s.hits(), one("held_billed", "I4"));
}

TEST(sim_audit, a_dead_charge_acknowledged) {
  states s;
  s.crm_charge_of("I5").acknowledged = true;
  s.crm_charge_of("I5").reference_number = "B-000002";
  EXPECT_EQ(s.hits(), one("dead_acknowledged", "I5"));
}

TEST(sim_audit, a_post_of_a_charge_the_ledger_does_not_know) {
  states s;
  s.billing.posts_by_key["I3"] = 1;  // PENDING, never recorded: nothing may have posted it
  EXPECT_EQ(s.hits(), one("billing_post_not_in_ledger", "I3"));
}

TEST(sim_audit, a_billed_key_posted_again_with_another_charge) {
  states s;
  s.billing.replay_conflicts["I1"] = 1;
  EXPECT_EQ(s.hits(), one("billing_replay_differs", "I1"));
}

TEST(sim_audit, a_held_charge_of_a_customer_billing_does_not_refuse) {
  states s;
  s.billing.reject_customers = std::set<std::string, std::less<>>{"C0007"};
  EXPECT_EQ(s.hits(), rule_hits{});
  s.billing.reject_customers = std::set<std::string, std::less<>>{"C0009"};
  EXPECT_EQ(s.hits(), one("held_not_refused", "I4"));
}

TEST(sim_audit, a_dead_charge_when_none_may_die) {
  states s;
  s.options.forbid_dead = true;
  EXPECT_EQ(s.hits(), one("dead_charge", "I5"));
}

// --- drained --------------------------------------------------------------------------------

TEST(sim_audit, a_processed_charge_left_behind_is_not_drained) {
  states s;
  s.crm.charges.push_back({"I7", "C0001", "REJECTED", "1.00", "EUR", false, std::nullopt});
  s.crm.charges.push_back({"I8", "C0001", "APPROVED", "2.00", "EUR", false, std::nullopt});
  s.ledger.push_back({"I8", "C0001", "APPROVED", "2.00", "EUR", charge_state::seen, std::nullopt, false});
  EXPECT_EQ(s.hits(), (rule_hits{{"not_drained", "I7"}, {"not_drained", "I8"}}));
  s.options.expect_drained = false;
  EXPECT_EQ(s.hits(), rule_hits{});
}

TEST(sim_audit, discrepancies_come_sorted_by_number_then_rule) {
  states s;
  s.crm_charge_of("I5").acknowledged = true;
  s.crm_charge_of("I3").acknowledged = true;
  s.ledger_charge_of("I1").amount = "19.990";
  s.ledger_charge_of("I1").currency = "USD";
  EXPECT_EQ(s.hits(), (rule_hits{{"ledger_amount_differs", "I1"},
                                 {"ledger_currency_differs", "I1"},
                                 {"pending_acknowledged", "I3"},
                                 {"dead_acknowledged", "I5"}}));
}

TEST(sim_audit, peer_text_in_a_detail_is_quoted) {
  states s;
  s.ledger_charge_of("I2").customer = "C\n0002";
  const auto r = s.run();
  ASSERT_EQ(r.discrepancies.size(), 1u);
  EXPECT_EQ(r.discrepancies[0].detail.find('\n'), std::string::npos);
}

}  // namespace
}  // namespace chargerecon::sim_audit
