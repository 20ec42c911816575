#include "crm/answers.hpp"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <functional>
#include <memory>

namespace chargerecon::crm {
namespace od = simdjson::ondemand;

std::string_view to_wire(charge_status s) {
  switch (s) {
    case charge_status::pending:
      return "PENDING";
    case charge_status::approved:
      return "APPROVED";
    case charge_status::declined:
      return "DECLINED";
    case charge_status::bad_request:
      return "BAD_REQUEST";
    case charge_status::rejected:
      return "REJECTED";
  }
  return "PENDING";
}

std::optional<charge_status> parse_charge_status(std::string_view wire) {
  for (auto s : {charge_status::pending, charge_status::approved, charge_status::declined, charge_status::bad_request,
                 charge_status::rejected})
    if (to_wire(s) == wire) return s;
  return std::nullopt;
}

std::string_view to_wire(list_status s) { return s == list_status::processed ? "PROCESSED" : "NOT_PROCESSED"; }

std::string_view to_wire(life_cycle_state s) {
  switch (s) {
    case life_cycle_state::effective:
      return "EFFECTIVE";
    case life_cycle_state::not_effective:
      return "NOT_EFFECTIVE";
    case life_cycle_state::cancelled:
      return "CANCELLED";
  }
  return "EFFECTIVE";
}

std::optional<life_cycle_state> parse_life_cycle_state(std::string_view wire) {
  for (auto s : {life_cycle_state::effective, life_cycle_state::not_effective, life_cycle_state::cancelled})
    if (to_wire(s) == wire) return s;
  return std::nullopt;
}

std::string_view to_wire(channel c) {
  switch (c) {
    case channel::web:
      return "WEB";
    case channel::store:
      return "STORE";
    case channel::mobile:
      return "MOBILE";
    case channel::broadband:
      return "BROADBAND";
    case channel::other:
      return "OTHER";
  }
  return "OTHER";
}

bool is_json_number(std::string_view t) {
  std::size_t i = 0;
  const auto digit = [&](std::size_t k) { return k < t.size() && t[k] >= '0' && t[k] <= '9'; };
  if (i < t.size() && t[i] == '-') ++i;
  if (!digit(i)) return false;
  if (t[i] == '0')
    ++i;
  else
    while (digit(i)) ++i;
  if (i < t.size() && t[i] == '.') {
    ++i;
    if (!digit(i)) return false;
    while (digit(i)) ++i;
  }
  if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
    ++i;
    if (i < t.size() && (t[i] == '+' || t[i] == '-')) ++i;
    if (!digit(i)) return false;
    while (digit(i)) ++i;
  }
  return i == t.size();
}

bool is_crm_date(std::string_view t) {
  static constexpr std::string_view shape = "dddd-dd-ddTdd:dd:dd";
  if (t.size() != shape.size()) return false;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 'd' ? !std::isdigit(static_cast<unsigned char>(t[i])) : t[i] != shape[i]) return false;
  }
  const auto two = [&](std::size_t at) { return (t[at] - '0') * 10 + (t[at + 1] - '0'); };
  const int month = two(5), day = two(8), hour = two(11), minute = two(14), second = two(17);
  return month >= 1 && month <= 12 && day >= 1 && day <= 31 && hour <= 23 && minute <= 59 && second <= 59;
}

namespace {

// A path for diagnostics: `key` may be a field name the peer chose, so it is quoted like any
// peer text (a tab or a line break in a key must not reach a log line).
std::string join(std::string_view a, std::string_view key) {
  std::string s(a);
  if (!s.empty()) s += '.';
  s += quote_peer_text(key, 64);
  return s;
}

std::string index_path(std::string_view a, std::size_t i) { return std::string(a) + "[" + std::to_string(i) + "]"; }

// Where a value is, for a diagnostic: a whole path, or a parent and a field name or an index,
// joined only when a diagnostic is written. Building "data.charges_set[7].amount" for every
// field read took a third of the instructions spent reading a charges/list page.
// Refers to its parts: use it within the call it is made for.
class json_path {
 public:
  json_path(std::string_view whole) : parent_(whole) {}  // NOLINT: paths are passed as text too
  json_path(const std::string& whole) : parent_(whole) {}  // NOLINT
  json_path(const char* whole) : parent_(whole) {}  // NOLINT
  json_path(std::string_view parent, std::string_view key) : parent_(parent), key_(key), has_key_(true) {}
  json_path(std::string_view parent, std::size_t index) : parent_(parent), index_(index), has_index_(true) {}

  std::string text() const {
    if (has_key_) return join(parent_, key_);
    if (has_index_) return index_path(parent_, index_);
    return std::string(parent_);
  }

 private:
  std::string_view parent_;
  std::string_view key_;
  std::size_t index_ = 0;
  bool has_key_ = false;
  bool has_index_ = false;
};

// Where we are and what we are reading, for diagnostics.
struct reader {
  std::string_view method;

  error bad(const json_path& at, std::string_view what) const {
    const auto path = at.text();
    std::string d;
    d.reserve(method.size() + path.size() + what.size() + 4);
    d.append(method).append(": ").append(path).append(": ").append(what);
    return error{errc::malformed_answer, std::move(d)};
  }

