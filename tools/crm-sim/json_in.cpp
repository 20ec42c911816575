#include "crm-sim/json_in.hpp"

#include <simdjson.h>

#include <charconv>
#include <optional>

namespace chargerecon::crm_sim {

namespace {

std::string_view trim_right(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\r' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

// Reads one value into an item; consumes it fully so iteration can go on.
simdjson::error_code read_item(simdjson::ondemand::value value, json_item& item) {
  simdjson::ondemand::json_type type;
  if (auto ec = value.type().get(type)) return ec;
  std::string_view raw;
  switch (type) {
    case simdjson::ondemand::json_type::object: {
      simdjson::ondemand::object o;
      if (auto ec = value.get_object().get(o)) return ec;
      if (auto ec = o.raw_json().get(raw)) return ec;
      item.kind = json_kind::object;
      break;
    }
    case simdjson::ondemand::json_type::array: {
      simdjson::ondemand::array a;
      if (auto ec = value.get_array().get(a)) return ec;
      if (auto ec = a.raw_json().get(raw)) return ec;
      item.kind = json_kind::array;
      break;
    }
    case simdjson::ondemand::json_type::string: {
      raw = trim_right(value.raw_json_token());
      std::string_view text;
      if (auto ec = value.get_string().get(text)) return ec;
      item.text = std::string(text);
      item.kind = json_kind::string;
      break;
    }
    case simdjson::ondemand::json_type::number: {
      // Not converted: the text is what we keep (1e400 is valid JSON but no double), and
      // as_unsigned()/as_double() check it where a handler needs a value.
      raw = trim_right(value.raw_json_token());
      item.kind = json_kind::number;
      break;
    }
    case simdjson::ondemand::json_type::boolean: {
      raw = trim_right(value.raw_json_token());
      bool ignored;
      if (auto ec = value.get_bool().get(ignored)) return ec;
      item.kind = json_kind::boolean;
      break;
    }
    case simdjson::ondemand::json_type::null: {
      raw = trim_right(value.raw_json_token());
      bool null = false;
      if (auto ec = value.is_null().get(null)) return ec;
      if (!null) return simdjson::INCORRECT_TYPE;
      item.kind = json_kind::null;
      break;
    }
  }
  item.raw = std::string(trim_right(raw));
  return simdjson::SUCCESS;
}

// One parser and one padded copy for every parse: an acknowledgement parses its body, its array
// and each of up to fifty items, and a parser allocates its buffers when it is made. The
// results own their text, so no parse outlives the next one.
simdjson::simdjson_result<simdjson::ondemand::document> iterate(std::string_view text) {
  thread_local simdjson::ondemand::parser parser;
  thread_local std::string padded;
  if (padded.capacity() < text.size() + simdjson::SIMDJSON_PADDING) padded.reserve(text.size() + simdjson::SIMDJSON_PADDING);
  padded.assign(text);
  return parser.iterate(simdjson::padded_string_view(padded.data(), padded.size(), padded.capacity()));
}

error parse_error(std::string_view what, simdjson::error_code ec) {
  return error{errc::invalid_argument, std::string(what) + ": " + simdjson::error_message(ec)};
}

}  // namespace

std::optional<std::uint64_t> json_item::as_unsigned() const {
  if (kind != json_kind::number) return std::nullopt;
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), v);
  if (ec != std::errc{} || end != raw.data() + raw.size()) return std::nullopt;
  return v;
}

std::optional<double> json_item::as_double() const {
  if (kind != json_kind::number) return std::nullopt;
  double v = 0;
  const auto [end, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), v);
  if (ec != std::errc{} || end != raw.data() + raw.size()) return std::nullopt;
  return v;
}

namespace {

// An object's members into `members`; what went wrong otherwise.
std::optional<error> read_members(simdjson::ondemand::object& object, json_members& members) {
  for (auto field : object) {
    std::string_view key;
    if (auto ec = field.unescaped_key().get(key)) return parse_error("body has a malformed key", ec);
    simdjson::ondemand::value value;
    json_item item;
    if (auto ec = field.value().get(value)) return parse_error("body member \"" + std::string(key) + "\"", ec);
    if (auto ec = read_item(value, item)) return parse_error("body member \"" + std::string(key) + "\"", ec);
    members.insert_or_assign(std::string(key), std::move(item));
  }
  return std::nullopt;
}

}  // namespace

result<json_members> parse_json_object(std::string_view text) {
  simdjson::ondemand::document doc;
  if (auto ec = iterate(text).get(doc)) return parse_error("body is not JSON", ec);
  simdjson::ondemand::object object;
  if (auto ec = doc.get_object().get(object)) return parse_error("body is not a JSON object", ec);
  json_members members;
  if (auto failed = read_members(object, members)) return std::move(*failed);
  // In bounds after the root value means something follows it.
  if (doc.current_location().error() == simdjson::SUCCESS) {
    return error{errc::invalid_argument, "body has text after its JSON object"};
  }
  return members;
}

result<std::vector<json_item>> parse_json_array(std::string_view text) {
  simdjson::ondemand::document doc;
  if (auto ec = iterate(text).get(doc)) return parse_error("body is not JSON", ec);
  simdjson::ondemand::array array;
  if (auto ec = doc.get_array().get(array)) return parse_error("body is not a JSON array", ec);
  std::vector<json_item> items;
  for (auto element : array) {
    simdjson::ondemand::value value;
    if (auto ec = element.get(value)) return parse_error("body array element", ec);
    json_item item;
    if (auto ec = read_item(value, item)) return parse_error("body array element " + std::to_string(items.size()), ec);
    items.push_back(std::move(item));
  }
  // In bounds after the root value means something follows it.
  if (doc.current_location().error() == simdjson::SUCCESS) {
    return error{errc::invalid_argument, "body has text after its JSON array"};
  }
  return items;
}

std::optional<std::vector<json_members>> parse_json_array_of_objects(std::string_view text) {
  simdjson::ondemand::document doc;
  simdjson::ondemand::array array;
  if (iterate(text).get(doc) || doc.get_array().get(array)) return std::nullopt;
  std::vector<json_members> elements;
  for (auto element : array) {
    simdjson::ondemand::object object;
    json_members members;
    if (element.get_object().get(object) || read_members(object, members)) return std::nullopt;
    elements.push_back(std::move(members));
  }
  // In bounds after the root value means something follows it.
  if (doc.current_location().error() == simdjson::SUCCESS) return std::nullopt;
  return elements;
}

}  // namespace chargerecon::crm_sim
