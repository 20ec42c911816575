// authentication/token and authentication/web_api_key/token: data.token. Beyond not crashing:
// the token is never empty, both methods read a body alike, and a re-written answer reads back
// the same token.
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "answer_checks.hpp"
#include "crm/answers.hpp"
#include "fuzz_check.hpp"
#include "fuzz_targets.hpp"

namespace chargerecon::fuzz {

void login(std::string_view input) {
  const auto token = crm::parse_login(input);
  const auto by_key = crm::parse_login(input, crm::method::login_web_api_key);
  require(token.has_value() == by_key.has_value(), "both login methods read an answer alike");
  if (!by_key) check_answer_error(by_key.error(), crm::method::login_web_api_key);
  if (!token) return check_answer_error(token.error(), crm::method::login);
  require(is_valid_json(input), "an accepted answer is valid JSON");
  require(!token->empty() && *token == *by_key, "the token is not empty and the same for both methods");
  const auto again =
      crm::parse_login(ok_answer(boost::json::serialize(boost::json::object{{"token", *token}})));
  require(again.has_value() && *again == *token, "a re-written answer reads back the same token");
}

}  // namespace chargerecon::fuzz
