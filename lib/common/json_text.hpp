#pragma once
// JSON text written piece by piece into a string, for answers built at high rates (a charge
// list, a billing answer) where a Boost.JSON value tree and its serialize() per piece cost
// more than the answer itself. Escaping stays Boost.JSON's: every string goes through its
// serializer, which writes it into `out` without a temporary string.

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace chargerecon {

// Appends `value` as a JSON string (quoted and escaped), as boost::json::serialize writes it.
void append_json_string(std::string& out, std::string_view value);

// Appends {"key":"value",...}: what boost::json::serialize writes for an object of these
// string members, in this order.
void append_json_string_object(std::string& out,
                               std::initializer_list<std::pair<std::string_view, std::string_view>> members);

}  // namespace chargerecon
