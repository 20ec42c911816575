#include "crm-sim/jwt.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <cstring>

namespace chargerecon::crm_sim {

namespace {

constexpr std::string_view url_alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::string_view std_alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::optional<std::string> decode_with(std::string_view text, std::string_view alphabet) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (const char c : text) {
    const auto pos = alphabet.find(c);
    if (pos == std::string_view::npos) return std::nullopt;
    buffer = (buffer << 6) | static_cast<std::uint32_t>(pos);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xff));
    }
  }
  // A single leftover character carries fewer than 8 bits: no valid encoding ends that way.
  if (bits >= 6) return std::nullopt;
  return out;
}

}  // namespace

std::string base64url_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (const char c : bytes) {
    buffer = (buffer << 8) | static_cast<unsigned char>(c);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(url_alphabet[(buffer >> bits) & 0x3f]);
    }
  }
  if (bits > 0) out.push_back(url_alphabet[(buffer << (6 - bits)) & 0x3f]);
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) { return decode_with(text, url_alphabet); }

std::optional<std::string> base64_decode(std::string_view text) { return decode_with(text, std_alphabet); }

std::string hmac_sha256(std::string_view key, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), digest.data(), &length);
  return std::string(reinterpret_cast<const char*>(digest.data()), length);
}

std::string make_jwt(const jwt_claims& claims, std::string_view secret, bool exp_as_string) {
  boost::json::object header;
  header["alg"] = "HS256";
  header["typ"] = "JWT";
  boost::json::object payload;
  payload["usr"] = claims.usr;
  payload["org"] = claims.org;
  payload["oun"] = claims.oun;
  payload["jti"] = claims.jti;
  if (exp_as_string) {
    payload["iat"] = std::to_string(claims.iat);
    payload["exp"] = std::to_string(claims.exp);
  } else {
    payload["iat"] = claims.iat;
    payload["exp"] = claims.exp;
  }
  std::string signing_input =
      base64url_encode(boost::json::serialize(header)) + "." + base64url_encode(boost::json::serialize(payload));
  const std::string signature = base64url_encode(hmac_sha256(secret, signing_input));
  return signing_input + "." + signature;
}

bool verify_jwt_signature(std::string_view token, std::string_view secret) {
  const auto second_dot = token.rfind('.');
  if (second_dot == std::string_view::npos) return false;
  const auto signing_input = token.substr(0, second_dot);
  if (signing_input.find('.') == std::string_view::npos) return false;
  const auto signature = base64url_decode(token.substr(second_dot + 1));
  if (!signature) return false;
  const std::string expected = hmac_sha256(secret, signing_input);
  return signature->size() == expected.size() &&
         CRYPTO_memcmp(signature->data(), expected.data(), expected.size()) == 0;
}

}  // namespace chargerecon::crm_sim
