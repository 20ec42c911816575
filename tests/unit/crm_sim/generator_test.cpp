#include "crm-sim/generator.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <regex>

namespace chargerecon::crm_sim {
namespace {

using namespace std::chrono;
const time_point t0 = sys_days{year{2026} / 1 / 15} + hours(12);

std::vector<std::string> texts(const std::vector<charge>& charges) {
  std::vector<std::string> out;
  for (const auto& c : charges) out.push_back(charge_to_json(c, {}));
  return out;
}

TEST(charge_generator, same_seed_replays_the_same_charges) {
  generator_config config;
  config.seed = 42;
  config.backlog = 300;
  config.arrival_rate = 5;
  charge_generator a(config, t0);
  charge_generator b(config, t0);
  EXPECT_EQ(texts(a.backlog()), texts(b.backlog()));
  // Arrivals do not depend on how often the clock is looked at.
  auto a_arrivals = a.arrivals_until(t0 + seconds(10));
  std::vector<charge> b_arrivals;
  for (int ms = 100; ms <= 10000; ms += 100) {
    for (auto& c : b.arrivals_until(t0 + milliseconds(ms))) b_arrivals.push_back(std::move(c));
  }
  EXPECT_EQ(a_arrivals.size(), 50u);
  EXPECT_EQ(texts(a_arrivals), texts(b_arrivals));
}

TEST(charge_generator, another_seed_gives_other_charges) {
  generator_config config;
  config.backlog = 50;
  config.seed = 1;
  charge_generator a(config, t0);
  config.seed = 2;
  charge_generator b(config, t0);
  EXPECT_NE(texts(a.backlog()), texts(b.backlog()));
}

TEST(charge_generator, numbers_follow_arrival_order_and_backlog_precedes_start) {
  generator_config config;
  config.backlog = 3;
  config.arrival_rate = 2;
  charge_generator g(config, t0);
  const auto backlog = g.backlog();
  ASSERT_EQ(backlog.size(), 3u);
  EXPECT_EQ(backlog[0].number, "I00000001");
  EXPECT_EQ(backlog[2].number, "I00000003");
  EXPECT_EQ(backlog[0].received_on, t0 - minutes(3));
  EXPECT_LT(backlog[2].received_on, t0);
  EXPECT_TRUE(g.arrivals_until(t0 + milliseconds(499)).empty());
  const auto first = g.arrivals_until(t0 + seconds(1));
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].number, "I00000004");
  EXPECT_EQ(first[0].received_on, t0 + milliseconds(500));
  EXPECT_EQ(first[1].received_on, t0 + seconds(1));
  EXPECT_TRUE(g.arrivals_until(t0 + milliseconds(1400)).empty());
  EXPECT_EQ(g.arrivals_until(t0 + milliseconds(1500)).size(), 1u);
  EXPECT_EQ(g.issued(), 6u);
}

TEST(charge_generator, no_arrivals_at_rate_zero) {
  generator_config config;
  config.backlog = 2;
  charge_generator g(config, t0);
  (void)g.backlog();
  EXPECT_TRUE(g.arrivals_until(t0 + hours(24)).empty());
}

TEST(charge_generator, mixes_every_status_currency_and_the_exact_tricky_amounts) {
  generator_config config;
  config.seed = 7;
  config.backlog = 3000;
  config.customers = 20;
  config.pending_ratio = 0.1;
  charge_generator g(config, t0);
  const auto charges = g.backlog();
  std::map<charge_status, int> statuses;
  std::map<std::string, int> currencies;
  std::map<std::string, int> amounts;
  int with_local = 0;
  const std::regex customer("C00(0[1-9]|1[0-9]|20)");
  const std::regex decimal(R"(\d+\.\d\d?\d?)");
  for (const auto& c : charges) {
    ++statuses[c.status];
    ++currencies[c.currency];
    ++amounts[c.amount];
    EXPECT_TRUE(std::regex_match(c.customer, customer)) << c.customer;
    if (c.currency == "JPY") {
      EXPECT_EQ(c.amount.find('.'), std::string::npos) << c.amount;
    } else {
      EXPECT_TRUE(std::regex_match(c.amount, decimal) || c.amount == "7") << c.amount;
    }
    if (c.local_currency_amount) {
      ++with_local;
      EXPECT_TRUE(c.local_currency.has_value());
    }
    // Status dates: none while PENDING, the one reached otherwise; paid_through for APPROVED.
    EXPECT_EQ(c.status_set_on.has_value(), c.status != charge_status::pending);
    EXPECT_EQ(c.paid_through_date.has_value(), c.status == charge_status::approved);
  }
  EXPECT_EQ(statuses.size(), 5u);
  EXPECT_GT(statuses[charge_status::approved], statuses[charge_status::declined] * 3);
  EXPECT_GT(statuses[charge_status::pending], 150);
  EXPECT_EQ(currencies.size(), 4u);
  for (const char* tricky : tricky_amounts) EXPECT_GT(amounts[tricky], 0) << tricky;
  EXPECT_GT(with_local, 300);
  EXPECT_LT(with_local, 3000);
}

TEST(charge_generator, pending_charges_know_when_they_resolve) {
  generator_config config;
  config.backlog = 5;
  config.pending_ratio = 1;
  config.pending_resolve_after = seconds(10);
  config.arrival_rate = 1;
  charge_generator g(config, t0);
  for (const auto& c : g.backlog()) {
    EXPECT_EQ(c.status, charge_status::pending);
    EXPECT_EQ(c.resolves_at, t0 + seconds(10));  // backlog: counted from start
    EXPECT_TRUE(c.resolves_to == charge_status::approved || c.resolves_to == charge_status::declined);
  }
  const auto arrivals = g.arrivals_until(t0 + seconds(2));
  ASSERT_EQ(arrivals.size(), 2u);
  EXPECT_EQ(arrivals[1].resolves_at, t0 + seconds(12));  // arrivals: counted from arrival
}

}  // namespace
}  // namespace chargerecon::crm_sim
