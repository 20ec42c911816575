// netflix/subscriptions/show, whose data is an array, one object, or {}. Beyond not crashing:
// the raw promotions_set and prices_set are the peer's JSON text, and the subscriptions
// re-written (those raw texts kept as they are) read back the same.
#include "answer_checks.hpp"
#include "crm/answers.hpp"
#include "fuzz_check.hpp"
#include "fuzz_targets.hpp"

namespace chargerecon::fuzz {
namespace {

bool same_subscription(const crm::subscription& a, const crm::subscription& b) {
  return a.subscription_number == b.subscription_number && a.netflix_state == b.netflix_state &&
         a.life_cycle == b.life_cycle && a.promotions_set == b.promotions_set && a.prices_set == b.prices_set;
}

std::string rewritten(const crm::subscription& s) {
  std::string o = R"({"subscription_number":)" + json_string(s.subscription_number);
  o += R"(,"netflix_sate":)" + (s.netflix_state ? json_string(*s.netflix_state) : "null");
  o += R"(,"life_cycle_state":)" + (s.life_cycle ? json_string(crm::to_wire(*s.life_cycle)) : "null");
  o += R"(,"promotions_set":)" + s.promotions_set.value_or("null");
  o += R"(,"prices_set":)" + s.prices_set.value_or("null");
  return o + "}";
}

}  // namespace

void show_subscription(std::string_view input) {
  const auto list = crm::parse_show_subscription(input);
  if (!list) return check_answer_error(list.error(), crm::method::show_subscription);
  require(is_valid_json(input), "an accepted answer is valid JSON");
  std::string data;
  for (const auto& s : *list) {
    require(!s.subscription_number.empty(), "a subscription has a number");
    for (const auto* raw : {&s.promotions_set, &s.prices_set}) {
      if (!*raw) continue;
      require(contains(input, **raw), "a raw set is the peer's exact text");
      require(is_valid_json(**raw), "a raw set is valid JSON");
    }
    data += data.empty() ? "[" : ",";
    data += rewritten(s);
  }
  data += data.empty() ? "[]" : "]";
  const auto again = crm::parse_show_subscription(ok_answer(data));
  require(again.has_value() && again->size() == list->size(), "a re-written answer is accepted whole");
  for (std::size_t i = 0; i < list->size(); ++i)
    require(same_subscription((*again)[i], (*list)[i]), "a subscription reads back as itself");
}

}  // namespace chargerecon::fuzz