  error json(const json_path& path, simdjson::error_code e) const {
    if (e == simdjson::UTF8_ERROR) return bad(path, "invalid UTF-8");
    if (e == simdjson::DEPTH_ERROR) return bad(path, "nested too deeply");
    if (e == simdjson::STRING_ERROR) return bad(path, "invalid string escape (such as a lone \\ud800)");
    if (e == simdjson::UNESCAPED_CHARS) return bad(path, "control character not escaped inside a string");
    return bad(path, std::string("invalid or truncated JSON (") + simdjson::error_message(e) + ")");
  }
};

std::string_view type_name(od::json_type t) {
  switch (t) {
    case od::json_type::array:
      return "array";
    case od::json_type::object:
      return "object";
    case od::json_type::number:
      return "number";
    case od::json_type::string:
      return "string";
    case od::json_type::boolean:
      return "boolean";
    case od::json_type::null:
      return "null";
  }
  return "unknown";
}

std::string expected(std::string_view what, od::json_type got) {
  return "expected " + std::string(what) + ", got " + std::string(type_name(got));
}

std::string_view trim_json_space(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

result<od::json_type> type_of(const reader& r, od::value& v, const json_path& path) {
  od::json_type t{};
  if (auto e = v.type().get(t)) return r.json(path, e);
  // type() only looks at the first byte: make sure "nul" or "nullx" is not taken for null.
  if (t == od::json_type::null) {
    bool is_null = false;
    if (auto e = v.is_null().get(is_null)) return r.json(path, e);
    if (!is_null) return r.bad(path, "invalid literal");
  }
  return t;
}

result<std::string> read_string(const reader& r, od::value& v, const json_path& path) {
  auto t = type_of(r, v, path);
  if (!t) return t.error();
  if (*t != od::json_type::string) return r.bad(path, expected("a string", *t));
  std::string_view s;
  if (auto e = v.get_string().get(s)) return r.json(path, e);
  return std::string(s);
}

result<std::optional<std::string>> read_nullable_string(const reader& r, od::value& v, const json_path& path) {
  auto t = type_of(r, v, path);
  if (!t) return t.error();
  if (*t == od::json_type::null) return std::optional<std::string>{};
  if (*t != od::json_type::string) return r.bad(path, expected("a string or null", *t));
  std::string_view s;
  if (auto e = v.get_string().get(s)) return r.json(path, e);
  return std::optional<std::string>{std::string(s)};
}

// The number's token text, validated against the JSON grammar (simdjson's type() only looks
// at the first byte, and converting to double would lose the exact decimal text).
result<std::optional<std::string>> read_number_token(const reader& r, od::value& v, const json_path& path,
                                                     bool nullable) {
  auto t = type_of(r, v, path);
  if (!t) return t.error();
  if (nullable && *t == od::json_type::null) return std::optional<std::string>{};
  if (*t != od::json_type::number) return r.bad(path, expected(nullable ? "a number or null" : "a number", *t));
  const std::string_view token = trim_json_space(v.raw_json_token());
  if (!is_json_number(token)) return r.bad(path, "invalid number " + quote_peer_text(token, 40));
  return std::optional<std::string>{std::string(token)};
}

result<std::optional<std::string>> read_date(const reader& r, od::value& v, const json_path& path) {
  auto t = type_of(r, v, path);
  if (!t) return t.error();
  if (*t == od::json_type::null) return std::optional<std::string>{};
  if (*t != od::json_type::string) return r.bad(path, expected("a date string or null", *t));
  std::string_view s;
  if (auto e = v.get_string().get(s)) return r.json(path, e);
  if (!is_crm_date(s)) return r.bad(path, "expected a date YYYY-MM-DDTHH:MM:SS, got " + quote_peer_text(s, 40));
  return std::optional<std::string>{std::string(s)};
}

// The exact JSON text of any value (objects and arrays from their first to last byte).
result<std::string_view> read_raw(const reader& r, od::value& v, const json_path& path) {
  auto t = type_of(r, v, path);
  if (!t) return t.error();
  std::string_view raw;
  simdjson::error_code e = simdjson::SUCCESS;
  if (*t == od::json_type::object) {
    od::object o;
    e = v.get_object().get(o);
    if (!e) e = o.raw_json().get(raw);
  } else if (*t == od::json_type::array) {
    od::array a;
    e = v.get_array().get(a);
    if (!e) e = a.raw_json().get(raw);
  } else {
    raw = v.raw_json_token();
  }
  if (e) return r.json(path, e);
  return trim_json_space(raw);
}

// Calls on_field(key, value) for each field of the object `v` at `path`; a key seen twice is
// malformed (which of two amounts would we bill?).
using field_fn = std::function<result<void>(std::string_view key, od::value& value)>;

result<void> for_each_field(const reader& r, od::object& o, std::string_view path, const field_fn& on_field) {
  // Views into the parser's string buffer, which holds every unescaped string of the document
  // until the parser is used again: no copy per key.
  std::vector<std::string_view> seen;
  seen.reserve(16);
  for (auto field_result : o) {
    od::field f;
    if (auto e = std::move(field_result).get(f)) return r.json(path, e);
    std::string_view key;
    if (auto e = f.unescaped_key().get(key)) return r.json(path, e);
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) return r.bad(json_path(path, key), "duplicate field");
    seen.push_back(key);
    od::value v = f.value();
    if (auto res = on_field(key, v); !res) return res.error();
  }
  return {};
}

result<od::object> as_object(const reader& r, od::value& v, std::string_view path) {
  auto t = type_of(r, v, path);
  if (!t) return t.error();
  if (*t != od::json_type::object) return r.bad(path, expected("an object", *t));
  od::object o;
  if (auto e = v.get_object().get(o)) return r.json(path, e);
  return o;
}

result<od::array> as_array(const reader& r, od::value& v, std::string_view path, std::string_view what = "an array") {
  auto t = type_of(r, v, path);
  if (!t) return t.error();
  if (*t != od::json_type::array) return r.bad(path, expected(what, *t));
  od::array a;
  if (auto e = v.get_array().get(a)) return r.json(path, e);
  return a;
}

// A root object of a separately parsed document (the answer, its data, one element).
result<od::object> root_object(const reader& r, od::document& doc, std::string_view path) {
  od::json_type t{};
  if (auto e = doc.type().get(t)) return r.json(path, e);
  if (t != od::json_type::object) return r.bad(path, expected("an object", t));
  od::object o;
  if (auto e = doc.get_object().get(o)) return r.json(path, e);
  return o;
}

// After the root value was read completely nothing but whitespace may follow.
result<void> expect_end(const reader& r, od::document& doc, std::string_view path) {
  const char* at = nullptr;
  if (doc.current_location().get(at) == simdjson::SUCCESS)
    return r.bad(path, "unexpected content after the JSON value");
  return {};
}

// One separately parsed JSON text: the answer, its data, or one element of an array. Each owns
// a padded copy because simdjson reads past the end of its input.
//
// Parsers are lent from a per-thread spare list: a new one allocates its buffers on first use,
// and a page of 50 charges parses a hundred small texts (each element read, then validated).
// Texts are parsed nested (an element while its page's document is open), hence a list.
class parser_lease {
 public:
  parser_lease() {
    if (spares().empty()) {
      parser_ = std::make_unique<od::parser>();
    } else {
      parser_ = std::move(spares().back());
      spares().pop_back();
    }
  }
  ~parser_lease() {
    // A parser keeps buffers sized for the largest text it parsed: one that read a huge answer
    // is let go rather than kept for the daemon's lifetime.
    constexpr std::size_t max_kept_capacity = 1 << 20;
    if (spares().size() < 8 && parser_->capacity() <= max_kept_capacity) spares().push_back(std::move(parser_));
  }
  parser_lease(const parser_lease&) = delete;
  parser_lease& operator=(const parser_lease&) = delete;
  od::parser& get() { return *parser_; }

