#include "crm/answers.hpp"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <span>

#include "crm/requests.hpp"

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
  // Position by position rather than against a pattern: three dates in every charge read.
  if (t.size() != 19 || t[4] != '-' || t[7] != '-' || t[10] != 'T' || t[13] != ':' || t[16] != ':') return false;
  const auto digit = [&](std::size_t i) { return t[i] >= '0' && t[i] <= '9'; };
  if (!(digit(0) && digit(1) && digit(2) && digit(3) && digit(5) && digit(6) && digit(8) && digit(9) && digit(11) &&
        digit(12) && digit(14) && digit(15) && digit(17) && digit(18)))
    return false;
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
  json_path(std::string_view parent, std::size_t index, std::string_view key)
      : parent_(parent), key_(key), index_(index), has_key_(true), has_index_(true) {}

  std::string text() const {
    std::string base = has_index_ ? index_path(parent_, index_) : std::string(parent_);
    return has_key_ ? join(base, key_) : base;
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

// What type() says `v` is: it only looks at the first byte (see checked_type).
result<od::json_type> first_type(const reader& r, od::value& v, const json_path& path) {
  od::json_type t{};
  if (auto e = v.type().get(t)) return r.json(path, e);
  return t;
}

// `first`, v's first_type, made sure of: "nul" or "nullx" is not taken for null.
result<od::json_type> checked_type(const reader& r, od::value& v, od::json_type first, const json_path& path) {
  if (first == od::json_type::null) {
    bool is_null = false;
    if (auto e = v.is_null().get(is_null)) return r.json(path, e);
    if (!is_null) return r.bad(path, "invalid literal");
  }
  return first;
}

result<od::json_type> type_of(const reader& r, od::value& v, const json_path& path) {
  auto first = first_type(r, v, path);
  if (!first) return first.error();
  return checked_type(r, v, *first, path);
}

// The *_text readers take v's first_type, which their caller may have asked for already, and
// return views into the answer or the parser's string buffer: copy them before the parser reads
// on. charges/list reads its fields with them straight into a charge.

result<std::string_view> string_text(const reader& r, od::value& v, od::json_type first, const json_path& path) {
  auto t = checked_type(r, v, first, path);
  if (!t) return t.error();
  if (*t != od::json_type::string) return r.bad(path, expected("a string", *t));
  std::string_view s;
  if (auto e = v.get_string().get(s)) return r.json(path, e);
  return s;
}

result<std::optional<std::string_view>> nullable_string_text(const reader& r, od::value& v, od::json_type first,
                                                             const json_path& path) {
  auto t = checked_type(r, v, first, path);
  if (!t) return t.error();
  if (*t == od::json_type::null) return std::optional<std::string_view>{};
  if (*t != od::json_type::string) return r.bad(path, expected("a string or null", *t));
  std::string_view s;
  if (auto e = v.get_string().get(s)) return r.json(path, e);
  return std::optional<std::string_view>{s};
}

// The number's token text, validated against the JSON grammar (simdjson's type() only looks
// at the first byte, and converting to double would lose the exact decimal text).
result<std::optional<std::string_view>> number_text(const reader& r, od::value& v, od::json_type first,
                                                    const json_path& path, bool nullable) {
  auto t = checked_type(r, v, first, path);
  if (!t) return t.error();
  if (nullable && *t == od::json_type::null) return std::optional<std::string_view>{};
  if (*t != od::json_type::number) return r.bad(path, expected(nullable ? "a number or null" : "a number", *t));
  const std::string_view token = trim_json_space(v.raw_json_token());
  if (!is_json_number(token)) return r.bad(path, "invalid number " + quote_peer_text(token, 40));
  return std::optional<std::string_view>{token};
}

result<std::optional<std::string_view>> date_text(const reader& r, od::value& v, od::json_type first,
                                                  const json_path& path) {
  auto t = checked_type(r, v, first, path);
  if (!t) return t.error();
  if (*t == od::json_type::null) return std::optional<std::string_view>{};
  if (*t != od::json_type::string) return r.bad(path, expected("a date string or null", *t));
  std::string_view s;
  if (auto e = v.get_string().get(s)) return r.json(path, e);
  if (!is_crm_date(s)) return r.bad(path, "expected a date YYYY-MM-DDTHH:MM:SS, got " + quote_peer_text(s, 40));
  return std::optional<std::string_view>{s};
}

// Owning forms of the readers above, for the other answers.
std::optional<std::string> owned(std::optional<std::string_view> s) {
  if (!s) return std::nullopt;
  return std::string(*s);
}

result<std::string> read_string(const reader& r, od::value& v, const json_path& path) {
  auto first = first_type(r, v, path);
  if (!first) return first.error();
  auto s = string_text(r, v, *first, path);
  if (!s) return s.error();
  return std::string(*s);
}

result<std::optional<std::string>> read_nullable_string(const reader& r, od::value& v, const json_path& path) {
  auto first = first_type(r, v, path);
  if (!first) return first.error();
  auto s = nullable_string_text(r, v, *first, path);
  if (!s) return s.error();
  return owned(*s);
}

result<std::optional<std::string>> read_date(const reader& r, od::value& v, const json_path& path) {
  auto first = first_type(r, v, path);
  if (!first) return first.error();
  auto s = date_text(r, v, *first, path);
  if (!s) return s.error();
  return owned(*s);
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
// malformed (which of two amounts would we bill?). A template, not a std::function: it runs for
// every object of every answer.
template <class Fn>
result<void> for_each_field(const reader& r, od::object& o, std::string_view path, Fn&& on_field) {
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

// One separately parsed JSON text: the answer, or (for the methods other than charges/list) its
// data or one element of an array. Each is a padded copy because simdjson reads past the end of
// its input.
//
// Parsers are lent from a per-thread spare list, each with a buffer for that copy: a new one
// allocates both on first use, which cost as much per page as reading a few charges.
// Texts are parsed nested (an element while its page's document is open), hence a list.
class parser_lease {
 public:
  parser_lease() {
    if (spares().empty()) {
      lent_ = std::make_unique<lent>();
    } else {
      lent_ = std::move(spares().back());
      spares().pop_back();
    }
  }
  ~parser_lease() {
    // A parser and its buffer keep the size of the largest text they held: those that read a
    // huge answer are let go rather than kept for the daemon's lifetime.
    constexpr std::size_t max_kept_capacity = 1 << 20;
    if (spares().size() < 8 && lent_->parser.capacity() <= max_kept_capacity &&
        lent_->text.capacity() <= max_kept_capacity)
      spares().push_back(std::move(lent_));
  }
  parser_lease(const parser_lease&) = delete;
  parser_lease& operator=(const parser_lease&) = delete;
  od::parser& get() { return lent_->parser; }

  // `text` copied into the lent buffer. The padding is zeroed as simdjson::padded_string has
  // it: a literal cut at the very end ("[nul") is read into the padding, and what it holds must
  // not depend on the text parsed before.
  simdjson::padded_string_view copy(std::string_view text) {
    auto& buf = lent_->text;
    buf.resize(text.size() + simdjson::SIMDJSON_PADDING);
    if (!text.empty()) std::memcpy(buf.data(), text.data(), text.size());
    std::memset(buf.data() + text.size(), 0, simdjson::SIMDJSON_PADDING);
    return simdjson::padded_string_view(buf.data(), text.size(), buf.size());
  }

 private:
  struct lent {
    od::parser parser;
    std::vector<char> text;
  };
  static std::vector<std::unique_ptr<lent>>& spares() {
    thread_local std::vector<std::unique_ptr<lent>> list;
    return list;
  }
  std::unique_ptr<lent> lent_;
};

class parsed {
 public:
  explicit parsed(std::string_view text) : text_(lease_.copy(text)) {}
  result<od::document*> open(const reader& r, std::string_view path) {
    if (auto e = lease_.get().iterate(text_).get(doc_)) return r.json(path, e);
    return &doc_;
  }

 private:
  parser_lease lease_;  // before text_ and doc_: both refer to what it lends
  simdjson::padded_string_view text_;
  od::document doc_;
};

// simdjson's On-Demand API checks only what it reads: a value it skips (a field we ignore, an
// element taken as raw text) may hold anything between balanced brackets, "[1,,2]" or
// {"a" 1} included. Every answer is therefore walked once in full before it is read, so that
// what we accept, store in the ledger and hand to billing byte for byte is JSON. Recursion is
// bounded by simdjson's own depth limit.
//
// The elements of charges_set are the one exception: a structure error there (brackets, commas,
// colons: what decides where one element ends and the next begins, and so the offset count)
// still spoils the page, but a bad number, literal or string escape spoils that element alone,
// reported with its index. The walk reads those elements as charges where it meets them
// (read_charges), so that each is checked and read in one pass over the answer's one parse.

// charges/list: what the walk made of the elements of data.charges_set. The list used to be
// copied out of the answer and each element parsed twice (read, then checked): most of the
// instructions spent on a page.
struct charges_read {
  bool done = false;  // the first array at data.charges_set was read; another is a duplicate field
  charges_page page;
  std::vector<std::size_t> charge_index;  // position in charges_set of each page.charges entry
  // An element whose text cannot even be taken ("nul"): it fails the page, but only where
  // data.charges_set is read, after the envelope.
  std::optional<error> unreadable;
  std::vector<std::string_view> keys;  // of the element being read that are not members; kept for its capacity
};

// The first bad value met inside one element of charges_set, with the element's path: the walk
// goes on checking structure only.
struct element_fault {
  json_path path;
  std::optional<error> first;
};

struct json_walk {
  const reader& r;
  std::string_view path;  // of the text walked, for diagnostics
  // {"data", "charges_set"}: that array's elements.
  std::span<const std::string_view> structure_only_in = {};
  // charges/list: its elements are read there. Such a walk also reads the strings it only checks
  // for structure: simdjson skips a string nobody read together with a ':' after it, as if the
  // string were a key, so that ["a":1] would pass for JSON (see parse_list_charges).
  charges_read* charges = nullptr;
  od::document* doc = nullptr;  // the document walked, when `charges` is set
};

result<void> read_charges(const json_walk& w, od::array& a, std::size_t depth);

// `fault`: set while walking inside an element of charges_set (see element_fault).
result<void> validate_value(const json_walk& w, od::value& v, std::size_t depth, bool on_path, bool structure_only,
                            element_fault* fault = nullptr) {
  const reader& r = w.r;
  if (fault && fault->first) structure_only = true;
  // A value that is not JSON ends the walk, except inside an element (see element_fault).
  const auto value_error = [&](auto&& make_error) -> result<void> {
    if (!fault) return make_error(json_path(w.path));
    if (!fault->first) fault->first = make_error(fault->path);
    return {};
  };
  od::json_type t{};
  // The first byte must start a value even where only structure is checked: "[1,,2]" is a
  // structure error.
  if (auto e = v.type().get(t)) return r.json(w.path, e);
  if (!structure_only && t == od::json_type::null) {
    // type() only looks at the first byte: make sure "nul" or "nullx" is not taken for null.
    bool is_null = false;
    if (auto e = v.is_null().get(is_null)) return value_error([&](const json_path& at) { return r.json(at, e); });
    if (!is_null) return value_error([&](const json_path& at) { return r.bad(at, "invalid literal"); });
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
          if (auto e = f.unescaped_key().get(key)) {
            if (auto res = value_error([&](const json_path& at) { return r.json(at, e); }); !res) return res;
          } else {
            child_on_path = on_path && depth < w.structure_only_in.size() && key == w.structure_only_in[depth];
          }
        }
        od::value fv = f.value();
        if (auto res = validate_value(w, fv, depth + 1, child_on_path, structure_only, fault); !res) return res;
      }
      return {};
    }
    case od::json_type::array: {
      od::array a;
      if (auto e = v.get_array().get(a)) return r.json(w.path, e);
      const bool at_list = on_path && !w.structure_only_in.empty() && depth == w.structure_only_in.size();
      if (at_list && w.charges && !w.charges->done) return read_charges(w, a, depth + 1);
      const bool elements_structure_only = structure_only || at_list;
      for (auto element : a) {
        od::value ev;
        if (auto e = std::move(element).get(ev)) return r.json(w.path, e);
        if (auto res = validate_value(w, ev, depth + 1, false, elements_structure_only, fault); !res) return res;
      }
      return {};
    }
    case od::json_type::string: {
      if (structure_only) {
        if (!w.charges) return {};
        od::raw_json_string raw;
        if (auto e = v.get_raw_json_string().get(raw)) return r.json(w.path, e);
        return {};
      }
      std::string_view text;
      if (auto e = v.get_string().get(text)) return value_error([&](const json_path& at) { return r.json(at, e); });
      return {};
    }
    case od::json_type::number: {
      if (structure_only) return {};
      const std::string_view token = trim_json_space(v.raw_json_token());
      if (!is_json_number(token))
        return value_error(
            [&](const json_path& at) { return r.bad(at, "invalid number " + quote_peer_text(token, 40)); });
      return {};
    }
    case od::json_type::boolean: {
      bool b = false;
      if (!structure_only)
        if (auto e = v.get_bool().get(b)) return value_error([&](const json_path& at) { return r.json(at, e); });
      return {};
    }
    case od::json_type::null:
      return {};
  }
  return {};
}

