#pragma once
// Parsers of CRM.COM answers, one per method: pure functions of the HTTP body. simdjson stays
// inside answers.cpp.
//
// Every answer is first checked as an envelope {"data": ..., "status": {"code", "description",
// "message"}}:
//   - status.code other than "OK"  -> errc::crm_status_not_ok, CRM.COM's code and message quoted
//     in the diagnostic (classify_failed_answer tells a token failure from the rest);
//   - anything not shaped as documented (truncated, invalid UTF-8, wrong type, missing field,
//     duplicate field, a date not "YYYY-MM-DDTHH:MM:SS", a number that is not a JSON number)
//     -> errc::malformed_answer, naming the method and the JSON path, e.g.
//     "netflix/charges/list: data.charges_set[3].amount: expected a number, got string".
// Unknown fields are ignored. A null date is nullopt; a missing failed_*_set means none failed.
// Numbers are kept as their exact JSON token text, never converted to double.

#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "crm/types.hpp"

namespace chargerecon::crm {

// authentication/token and authentication/web_api_key/token: data.token, a non-empty string.
result<std::string> parse_login(std::string_view body, std::string_view method_name = method::login);

// netflix/charges/list. An element of charges_set that is not a usable charge does not fail
// the page: it lands in `malformed` (its diagnostic has the same form as above) and counts in
// `entries`. So do all elements naming one charge number when they disagree on its customer,
// amount, currency or status (which would we bill?); elements that agree stay charges. A page
// whose charges_set itself is missing or not an array is malformed as a whole.
result<charges_page> parse_list_charges(std::string_view body);

// netflix/charges/acknowledge: the refused items; empty when data.failed_charges_set is
// missing, null or empty.
result<std::vector<ack_refusal>> parse_acknowledge(std::string_view body);

// netflix/promotions/list: data is an array of promotions.
result<std::vector<promotion>> parse_list_promotions(std::string_view body);

// netflix/subscriptions/show: data is an array of subscriptions, or one subscription object,
// or {} for none (the documentation does not pin the shape down).
result<std::vector<subscription>> parse_show_subscription(std::string_view body);

// netflix/subscriptions/create: read leniently, see subscription_signup.
result<subscription_signup> parse_create_subscription(std::string_view body);

// suspend / unsuspend: only the envelope matters (data is {}).
result<void> parse_empty_answer(std::string_view body, std::string_view method_name);

// register_devices / unregister_devices: data.failed_devices_set (missing means none).
result<device_result> parse_devices(std::string_view body, std::string_view method_name);

// What a failed call (non-2xx HTTP status, or status.code other than "OK") says about the
// token. token_invalid: HTTP 401/403, or a status code/description/message naming the token
// or an expiry ("token", "expired", "unauthorized"/"unauthorised"), case-insensitively: the
// client logs in again once and repeats the call. Everything else, including a body that is
// not JSON, is `other`.
enum class failure_kind { token_invalid, other };
failure_kind classify_failed_answer(unsigned http_status, std::string_view body);

// True when `token` is a JSON number token ("-0.00", "1e3"); exposed for the tests and for
// callers that validate amounts they received elsewhere.
bool is_json_number(std::string_view token);

// True when `text` is "YYYY-MM-DDTHH:MM:SS" with plausible ranges (no zone, no fraction).
bool is_crm_date(std::string_view text);

}  // namespace chargerecon::crm
