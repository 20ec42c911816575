// netflix/charges/acknowledge: which charges CRM.COM refused. Beyond not crashing: an accepted
// answer re-written with Boost.JSON reads back the same, and its meaning for the ledger
// (engine::classify_ack_answer) accounts for every charge sent exactly once.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <set>

#include "answer_checks.hpp"
#include "crm/answers.hpp"
#include "engine/ack_answer.hpp"
#include "fuzz_check.hpp"
#include "fuzz_targets.hpp"

namespace chargerecon::fuzz {
namespace {

bool same_refusal(const crm::ack_refusal& a, const crm::ack_refusal& b) {
  return a.number == b.number && a.reference_number == b.reference_number && a.error_code == b.error_code &&
         a.error_description == b.error_description;
}

std::string rewritten(const std::vector<crm::ack_refusal>& refusals) {
  boost::json::array set;
  for (const auto& r : refusals)
    set.push_back(boost::json::object{{"number", r.number},
                                      {"reference_number", r.reference_number},
                                      {"error_code", r.error_code},
                                      {"error_description", r.error_description}});
  return ok_answer(boost::json::serialize(boost::json::object{{"failed_charges_set", std::move(set)}}));
}

// A request that sent every other refused number plus one CRM.COM did not mention; the first
// refusal's code plays the configured "already acknowledged" code.
void check_meaning(const std::vector<crm::ack_refusal>& refusals) {
  std::vector<std::string> sent;
  for (std::size_t i = 0; i < refusals.size(); i += 2)
    if (std::find(sent.begin(), sent.end(), refusals[i].number) == sent.end()) sent.push_back(refusals[i].number);
  const std::string unmentioned = "fuzz-unmentioned-charge";
  if (std::find(sent.begin(), sent.end(), unmentioned) == sent.end()) sent.push_back(unmentioned);
  std::vector<std::string> done_codes;
  // A code the operator lists as "already acknowledged"; never the engine's own code for an
  // answer it does not trust, which is not CRM.COM's and no configuration names.
  if (!refusals.empty() && refusals.front().error_code != engine::untrusted_answer_code)
    done_codes.push_back(refusals.front().error_code);

  const auto meaning = engine::classify_ack_answer(sent, refusals, done_codes);
  const std::set<std::string> in_request(sent.begin(), sent.end());
  std::multiset<std::string> accounted(meaning.report.acknowledged.begin(), meaning.report.acknowledged.end());
  for (const auto& r : meaning.report.refused) {
    require(in_request.contains(r.number), "only charges sent are refused");
    require(std::find(done_codes.begin(), done_codes.end(), r.error_code) == done_codes.end(),
            "an 'already acknowledged' code never counts as a refusal");
    accounted.insert(r.number);
  }
  for (const auto& n : sent) require(accounted.count(n) == 1, "every charge sent is acknowledged or refused, once");
  require(accounted.size() == sent.size(), "nothing but the charges sent is accounted");
  require(meaning.refusals.size() == meaning.report.refused.size(), "logged refusals match the ledger's");
  const auto unknown = std::count_if(refusals.begin(), refusals.end(),
                                     [&](const crm::ack_refusal& r) { return !in_request.contains(r.number); });
  require(meaning.unknown.size() == static_cast<std::size_t>(unknown), "refusals of charges not sent are reported");
}

}  // namespace

void acknowledge(std::string_view input) {
  const auto refusals = crm::parse_acknowledge(input);
  if (!refusals) return check_answer_error(refusals.error(), crm::method::acknowledge);
  require(is_valid_json(input), "an accepted answer is valid JSON");
  for (const auto& r : *refusals) require(!r.number.empty(), "a refusal names a charge");
  const auto again = crm::parse_acknowledge(rewritten(*refusals));
  require(again.has_value() && again->size() == refusals->size(), "a re-written answer is accepted whole");
  for (std::size_t i = 0; i < refusals->size(); ++i)
    require(same_refusal((*again)[i], (*refusals)[i]), "a refusal reads back as itself");
  check_meaning(*refusals);
}

}  // namespace chargerecon::fuzz
