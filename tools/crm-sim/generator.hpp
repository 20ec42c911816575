#pragma once
// The seeded source of charges: a backlog present at start, then a steady arrival rate.
// Pure: it is told the time; the same seed and start time replay the same charges.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "crm-sim/charge.hpp"
#include "crm-sim/rng.hpp"

namespace chargerecon::crm_sim {

struct generator_config {
  std::uint64_t seed = 1;
  std::size_t backlog = 0;
  double arrival_rate = 0;     // charges per second after start; 0: none
  std::size_t customers = 50;  // C0001..
  double pending_ratio = 0.1;  // share born PENDING
  std::chrono::milliseconds pending_resolve_after = std::chrono::seconds(10);
};

// The amount texts mixed into every run: each one is a value a binary float gets wrong or
// a formatting a client could lose ("10.00", "0.30").
inline constexpr const char* tricky_amounts[] = {"0.1", "0.7",   "1234567.89", "0.30", "19.99",
                                                 "7",   "10.00", "2.675",      "0.01"};

class charge_generator {
 public:
  charge_generator(generator_config config, time_point start);

  // The backlog: charges received before start (one a minute, oldest first).
  std::vector<charge> backlog();

  // The charges that arrived after the last call and no later than `now`, in order.
  std::vector<charge> arrivals_until(time_point now);

  std::uint64_t issued() const { return next_number_ - 1; }

 private:
  charge make(time_point received_on, time_point pending_from, std::uint64_t max_processing_seconds);
  std::string amount_text(std::string_view currency);

  generator_config config_;
  time_point start_;
  sim_rng rng_;
  std::uint64_t next_number_ = 1;
  std::uint64_t arrivals_ = 0;  // arrivals already produced after start
};

}  // namespace chargerecon::crm_sim
