// The token's expiry (lib/crm/jwt.hpp): CRM.COM's token is read, never trusted. The input is
// tried as a whole token and as the JSON payload of one (so that the fuzzer reaches the claims
// without having to discover base64url). Beyond not crashing: an expiry found is in range, and
// base64 text we write decodes back to the bytes.
#include <algorithm>
#include <chrono>

#include "crm/jwt.hpp"
#include "fuzz_check.hpp"
#include "fuzz_targets.hpp"

namespace chargerecon::fuzz {
namespace {

void check_expiry(std::string_view token) {
  const auto exp = crm::jwt_expiry(token);
  if (!exp) return;
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(exp->time_since_epoch()).count();
  require(seconds > 0 && seconds <= crm::max_jwt_exp_seconds, "an expiry is after 1970 and before 2200");
}

std::string base64url_of(std::string_view bytes) {
  std::string text = crm::base64_encode(bytes);
  std::replace(text.begin(), text.end(), '+', '-');
  std::replace(text.begin(), text.end(), '/', '_');
  return text;
}

}  // namespace

void jwt(std::string_view input) {
  check_expiry(input);
  const std::string encoded = base64url_of(input);
  require(encoded.size() % 4 == 0, "base64 text comes in groups of four");
  const auto decoded = crm::base64url_decode(encoded);
  require(decoded.has_value() && *decoded == input, "base64 text we write decodes back to the bytes");
  check_expiry("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." + encoded + ".c2ln");

  if (const auto bytes = crm::base64url_decode(input)) {
    std::size_t significant = input.size();
    while (significant > 0 && input[significant - 1] == '=') --significant;
    require(bytes->size() == significant * 6 / 8, "decoding yields six bits per character, whole bytes only");
  }
}

}  // namespace chargerecon::fuzz
