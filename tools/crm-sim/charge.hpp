#pragma once
// One netflix charge as the simulator holds it, and its JSON text as charges/list serves it.

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "crm/types.hpp"

namespace chargerecon::crm_sim {

using sim_clock = std::chrono::system_clock;
using time_point = sim_clock::time_point;

// The client's own status type: the simulator and the client cannot disagree on a wire name.
using charge_status = crm::charge_status;

inline std::string_view to_string(charge_status s) { return crm::to_wire(s); }

struct charge {
  std::string number;    // I00000001.. in arrival order
  std::string customer;  // billing_system_customer_identifier
  charge_status status = charge_status::approved;
  std::string amount;  // exact decimal text, written into JSON verbatim
  std::string currency;
  std::optional<std::string> local_currency_amount;  // exact decimal text
  std::optional<std::string> local_currency;
  time_point received_on;
  std::optional<time_point> status_set_on;      // when it reached `status`; none while PENDING
  std::optional<time_point> paid_through_date;  // APPROVED only

  // PENDING charges know their fate from birth, so a seed replays the same run.
  charge_status resolves_to = charge_status::approved;
  time_point resolves_at;

  // Charges posted through POST /sim/charges: served byte for byte, whatever they contain.
  // number/customer are then read leniently from that text (empty when absent or not
  // strings); raw_status is charge_status when it is a string, raw_amount the amount
  // member's JSON text as posted (a number's digits, or a string with its quotes).
  std::optional<std::string> raw_json;
  std::optional<std::string> raw_status;
  std::optional<std::string> raw_amount;

  // Acknowledgement state.
  bool acknowledged = false;
  std::optional<std::string> reference_number;
  unsigned ack_attempts = 0;
  unsigned ack_refusals = 0;
  unsigned fault_refusals = 0;  // refusals made by --ack-refuse-first
};

// Which charges/list a charge belongs to: NOT_PROCESSED holds PENDING only. A raw charge
// goes by its posted charge_status text; anything but "PENDING" is served as processed.
bool is_pending(const charge& c);

// "YYYY-MM-DDTHH:MM:SS" in UTC.
std::string format_date(time_point t);

// The charge object's JSON text. Amounts are written as the exact text the charge holds;
// `fields` limits the members (fields_set), all when empty. Raw charges ignore `fields`.
std::string charge_to_json(const charge& c, const std::set<std::string, std::less<>>& fields);
// The same, appended to `out` (a list call writes fifty into one answer).
void append_charge_json(std::string& out, const charge& c, const std::set<std::string, std::less<>>& fields);

}  // namespace chargerecon::crm_sim
