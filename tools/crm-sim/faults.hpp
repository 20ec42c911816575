#pragma once
// Fault injection: what can go wrong on a call, decided by a seeded die so that a failing
// test replays. Pure: the simulator asks for a decision, then acts on it.

#include <boost/json/object.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "crm-sim/rng.hpp"

namespace chargerecon::crm_sim {

struct fault_config {
  std::chrono::milliseconds latency{0};
  std::chrono::milliseconds jitter{0};              // latency varies uniformly by +-jitter
  double fail_5xx = 0;                              // answer 500/502/503/504 without doing anything
  double drop = 0;                                  // close the connection without answering, without doing anything
  double malformed_json = 0;                        // answer 200 with garbage that is not JSON, without doing anything
  double truncate_json = 0;                         // do the call, answer 200 with the first half of the real answer
  std::chrono::milliseconds token_expiry_every{0};  // tokens die this long after issue; 0: off
  unsigned ack_refuse_first = 0;                    // refuse each charge's first K acknowledgements
  std::string ack_refuse_code = "TEMPORARY_FAILURE";
  double ack_apply_then_drop = 0;  // apply an acknowledgement, then drop the connection
  // The next K acknowledge answers misname a refusal: the request's first charge is refused
  // (not applied) but failed_charges_set names it "UNSENT-<number>", a charge the request did
  // not send; the others are applied. Counts down; set through POST /sim/faults only.
  unsigned ack_misname_next = 0;
};

enum class call_kind {
  login,    // only latency, 5xx and drop apply
  netflix,  // every fault applies
};

enum class fault_outcome { none, fail_5xx, drop, malformed_json, truncate_json };

struct fault_decision {
  std::chrono::milliseconds delay{0};
  fault_outcome outcome = fault_outcome::none;
  unsigned http_status = 0;      // with fail_5xx
  bool apply_then_drop = false;  // acted on by charges/acknowledge only
  std::size_t variant = 0;       // which garbage text, with malformed_json
};

class fault_dice {
 public:
  explicit fault_dice(std::uint64_t seed);
  // Draws the same number of values on every call, whatever the settings, so that the n-th
  // call's decision depends only on the seed, n and the settings in force.
  fault_decision roll(const fault_config& config, call_kind kind);

 private:
  sim_rng rng_;
};

// A duration as cli::parse_duration reads it back: "2h", "30s", "5ms".
std::string format_duration(std::chrono::milliseconds d);

// POST /sim/faults: a JSON object whose keys are the fault flags' names with '_' for '-'
// ("fail_5xx", "token_expiry_every"); durations as strings ("5ms") or bare numbers in the
// flag's unit (ms for latency/jitter, seconds for token_expiry_every). All or nothing.
// Errors: invalid_argument naming the key (unknown keys included).
result<void> apply_fault_settings(fault_config& config, std::string_view json_object_text);

// The settings in force, in the same shape POST /sim/faults takes.
boost::json::object fault_settings_json(const fault_config& config);

}  // namespace chargerecon::crm_sim
