#include "crm/retry_policy.hpp"

#include <algorithm>

namespace chargerecon::crm {

std::string_view to_string(failure_class c) {
  switch (c) {
    case failure_class::not_sent:
      return "not_sent";
    case failure_class::transport:
      return "transport";
    case failure_class::http_transient:
      return "http_transient";
    case failure_class::malformed:
      return "malformed";
    case failure_class::status_not_ok:
      return "status_not_ok";
    case failure_class::token:
      return "token";
    case failure_class::permanent:
      return "permanent";
  }
  return "unknown";
}

namespace {
// initial * 2^(n-1), capped, without overflowing for large n.
std::chrono::milliseconds doubled(std::chrono::milliseconds initial, std::chrono::milliseconds max, unsigned n) {
  if (n == 0 || initial.count() <= 0) return std::chrono::milliseconds(0);
  auto d = initial;
  for (unsigned i = 1; i < n && d < max; ++i) d *= 2;
  return std::min(d, max);
}
}  // namespace

std::chrono::milliseconds backoff_delay(const retry_config& config, unsigned attempt, double random01) {
  const auto ceiling = doubled(config.backoff_initial, config.backoff_max, std::max(attempt, 1u));
  const double r = std::clamp(random01, 0.0, 1.0);
  return std::chrono::milliseconds(
      static_cast<std::chrono::milliseconds::rep>(static_cast<double>(ceiling.count()) * r));
}

retry_decision decide_retry(const retry_config& config, const attempt_state& state, failure_class failure,
                            const random_source& random) {
  if (failure == failure_class::token) {
    if (state.relogged_in) return {retry_action::give_up, {}};
    return {retry_action::relogin_and_repeat, {}};
  }
  if (failure == failure_class::permanent) return {retry_action::give_up, {}};
  if (!state.idempotent && failure != failure_class::not_sent) return {retry_action::give_up, {}};
  if (state.attempt >= config.max_attempts) return {retry_action::give_up, {}};
  return {retry_action::retry, backoff_delay(config, state.attempt, random ? random() : 1.0)};
}

std::chrono::milliseconds login_refusal_delay(const login_backoff_config& config, unsigned consecutive_refusals) {
  return doubled(config.initial, config.max, consecutive_refusals);
}

bool token_needs_refresh(std::chrono::system_clock::time_point now, std::chrono::system_clock::time_point expiry,
                         std::chrono::milliseconds margin) {
  return now >= expiry - margin;
}

}  // namespace chargerecon::crm