 private:
  static std::vector<std::unique_ptr<od::parser>>& spares() {
    thread_local std::vector<std::unique_ptr<od::parser>> list;
    return list;
  }
  std::unique_ptr<od::parser> parser_;
};

class parsed {
 public:
  explicit parsed(std::string_view text) : buf_(text) {}
  result<od::document*> open(const reader& r, std::string_view path) {
    if (auto e = parser_.get().iterate(buf_).get(doc_)) return r.json(path, e);
    return &doc_;
  }

 private:
  simdjson::padded_string buf_;
  parser_lease parser_;  // before doc_: the document refers to its parser
  od::document doc_;
};

// simdjson's On-Demand API checks only what it reads: a value it skips (a field we ignore, an
// element taken as raw text) may hold anything between balanced brackets, "[1,,2]" or
// {"a" 1} included. Every answer is therefore walked once in full before it is read, so that
// what we accept, store in the ledger and hand to billing byte for byte is JSON. Recursion is
// bounded by simdjson's own depth limit.
//
// The elements of charges_set are the one exception: there the walk checks structure only
// (brackets, commas, colons: what decides where one element ends and the next begins, and so
// the offset count), and read_charge checks each element's scalars in full, so that a bad number
// or literal spoils that element alone, reported with its index, not the whole page.
struct json_walk {
  const reader& r;
  std::string_view path;                           // of the text walked, for diagnostics
  std::vector<std::string_view> structure_only_in;  // {"data", "charges_set"}: that array's elements
};

result<void> validate_value(const json_walk& w, od::value& v, std::size_t depth, bool on_path, bool structure_only) {
  const reader& r = w.r;
  od::json_type t{};
  if (structure_only) {
    // The first byte must still start a value: "[1,,2]" is a structure error.
    if (auto e = v.type().get(t)) return r.json(w.path, e);
  } else {
    auto checked = type_of(r, v, w.path);  // null literals are checked there
    if (!checked) return checked.error();
    t = *checked;
  }
  if ((t == od::json_type::object || t == od::json_type::array) && depth >= simdjson::DEFAULT_MAX_DEPTH)
    return r.bad(w.path, "nested too deeply");
  switch (t) {
    case od::json_type::object: {
      od::object o;
      if (auto e = v.get_object().get(o)) return r.json(w.path, e);
      for (auto field_result : o) {
        od::field f;
        if (auto e = std::move(field_result).get(f)) return r.json(w.path, e);
        bool child_on_path = false;
        if (!structure_only) {
          std::string_view key;
          if (auto e = f.unescaped_key().get(key)) return r.json(w.path, e);
          child_on_path = on_path && depth < w.structure_only_in.size() && key == w.structure_only_in[depth];
        }
        od::value fv = f.value();
        if (auto res = validate_value(w, fv, depth + 1, child_on_path, structure_only); !res) return res;
      }
      return {};
    }
    case od::json_type::array: {
      od::array a;
      if (auto e = v.get_array().get(a)) return r.json(w.path, e);
      const bool elements_structure_only =
          structure_only || (on_path && !w.structure_only_in.empty() && depth == w.structure_only_in.size());
      for (auto element : a) {
        od::value ev;
        if (auto e = std::move(element).get(ev)) return r.json(w.path, e);
        if (auto res = validate_value(w, ev, depth + 1, false, elements_structure_only); !res) return res;
      }
      return {};
    }
    case od::json_type::string: {
      std::string_view text;
      if (!structure_only)
        if (auto e = v.get_string().get(text)) return r.json(w.path, e);
      return {};
    }
    case od::json_type::number: {
      const std::string_view token = trim_json_space(v.raw_json_token());
      if (!structure_only && !is_json_number(token))
        return r.bad(w.path, "invalid number " + quote_peer_text(token, 40));
      return {};
    }
    case od::json_type::boolean: {
      bool b = false;
      if (!structure_only)
        if (auto e = v.get_bool().get(b)) return r.json(w.path, e);
      return {};
    }
    case od::json_type::null:
      return {};
  }
  return {};
}

result<void> validate_json(const json_walk& w, std::string_view text) {
  parsed p(text);
  auto doc = p.open(w.r, w.path);
  if (!doc) return doc.error();
  od::value root;
  if (auto e = (*doc)->get_value().get(root)) return w.r.json(w.path, e);
  if (auto res = validate_value(w, root, 0, true, false); !res) return res;
  return expect_end(w.r, **doc, w.path);
}

struct envelope {
  std::string data;  // data's raw JSON text
  bool has_data = false;
};

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

struct status_fields {
  bool present = false;
  std::string code;
  std::string description;
  std::string message;
};

result<status_fields> read_status(const reader& r, od::value& v) {
  auto o = as_object(r, v, "status");
  if (!o) return o.error();
  status_fields s;
  s.present = true;
  bool has_code = false;
  auto res = for_each_field(r, *o, "status", [&](std::string_view key, od::value& fv) -> result<void> {
    if (key == "code") {
      auto c = read_string(r, fv, "status.code");
      if (!c) return c.error();
      s.code = std::move(*c);
      has_code = true;
    } else if (key == "description" || key == "message") {
      auto t = read_nullable_string(r, fv, key == "message" ? "status.message" : "status.description");
      if (!t) return t.error();
      (key == "message" ? s.message : s.description) = t->value_or("");
    }
    return {};
  });
  if (!res) return res.error();
  if (!has_code) return r.bad("status.code", "missing");
  return s;
}

// The envelope: status checked, data's raw text handed on for the method's own parse.
// `structure_only_in`: see json_walk.
result<envelope> read_envelope(const reader& r, std::string_view body,
                               std::vector<std::string_view> structure_only_in = {}) {
  if (auto valid = validate_json(json_walk{r, "answer", std::move(structure_only_in)}, body); !valid)
    return valid.error();
  parsed p(body);
  auto doc = p.open(r, "answer");
  if (!doc) return doc.error();
  auto root = root_object(r, **doc, "answer");
  if (!root) return root.error();
  envelope env;
  status_fields status;
  auto res = for_each_field(r, *root, "", [&](std::string_view key, od::value& v) -> result<void> {
    if (key == "data") {
      auto raw = read_raw(r, v, "data");
      if (!raw) return raw.error();
      env.data = std::string(*raw);
      env.has_data = true;
    } else if (key == "status") {
      auto s = read_status(r, v);
      if (!s) return s.error();
      status = std::move(*s);
    }
    return {};
  });
  if (!res) return res.error();
  if (auto end = expect_end(r, **doc, "answer"); !end) return end.error();
  if (!status.present) return r.bad("status", "missing");
  if (status.code != "OK") {
    std::string text = status.message.empty() ? status.description : status.message;
    return error{errc::crm_status_not_ok, std::string(r.method) + ": status.code " + quote_peer_text(status.code, 60) +
                                              ": " + quote_peer_text(text)};
  }
  if (!env.has_data) return r.bad("data", "missing");
  return env;
}

// Parses data's text as its own document and hands its root object to `fn`.
template <class Fn>
result<void> with_data_object(const reader& r, const envelope& env, Fn&& fn) {
  parsed p(env.data);
  auto doc = p.open(r, "data");
  if (!doc) return doc.error();
  auto o = root_object(r, **doc, "data");
  if (!o) return o.error();
  if (auto res = fn(*o); !res) return res.error();
  return expect_end(r, **doc, "data");
}

// The raw texts of the elements of the array at `path`, each to be parsed on its own so that a
// bad element cannot derail reading the others.
result<std::vector<std::string>> element_texts(const reader& r, od::array& a, std::string_view path) {
  std::vector<std::string> out;
  for (auto element : a) {
    od::value v;
    if (auto e = std::move(element).get(v)) return r.json(json_path(path, out.size()), e);
    auto raw = read_raw(r, v, json_path(path, out.size()));
    if (!raw) return raw.error();
    out.emplace_back(*raw);
  }
  return out;
}

// data's root as an array (promotions, subscriptions): element texts.
result<std::vector<std::string>> data_array_texts(const reader& r, const envelope& env) {
  parsed p(env.data);
  auto doc = p.open(r, "data");
  if (!doc) return doc.error();
  od::json_type t{};
  if (auto e = (*doc)->type().get(t)) return r.json("data", e);
  if (t != od::json_type::array) return r.bad("data", expected("an array", t));
  od::array a;
  if (auto e = (*doc)->get_array().get(a)) return r.json("data", e);
  auto texts = element_texts(r, a, "data");
  if (!texts) return texts.error();
  if (auto end = expect_end(r, **doc, "data"); !end) return end.error();
  return texts;
}

// Parses one element's text as an object and hands it to `fn`.
template <class Fn>
result<void> with_element_object(const reader& r, std::string_view text, std::string_view path, Fn&& fn) {
  parsed p(text);
  auto doc = p.open(r, path);
  if (!doc) return doc.error();
  auto o = root_object(r, **doc, path);
  if (!o) return o.error();
  if (auto res = fn(*o); !res) return res.error();
  return expect_end(r, **doc, path);
}

// Reads an array-valued field of data that may be missing or null (failed_*_set).
template <class Fn>
result<void> read_optional_set(const reader& r, od::value& v, std::string_view path, Fn&& per_element) {
  auto t = type_of(r, v, path);
  if (!t) return t.error();
  if (*t == od::json_type::null) return {};
  auto a = as_array(r, v, path);
  if (!a) return a.error();
  auto texts = element_texts(r, *a, path);
  if (!texts) return texts.error();
  for (std::size_t i = 0; i < texts->size(); ++i)
    if (auto res = per_element(index_path(path, i), (*texts)[i]); !res) return res.error();
  return {};
}

// ---- charges ----

result<charge> read_charge(const reader& r, std::string_view text, const std::string& path) {
  charge c;
  bool has_number = false, has_customer = false, has_amount = false, has_currency = false, has_status = false;
  auto res = with_element_object(r, text, path, [&](od::object& o) {
    return for_each_field(r, o, path, [&](std::string_view key, od::value& v) -> result<void> {
      const json_path p(path, key);
      const auto take_string = [&](std::string& out, bool& has) -> result<void> {
        auto s = read_string(r, v, p);
        if (!s) return s.error();
        if (s->empty()) return r.bad(p, "empty");
        out = std::move(*s);
        has = true;
        return {};
      };
      const auto take_optional = [&](std::optional<std::string>& out, auto&& read) -> result<void> {
        auto s = read();
        if (!s) return s.error();
        out = std::move(*s);
        return {};
      };
      if (key == "number") return take_string(c.number, has_number);
      if (key == "billing_system_customer_identifier") return take_string(c.customer, has_customer);
      if (key == "currency") return take_string(c.currency, has_currency);
      if (key == "amount") {
        auto a = read_number_token(r, v, p, false);
        if (!a) return a.error();
        c.amount = std::move(**a);
        has_amount = true;
        return {};
      }
      if (key == "charge_status") {
        std::string wire;
        bool has = false;
        if (auto s = take_string(wire, has); !s) return s;
        auto st = parse_charge_status(wire);
        if (!st) return r.bad(p, "unknown value " + quote_peer_text(wire, 40));
        c.status = *st;
        has_status = true;
        return {};
      }
      if (key == "local_currency_amount")
        return take_optional(c.local_currency_amount, [&] { return read_number_token(r, v, p, true); });
      if (key == "local_currency")
        return take_optional(c.local_currency, [&] { return read_nullable_string(r, v, p); });
      static constexpr std::array<std::pair<std::string_view, std::optional<std::string> charge::*>, 6> dates{{
          {"paid_through_date", &charge::paid_through_date},
          {"received_on", &charge::received_on},
          {"set_as_approved_on", &charge::set_as_approved_on},
          {"set_as_declined_on", &charge::set_as_declined_on},
          {"set_as_bad_request_on", &charge::set_as_bad_request_on},
          {"set_as_rejected_request_on", &charge::set_as_rejected_request_on},
      }};
      for (const auto& [name, member] : dates)
        if (key == name) return take_optional(c.*member, [&] { return read_date(r, v, p); });
      return {};
    });
  });
  if (!res) return res.error();
  if (!has_number) return r.bad(join(path, "number"), "missing");
  if (!has_customer) return r.bad(join(path, "billing_system_customer_identifier"), "missing");
  if (!has_amount) return r.bad(join(path, "amount"), "missing");
  if (!has_currency) return r.bad(join(path, "currency"), "missing");
  if (!has_status) return r.bad(join(path, "charge_status"), "missing");
  // The fields we read are checked; the rest of the object goes to billing as it is.
  if (auto valid = validate_json(json_walk{r, path, {}}, text); !valid) return valid.error();
  c.raw_json = std::string(text);
  return c;
}

// The fields that decide what is billed, to whom, and whether: two elements naming one charge
// number may differ elsewhere (a date), never here.
std::string conflicting_fields(const charge& a, const charge& b) {
  std::string out;
  const auto add = [&](bool differs, std::string_view name) {
    if (!differs) return;
    if (!out.empty()) out += ", ";
    out += name;
  };
  add(a.customer != b.customer, "billing_system_customer_identifier");
  add(a.amount != b.amount, "amount");
  add(a.currency != b.currency, "currency");
  add(a.status != b.status, "charge_status");
  return out;
}

// One page naming a charge number twice with a different customer, amount, currency or status:
// which of the two would we bill? Every element of that number becomes malformed (reported,
// neither recorded nor acknowledged) until CRM.COM serves one version. Repeats that agree stay
// charges: the ledger records the number once.
void set_aside_conflicting_duplicates(const reader& r, const std::vector<std::string>& texts,
                                      const std::vector<std::size_t>& charge_index, charges_page& page) {
  std::vector<std::string> diagnostics(page.charges.size());
  for (std::size_t i = 0; i < page.charges.size(); ++i) {
    for (std::size_t j = i + 1; j < page.charges.size(); ++j) {
      if (page.charges[i].number != page.charges[j].number) continue;
      const auto fields = conflicting_fields(page.charges[i], page.charges[j]);
      if (fields.empty()) continue;
      const auto note = [&](std::size_t at, std::size_t other) {
        if (!diagnostics[at].empty()) return;
        diagnostics[at] = r.bad(join(index_path("data.charges_set", charge_index[at]), "number"),
                                "charge " + quote_peer_text(page.charges[at].number, 60) + " is also at [" +
                                    std::to_string(charge_index[other]) + "] with a different " + fields)
                              .diagnostic;
      };
      note(i, j);
      note(j, i);
    }
  }
  std::vector<charge> kept;
  for (std::size_t i = 0; i < page.charges.size(); ++i) {
    if (diagnostics[i].empty()) {
      kept.push_back(std::move(page.charges[i]));
      continue;
    }
    const auto& text = texts[charge_index[i]];
    page.malformed.push_back(malformed_charge{charge_index[i], quote_peer_text(text, 1024), std::move(diagnostics[i]),
                                              std::move(page.charges[i].number)});
  }
  page.charges = std::move(kept);
  std::sort(page.malformed.begin(), page.malformed.end(),
            [](const malformed_charge& a, const malformed_charge& b) { return a.index < b.index; });
}

// For the report of a malformed element: its number, if it still reads as one.
std::optional<std::string> readable_number(std::string_view text) {
  simdjson::padded_string buf(text);
  od::parser parser;
  od::document doc;
  if (parser.iterate(buf).get(doc)) return std::nullopt;
  od::object o;
  if (doc.get_object().get(o)) return std::nullopt;
  std::string_view number;
  if (o.find_field_unordered("number").get_string().get(number)) return std::nullopt;
  if (number.empty()) return std::nullopt;
  return std::string(number);
}

// ---- subscriptions/create ----

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

result<void> find_signup_fields(const reader& r, od::value& v, const std::string& path, int depth,
                                subscription_signup& out);

result<void> find_signup_in_object(const reader& r, od::object& o, const std::string& path, int depth,
                                   subscription_signup& out) {
  return for_each_field(r, o, path, [&](std::string_view key, od::value& fv) -> result<void> {
    const std::string p = join(path, key);
    auto ft = type_of(r, fv, p);
    if (!ft) return ft.error();
    if (*ft != od::json_type::string) return find_signup_fields(r, fv, p, depth + 1, out);
    const auto k = lowercase(key);
    auto s = read_string(r, fv, p);
    if (!s) return s.error();
    if (s->empty()) return {};
    if (contains(k, "token") && !out.token)
      out.token = std::move(*s);
    else if (contains(k, "url") && !out.url)
      out.url = std::move(*s);
    return {};
  });
}

result<void> find_signup_in_array(const reader& r, od::array& a, const std::string& path, int depth,
                                  subscription_signup& out) {
  std::size_t i = 0;
  for (auto element : a) {
    od::value ev;
    if (auto e = std::move(element).get(ev)) return r.json(index_path(path, i), e);
    if (auto res = find_signup_fields(r, ev, index_path(path, i), depth + 1, out); !res) return res;
    ++i;
  }
  return {};
}

// Depth first; scalars other than strings are skipped, nesting beyond a few levels ignored.
result<void> find_signup_fields(const reader& r, od::value& v, const std::string& path, int depth,
                                subscription_signup& out) {
  if (depth > 8) return {};
  auto t = type_of(r, v, path);
  if (!t) return t.error();
  if (*t == od::json_type::object) {
    od::object o;
    if (auto e = v.get_object().get(o)) return r.json(path, e);
    return find_signup_in_object(r, o, path, depth, out);
  }
  if (*t == od::json_type::array) {
    od::array a;
    if (auto e = v.get_array().get(a)) return r.json(path, e);
    return find_signup_in_array(r, a, path, depth, out);
  }
  return {};
}

}  // namespace

