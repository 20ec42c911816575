#pragma once
// Reading a CRM.COM token's expiry. From R12 the token is an HS256 JWT whose payload carries
// `exp` (seconds since the epoch, a number or a numeric string). We are the client: the
// signature is CRM.COM's business, so it is not checked; the expiry only tells us when to log
// in again before the server starts refusing the token.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace chargerecon::crm {

// The latest `exp` taken: 2200-01-01T00:00:00Z. A token lives hours; a later exp is garbage, and
// system_clock counts nanoseconds in 64 bits, which end in 2262: beyond, the conversion overflows.
inline constexpr std::int64_t max_jwt_exp_seconds = 7'258'118'400;

// The token's `exp` claim, or nullopt when the token is not a JWT, its payload is not
// base64url JSON, or exp is missing, not an integer (number or decimal-digit string), or out
// of range (not after 1970, or after max_jwt_exp_seconds). nullopt means: use the configured
// token lifetime instead.
std::optional<std::chrono::system_clock::time_point> jwt_expiry(std::string_view token);

// base64url (RFC 4648 section 5), padding optional; nullopt on any other character.
std::optional<std::string> base64url_decode(std::string_view text);

// Standard base64 with padding (HTTP Basic credentials).
std::string base64_encode(std::string_view bytes);

}  // namespace chargerecon::crm
