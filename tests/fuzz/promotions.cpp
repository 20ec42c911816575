// netflix/promotions/list. Beyond not crashing: codes are present, dates have their shape, and
// the promotions re-written with Boost.JSON read back the same.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "answer_checks.hpp"
#include "crm/answers.hpp"
#include "fuzz_check.hpp"
#include "fuzz_targets.hpp"

namespace chargerecon::fuzz {
namespace {

boost::json::value nullable(const std::optional<std::string>& s) {
  if (!s) return nullptr;
  return boost::json::string(*s);
}

bool same_promotion(const crm::promotion& a, const crm::promotion& b) {
  return a.code == b.code && a.name == b.name && a.description == b.description &&
         a.effective_from == b.effective_from && a.expires_on == b.expires_on;
}

}  // namespace

void promotions(std::string_view input) {
  const auto list = crm::parse_list_promotions(input);
  if (!list) return check_answer_error(list.error(), crm::method::list_promotions);
  require(is_valid_json(input), "an accepted answer is valid JSON");
  boost::json::array data;
  for (const auto& p : *list) {
    require(!p.code.empty(), "a promotion has a code");
    for (const auto* date : {&p.effective_from, &p.expires_on})
      if (*date) require(crm::is_crm_date(**date), "a date has the shape YYYY-MM-DDTHH:MM:SS");
    data.push_back(boost::json::object{{"code", p.code},
                                       {"name", nullable(p.name)},
                                       {"description", nullable(p.description)},
                                       {"effective_from", nullable(p.effective_from)},
                                       {"expires_on", nullable(p.expires_on)}});
  }
  const auto again = crm::parse_list_promotions(ok_answer(boost::json::serialize(data)));
  require(again.has_value() && again->size() == list->size(), "a re-written answer is accepted whole");
  for (std::size_t i = 0; i < list->size(); ++i)
    require(same_promotion((*again)[i], (*list)[i]), "a promotion reads back as itself");
}

}  // namespace chargerecon::fuzz