result<std::string> parse_login(std::string_view body, std::string_view method_name) {
  const reader r{method_name};
  auto env = read_envelope(r, body);
  if (!env) return env.error();
  std::optional<std::string> token;
  auto res = with_data_object(r, *env, [&](od::object& o) {
    return for_each_field(r, o, "data", [&](std::string_view key, od::value& v) -> result<void> {
      if (key != "token") return {};
      auto s = read_string(r, v, "data.token");
      if (!s) return s.error();
      token = std::move(*s);
      return {};
    });
  });
  if (!res) return res.error();
  if (!token) return r.bad("data.token", "missing");
  if (token->empty()) return r.bad("data.token", "empty");
  return std::move(*token);
}

result<charges_page> parse_list_charges(std::string_view body) {
  const reader r{method::list_charges};
  auto env = read_envelope(r, body, {"data", "charges_set"});
  if (!env) return env.error();
  std::optional<std::vector<std::string>> texts;
  auto res = with_data_object(r, *env, [&](od::object& o) {
    return for_each_field(r, o, "data", [&](std::string_view key, od::value& v) -> result<void> {
      if (key != "charges_set") return {};
      auto a = as_array(r, v, "data.charges_set");
      if (!a) return a.error();
      auto t = element_texts(r, *a, "data.charges_set");
      if (!t) return t.error();
      texts = std::move(*t);
      return {};
    });
  });
  if (!res) return res.error();
  // An answer without the list is not "no charges": fail loudly rather than end a pass early.
  if (!texts) return r.bad("data.charges_set", "missing");
  charges_page page;
  page.entries = texts->size();
  std::vector<std::size_t> charge_index;  // position in charges_set of each page.charges entry
  for (std::size_t i = 0; i < texts->size(); ++i) {
    const auto& text = (*texts)[i];
    auto c = read_charge(r, text, index_path("data.charges_set", i));
    if (c) {
      page.charges.push_back(std::move(*c));
      charge_index.push_back(i);
    } else {
      page.malformed.push_back(
          malformed_charge{i, quote_peer_text(text, 1024), std::move(c.error().diagnostic), readable_number(text)});
    }
  }
  set_aside_conflicting_duplicates(r, *texts, charge_index, page);
  return page;
}