// Walks a whole document that was just opened (see validate_value).
result<void> validate_document(const json_walk& w, od::document& doc) {
  od::value root;
  if (auto e = doc.get_value().get(root)) return w.r.json(w.path, e);
  if (auto res = validate_value(w, root, 0, true, false); !res) return res;
  return expect_end(w.r, doc, w.path);
}

result<void> validate_json(const json_walk& w, std::string_view text) {
  parsed p(text);
  auto doc = p.open(w.r, w.path);
  if (!doc) return doc.error();
  return validate_document(w, **doc);
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

// The envelope of an answer whose document validate_document has walked: status checked, and
// data handed to `on_data` where it stands (an error it returns ends the reading there).
template <class OnData>
result<void> read_envelope_fields(const reader& r, od::document& doc, OnData&& on_data) {
  doc.rewind();  // reads the parse the walk made again, rather than parsing the answer twice
  auto root = root_object(r, doc, "answer");
  if (!root) return root.error();
  bool has_data = false;
  status_fields status;
  auto res = for_each_field(r, *root, "", [&](std::string_view key, od::value& v) -> result<void> {
    if (key == "data") {
      if (auto d = on_data(v); !d) return d;
      has_data = true;
    } else if (key == "status") {
      auto s = read_status(r, v);
      if (!s) return s.error();
      status = std::move(*s);
    }
    return {};
  });
  if (!res) return res.error();
  if (auto end = expect_end(r, doc, "answer"); !end) return end.error();
  if (!status.present) return r.bad("status", "missing");
  if (status.code != "OK") {
    std::string text = status.message.empty() ? status.description : status.message;
    return error{errc::crm_status_not_ok, std::string(r.method) + ": status.code " + quote_peer_text(status.code, 60) +
                                              ": " + quote_peer_text(text)};
  }
  if (!has_data) return r.bad("data", "missing");
  return {};
}

// The envelope: status checked, data's raw text handed on for the method's own parse.
// `structure_only_in`: see json_walk.
result<envelope> read_envelope(const reader& r, std::string_view body,
                               std::span<const std::string_view> structure_only_in = {}) {
  parsed p(body);
  auto doc = p.open(r, "answer");
  if (!doc) return doc.error();
  if (auto valid = validate_document(json_walk{r, "answer", structure_only_in}, **doc); !valid) return valid.error();
  envelope env;
  auto res = read_envelope_fields(r, **doc, [&](od::value& v) -> result<void> {
    auto raw = read_raw(r, v, "data");
    if (!raw) return raw.error();
    env.data = std::string(*raw);
    env.has_data = true;
    return {};
  });
  if (!res) return res.error();
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

constexpr std::string_view charges_set_path = "data.charges_set";

enum class charge_member { number, customer, amount, currency, status, local_amount, local_currency, date };

struct charge_member_key {
  std::string_view key;
  charge_member member;
  std::optional<std::string> charge::*date = nullptr;
};

// In the order CRM.COM sends them, which find_charge_member relies on to be quick, not to be
// right.
constexpr std::array<charge_member_key, 13> charge_members{{
    {"number", charge_member::number},
    {"billing_system_customer_identifier", charge_member::customer},
    {"amount", charge_member::amount},
    {"currency", charge_member::currency},
    {"local_currency_amount", charge_member::local_amount},
    {"local_currency", charge_member::local_currency},
    {"paid_through_date", charge_member::date, &charge::paid_through_date},
    {"charge_status", charge_member::status},
    {"received_on", charge_member::date, &charge::received_on},
    {"set_as_approved_on", charge_member::date, &charge::set_as_approved_on},
    {"set_as_declined_on", charge_member::date, &charge::set_as_declined_on},
    {"set_as_bad_request_on", charge_member::date, &charge::set_as_bad_request_on},
    {"set_as_rejected_request_on", charge_member::date, &charge::set_as_rejected_request_on},
}};

// The member of a charge that `key` names, or null for a field we do not read. The one after
// the previous match (`next`) is tried first: one comparison per field, not up to thirteen.
const charge_member_key* find_charge_member(std::string_view key, std::size_t& next) {
  for (std::size_t k = 0; k < charge_members.size(); ++k) {
    const std::size_t at = (next + k) % charge_members.size();
    if (charge_members[at].key == key) {
      next = at + 1;
      return &charge_members[at];
    }
  }
  return nullptr;
}

std::uint32_t member_bit(const charge_member_key& m) {
  return std::uint32_t{1} << static_cast<std::size_t>(&m - charge_members.data());
}

struct charge_fields_read {
  bool number = false, customer = false, amount = false, currency = false, status = false;
};

// `first`: the value's first_type, which the walk asked for already.
result<void> read_charge_member(const reader& r, od::value& v, od::json_type first, const charge_member_key& m,
                                const json_path& p, charge& c, charge_fields_read& has) {
  const auto take_string = [&](std::string& out, bool& seen) -> result<void> {
    auto s = string_text(r, v, first, p);
    if (!s) return s.error();
    if (s->empty()) return r.bad(p, "empty");
    out.assign(*s);
    seen = true;
    return {};
  };
  const auto take_optional = [&](std::optional<std::string>& out, auto&& read) -> result<void> {
    auto s = read();
    if (!s) return s.error();
    if (*s)
      out.emplace(**s);
    else
      out.reset();
    return {};
  };
  switch (m.member) {
    case charge_member::number:
      return take_string(c.number, has.number);
    case charge_member::customer:
      return take_string(c.customer, has.customer);
    case charge_member::currency:
      return take_string(c.currency, has.currency);
    case charge_member::amount: {
      auto a = number_text(r, v, first, p, false);
      if (!a) return a.error();
      c.amount.assign(**a);
      has.amount = true;
      return {};
    }
    case charge_member::status: {
      auto s = string_text(r, v, first, p);
      if (!s) return s.error();
      if (s->empty()) return r.bad(p, "empty");
      auto st = parse_charge_status(*s);
      if (!st) return r.bad(p, "unknown value " + quote_peer_text(*s, 40));
      c.status = *st;
      has.status = true;
      return {};
    }
    case charge_member::local_amount:
      return take_optional(c.local_currency_amount, [&] { return number_text(r, v, first, p, true); });
    case charge_member::local_currency:
      return take_optional(c.local_currency, [&] { return nullable_string_text(r, v, first, p); });
    case charge_member::date:
      return take_optional(c.*m.date, [&] { return date_text(r, v, first, p); });
  }
  return {};
}

std::optional<error> missing_charge_field(const reader& r, const charge_fields_read& has, std::size_t index) {
  const auto missing = [&](std::string_view key) { return r.bad(json_path(charges_set_path, index, key), "missing"); };
  if (!has.number) return missing("number");
  if (!has.customer) return missing("billing_system_customer_identifier");
  if (!has.amount) return missing("amount");
  if (!has.currency) return missing("currency");
  if (!has.status) return missing("charge_status");
  return std::nullopt;
}

void add_malformed(charges_read& list, std::size_t index, std::string_view text, std::string diagnostic) {
  list.page.malformed.push_back(
      malformed_charge{index, quote_peer_text(text, 1024), std::move(diagnostic), readable_number(text)});
}

// One element of charges_set, met by the walk at `depth`: a charge, or a malformed element with
// the first thing wrong with it. What is wrong with a field we read (missing, of the wrong type,
// named twice, unescapable) tells before a bad value in a field we ignore, as when each element
// was read first and checked after. An error returned is one of structure: it spoils the page.
result<void> read_charge_element(const json_walk& w, od::value& v, std::size_t depth, std::size_t index) {
  const reader& r = w.r;
  charges_read& list = *w.charges;
  const json_path path(charges_set_path, index);
  od::json_type t{};
  if (auto e = v.type().get(t)) return r.json(w.path, e);
  const char* start = v.raw_json_token().data();
  // The element's text runs to where the walk stands once the element is behind it. Nothing
  // stands there when the answer ends inside the list: the walk fails on the list right after,
  // and the answer is read as before (see parse_list_charges).
  const auto text_so_far = [&]() -> std::string_view {
    const char* end = nullptr;
    if (w.doc->current_location().get(end)) return {};
    return trim_json_space(std::string_view(start, static_cast<std::size_t>(end - start)));
  };
  if (t != od::json_type::object) {
    if (auto res = validate_value(w, v, depth, false, true); !res) return res;
    std::string_view text;
    if (t == od::json_type::array) {
      text = text_so_far();
    } else {
      auto raw = read_raw(r, v, path);
      if (!raw) {
        if (!list.unreadable) list.unreadable = raw.error();
        return {};
      }
      text = *raw;
    }
    add_malformed(list, index, text, r.bad(path, expected("an object", t)).diagnostic);
    return {};
  }
  if (depth >= simdjson::DEFAULT_MAX_DEPTH) return r.bad(w.path, "nested too deeply");
  od::object o;
  if (auto e = v.get_object().get(o)) return r.json(w.path, e);

  charge& c = list.page.charges.emplace_back();
  charge_fields_read has;
  std::optional<error> failed;      // the first error reading a field: it decides
  element_fault invalid{path, {}};  // the first bad value in a field not read
  list.keys.clear();
  std::uint32_t members_seen = 0;
  std::size_t next_member = 0;
  for (auto field_result : o) {
    od::field f;
    if (auto e = std::move(field_result).get(f)) return r.json(w.path, e);
    od::value fv = f.value();
    const auto check_structure = [&] { return validate_value(w, fv, depth + 1, false, true); };
    if (failed) {
      if (auto res = check_structure(); !res) return res;
      continue;
    }
    std::string_view key;
    const charge_member_key* member = nullptr;
    if (auto e = f.unescaped_key().get(key)) {
      failed = r.json(path, e);
    } else {
      member = find_charge_member(key, next_member);
      // A key seen twice: a member's by its bit, any other by comparison with the other keys
      // that are not members' (a member's key cannot equal one of those).
      const bool twice = member ? (members_seen & member_bit(*member)) != 0
                                : std::find(list.keys.begin(), list.keys.end(), key) != list.keys.end();
      if (twice)
        failed = r.bad(json_path(charges_set_path, index, key), "duplicate field");
      else if (member)
        members_seen |= member_bit(*member);
      else
        list.keys.push_back(key);
    }
    if (failed) {
      if (auto res = check_structure(); !res) return res;
      continue;
    }
    if (!member) {
      if (auto res = validate_value(w, fv, depth + 1, false, false, &invalid); !res) return res;
      continue;
    }
    od::json_type ft{};
    if (auto e = fv.type().get(ft)) return r.json(w.path, e);
    auto read = read_charge_member(r, fv, ft, *member, json_path(charges_set_path, index, key), c, has);
    if (read) continue;
    failed = std::move(read).error();
    // Whatever the reading left of the value (an object, a string of the wrong kind) is walked.
    if (auto res = check_structure(); !res) return res;
  }
  const std::string_view text = text_so_far();
  if (!failed) failed = missing_charge_field(r, has, index);
  if (!failed) failed = std::move(invalid.first);
  if (failed) {
    list.page.charges.pop_back();
    add_malformed(list, index, text, std::move(failed->diagnostic));
    return {};
  }
  // The fields we read are checked; the rest of the object goes to billing as it is.
  c.raw_json.assign(text);
  list.charge_index.push_back(index);
  return {};
}

result<void> read_charges(const json_walk& w, od::array& a, std::size_t depth) {
  charges_read& list = *w.charges;
  list.done = true;
  list.page.charges.reserve(max_results_per_page);
  list.charge_index.reserve(max_results_per_page);
  std::size_t index = 0;
  for (auto element : a) {
    od::value v;
    if (auto e = std::move(element).get(v)) return w.r.json(w.path, e);
    if (auto res = read_charge_element(w, v, depth, index++); !res) return res;
  }
  list.page.entries = index;
  return {};
}

// data, read where it stands in the answer: its charges_set must be an array, whose elements
// the walk before has read.
result<void> read_list_data(const reader& r, od::value& v, const charges_read& list, bool& listed) {
  auto o = as_object(r, v, "data");
  if (!o) return o.error();
  return for_each_field(r, *o, "data", [&](std::string_view key, od::value& fv) -> result<void> {
    if (key != "charges_set") return {};
    auto a = as_array(r, fv, charges_set_path);
    if (!a) return a.error();
    if (list.unreadable) return *list.unreadable;
    listed = true;
    return {};
  });
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
void set_aside_conflicting_duplicates(const reader& r, const std::vector<std::size_t>& charge_index,
                                      charges_page& page) {
  // Only charges whose numbers hash alike are compared with each other, in page order as before:
  // comparing every pair of a page took more instructions than reading its charges.
  std::vector<std::pair<std::size_t, std::size_t>> by_hash;  // hash of the number, position in page.charges
  by_hash.reserve(page.charges.size());
  for (std::size_t i = 0; i < page.charges.size(); ++i)
    by_hash.emplace_back(std::hash<std::string_view>{}(page.charges[i].number), i);
  std::sort(by_hash.begin(), by_hash.end());
  std::vector<std::string> diagnostics;
  bool any = false;
  for (std::size_t run = 0, run_end = 0; run < by_hash.size(); run = run_end) {
    run_end = run + 1;
    while (run_end < by_hash.size() && by_hash[run_end].first == by_hash[run].first) ++run_end;
    for (std::size_t a = run; a < run_end; ++a) {
      for (std::size_t b = a + 1; b < run_end; ++b) {
        const std::size_t i = by_hash[a].second, j = by_hash[b].second;
        if (page.charges[i].number != page.charges[j].number) continue;
        const auto fields = conflicting_fields(page.charges[i], page.charges[j]);
        if (fields.empty()) continue;
        diagnostics.resize(page.charges.size());
        const auto note = [&](std::size_t at, std::size_t other) {
          if (!diagnostics[at].empty()) return;
          diagnostics[at] = r.bad(json_path(charges_set_path, charge_index[at], "number"),
                                  "charge " + quote_peer_text(page.charges[at].number, 60) + " is also at [" +
                                      std::to_string(charge_index[other]) + "] with a different " + fields)
                                .diagnostic;
        };
        note(i, j);
        note(j, i);
        any = true;
      }
    }
  }
  if (!any) return;  // page.malformed is in index order already
  std::vector<charge> kept;
  for (std::size_t i = 0; i < page.charges.size(); ++i) {
    if (diagnostics[i].empty()) {
      kept.push_back(std::move(page.charges[i]));
      continue;
    }
    page.malformed.push_back(malformed_charge{charge_index[i], quote_peer_text(page.charges[i].raw_json, 1024),
                                              std::move(diagnostics[i]), std::move(page.charges[i].number)});
  }
  page.charges = std::move(kept);
  std::sort(page.malformed.begin(), page.malformed.end(),
            [](const malformed_charge& a, const malformed_charge& b) { return a.index < b.index; });
}

// ---- charges/list read as it was before the one walk ----
// The data's text and then each element's are parsed on their own: an element is read, then
// checked. Used for the answers whose walk found them not to be JSON (see parse_list_charges).

constexpr std::array<std::string_view, 2> list_path{"data", "charges_set"};

result<charge> read_charge(const reader& r, std::string_view text, std::size_t index) {
  const std::string path = index_path(charges_set_path, index);
  charge c;
  charge_fields_read has;
  auto res = with_element_object(r, text, path, [&](od::object& o) {
    std::size_t next_member = 0;
    return for_each_field(r, o, path, [&](std::string_view key, od::value& v) -> result<void> {
      const auto* member = find_charge_member(key, next_member);
      if (!member) return {};
      const json_path p(path, key);
      auto first = first_type(r, v, p);
      if (!first) return first.error();
      return read_charge_member(r, v, *first, *member, p, c, has);
    });
  });
  if (!res) return res.error();
  if (auto missing = missing_charge_field(r, has, index)) return std::move(*missing);
  // The fields we read are checked; the rest of the object goes to billing as it is.
  if (auto valid = validate_json(json_walk{r, path}, text); !valid) return valid.error();
  c.raw_json = std::string(text);
  return c;
}

result<charges_page> parse_list_charges_by_texts(const reader& r, std::string_view body) {
  auto env = read_envelope(r, body, list_path);
  if (!env) return env.error();
  std::optional<std::vector<std::string>> texts;
  auto res = with_data_object(r, *env, [&](od::object& o) {
    return for_each_field(r, o, "data", [&](std::string_view key, od::value& v) -> result<void> {
      if (key != "charges_set") return {};
      auto a = as_array(r, v, charges_set_path);
      if (!a) return a.error();
      auto t = element_texts(r, *a, charges_set_path);
      if (!t) return t.error();
      texts = std::move(*t);
      return {};
    });
  });
  if (!res) return res.error();
  if (!texts) return r.bad(charges_set_path, "missing");
  charges_page page;
  page.entries = texts->size();
  std::vector<std::size_t> charge_index;  // position in charges_set of each page.charges entry
  for (std::size_t i = 0; i < texts->size(); ++i) {
    const auto& text = (*texts)[i];
    auto c = read_charge(r, text, i);
    if (c) {
      page.charges.push_back(std::move(*c));
      charge_index.push_back(i);
    } else {
      page.malformed.push_back(
          malformed_charge{i, quote_peer_text(text, 1024), std::move(c.error().diagnostic), readable_number(text)});
    }
  }
  set_aside_conflicting_duplicates(r, charge_index, page);
  return page;
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
  parsed p(body);
  auto doc = p.open(r, "answer");
  if (!doc) return doc.error();
  charges_read list;
  // An answer that is not JSON, or not in a value outside the list, is read as it was before the
  // one walk: how simdjson finds its way through one that is not JSON depends on what is read,
  // and such an answer must fail, or not, and say the same as it did (see json_walk).
  if (auto valid = validate_document(json_walk{r, "answer", list_path, &list, *doc}, **doc); !valid)
    return parse_list_charges_by_texts(r, body);
  // What is wrong with data is told only once the envelope is found sound.
  result<void> data_read;
  bool listed = false;
  auto env = read_envelope_fields(r, **doc, [&](od::value& v) -> result<void> {
    data_read = read_list_data(r, v, list, listed);
    return {};
  });
  if (!env) return env.error();
  if (!data_read) return data_read.error();
  // An answer without the list is not "no charges": fail loudly rather than end a pass early.
  if (!listed) return r.bad(charges_set_path, "missing");
  set_aside_conflicting_duplicates(r, list.charge_index, list.page);
  return std::move(list.page);
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
