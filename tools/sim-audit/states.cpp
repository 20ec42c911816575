#include "sim-audit/states.hpp"

#include <simdjson.h>

#include <cstdint>
#include <limits>

#include "ledger/sqlite_ledger.hpp"
#include "observability/event_log.hpp"

namespace chargerecon::sim_audit {
namespace {

namespace od = simdjson::ondemand;

// Thrown inside this file only, turned into result<> at each public function's boundary: a
// parser that fails at every member would otherwise be one `if` per line.
struct malformed {
  std::string what;
};

[[noreturn]] void fail(std::string what) { throw malformed{std::move(what)}; }

std::string string_member(od::object& o, std::string_view key, const std::string& where) {
  std::string_view text;
  if (o.find_field_unordered(key).get_string().get(text))
    fail(where + "." + std::string(key) + " is missing or not a string");
  return std::string(text);
}

std::optional<std::string> nullable_string_member(od::object& o, std::string_view key, const std::string& where) {
  od::value v;
  if (o.find_field_unordered(key).get(v)) fail(where + "." + std::string(key) + " is missing");
  bool is_null = false;
  if (!v.is_null().get(is_null) && is_null) return std::nullopt;
  std::string_view text;
  if (v.get_string().get(text)) fail(where + "." + std::string(key) + " is neither a string nor null");
  return std::string(text);
}

bool bool_member(od::object& o, std::string_view key, const std::string& where) {
  bool b = false;
  if (o.find_field_unordered(key).get_bool().get(b))
    fail(where + "." + std::string(key) + " is missing or not a boolean");
  return b;
}

std::uint64_t count_member(od::object& o, std::string_view key, const std::string& where) {
  std::uint64_t n = 0;
  if (o.find_field_unordered(key).get_uint64().get(n))
    fail(where + "." + std::string(key) + " is missing or not a whole number");
  return n;
}

od::object root_object(od::parser& parser, const simdjson::padded_string& padded, od::document& doc) {
  // find_field_unordered reads only as far as it needs: walk the whole document once first, so
  // a body cut short (or followed by more bytes) is refused rather than half-read.
  std::string_view whole;
  if (parser.iterate(padded).get(doc) || doc.raw_json().get(whole)) fail("the body is not one complete JSON value");
  const std::string_view body(padded.data(), padded.size());
  const auto rest = body.substr(static_cast<std::size_t>(whole.data() + whole.size() - body.data()));
  if (rest.find_first_not_of(" \t\r\n") != std::string_view::npos) fail("the body has bytes after its JSON value");
  doc.rewind();
  od::object root;
  if (doc.get_object().get(root)) fail("the body is not a JSON object");
  return root;
}

template <class T, class F>
result<T> parse_guarded(std::string_view who, std::string_view body, F&& parse) {
  try {
    const simdjson::padded_string padded(body);
    return parse(padded);
  } catch (const malformed& m) {
    return error{errc::malformed_answer, std::string(who) + ": " + m.what};
  } catch (const simdjson::simdjson_error& e) {
    // Iteration errors the explicit checks did not catch (truncated text mid-array).
    return error{errc::malformed_answer, std::string(who) + ": the body is not valid JSON (" + e.what() + ")"};
  }
}

}  // namespace

result<crm_state> parse_crm_state(std::string_view body) {
  return parse_guarded<crm_state>("crm-sim /sim/state", body, [](const simdjson::padded_string& padded) {
    od::parser parser;
    od::document doc;
    auto root = root_object(parser, padded, doc);
    od::array charges;
    if (root.find_field_unordered("charges").get_array().get(charges)) fail("charges is missing or not an array");
    crm_state state;
    std::size_t i = 0;
    for (auto item : charges) {
      const auto where = "charges[" + std::to_string(i++) + "]";
      od::object o;
      if (item.get_object().get(o)) fail(where + " is not an object");
      crm_charge c;
      c.number = string_member(o, "number", where);
      c.customer = string_member(o, "customer", where);
      c.status = nullable_string_member(o, "status", where);
      c.amount = nullable_string_member(o, "amount", where);
      c.currency = string_member(o, "currency", where);
      c.acknowledged = bool_member(o, "acknowledged", where);
      c.reference_number = nullable_string_member(o, "reference_number", where);
      state.charges.push_back(std::move(c));
    }
    return state;
  });
}

result<billing_state> parse_billing_state(std::string_view body) {
  return parse_guarded<billing_state>("billing-fake /state", body, [](const simdjson::padded_string& padded) {
    od::parser parser;
    od::document doc;
    auto root = root_object(parser, padded, doc);
    billing_state state;
    od::array records;
    if (root.find_field_unordered("records").get_array().get(records)) fail("records is missing or not an array");
    std::size_t i = 0;
    for (auto item : records) {
      const auto where = "records[" + std::to_string(i++) + "]";
      od::object o;
      if (item.get_object().get(o)) fail(where + " is not an object");
      billing_record r;
      r.reference_number = string_member(o, "reference_number", where);
      r.number = string_member(o, "number", where);
      r.customer = string_member(o, "customer", where);
      r.amount = string_member(o, "amount", where);
      r.currency = string_member(o, "currency", where);
      state.records.push_back(std::move(r));
    }
    state.posts_total = count_member(root, "posts_total", "the body");
    od::object by_key;
    if (root.find_field_unordered("posts_by_key").get_object().get(by_key))
      fail("posts_by_key is missing or not an object");
    for (auto item : by_key) {
      od::field field;
      std::string_view key;
      std::uint64_t n = 0;
      if (std::move(item).get(field) || field.unescaped_key().get(key))
        fail("posts_by_key has a key that is not a string");
      if (field.value().get_uint64().get(n))
        fail("posts_by_key['" + quote_peer_text(key, 64) + "'] is not a whole number");
      state.posts_by_key[std::string(key)] = n;
    }
    // Members of newer billing-fakes: read when present.
    od::object conflicts;
    if (!root.find_field_unordered("replay_conflicts").get_object().get(conflicts)) {
      for (auto item : conflicts) {
        od::field field;
        std::string_view key;
        std::uint64_t n = 0;
        if (std::move(item).get(field) || field.unescaped_key().get(key) || field.value().get_uint64().get(n))
          fail("replay_conflicts holds something other than key: whole number");
        state.replay_conflicts[std::string(key)] = n;
      }
    }
    od::array rejected;
    if (!root.find_field_unordered("reject_customers").get_array().get(rejected)) {
      state.reject_customers.emplace();
      for (auto item : rejected) {
        std::string_view customer;
        if (item.get_string().get(customer)) fail("reject_customers holds something other than strings");
        state.reject_customers->emplace(customer);
      }
    }
    return state;
  });
}

result<std::vector<ledger_charge>> load_ledger(const std::filesystem::path& path) {
  ledger::sqlite_ledger_options options;
  options.path = path;
  options.mode = ledger::open_mode::read_only;
  auto log = obs::event_log::null();
  auto opened = ledger::sqlite_ledger::open(options, log);
  if (!opened) return opened.error();
  auto& store = **opened;

  // One statement, so one snapshot even while a daemon writes.
  ledger::charge_filter all;
  all.limit = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
  auto records = store.list(all);
  if (!records) return records.error();

  std::vector<ledger_charge> out;
  out.reserve(records->size());
  for (auto& rec : *records) {
    ledger_charge c;
    c.number = std::move(rec.number);
    c.customer = std::move(rec.customer);
    c.status = std::move(rec.status);
    c.amount = std::move(rec.amount);
    c.currency = std::move(rec.currency);
    c.state = rec.state;
    c.billing_reference = std::move(rec.billing_reference);
    if (c.state == ledger::charge_state::acknowledged && !c.billing_reference) {
      auto events = store.events(c.number);
      if (!events) return events.error();
      for (const auto& e : *events)
        if (e.kind == "release") c.released = true;
    }
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace chargerecon::sim_audit
