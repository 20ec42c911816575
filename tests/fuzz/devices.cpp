// netflix/operators/register_devices and unregister_devices: data.failed_devices_set. Beyond
// not crashing: both methods read a body alike, and a re-written answer reads back the same ESNs.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "answer_checks.hpp"
#include "crm/answers.hpp"
#include "fuzz_check.hpp"
#include "fuzz_targets.hpp"

namespace chargerecon::fuzz {

void devices(std::string_view input) {
  const auto registered = crm::parse_devices(input, crm::method::register_devices);
  const auto unregistered = crm::parse_devices(input, crm::method::unregister_devices);
  require(registered.has_value() == unregistered.has_value(), "both device methods read an answer alike");
  if (!unregistered) check_answer_error(unregistered.error(), crm::method::unregister_devices);
  if (!registered) return check_answer_error(registered.error(), crm::method::register_devices);
  require(is_valid_json(input), "an accepted answer is valid JSON");
  require(registered->failed_esns == unregistered->failed_esns, "both device methods read the same ESNs");
  boost::json::array failed;
  for (const auto& esn : registered->failed_esns) failed.push_back(boost::json::object{{"esn", esn}});
  const auto again = crm::parse_devices(
      ok_answer(boost::json::serialize(boost::json::object{{"failed_devices_set", std::move(failed)}})),
      crm::method::register_devices);
  require(again.has_value() && again->failed_esns == registered->failed_esns,
          "a re-written answer reads back the same ESNs");
}

}  // namespace chargerecon::fuzz
