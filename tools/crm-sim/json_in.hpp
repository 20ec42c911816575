#pragma once
// What the simulator reads from request bodies, flattened one level at a time: each member's
// kind and its exact JSON text (numbers keep their digits), strings also unescaped. Handlers
// pick the members they know and descend by parsing a member's text again. simdjson stays
// inside json_in.cpp.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace chargerecon::crm_sim {

enum class json_kind { object, array, string, number, boolean, null };

struct json_item {
  json_kind kind = json_kind::null;
  std::string raw;   // the JSON text as received
  std::string text;  // the unescaped value when kind is string

  bool is_string() const { return kind == json_kind::string; }
  // A non-negative integer member ("7", not "7.0" or "-1"); nullopt otherwise.
  std::optional<std::uint64_t> as_unsigned() const;
  // A number member as a double; nullopt for other kinds.
  std::optional<double> as_double() const;
};

using json_members = std::map<std::string, json_item, std::less<>>;

// Errors: invalid_argument naming what is wrong (not JSON, not an object / array).
result<json_members> parse_json_object(std::string_view text);
result<std::vector<json_item>> parse_json_array(std::string_view text);

// The members of every element of a JSON array of objects, each as parse_json_object reads it,
// in one parse where parse_json_array and then parse_json_object on each element make one per
// element. nullopt for anything else (not JSON, not an array, an element that is not an object
// or that parse_json_object refuses): the caller then goes element by element to say which is
// wrong, as before.
std::optional<std::vector<json_members>> parse_json_array_of_objects(std::string_view text);

}  // namespace chargerecon::crm_sim