result<std::vector<ack_refusal>> parse_acknowledge(std::string_view body) {
  const reader r{method::acknowledge};
  auto env = read_envelope(r, body);
  if (!env) return env.error();
  std::vector<ack_refusal> out;
  auto res = with_data_object(r, *env, [&](od::object& o) {
    return for_each_field(r, o, "data", [&](std::string_view key, od::value& v) -> result<void> {
      if (key != "failed_charges_set") return {};
      return read_optional_set(r, v, "data.failed_charges_set", [&](const std::string& path, std::string_view text) {
        ack_refusal refusal;
        bool has_number = false;
        auto er = with_element_object(r, text, path, [&](od::object& eo) {
          return for_each_field(r, eo, path, [&](std::string_view k, od::value& ev) -> result<void> {
            const std::string p = join(path, k);
            if (k == "number") {
              auto s = read_string(r, ev, p);
              if (!s) return s.error();
              if (s->empty()) return r.bad(p, "empty");
              refusal.number = std::move(*s);
              has_number = true;
              return {};
            }
            std::string* target = k == "reference_number"    ? &refusal.reference_number
                                  : k == "error_code"        ? &refusal.error_code
                                  : k == "error_description" ? &refusal.error_description
                                                             : nullptr;
            if (!target) return {};
            auto s = read_nullable_string(r, ev, p);
            if (!s) return s.error();
            *target = s->value_or("");
            return {};
          });
        });
        if (!er) return er;
        if (!has_number) return result<void>(r.bad(join(path, "number"), "missing"));
        out.push_back(std::move(refusal));
        return result<void>{};
      });
    });
  });
  if (!res) return res.error();
  return out;
}

