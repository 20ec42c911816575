#pragma once
// The life of one charge in the ledger, as pure decisions: no I/O, no clock, no randomness of
// its own. The ledger applies these inside its transactions; the engine and the CLI read them
// to know what may happen next.
//
//   billable processed:      seen -> billing -> billed -> acknowledged
//   other processed:         ack_pending -> acknowledged                 (recorded, never billed)
//   PENDING (or unknown):    pending -> seen | ack_pending               (when it comes back processed)
//   billing refused for good: billing -> held -> billing      (a person retries)
//                                          held -> ack_pending (a person releases, with a reason)
//   acknowledgement refused:  billed | ack_pending stay, attempts++, next try after a backoff;
//                             -> dead at max_attempts -> billed | ack_pending (a person retries)
//
// "billed" and "ack_pending" are both "waiting for acknowledgement": billed carries a billing
// reference for CRM.COM, ack_pending does not (never billed, or released by a person). Keeping
// them apart keeps "was this charge billed?" answerable from the state alone.

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace chargerecon::ledger {

enum class charge_state {
  pending,       // PENDING (or a status we do not know): watched, never billed, never acknowledged
  seen,          // billable, committed, not yet handed to billing
  billing,       // committed before the billing post; a restart re-posts it (same Idempotency-Key)
  billed,        // billing reference committed; waiting for acknowledgement with it
  ack_pending,   // not billed (not billable, or released); waiting for acknowledgement
  acknowledged,  // CRM.COM took the acknowledgement: finished
  held,          // billing refused it permanently: waits for a person
  dead,          // acknowledgement refused max_attempts times: waits for a person
};

inline constexpr charge_state all_charge_states[] = {
    charge_state::pending,     charge_state::seen,         charge_state::billing, charge_state::billed,
    charge_state::ack_pending, charge_state::acknowledged, charge_state::held,    charge_state::dead,
};

// Stable names: stored in the ledger, shown by the CLI, used in logs. Never rename one.
std::string_view to_string(charge_state s) noexcept;
std::optional<charge_state> parse_charge_state(std::string_view name) noexcept;

// True for the transitions the ledger may commit (a state to itself is not a transition).
bool allowed(charge_state from, charge_state to) noexcept;

// Work the engine still owes: the charge is neither finished nor parked for a person.
bool is_unfinished(charge_state s) noexcept;
// Waiting for an acknowledgement call (with a reference or without).
bool awaits_ack(charge_state s) noexcept;

// The statuses CRM.COM documents as processed. A status outside this set and not PENDING is
// one we do not understand; it is watched like PENDING rather than acknowledged, because an
// acknowledgement cannot be taken back.
inline constexpr std::string_view processed_statuses[] = {"APPROVED", "DECLINED", "BAD_REQUEST", "REJECTED"};
inline constexpr std::string_view pending_status = "PENDING";

// Which processed statuses are billed (billing.bill_statuses, default APPROVED).
struct bill_policy {
  std::span<const std::string> bill_statuses;
};

// The state a charge enters when first recorded.
charge_state next_state_for_new(std::string_view status, const bill_policy& policy);

// A known charge observed again with `status`: the state it moves to, or nullopt to stay.
// Only a watched (pending) charge moves on, and only once its status is processed.
std::optional<charge_state> next_state_for_observed(charge_state current, std::string_view status,
                                                    const bill_policy& policy);

// Billing answered: a reference (billed), a permanent refusal (held), or a transient failure
// (stays billing; nullopt). Only a charge in billing can take a billing answer.
enum class bill_outcome { billed, refused, transient };
std::optional<charge_state> next_state_for_bill_result(charge_state current, bill_outcome outcome);

// CRM.COM took the acknowledgement.
std::optional<charge_state> next_state_for_ack_accepted(charge_state current);

// CRM.COM refused the acknowledgement, and this was attempt number `attempts` (1-based):
// stays where it is (returns current) until attempts reaches max_attempts, then dead.
// nullopt when the charge was not waiting for an acknowledgement.
std::optional<charge_state> next_state_for_ack_refused(charge_state current, int attempts, int max_attempts);

// A person retries: held goes back to billing, dead goes back to waiting for acknowledgement
// (billed when it has a billing reference, ack_pending when not).
std::optional<charge_state> next_state_for_retry(charge_state current, bool has_billing_reference);

// A person releases a held charge: acknowledged without billing.
std::optional<charge_state> next_state_for_release(charge_state current);

// Exponential backoff with jitter for acknowledgement retries.
struct backoff_policy {
  std::chrono::milliseconds initial{std::chrono::seconds(5)};
  std::chrono::milliseconds max{std::chrono::minutes(10)};
};

// Delay before retry number `attempt` (1 = after the first failure): the exponential step
// min(max, initial * 2^(attempt-1)), then "equal jitter": half of the step fixed, the other half
// scaled by random01 (in [0, 1), drawn by the caller). Never less than half the step, so a
// burst of refusals spreads out without any retry coming back immediately; never above max.
std::chrono::milliseconds backoff_delay(const backoff_policy& policy, int attempt, double random01) noexcept;

}  // namespace chargerecon::ledger
