#include "ledger/charge_state.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace chargerecon::ledger {
namespace {

using enum charge_state;
using std::chrono::milliseconds;

TEST(charge_state, names_round_trip_and_unknown_names_are_refused) {
  for (const auto s : all_charge_states) {
    EXPECT_EQ(parse_charge_state(to_string(s)), s) << to_string(s);
  }
  EXPECT_FALSE(parse_charge_state("not_billable"));
  EXPECT_FALSE(parse_charge_state(""));
  EXPECT_FALSE(parse_charge_state("Billed"));
}

// The whole table: every pair of states, allowed exactly when listed here.
TEST(charge_state, transition_table_allows_exactly_the_documented_moves) {
  const std::set<std::pair<charge_state, charge_state>> expected = {
      {pending, seen},        {pending, ack_pending},       // PENDING resolved
      {seen, billing},                                      // committed before posting
      {billing, billed},      {billing, held},              // billing answered
      {billed, acknowledged}, {ack_pending, acknowledged},  // CRM.COM took the ack
      {billed, dead},         {ack_pending, dead},          // ack refused too often
      {held, billing},        {held, ack_pending},          // a person retries / releases
      {dead, billed},         {dead, ack_pending},          // a person retries
  };
  for (const auto from : all_charge_states) {
    for (const auto to : all_charge_states) {
      EXPECT_EQ(allowed(from, to), expected.contains({from, to})) << to_string(from) << " -> " << to_string(to);
    }
  }
}

TEST(charge_state, nothing_leaves_acknowledged_and_nothing_skips_billing) {
  for (const auto to : all_charge_states) EXPECT_FALSE(allowed(acknowledged, to)) << to_string(to);
  EXPECT_FALSE(allowed(seen, billed));
  EXPECT_FALSE(allowed(seen, acknowledged));
  EXPECT_FALSE(allowed(held, acknowledged));
  EXPECT_FALSE(allowed(pending, acknowledged));
  EXPECT_FALSE(allowed(pending, billing));
}

TEST(charge_state, unfinished_and_ack_waiting_sets) {
  const std::set<charge_state> unfinished = {seen, billing, billed, ack_pending};
  const std::set<charge_state> waiting = {billed, ack_pending};
  for (const auto s : all_charge_states) {
    EXPECT_EQ(is_unfinished(s), unfinished.contains(s)) << to_string(s);
    EXPECT_EQ(awaits_ack(s), waiting.contains(s)) << to_string(s);
  }
}

class decisions : public ::testing::Test {
 protected:
  std::vector<std::string> statuses{"APPROVED"};
  bill_policy policy{statuses};
};

TEST_F(decisions, a_new_charge_is_billed_acknowledged_unbilled_or_watched_by_status) {
  EXPECT_EQ(next_state_for_new("APPROVED", policy), seen);
  EXPECT_EQ(next_state_for_new("DECLINED", policy), ack_pending);
  EXPECT_EQ(next_state_for_new("BAD_REQUEST", policy), ack_pending);
  EXPECT_EQ(next_state_for_new("REJECTED", policy), ack_pending);
  EXPECT_EQ(next_state_for_new("PENDING", policy), pending);
}

TEST_F(decisions, an_unknown_status_is_watched_never_acknowledged) {
  EXPECT_EQ(next_state_for_new("REFUNDED", policy), pending);
  EXPECT_EQ(next_state_for_new("approved", policy), pending);  // statuses are case-sensitive
  EXPECT_EQ(next_state_for_new("", policy), pending);
}

TEST_F(decisions, bill_statuses_decide_what_is_billed) {
  statuses = {"APPROVED", "DECLINED"};
  policy = bill_policy{statuses};
  EXPECT_EQ(next_state_for_new("DECLINED", policy), seen);
  EXPECT_EQ(next_state_for_new("REJECTED", policy), ack_pending);
  statuses = {"PENDING"};  // a PENDING charge is never billed, whatever the configuration says
  policy = bill_policy{statuses};
  EXPECT_EQ(next_state_for_new("PENDING", policy), pending);
  EXPECT_EQ(next_state_for_new("APPROVED", policy), ack_pending);
}

TEST_F(decisions, only_a_watched_charge_moves_when_observed_again) {
  EXPECT_EQ(next_state_for_observed(pending, "APPROVED", policy), seen);
  EXPECT_EQ(next_state_for_observed(pending, "DECLINED", policy), ack_pending);
  EXPECT_EQ(next_state_for_observed(pending, "PENDING", policy), std::nullopt);
  EXPECT_EQ(next_state_for_observed(pending, "REFUNDED", policy), std::nullopt);
  for (const auto s : all_charge_states) {
    if (s == pending) continue;
    EXPECT_EQ(next_state_for_observed(s, "APPROVED", policy), std::nullopt) << to_string(s);
    EXPECT_EQ(next_state_for_observed(s, "DECLINED", policy), std::nullopt) << to_string(s);
  }
}

TEST(charge_state_decisions, billing_answers_apply_only_to_a_charge_in_billing) {
  EXPECT_EQ(next_state_for_bill_result(billing, bill_outcome::billed), billed);
  EXPECT_EQ(next_state_for_bill_result(billing, bill_outcome::refused), held);
  EXPECT_EQ(next_state_for_bill_result(billing, bill_outcome::transient), std::nullopt);
  for (const auto s : all_charge_states) {
    if (s == billing) continue;
    EXPECT_EQ(next_state_for_bill_result(s, bill_outcome::billed), std::nullopt) << to_string(s);
    EXPECT_EQ(next_state_for_bill_result(s, bill_outcome::refused), std::nullopt) << to_string(s);
  }
}

TEST(charge_state_decisions, acknowledgement_accepted_only_while_waiting_for_it) {
  EXPECT_EQ(next_state_for_ack_accepted(billed), acknowledged);
  EXPECT_EQ(next_state_for_ack_accepted(ack_pending), acknowledged);
  for (const auto s : {pending, seen, billing, acknowledged, held, dead})
    EXPECT_EQ(next_state_for_ack_accepted(s), std::nullopt) << to_string(s);
}

TEST(charge_state_decisions, ack_refusals_stay_until_max_attempts_then_dead) {
  EXPECT_EQ(next_state_for_ack_refused(billed, 1, 3), billed);
  EXPECT_EQ(next_state_for_ack_refused(billed, 2, 3), billed);
  EXPECT_EQ(next_state_for_ack_refused(billed, 3, 3), dead);
  EXPECT_EQ(next_state_for_ack_refused(ack_pending, 2, 3), ack_pending);
  EXPECT_EQ(next_state_for_ack_refused(ack_pending, 3, 3), dead);
  EXPECT_EQ(next_state_for_ack_refused(ack_pending, 1, 1), dead);
  for (const auto s : {pending, seen, billing, acknowledged, held, dead})
    EXPECT_EQ(next_state_for_ack_refused(s, 1, 3), std::nullopt) << to_string(s);
}

TEST(charge_state_decisions, a_person_retries_held_and_dead_charges) {
  EXPECT_EQ(next_state_for_retry(held, false), billing);
  EXPECT_EQ(next_state_for_retry(dead, true), billed);
  EXPECT_EQ(next_state_for_retry(dead, false), ack_pending);
  for (const auto s : {pending, seen, billing, billed, ack_pending, acknowledged})
    EXPECT_EQ(next_state_for_retry(s, true), std::nullopt) << to_string(s);
}

TEST(charge_state_decisions, only_a_held_charge_is_released) {
  EXPECT_EQ(next_state_for_release(held), ack_pending);
  for (const auto s : all_charge_states) {
    if (s == held) continue;
    EXPECT_EQ(next_state_for_release(s), std::nullopt) << to_string(s);
  }
}

// Every decision lands on a move the table allows.
TEST(charge_state_decisions, every_decision_is_an_allowed_transition) {
  std::vector<std::string> statuses{"APPROVED"};
  const bill_policy policy{statuses};
  const auto check = [](charge_state from, std::optional<charge_state> to) {
    if (to) {
      EXPECT_TRUE(allowed(from, *to)) << to_string(from) << " -> " << to_string(*to);
    }
  };
  for (const auto s : all_charge_states) {
    for (const auto* status : {"APPROVED", "DECLINED", "PENDING", "REFUNDED"})
      check(s, next_state_for_observed(s, status, policy));
    for (const auto o : {bill_outcome::billed, bill_outcome::refused, bill_outcome::transient})
      check(s, next_state_for_bill_result(s, o));
    check(s, next_state_for_ack_accepted(s));
    check(s, next_state_for_ack_refused(s, 5, 5));
    check(s, next_state_for_retry(s, true));
    check(s, next_state_for_retry(s, false));
    check(s, next_state_for_release(s));
  }
}

TEST(backoff, doubles_from_initial_up_to_max) {
  const backoff_policy p{milliseconds(1000), milliseconds(8000)};
  // random01 at its top keeps (almost) the whole step: half fixed + half * random.
  constexpr double top = 0.999999;
  EXPECT_EQ(backoff_delay(p, 1, top), milliseconds(999));
  EXPECT_EQ(backoff_delay(p, 2, top), milliseconds(1999));
  EXPECT_EQ(backoff_delay(p, 3, top), milliseconds(3999));
  EXPECT_EQ(backoff_delay(p, 4, top), milliseconds(7999));
  EXPECT_EQ(backoff_delay(p, 5, top), milliseconds(7999));
  EXPECT_EQ(backoff_delay(p, 1000, top), milliseconds(7999));  // no overflow at huge attempts
}

TEST(backoff, jitter_spans_half_to_the_whole_step) {
  const backoff_policy p{milliseconds(1000), milliseconds(60000)};
  EXPECT_EQ(backoff_delay(p, 3, 0.0), milliseconds(2000));
  EXPECT_EQ(backoff_delay(p, 3, 0.5), milliseconds(3000));
  EXPECT_EQ(backoff_delay(p, 3, 0.75), milliseconds(3500));
  // Out-of-range draws are clamped, never beyond the step, never below half of it.
  EXPECT_EQ(backoff_delay(p, 3, -1.0), milliseconds(2000));
  EXPECT_LT(backoff_delay(p, 3, 7.0), milliseconds(4000));
  EXPECT_GE(backoff_delay(p, 3, 7.0), milliseconds(3999));
  EXPECT_EQ(backoff_delay(p, 3, std::nan("")), milliseconds(2000));
}

TEST(backoff, attempt_zero_or_negative_counts_as_the_first) {
  const backoff_policy p{milliseconds(1000), milliseconds(60000)};
  EXPECT_EQ(backoff_delay(p, 0, 0.0), milliseconds(500));
  EXPECT_EQ(backoff_delay(p, -3, 0.0), milliseconds(500));
}

TEST(backoff, a_max_below_initial_caps_at_initial) {
  const backoff_policy p{milliseconds(5000), milliseconds(100)};
  EXPECT_EQ(backoff_delay(p, 4, 0.0), milliseconds(2500));
}

}  // namespace
}  // namespace chargerecon::ledger