result<std::vector<promotion>> parse_list_promotions(std::string_view body) {
  const reader r{method::list_promotions};
  auto env = read_envelope(r, body);
  if (!env) return env.error();
  auto texts = data_array_texts(r, *env);
  if (!texts) return texts.error();
  std::vector<promotion> out;
  for (std::size_t i = 0; i < texts->size(); ++i) {
    const std::string path = index_path("data", i);
    promotion p;
    bool has_code = false;
    auto res = with_element_object(r, (*texts)[i], path, [&](od::object& o) {
      return for_each_field(r, o, path, [&](std::string_view key, od::value& v) -> result<void> {
        const std::string fp = join(path, key);
        if (key == "code") {
          auto s = read_string(r, v, fp);
          if (!s) return s.error();
          if (s->empty()) return r.bad(fp, "empty");
          p.code = std::move(*s);
          has_code = true;
          return {};
        }
        std::optional<std::string>* text_target = key == "name"          ? &p.name
                                                  : key == "description" ? &p.description
                                                                         : nullptr;
        if (text_target) {
          auto s = read_nullable_string(r, v, fp);
          if (!s) return s.error();
          *text_target = std::move(*s);
          return {};
        }
        std::optional<std::string>* date_target = key == "effective_from" ? &p.effective_from
                                                  : key == "expires_on"   ? &p.expires_on
                                                                          : nullptr;
        if (date_target) {
          auto s = read_date(r, v, fp);
          if (!s) return s.error();
          *date_target = std::move(*s);
        }
        return {};
      });
    });
    if (!res) return res.error();
    if (!has_code) return r.bad(join(path, "code"), "missing");
    out.push_back(std::move(p));
  }
  return out;
}

