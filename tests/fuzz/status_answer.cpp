// The envelope alone: suspend and unsuspend (data is {}), and classify_failed_answer, which
// reads any failed answer to tell an expired token from the rest. Beyond not crashing: an
// accepted answer is JSON, 401/403 always mean the token, and a body's verdict does not depend
// on which other failing status carried it.
#include "answer_checks.hpp"
#include "crm/answers.hpp"
#include "fuzz_check.hpp"
#include "fuzz_targets.hpp"

namespace chargerecon::fuzz {

void status_answer(std::string_view input) {
  const auto suspended = crm::parse_empty_answer(input, crm::method::suspend);
  const auto unsuspended = crm::parse_empty_answer(input, crm::method::unsuspend);
  require(suspended.has_value() == unsuspended.has_value(), "suspend and unsuspend read an answer alike");
  if (!unsuspended) check_answer_error(unsuspended.error(), crm::method::unsuspend);
  if (!suspended)
    check_answer_error(suspended.error(), crm::method::suspend);
  else
    require(is_valid_json(input), "an accepted answer is valid JSON");

  for (const unsigned status : {401u, 403u})
    require(crm::classify_failed_answer(status, input) == crm::failure_kind::token_invalid,
            "401 and 403 always mean the token");
  const auto verdict = crm::classify_failed_answer(500, input);
  for (const unsigned status : {200u, 400u, 429u, 502u})
    require(crm::classify_failed_answer(status, input) == verdict, "the body's verdict is the same for any status");
}

}  // namespace chargerecon::fuzz
