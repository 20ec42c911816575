#pragma once
// Invariants every CRM.COM answer parser keeps, whatever the body: what the fuzz targets of
// lib/crm/answers.hpp check beyond "does not crash".

#include <string>
#include <string_view>

#include "common/error.hpp"

namespace chargerecon::fuzz {

// A refused answer is errc::malformed_answer or errc::crm_status_not_ok, its diagnostic begins
// with "<method>: " and is safe for a log line: no control character (peer text is quoted).
void check_answer_error(const error& e, std::string_view method);

// Text safe for a log line: no byte below 0x20 and no DEL.
bool printable(std::string_view text);

// True when `text` is one JSON value by the strict grammar (Boost.JSON, no extensions), nested
// as deeply as simdjson allows, or holds an exponent too large for Boost.JSON to judge. An answer a parser accepts must be JSON: the charge objects
// inside it go to billing byte for byte.
bool is_valid_json(std::string_view text);

// {"data": <data>, "status": {"code": "OK", ...}}: an answer rebuilt around parsed values.
std::string ok_answer(std::string_view data_json);

// `text` as a JSON string literal (quotes, escapes), written by Boost.JSON.
std::string json_string(std::string_view text);

}  // namespace chargerecon::fuzz
