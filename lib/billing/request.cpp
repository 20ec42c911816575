#include "billing/request.hpp"

#include <algorithm>

namespace chargerecon::billing {
namespace {

// RFC 9110 field values: visible characters, spaces and tabs inside. CR or LF would split the
// header (request smuggling); other controls are refused by well-behaved servers anyway.
bool usable_header_value(std::string_view v) {
  if (v.empty() || v.front() == ' ' || v.front() == '\t' || v.back() == ' ' || v.back() == '\t') return false;
  return std::none_of(v.begin(), v.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && c != '\t') || u == 0x7F;
  });
}

}  // namespace

result<void> check_post(const post_target& to, std::string_view charge_number) {
  if (!usable_header_value(charge_number))
    return error{errc::invalid_argument, "billing post: charge number '" + quote_peer_text(charge_number) +
                                             "' cannot be sent as an Idempotency-Key"};
  if (!to.bearer_token.empty() && !usable_header_value(to.bearer_token))
    return error{errc::invalid_argument,
                 "billing post: the billing token contains control characters or surrounding blanks"};
  return {};
}

result<http::request> make_post(const post_target& to, std::string_view charge_number, std::string raw_charge_json) {
  if (auto checked = check_post(to, charge_number); !checked) return checked.error();
  http::request req;
  req.verb = http::method::post;
  req.target = to.target;
  req.body = std::move(raw_charge_json);
  req.content_type = "application/json";
  req.headers.reserve(to.bearer_token.empty() ? 1 : 2);
  req.headers.push_back({"Idempotency-Key", std::string(charge_number)});
  if (!to.bearer_token.empty()) req.headers.push_back({"Authorization", "Bearer " + to.bearer_token});
  return req;
}

}  // namespace chargerecon::billing
