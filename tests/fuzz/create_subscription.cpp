// netflix/subscriptions/create, read leniently (the first *token* and *url* strings anywhere in
// data). Beyond not crashing: at least one is found, neither is empty, data is kept as the
// peer's exact text, and an answer re-written with just those two reads back the same.
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "answer_checks.hpp"
#include "crm/answers.hpp"
#include "fuzz_check.hpp"
#include "fuzz_targets.hpp"

namespace chargerecon::fuzz {

void create_subscription(std::string_view input) {
  const auto signup = crm::parse_create_subscription(input);
  if (!signup) return check_answer_error(signup.error(), crm::method::create_subscription);
  require(is_valid_json(input), "an accepted answer is valid JSON");
  require(signup->token || signup->url, "an accepted answer carries a token or a URL");
  require(!signup->token || !signup->token->empty(), "a token found is not empty");
  require(!signup->url || !signup->url->empty(), "a URL found is not empty");
  require(contains(input, signup->raw_data) && is_valid_json(signup->raw_data), "data is kept as the peer's JSON");
  boost::json::object data;
  if (signup->token) data["token"] = *signup->token;
  if (signup->url) data["url"] = *signup->url;
  const auto again = crm::parse_create_subscription(ok_answer(boost::json::serialize(data)));
  require(again.has_value() && again->token == signup->token && again->url == signup->url,
          "a re-written answer reads back the same token and URL");
}

}  // namespace chargerecon::fuzz
