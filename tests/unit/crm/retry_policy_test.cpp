#include "crm/retry_policy.hpp"

#include <gtest/gtest.h>

namespace chargerecon::crm {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

const retry_config config{4, 500ms, 30s};
const random_source top = [] { return 1.0; };

struct row {
  failure_class failure;
  unsigned attempt;
  bool relogged_in;
  bool idempotent;
  retry_action expected;
};

TEST(crm_retry_policy, decision_table) {
  const std::vector<row> table = {
      {failure_class::not_sent, 1, false, true, retry_action::retry},
      {failure_class::not_sent, 1, false, false, retry_action::retry},  // never reached CRM.COM
      {failure_class::not_sent, 4, false, false, retry_action::give_up},
      {failure_class::transport, 1, false, true, retry_action::retry},
      {failure_class::transport, 1, false, false, retry_action::give_up},  // may have reached it
      {failure_class::http_transient, 3, false, true, retry_action::retry},
      {failure_class::http_transient, 4, false, true, retry_action::give_up},
      {failure_class::http_transient, 1, false, false, retry_action::give_up},
      {failure_class::malformed, 1, false, true, retry_action::retry},
      {failure_class::malformed, 1, false, false, retry_action::give_up},
      {failure_class::status_not_ok, 2, false, true, retry_action::retry},
      {failure_class::permanent, 1, false, true, retry_action::give_up},
      {failure_class::token, 1, false, true, retry_action::relogin_and_repeat},
      {failure_class::token, 4, false, true, retry_action::relogin_and_repeat},  // outside the budget
      {failure_class::token, 1, false, false, retry_action::relogin_and_repeat},
      {failure_class::token, 2, true, true, retry_action::give_up},
  };
  for (const auto& r : table) {
    const auto d = decide_retry(config, {r.attempt, r.relogged_in, r.idempotent}, r.failure, top);
    EXPECT_EQ(d.action, r.expected) << to_string(r.failure) << " attempt " << r.attempt << " relogged " << r.relogged_in
                                    << " idempotent " << r.idempotent;
    if (d.action != retry_action::retry) {
      EXPECT_EQ(d.delay, 0ms);
    }
  }
}

TEST(crm_retry_policy, backoff_doubles_to_the_cap_with_full_jitter) {
  EXPECT_EQ(backoff_delay(config, 1, 1.0), 500ms);
  EXPECT_EQ(backoff_delay(config, 2, 1.0), 1000ms);
  EXPECT_EQ(backoff_delay(config, 3, 1.0), 2000ms);
  EXPECT_EQ(backoff_delay(config, 7, 1.0), 30000ms);
  EXPECT_EQ(backoff_delay(config, 1000, 1.0), 30000ms);
  EXPECT_EQ(backoff_delay(config, 3, 0.5), 1000ms);
  EXPECT_EQ(backoff_delay(config, 3, 0.0), 0ms);
  // The injected source picks the point in [0, ceiling].
  const auto d = decide_retry(config, {2, false, true}, failure_class::http_transient, [] { return 0.25; });
  EXPECT_EQ(d.action, retry_action::retry);
  EXPECT_EQ(d.delay, 250ms);
}

TEST(crm_retry_policy, login_refusals_back_off_from_seconds_to_minutes) {
  const login_backoff_config login;
  EXPECT_EQ(login_refusal_delay(login, 0), 0ms);
  EXPECT_EQ(login_refusal_delay(login, 1), 5s);
  EXPECT_EQ(login_refusal_delay(login, 2), 10s);
  EXPECT_EQ(login_refusal_delay(login, 3), 20s);
  EXPECT_EQ(login_refusal_delay(login, 6), 160s);
  EXPECT_EQ(login_refusal_delay(login, 7), 300s);
  EXPECT_EQ(login_refusal_delay(login, 100000), 300s);
}

TEST(crm_retry_policy, token_refresh_starts_at_the_margin_before_expiry) {
  const auto exp = std::chrono::system_clock::time_point(std::chrono::seconds(1795007200));
  EXPECT_FALSE(token_needs_refresh(exp - 5min - 1s, exp, 5min));
  EXPECT_TRUE(token_needs_refresh(exp - 5min, exp, 5min));
  EXPECT_TRUE(token_needs_refresh(exp + 1h, exp, 5min));
  EXPECT_FALSE(token_needs_refresh(exp - 1s, exp, 0ms));
  EXPECT_TRUE(token_needs_refresh(exp, exp, 0ms));
}

}  // namespace
}  // namespace chargerecon::crm