namespace {

result<subscription> read_subscription(const reader& r, od::object& o, const std::string& path) {
  subscription s;
  bool has_number = false;
  auto res = for_each_field(r, o, path, [&](std::string_view key, od::value& v) -> result<void> {
    const std::string p = join(path, key);
    if (key == "subscription_number") {
      auto t = read_string(r, v, p);
      if (!t) return t.error();
      if (t->empty()) return r.bad(p, "empty");
      s.subscription_number = std::move(*t);
      has_number = true;
    } else if (key == "netflix_sate") {
      auto t = read_nullable_string(r, v, p);
      if (!t) return t.error();
      s.netflix_state = std::move(*t);
    } else if (key == "life_cycle_state") {
      auto t = read_nullable_string(r, v, p);
      if (!t) return t.error();
      if (*t) {
        auto st = parse_life_cycle_state(**t);
        if (!st) return r.bad(p, "unknown value " + quote_peer_text(**t, 40));
        s.life_cycle = *st;
      }
    } else if (key == "promotions_set" || key == "prices_set") {
      auto t = type_of(r, v, p);
      if (!t) return t.error();
      if (*t == od::json_type::null) return {};
      auto raw = read_raw(r, v, p);
      if (!raw) return raw.error();
      (key == "prices_set" ? s.prices_set : s.promotions_set) = std::string(*raw);
    }
    return {};
  });
  if (!res) return res.error();
  if (!has_number) return r.bad(join(path, "subscription_number"), "missing");
  return s;
}

}  // namespace

