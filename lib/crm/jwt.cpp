#include "crm/jwt.hpp"

#include <simdjson.h>

#include <cmath>
#include <cstdint>

namespace chargerecon::crm {
namespace {

int base64url_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

std::optional<std::chrono::system_clock::time_point> from_seconds(std::int64_t s) {
  if (s <= 0 || s > max_jwt_exp_seconds) return std::nullopt;
  return std::chrono::system_clock::time_point(std::chrono::seconds(s));
}

std::optional<std::int64_t> parse_digits(std::string_view s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  std::int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

}  // namespace

std::optional<std::string> base64url_decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    const int v = base64url_value(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

std::string base64_encode(std::string_view bytes) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const auto n = (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16) |
                   (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8) |
                   static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 2]));
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += alphabet[(n >> 6) & 63];
    out += alphabet[n & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t n = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    if (rest == 2) n |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += rest == 2 ? alphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::optional<std::chrono::system_clock::time_point> jwt_expiry(std::string_view token) {
  const auto first_dot = token.find('.');
  if (first_dot == std::string_view::npos) return std::nullopt;
  const auto second_dot = token.find('.', first_dot + 1);
  if (second_dot == std::string_view::npos) return std::nullopt;
  const auto payload = base64url_decode(token.substr(first_dot + 1, second_dot - first_dot - 1));
  if (!payload) return std::nullopt;

  namespace od = simdjson::ondemand;
  simdjson::padded_string buf(*payload);
  od::parser parser;
  od::document doc;
  if (parser.iterate(buf).get(doc)) return std::nullopt;
  od::object claims;
  if (doc.get_object().get(claims)) return std::nullopt;
  od::value exp;
  if (claims.find_field_unordered("exp").get(exp)) return std::nullopt;
  od::json_type type{};
  if (exp.type().get(type)) return std::nullopt;
  if (type == od::json_type::string) {
    std::string_view s;
    if (exp.get_string().get(s)) return std::nullopt;
    const auto v = parse_digits(s);
    if (!v) return std::nullopt;
    return from_seconds(*v);
  }
  if (type != od::json_type::number) return std::nullopt;
  std::int64_t whole = 0;
  if (exp.get_int64().get(whole) == simdjson::SUCCESS) return from_seconds(whole);
  // RFC 7519 allows a fractional NumericDate: round down, the margin absorbs the rest.
  double d = 0;
  if (exp.get_double().get(d) || !std::isfinite(d) || d <= 0 || d > static_cast<double>(max_jwt_exp_seconds))
    return std::nullopt;
  return from_seconds(static_cast<std::int64_t>(std::floor(d)));
}

}  // namespace chargerecon::crm
