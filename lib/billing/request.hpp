#pragma once
// The billing POST of one charge (../shared/spec/billing-http.md, "Request"). Pure.

#include "common/error.hpp"
#include "http/message.hpp"

#include <string>
#include <string_view>

namespace chargerecon::billing {

struct post_target {
  // Appended by the HTTP client to billing.url's path; empty posts to billing.url itself.
  std::string target;
  // Sent as "Authorization: Bearer <token>" when non-empty (billing.token_file is set).
  std::string bearer_token;
};

// Body: `raw_charge_json` byte for byte, the charge as CRM.COM sent it, so the amount keeps the
// exact number text CRM.COM wrote (we never re-serialise it). Idempotency-Key: the charge number,
// the same on every retry so that billing can never bill a charge twice.
// Errors: invalid_argument when the number is empty or either header value would carry control
// characters (they cannot travel in a header; the diagnostic never shows the token).
// `raw_charge_json` is moved into the body: pass an rvalue to spare a copy.
result<http::request> make_post(const post_target& to, std::string_view charge_number, std::string raw_charge_json);

// The checks of make_post alone, building nothing: whether make_post(to, charge_number, ...)
// succeeds, and its error when not.
result<void> check_post(const post_target& to, std::string_view charge_number);

}  // namespace chargerecon::billing