result<std::vector<subscription>> parse_show_subscription(std::string_view body) {
  const reader r{method::show_subscription};
  auto env = read_envelope(r, body);
  if (!env) return env.error();
  std::vector<subscription> out;
  parsed p(env->data);
  auto doc = p.open(r, "data");
  if (!doc) return doc.error();
  od::json_type t{};
  if (auto e = (*doc)->type().get(t)) return r.json("data", e);
  if (t == od::json_type::object) {
    od::object o;
    if (auto e = (*doc)->get_object().get(o)) return r.json("data", e);
    bool empty = false;
    if (auto e = o.is_empty().get(empty)) return r.json("data", e);
    if (!empty) {
      auto s = read_subscription(r, o, "data");
      if (!s) return s.error();
      out.push_back(std::move(*s));
    }
    if (auto end = expect_end(r, **doc, "data"); !end) return end.error();
    return out;
  }
  if (t != od::json_type::array) return r.bad("data", expected("an array or an object", t));
  od::array a;
  if (auto e = (*doc)->get_array().get(a)) return r.json("data", e);
  auto texts = element_texts(r, a, "data");
  if (!texts) return texts.error();
  if (auto end = expect_end(r, **doc, "data"); !end) return end.error();
  for (std::size_t i = 0; i < texts->size(); ++i) {
    const std::string path = index_path("data", i);
    auto res = with_element_object(r, (*texts)[i], path, [&](od::object& o) -> result<void> {
      auto s = read_subscription(r, o, path);
      if (!s) return s.error();
      out.push_back(std::move(*s));
      return {};
    });
    if (!res) return res.error();
  }
  return out;
}

result<subscription_signup> parse_create_subscription(std::string_view body) {
  const reader r{method::create_subscription};
  auto env = read_envelope(r, body);
  if (!env) return env.error();
  subscription_signup out;
  out.raw_data = env->data;
  parsed p(env->data);
  auto doc = p.open(r, "data");
  if (!doc) return doc.error();
  od::json_type t{};
  if (auto e = (*doc)->type().get(t)) return r.json("data", e);
  if (t == od::json_type::string) {
    // The whole data is one string: the token itself.
    std::string_view s;
    if (auto e = (*doc)->get_string().get(s)) return r.json("data", e);
    if (!s.empty()) out.token = std::string(s);
  } else if (t == od::json_type::object) {
    od::object o;
    if (auto e = (*doc)->get_object().get(o)) return r.json("data", e);
    if (auto res = find_signup_in_object(r, o, "data", 0, out); !res) return res.error();
    if (auto end = expect_end(r, **doc, "data"); !end) return end.error();
  } else if (t == od::json_type::array) {
    od::array a;
    if (auto e = (*doc)->get_array().get(a)) return r.json("data", e);
    if (auto res = find_signup_in_array(r, a, "data", 0, out); !res) return res.error();
    if (auto end = expect_end(r, **doc, "data"); !end) return end.error();
  }
  if (!out.token && !out.url) return r.bad("data", "no string field named like *token* or *url*");
  return out;
}

result<void> parse_empty_answer(std::string_view body, std::string_view method_name) {
  const reader r{method_name};
  auto env = read_envelope(r, body);
  if (!env) return env.error();
  return {};
}

result<device_result> parse_devices(std::string_view body, std::string_view method_name) {
  const reader r{method_name};
  auto env = read_envelope(r, body);
  if (!env) return env.error();
  device_result out;
  auto res = with_data_object(r, *env, [&](od::object& o) {
    return for_each_field(r, o, "data", [&](std::string_view key, od::value& v) -> result<void> {
      if (key != "failed_devices_set") return {};
      return read_optional_set(r, v, "data.failed_devices_set", [&](const std::string& path, std::string_view text) {
        std::optional<std::string> esn;
        auto er = with_element_object(r, text, path, [&](od::object& eo) {
          return for_each_field(r, eo, path, [&](std::string_view k, od::value& ev) -> result<void> {
            if (k != "esn") return {};
            auto s = read_string(r, ev, join(path, k));
            if (!s) return s.error();
            esn = std::move(*s);
            return {};
          });
        });
        if (!er) return er;
        if (!esn) return result<void>(r.bad(join(path, "esn"), "missing"));
        out.failed_esns.push_back(std::move(*esn));
        return result<void>{};
      });
    });
  });
  if (!res) return res.error();
  return out;
}

failure_kind classify_failed_answer(unsigned http_status, std::string_view body) {
  if (http_status == 401 || http_status == 403) return failure_kind::token_invalid;
  simdjson::padded_string buf(body);
  od::parser parser;
  od::document doc;
  if (parser.iterate(buf).get(doc)) return failure_kind::other;
  od::object root;
  if (doc.get_object().get(root)) return failure_kind::other;
  od::object status;
  if (root.find_field_unordered("status").get_object().get(status)) return failure_kind::other;
  std::string text;
  for (auto field_result : status) {
    od::field f;
    if (std::move(field_result).get(f)) return failure_kind::other;
    std::string_view key;
    if (f.unescaped_key().get(key)) return failure_kind::other;
    if (key != "code" && key != "description" && key != "message") continue;
    std::string_view value;
    if (f.value().get_string().get(value) == simdjson::SUCCESS) text.append(lowercase(value)).append(" ");
  }
  for (std::string_view word : {"token", "expired", "unauthorized", "unauthorised"})
    if (contains(text, word)) return failure_kind::token_invalid;
  return failure_kind::other;
}

}  // namespace chargerecon::crm
