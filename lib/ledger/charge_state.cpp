#include "ledger/charge_state.hpp"

#include <algorithm>
#include <cmath>

namespace chargerecon::ledger {

std::string_view to_string(charge_state s) noexcept {
  switch (s) {
    case charge_state::pending:
      return "pending";
    case charge_state::seen:
      return "seen";
    case charge_state::billing:
      return "billing";
    case charge_state::billed:
      return "billed";
    case charge_state::ack_pending:
      return "ack_pending";
    case charge_state::acknowledged:
      return "acknowledged";
    case charge_state::held:
      return "held";
    case charge_state::dead:
      return "dead";
  }
  return "unknown";
}

std::optional<charge_state> parse_charge_state(std::string_view name) noexcept {
  for (const auto s : all_charge_states)
    if (to_string(s) == name) return s;
  return std::nullopt;
}

bool allowed(charge_state from, charge_state to) noexcept {
  using enum charge_state;
  switch (from) {
    case pending:
      return to == seen || to == ack_pending;
    case seen:
      return to == billing;
    case billing:
      return to == billed || to == held;
    case billed:
      return to == acknowledged || to == dead;
    case ack_pending:
      return to == acknowledged || to == dead;
    case acknowledged:
      return false;
    case held:
      return to == billing || to == ack_pending;
    case dead:
      return to == billed || to == ack_pending;
  }
  return false;
}

bool is_unfinished(charge_state s) noexcept {
  using enum charge_state;
  return s == seen || s == billing || s == billed || s == ack_pending;
}

bool awaits_ack(charge_state s) noexcept { return s == charge_state::billed || s == charge_state::ack_pending; }

namespace {
bool is_processed(std::string_view status) {
  return std::find(std::begin(processed_statuses), std::end(processed_statuses), status) !=
         std::end(processed_statuses);
}
bool is_billable(std::string_view status, const bill_policy& policy) {
  return std::find(policy.bill_statuses.begin(), policy.bill_statuses.end(), status) != policy.bill_statuses.end();
}
}  // namespace

charge_state next_state_for_new(std::string_view status, const bill_policy& policy) {
  // Billing is checked before "processed" so an operator may bill a status CRM.COM adds later,
  // by naming it in bill_statuses; acknowledging without billing needs a status we know.
  if (status != pending_status && is_billable(status, policy)) return charge_state::seen;
  if (is_processed(status)) return charge_state::ack_pending;
  return charge_state::pending;
}

std::optional<charge_state> next_state_for_observed(charge_state current, std::string_view status,
                                                    const bill_policy& policy) {
  if (current != charge_state::pending) return std::nullopt;
  const auto next = next_state_for_new(status, policy);
  if (next == charge_state::pending) return std::nullopt;
  return next;
}

std::optional<charge_state> next_state_for_bill_result(charge_state current, bill_outcome outcome) {
  if (current != charge_state::billing) return std::nullopt;
  switch (outcome) {
    case bill_outcome::billed:
      return charge_state::billed;
    case bill_outcome::refused:
      return charge_state::held;
    case bill_outcome::transient:
      return std::nullopt;
  }
  return std::nullopt;
}

std::optional<charge_state> next_state_for_ack_accepted(charge_state current) {
  if (!awaits_ack(current)) return std::nullopt;
  return charge_state::acknowledged;
}

std::optional<charge_state> next_state_for_ack_refused(charge_state current, int attempts, int max_attempts) {
  if (!awaits_ack(current)) return std::nullopt;
  if (attempts >= max_attempts) return charge_state::dead;
  return current;
}

std::optional<charge_state> next_state_for_retry(charge_state current, bool has_billing_reference) {
  if (current == charge_state::held) return charge_state::billing;
  if (current == charge_state::dead) return has_billing_reference ? charge_state::billed : charge_state::ack_pending;
  return std::nullopt;
}

std::optional<charge_state> next_state_for_release(charge_state current) {
  if (current == charge_state::held) return charge_state::ack_pending;
  return std::nullopt;
}

std::chrono::milliseconds backoff_delay(const backoff_policy& policy, int attempt, double random01) noexcept {
  using std::chrono::milliseconds;
  const auto initial = std::max<milliseconds::rep>(policy.initial.count(), 0);
  const auto max = std::max<milliseconds::rep>(policy.max.count(), initial);
  // Doubling stops at max; counting the doublings avoids overflow at large attempt numbers.
  milliseconds::rep step = initial;
  for (int i = 1; i < attempt && step < max; ++i) step = step > max / 2 ? max : step * 2;
  step = std::min(step, max);
  if (!(random01 >= 0.0)) random01 = 0.0;  // also catches NaN
  if (random01 >= 1.0) random01 = std::nextafter(1.0, 0.0);
  const auto half = step / 2;
  const auto jitter = static_cast<milliseconds::rep>(static_cast<double>(step - half) * random01);
  return milliseconds(half + jitter);
}

}  // namespace chargerecon::ledger
