#include "crm-sim/generator.hpp"

#include <cstdio>
#include <string_view>

namespace chargerecon::crm_sim {

namespace {

constexpr std::string_view currencies[] = {"EUR", "USD", "GBP", "JPY"};
// Yen has no minor unit: its amounts are whole numbers.
constexpr const char* tricky_yen_amounts[] = {"7", "1200", "98765"};

template <class T, std::size_t N>
const T& pick(sim_rng& rng, const T (&items)[N]) {
  return items[rng.below(N)];
}

}  // namespace

charge_generator::charge_generator(generator_config config, time_point start)
    : config_(config), start_(start), rng_(config.seed) {}

std::string charge_generator::amount_text(std::string_view currency) {
  const bool yen = currency == "JPY";
  if (rng_.chance(0.5)) return yen ? pick(rng_, tricky_yen_amounts) : pick(rng_, tricky_amounts);
  char text[32];
  if (yen) {
    std::snprintf(text, sizeof text, "%u", static_cast<unsigned>(100 + rng_.below(4900)));
  } else {
    std::snprintf(text, sizeof text, "%u.%02u", static_cast<unsigned>(1 + rng_.below(99)),
                  static_cast<unsigned>(rng_.below(100)));
  }
  return text;
}

charge charge_generator::make(time_point received_on, time_point pending_from, std::uint64_t max_processing_seconds) {
  using namespace std::chrono;
  charge c;
  char number[16];
  std::snprintf(number, sizeof number, "I%08llu", static_cast<unsigned long long>(next_number_++));
  c.number = number;
  char customer[16];
  const auto customers = config_.customers == 0 ? 1 : config_.customers;
  std::snprintf(customer, sizeof customer, "C%04llu", static_cast<unsigned long long>(1 + rng_.below(customers)));
  c.customer = customer;
  c.currency = std::string(pick(rng_, currencies));
  c.amount = amount_text(c.currency);
  if (rng_.chance(0.25)) {
    c.local_currency = std::string(pick(rng_, currencies));
    c.local_currency_amount = amount_text(*c.local_currency);
  }
  c.received_on = received_on;

  if (rng_.chance(config_.pending_ratio)) {
    c.status = charge_status::pending;
    c.resolves_to = rng_.chance(0.8) ? charge_status::approved : charge_status::declined;
    c.resolves_at = pending_from + config_.pending_resolve_after;
    return c;
  }
  const double roll = rng_.uniform();
  c.status = roll < 0.76   ? charge_status::approved
             : roll < 0.88 ? charge_status::declined
             : roll < 0.94 ? charge_status::bad_request
                           : charge_status::rejected;
  c.status_set_on = received_on + seconds(rng_.below(max_processing_seconds));
  if (c.status == charge_status::approved) c.paid_through_date = *c.status_set_on + days(30);
  return c;
}

std::vector<charge> charge_generator::backlog() {
  using namespace std::chrono;
  std::vector<charge> out;
  out.reserve(config_.backlog);
  for (std::size_t i = 0; i < config_.backlog; ++i) {
    const auto received = start_ - minutes(config_.backlog - i);
    // A backlog charge still PENDING at start resolves the configured time after start.
    out.push_back(make(received, start_, 60));
  }
  return out;
}

std::vector<charge> charge_generator::arrivals_until(time_point now) {
  std::vector<charge> out;
  if (config_.arrival_rate <= 0 || now <= start_) return out;
  const auto arrival_time = [&](std::uint64_t k) {
    const std::chrono::duration<double> offset(static_cast<double>(k) / config_.arrival_rate);
    return start_ + std::chrono::duration_cast<sim_clock::duration>(offset);
  };
  while (arrival_time(arrivals_ + 1) <= now) {
    ++arrivals_;
    const auto received = arrival_time(arrivals_);
    // Arrivals come already processed (or PENDING): their status date is their arrival.
    out.push_back(make(received, received, 0));
  }
  return out;
}

}  // namespace chargerecon::crm_sim
