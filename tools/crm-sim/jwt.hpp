#pragma once
// The tokens crm-sim hands out: HS256 JWTs shaped like CRM.COM's R12 tokens, so that clients
// exercise their "refresh from exp" path against real token text.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace chargerecon::crm_sim {

std::string base64url_encode(std::string_view bytes);
// Accepts padded or unpadded input; nullopt on a character outside the alphabet.
std::optional<std::string> base64url_decode(std::string_view text);
// Standard alphabet with padding (HTTP Basic credentials).
std::optional<std::string> base64_decode(std::string_view text);

std::string hmac_sha256(std::string_view key, std::string_view data);

struct jwt_claims {
  std::string usr;
  std::string org;
  std::string oun;
  std::string jti;
  std::int64_t iat = 0;  // seconds since the Unix epoch
  std::int64_t exp = 0;
};

// header.payload.signature, base64url without padding. With exp_as_string, iat and exp are
// written as numeric strings ("1767225600"), as some CRM.COM releases do.
std::string make_jwt(const jwt_claims& claims, std::string_view secret, bool exp_as_string);

// True when the token has three parts and its signature matches `secret`.
bool verify_jwt_signature(std::string_view token, std::string_view secret);

}  // namespace chargerecon::crm_sim
