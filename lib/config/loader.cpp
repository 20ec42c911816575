#include "config/loader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <boost/throw_exception.hpp>
#include <boost/url/ipv4_address.hpp>
#include <boost/url/ipv6_address.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "http/client.hpp"

namespace chargerecon {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

std::string config_problem::to_string() const {
  std::string out = file;
  if (line != 0) out += ":" + std::to_string(line);
  if (!out.empty()) out += ": ";
  if (!key.empty()) out += key + ": ";
  out += message;
  return out;
}

error config_error::to_error() const {
  std::string text;
  for (const auto& p : problems) {
    if (!text.empty()) text += '\n';
    text += p.to_string();
  }
  return error{errc::config_invalid, std::move(text)};
}

void throw_exception_from_error(const config_error& e, const boost::source_location& loc) {
  const error err = e.to_error();
  boost::throw_exception(boost::system::system_error(err.code, err.diagnostic), loc);
}

namespace {

constexpr std::string_view duration_hint = "a duration like 500ms, 30s, 5m, 1h";
constexpr std::string_view size_hint = "a size like 65536, 512KiB, 16MiB";
constexpr std::size_t kib = 1024;
constexpr std::size_t mib = 1024 * kib;
constexpr std::size_t gib = 1024 * mib;

// Values echoed in problems come from the operator's file, but may hold anything (a pasted
// binary, terminal escapes): they are escaped and cut like peer text.
std::string quoted(std::string_view text) { return "'" + quote_peer_text(text, 80) + "'"; }

std::size_t line_of(const YAML::Mark& mark) {
  return mark.is_null() || mark.line < 0 ? 0 : static_cast<std::size_t>(mark.line) + 1;
}

std::string_view kind_of(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "a single value";
    default:
      return "nothing";
  }
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// Case-insensitive Levenshtein distance, for "did you mean" on unknown keys.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      const std::size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + cost});
      diagonal = up;
    }
  }
  return row[b.size()];
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::optional<std::uint64_t> parse_whole(std::string_view s) {
  if (!all_digits(s)) return std::nullopt;
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// A number followed by a unit from `units`; nullopt when the text does not have that shape.
// `overflow` is set when it has the shape but does not fit.
template <std::size_t N>
std::optional<std::uint64_t> parse_with_unit(std::string_view text,
                                             const std::pair<std::string_view, std::uint64_t> (&units)[N],
                                             bool& overflow) {
  overflow = false;
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0) return std::nullopt;
  const std::string_view unit = text.substr(digits);
  for (const auto& [name, factor] : units) {
    if (unit != name) continue;
    const auto number = parse_whole(text.substr(0, digits));
    if (!number || *number > std::numeric_limits<std::uint64_t>::max() / factor) {
      overflow = true;
      return std::nullopt;
    }
    return *number * factor;
  }
  return std::nullopt;
}

constexpr std::pair<std::string_view, std::uint64_t> duration_units[] = {
    {"ms", 1}, {"s", 1000}, {"m", 60 * 1000}, {"h", 60 * 60 * 1000}};
constexpr std::pair<std::string_view, std::uint64_t> size_units[] = {
    {"", 1}, {"B", 1}, {"KiB", kib}, {"MiB", mib}, {"GiB", gib}};
// Past this, a duration can only be a typo (and milliseconds arithmetic stays far from overflow).
constexpr std::uint64_t max_duration_ms = 100ull * 366 * 24 * 60 * 60 * 1000;

// Collects the problems of one document; optionally records every key path the parser asks
// for (config_key_paths).
struct report {
  std::string file;
  std::vector<config_problem> problems;
  std::vector<std::string>* key_paths = nullptr;

  void add(std::size_t line, std::string key, std::string message) {
    problems.push_back({file, line, std::move(key), std::move(message)});
  }
};

// One mapping of the document: the root or a section such as `poll`. Readers look keys up by
// name and remember the names, so whatever the document holds that nobody asked for is
// reported by finish() as an unknown key. A reader leaves its output untouched (the default)
// when the key is absent, null, or wrong; in the last case it reports why.
class mapping {
 public:
  mapping(report& r, std::string path, const YAML::Node& node, std::size_t line)
      : report_(r), path_(std::move(path)), line_(line) {
    if (!node.IsMap()) return;
    for (auto it = node.begin(); it != node.end(); ++it) {
      const std::size_t key_line = line_of(it->first.Mark());
      if (!it->first.IsScalar()) {
        report_.add(key_line, path_, "a key must be a plain name, got " + std::string(kind_of(it->first)));
        continue;
      }
      const std::string& name = it->first.Scalar();
      if (const entry* first = lookup(name)) {
        report_.add(key_line, path_of(quote_peer_text(name, 60)),
                    "duplicate key (first set at line " + std::to_string(first->line) + ")");
        continue;
      }
      entries_.push_back({name, key_line, it->second});
    }
  }

  std::string path_of(std::string_view name) const {
    return path_.empty() ? std::string(name) : path_ + "." + std::string(name);
  }

  // The key's line when present, else the mapping's own line.
  std::size_t line_of_key(std::string_view name) const {
    const entry* e = lookup(name);
    return e ? e->line : line_;
  }

  void problem(std::string_view name, std::string message) {
    report_.add(line_of_key(name), path_of(name), std::move(message));
  }

  // Present with a non-null value.
  bool has(std::string_view name) {
    note(name);
    const entry* e = lookup(name);
    return e && !e->value.IsNull();
  }

  void missing(std::string_view name) { problem(name, "mandatory key is missing"); }

  // Reads a sub-mapping and hands it to `parse`; absent or null: `parse` sees an empty one.
  void section(std::string_view name, const std::function<void(mapping&)>& parse) {
    const entry* e = lookup(name);
    known_.emplace_back(name);
    if (e && !e->value.IsNull() && !e->value.IsMap()) {
      problem(name, "expected a mapping of " + std::string(name) + " settings, got " + std::string(kind_of(e->value)));
      // Its keys would all be reported missing: noise after the one problem that matters.
      report discard{report_.file, {}, report_.key_paths};
      mapping child(discard, path_of(name), YAML::Node(), e->line);
      parse(child);
      return;
    }
    mapping child(report_, path_of(name), e ? e->value : YAML::Node(), e ? e->line : 0);
    parse(child);
    child.finish();
  }

  bool read(std::string_view name, std::string& out) {
    const entry* e = scalar(name, "a text value");
    if (!e) return false;
    out = e->value.Scalar();
    return true;
  }

  // A string that must be present and non-empty.
  bool read_mandatory(std::string_view name, std::string& out) {
    if (read(name, out) && !out.empty()) return true;
    if (const entry* e = lookup(name); !e || e->value.IsNull() || (e->value.IsScalar() && out.empty())) missing(name);
    return false;
  }

  bool read(std::string_view name, bool& out) {
    const entry* e = scalar(name, "true or false");
    if (!e) return false;
    // YAML 1.2's core schema: no yes/no/on/off, which YAML 1.1 readers disagree on.
    static constexpr std::string_view trues[] = {"true", "True", "TRUE"};
    static constexpr std::string_view falses[] = {"false", "False", "FALSE"};
    const std::string& text = e->value.Scalar();
    if (std::find(std::begin(trues), std::end(trues), text) != std::end(trues))
      out = true;
    else if (std::find(std::begin(falses), std::end(falses), text) != std::end(falses))
      out = false;
    else {
      problem(name, "expected true or false, got " + quoted(text));
      return false;
    }
    return true;
  }

  bool read(std::string_view name, milliseconds& out, milliseconds min, milliseconds max) {
    const entry* e = scalar(name, duration_hint);
    if (!e) return false;
    const std::string& text = e->value.Scalar();
    bool overflow = false;
    const auto value = parse_with_unit(text, duration_units, overflow);
    const std::string range = " is out of range " + format_duration(min) + ".." + format_duration(max);
    if (!value) {
      if (overflow)
        problem(name, quote_peer_text(text, 80) + range);
      else if (!text.empty() && text[0] == '-')
        problem(name, quoted(text) + " is negative; expected " + std::string(duration_hint));
      else if (all_digits(text))
        problem(name, quoted(text) + " has no unit; expected " + std::string(duration_hint));
      else
        problem(name, "expected " + std::string(duration_hint) + ", got " + quoted(text));
      return false;
    }
    if (*value < static_cast<std::uint64_t>(min.count()) || *value > static_cast<std::uint64_t>(max.count())) {
      problem(name, text + range);
      return false;
    }
    out = milliseconds(static_cast<milliseconds::rep>(*value));
    return true;
  }

  bool read(std::string_view name, unsigned& out, unsigned min, unsigned max) {
    const entry* e = scalar(name, "a whole number");
    if (!e) return false;
    const std::string& text = e->value.Scalar();
    const std::string range = " is out of range " + std::to_string(min) + ".." + std::to_string(max);
    std::int64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec == std::errc::result_out_of_range && end == text.data() + text.size()) {
      problem(name, text + range);
      return false;
    }
    if (ec != std::errc{} || end != text.data() + text.size()) {
      problem(name, "expected a whole number, got " + quoted(text));
      return false;
    }
    if (value < static_cast<std::int64_t>(min) || value > static_cast<std::int64_t>(max)) {
      problem(name, text + range);
      return false;
    }
    out = static_cast<unsigned>(value);
    return true;
  }

  bool read_size(std::string_view name, std::size_t& out, std::size_t min, std::size_t max) {
    const entry* e = scalar(name, size_hint);
    if (!e) return false;
    const std::string& text = e->value.Scalar();
    bool overflow = false;
    const auto value = parse_with_unit(text, size_units, overflow);
    const std::string range = " is out of range " + format_size(min) + ".." + format_size(max);
    if (!value && !overflow) {
      problem(name, "expected " + std::string(size_hint) + ", got " + quoted(text));
      return false;
    }
    if (!value || *value < min || *value > max) {
      problem(name, quote_peer_text(text, 80) + range);
      return false;
    }
    out = static_cast<std::size_t>(*value);
    return true;
  }

  // A list of scalars, each turned into E by `parse`, which explains a refusal in `why`.
  // Absent keeps the default; an empty list is refused when `allow_empty` is false.
  template <class E>
  bool read_list(std::string_view name, std::vector<E>& out,
                 const std::function<std::optional<E>(std::string_view, std::string& why)>& parse, bool allow_empty,
                 std::string_view what_to_list) {
    note(name);
    const entry* e = lookup(name);
    if (!e || e->value.IsNull()) return false;
    if (!e->value.IsSequence()) {
      problem(name, "expected a list like [" + std::string(what_to_list) + "], got " +
                        (e->value.IsScalar() ? quoted(e->value.Scalar()) : std::string(kind_of(e->value))));
      return false;
    }
    std::vector<E> values;
    std::vector<std::string> texts;
    bool ok = true;
    for (std::size_t i = 0; i < e->value.size(); ++i) {
      const YAML::Node item = e->value[i];
      const std::string item_path = path_of(name) + "[" + std::to_string(i) + "]";
      const std::size_t item_line = line_of(item.Mark()) != 0 ? line_of(item.Mark()) : e->line;
      if (!item.IsScalar()) {
        report_.add(item_line, item_path, "expected a single value, got " + std::string(kind_of(item)));
        ok = false;
        continue;
      }
      const std::string& text = item.Scalar();
      if (std::find(texts.begin(), texts.end(), text) != texts.end()) {
        report_.add(item_line, item_path, quote_peer_text(text, 80) + " is listed twice");
        ok = false;
        continue;
      }
      std::string why;
      const std::optional<E> value = parse(text, why);
      if (!value) {
        report_.add(item_line, item_path, std::move(why));
        ok = false;
        continue;
      }
      texts.push_back(text);
      values.push_back(*value);
    }
    if (!ok) return false;
    if (values.empty() && !allow_empty) {
      problem(name, "must list at least one of " + std::string(what_to_list));
      return false;
    }
    out = std::move(values);
    return true;
  }

  // What the document holds that no reader asked for.
  void finish() {
    for (const entry& e : entries_) {
      if (std::find(known_.begin(), known_.end(), e.name) != known_.end()) continue;
      std::string message = "unknown key";
      const std::string* best = nullptr;
      std::size_t best_distance = 3;  // suggest only near misses
      for (const std::string& k : known_) {
        const std::size_t d = edit_distance(e.name, k);
        if (d < best_distance && d < std::max<std::size_t>(k.size() / 2, 1)) {
          best = &k;
          best_distance = d;
        }
      }
      if (best) message += "; did you mean '" + *best + "'?";
      // Someone pasting a secret straight into the file: the value is not repeated here.
      if (e.name == "password" || e.name == "token" || e.name == "web_api_key")
        message += "; secrets are read from files (see the *_file keys), never from this file";
      report_.add(e.line, path_of(quote_peer_text(e.name, 60)), std::move(message));
    }
  }

 private:
  struct entry {
    std::string name;
    std::size_t line = 0;
    YAML::Node value;
  };

  const entry* lookup(std::string_view name) const {
    for (const entry& e : entries_)
      if (e.name == name) return &e;
    return nullptr;
  }

  void note(std::string_view name) {
    if (std::find(known_.begin(), known_.end(), name) != known_.end()) return;
    known_.emplace_back(name);
    if (report_.key_paths) report_.key_paths->push_back(path_of(name));
  }

  // The entry when it is present and a scalar; reports a mapping or a list given instead.
  const entry* scalar(std::string_view name, std::string_view expected) {
    note(name);
    const entry* e = lookup(name);
    if (!e || e->value.IsNull()) return nullptr;
    if (!e->value.IsScalar()) {
      problem(name, "expected " + std::string(expected) + ", got " + std::string(kind_of(e->value)));
      return nullptr;
    }
    return e;
  }

  report& report_;
  std::string path_;
  std::size_t line_;
  std::vector<entry> entries_;
  std::vector<std::string> known_;
};

// The HTTP client's own loopback rule, so that --check-config and the running daemon agree.
bool is_loopback(const boost::urls::url_view& u) {
  switch (u.host_type()) {
    case boost::urls::host_type::ipv4:
      return http::is_loopback_host(u.host_ipv4_address().to_string());
    case boost::urls::host_type::ipv6:
      return http::is_loopback_host(u.host_ipv6_address().to_string());
    case boost::urls::host_type::name:
      return http::is_loopback_host(u.encoded_host());
    default:
      return false;
  }
}

// Our own checks give messages that name the key and say what to change; the HTTP client's
// parse_base_url, which both URLs go through at start-up, has the last word.
void check_url(mapping& m, std::string_view name, const std::string& text, bool allow_plain_http,
               std::string_view section) {
  const auto parsed = boost::urls::parse_uri(text);  // absolute, and a #fragment gets its own message
  if (!parsed) {
    m.problem(name, "expected an absolute https:// or http:// URL, got " + quoted(text));
    return;
  }
  const boost::urls::url_view u = *parsed;
  const auto scheme = u.scheme_id();
  if (scheme != boost::urls::scheme::https && scheme != boost::urls::scheme::http) {
    m.problem(name, "the scheme must be https or http, got " + quoted(u.scheme()));
    return;
  }
  // The URL ends up in logs; a password in it would too. It is not echoed here either.
  if (u.has_userinfo()) {
    m.problem(name, "must not carry a user name or password: credentials are read from files");
    return;
  }
  if (u.host_type() == boost::urls::host_type::none || u.encoded_host().empty()) {
    m.problem(name, "has no host: " + quoted(text));
    return;
  }
  if (u.host_type() == boost::urls::host_type::ipvfuture) {
    m.problem(name, "unsupported IP literal " + quoted(u.encoded_host()));
    return;
  }
  if (u.has_port()) {
    const auto port = parse_whole(u.port());
    if (!port || *port == 0 || *port > 65535) {
      m.problem(name, "port " + quoted(u.port()) + " is out of range 1..65535");
      return;
    }
  }
  if (u.has_fragment()) {
    m.problem(name, "must not have a #fragment: " + quoted(text));
    return;
  }
  // Both URLs are bases: the clients append paths (and CRM.COM's parameters) to them.
  if (u.has_query()) {
    m.problem(name, "must not have a ?query: request paths and parameters are appended to it");
    return;
  }
  if (scheme == boost::urls::scheme::http && !allow_plain_http && !is_loopback(u)) {
    m.problem(name, "plain http to a non-loopback host needs " + std::string(section) + ".allow_plain_http: true");
    return;
  }
  if (auto verdict = http::parse_base_url(text, allow_plain_http); !verdict)
    m.problem(name, verdict.error().diagnostic);
}

// Backoffs grow from initial to max: a max below the initial value is a slip of the finger.
void check_backoff(mapping& m, std::string_view section, milliseconds initial, milliseconds max) {
  if (max < initial)
    m.problem("backoff_max", format_duration(max) + " is shorter than " + std::string(section) + ".backoff_initial (" +
                                 format_duration(initial) + ")");
}

void parse_crm(mapping& m, crm_config& c) {
  const bool has_url = m.read_mandatory("base_url", c.base_url);
  m.read("username", c.username);
  m.read("password_file", c.password_file);
  m.read("web_api_key_file", c.web_api_key_file);
  m.read("organisation", c.organisation);
  m.read("unit", c.unit);
  m.read("ca_file", c.ca_file);
  m.read("timeout", c.timeout, 1s, 10min);
  m.read("connect_timeout", c.connect_timeout, 100ms, 5min);
  const bool plain_ok = m.read("allow_plain_http", c.allow_plain_http);
  m.read("token_lifetime", c.token_lifetime, 1min, 24h);
  m.read_size("max_response_size", c.max_response_size, 64 * kib, gib);

  // A mistyped allow_plain_http was reported already; the URL check would only repeat it.
  if (has_url && (plain_ok || !m.has("allow_plain_http")))
    check_url(m, "base_url", c.base_url, c.allow_plain_http, "crm");

  if (!c.username.empty()) {
    if (!c.web_api_key_file.empty())
      m.problem("web_api_key_file",
                "set either crm.username (password login) or crm.web_api_key_file (Web API key login), not both");
    if (c.organisation.empty()) m.problem("organisation", "mandatory with crm.username: authentication/token needs it");
  } else {
    if (!c.password_file.empty())
      m.problem("password_file", "used only with crm.username (password login); set crm.username or drop this key");
    if (!c.organisation.empty())
      m.problem("organisation",
                "used only with crm.username (password login); a Web API key login sends no organisation");
  }
}

void parse_poll(mapping& m, poll_config& c) {
  m.read("interval", c.interval, 1s, 24h);
  const bool listed = m.read_list<charge_list_filter>(
      "charge_status", c.charge_status,
      [](std::string_view text, std::string& why) {
        auto v = parse_charge_list_filter(text);
        if (!v) why = "expected PROCESSED or NOT_PROCESSED, got " + quoted(text);
        return v;
      },
      false, "PROCESSED, NOT_PROCESSED");
  m.read("page_size", c.page_size, 1, 50);
  if (listed &&
      std::find(c.charge_status.begin(), c.charge_status.end(), charge_list_filter::processed) == c.charge_status.end())
    m.problem("charge_status",
              "without PROCESSED no charge is ever billed or acknowledged (NOT_PROCESSED lists PENDING charges only)");
}

void parse_billing(mapping& m, billing_config& c) {
  const bool has_url = m.read_mandatory("url", c.url);
  m.read("token_file", c.token_file);
  m.read("concurrency", c.concurrency, 1, 256);
  m.read("timeout", c.timeout, 1s, 10min);
  m.read("connect_timeout", c.connect_timeout, 100ms, 5min);
  const bool plain_ok = m.read("allow_plain_http", c.allow_plain_http);
  m.read("ca_file", c.ca_file);
  m.read_list<crm_charge_status>(
      "bill_statuses", c.bill_statuses,
      [](std::string_view text, std::string& why) -> std::optional<crm_charge_status> {
        const auto v = parse_crm_charge_status(text);
        if (v == crm_charge_status::pending) {
          why =
              "PENDING charges are never billed (CRM.COM has not decided them); expected one of "
              "APPROVED, DECLINED, BAD_REQUEST, REJECTED";
          return std::nullopt;
        }
        if (!v) why = "expected one of APPROVED, DECLINED, BAD_REQUEST, REJECTED, got " + quoted(text);
        return v;
      },
      false, "APPROVED, DECLINED, BAD_REQUEST, REJECTED");
  const bool initial_ok = m.read("backoff_initial", c.backoff_initial, 10ms, 1h);
  const bool max_ok = m.read("backoff_max", c.backoff_max, 10ms, 24h);

  if (has_url && (plain_ok || !m.has("allow_plain_http"))) check_url(m, "url", c.url, c.allow_plain_http, "billing");
  if (initial_ok || max_ok) check_backoff(m, "billing", c.backoff_initial, c.backoff_max);
}

void parse_ack(mapping& m, ack_config& c) {
  m.read("batch_size", c.batch_size, 1, 50);
  m.read("linger", c.linger, 0ms, 1min);
  m.read("max_attempts", c.max_attempts, 1, 1000);
  const bool initial_ok = m.read("backoff_initial", c.backoff_initial, 100ms, 1h);
  const bool max_ok = m.read("backoff_max", c.backoff_max, 100ms, 24h);
  m.read_list<std::string>(
      "done_error_codes", c.done_error_codes,
      [](std::string_view text, std::string& why) -> std::optional<std::string> {
        if (text.empty()) {
          why = "an empty error code matches nothing";
          return std::nullopt;
        }
        return std::string(text);
      },
      true, "\"ALREADY_ACKNOWLEDGED\"");
  if (initial_ok || max_ok) check_backoff(m, "ack", c.backoff_initial, c.backoff_max);
}

void parse_ledger(mapping& m, ledger_config& c) { m.read_mandatory("path", c.path); }

void parse_log(mapping& m, log_config& c) {
  std::string text;
  if (m.read("level", text) && !obs::parse_log_level(text, c.level))
    m.problem("level", "expected one of trace, debug, info, warn, error, critical, off, got " + quoted(text));
  text.clear();
  if (m.read("format", text)) {
    obs::log_format format{};
    if (text == "auto")
      c.format.reset();
    else if (obs::parse_log_format(text, format))
      c.format = format;
    else
      m.problem("format", "expected text, json or auto, got " + quoted(text));
  }
}

void parse_metrics(mapping& m, metrics_config& c) {
  if (m.read("listen", c.listen) && !c.listen.empty()) {
    if (auto parsed = parse_listen_address(c.listen); !parsed) m.problem("listen", parsed.error().diagnostic);
  }
}

void parse_shutdown(mapping& m, shutdown_config& c) { m.read("deadline", c.deadline, 100ms, 1h); }

void parse_document(report& r, const YAML::Node& root, config& c) {
  mapping m(r, "", root, 1);
  m.section("crm", [&](mapping& s) { parse_crm(s, c.crm); });
  m.section("poll", [&](mapping& s) { parse_poll(s, c.poll); });
  m.section("billing", [&](mapping& s) { parse_billing(s, c.billing); });
  m.section("ack", [&](mapping& s) { parse_ack(s, c.ack); });
  m.section("ledger", [&](mapping& s) { parse_ledger(s, c.ledger); });
  m.section("log", [&](mapping& s) { parse_log(s, c.log); });
  m.section("metrics", [&](mapping& s) { parse_metrics(s, c.metrics); });
  m.section("shutdown", [&](mapping& s) { parse_shutdown(s, c.shutdown); });
  m.finish();
}

// yaml-cpp 0.7's LoadAll never returns on a ',' left at the top level (",", "[1],"): its parser
// does not consume the token, and each round yields one more empty document until memory runs
// out. So the documents are counted with the event parser first, which stops at a document that
// starts where the previous one did (no progress), before the text is loaded as a node tree.
class document_counter : public YAML::EventHandler {
 public:
  std::size_t documents = 0;
  YAML::Mark second_content;  // where the second document's first node is
  std::optional<YAML::Mark> stuck_at;

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (documents > 0 && mark.pos == last_start_.pos) stuck_at = mark;
    last_start_ = mark;
    ++documents;
    awaiting_content_ = documents == 2;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { node(mark); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { node(mark); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t, const std::string&) override {
    node(mark);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    node(mark);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    node(mark);
  }
  void OnMapEnd() override {}

 private:
  void node(const YAML::Mark& mark) {
    if (!awaiting_content_) return;
    second_content = mark;
    awaiting_content_ = false;
  }
  YAML::Mark last_start_;
  bool awaiting_content_ = false;
};

config_result<config> finish(report& r, config c) {
  if (r.problems.empty()) return c;
  // Parse order groups problems by section; people read a file top to bottom. What is
  // missing from absent sections has no line and comes last.
  std::stable_sort(r.problems.begin(), r.problems.end(), [](const config_problem& a, const config_problem& b) {
    const auto key = [](const config_problem& p) {
      return p.line == 0 ? std::numeric_limits<std::size_t>::max() : p.line;
    };
    return key(a) < key(b);
  });
  return config_error{std::move(r.problems)};
}

}  // namespace

config_result<config> parse_config(std::string_view yaml_text, std::string_view file_name) {
  report r{std::string(file_name), {}, nullptr};
  const std::string text(yaml_text);
  document_counter counter;
  YAML::Node root;
  try {
    std::istringstream in(text);
    YAML::Parser parser(in);
    while (!counter.stuck_at && parser.HandleNextDocument(counter)) {
    }
    if (!counter.stuck_at && counter.documents <= 1) root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    // yaml-cpp's message may quote a byte of the file ("unknown escape character: <BEL>").
    r.add(line_of(e.mark), "", "YAML syntax error: " + quote_peer_text(e.msg));
    return config_error{std::move(r.problems)};
  }
  if (const auto& at = counter.stuck_at) {
    const auto pos = static_cast<std::size_t>(std::max(at->pos, 0));
    r.add(line_of(*at), "",
          "YAML syntax error: unexpected " + (pos < text.size() ? quoted(text.substr(pos, 1)) : "content"));
    return config_error{std::move(r.problems)};
  }
  if (counter.documents > 1) {
    r.add(line_of(counter.second_content), "",
          "holds " + std::to_string(counter.documents) + " YAML documents; expected one");
    return config_error{std::move(r.problems)};
  }
  if (!root.IsNull() && !root.IsMap()) {
    r.add(std::max<std::size_t>(line_of(root.Mark()), 1), "",
          "the configuration must be a mapping of sections (crm, poll, billing, ack, ledger, log, metrics, "
          "shutdown), got " +
              std::string(kind_of(root)));
    return config_error{std::move(r.problems)};
  }
  config c;
  parse_document(r, root, c);
  return finish(r, std::move(c));
}

config_result<config> load_config(const std::string& path) {
  // Bigger than any sane configuration; a cap keeps a wrong path (a log, a disk image) cheap.
  constexpr std::size_t max_bytes = 1024 * 1024;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  const auto fail = [&](std::string message) {
    return config_error{{config_problem{path, 0, "", std::move(message)}}};
  };
  if (fd < 0) return fail(std::string("cannot open: ") + std::strerror(errno));
  std::string text;
  char buffer[16 * 1024];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return fail(std::string("cannot read: ") + std::strerror(err));
    }
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
    if (text.size() > max_bytes) {
      ::close(fd);
      return fail("larger than 1 MiB: not a configuration file");
    }
  }
  ::close(fd);
  return parse_config(text, path);
}

std::vector<std::string> config_key_paths() {
  std::vector<std::string> paths;
  report r{"", {}, &paths};
  config c;
  parse_document(r, YAML::Node(), c);
  return paths;
}

std::optional<milliseconds> parse_duration(std::string_view text) {
  bool overflow = false;
  const auto value = parse_with_unit(text, duration_units, overflow);
  if (!value || *value > max_duration_ms) return std::nullopt;
  return milliseconds(static_cast<milliseconds::rep>(*value));
}

std::string format_duration(milliseconds d) {
  const auto ms = d.count();
  if (ms != 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms != 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms != 0 && ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

std::string format_size(std::size_t bytes) {
  if (bytes != 0 && bytes % gib == 0) return std::to_string(bytes / gib) + "GiB";
  if (bytes != 0 && bytes % mib == 0) return std::to_string(bytes / mib) + "MiB";
  if (bytes != 0 && bytes % kib == 0) return std::to_string(bytes / kib) + "KiB";
  return std::to_string(bytes);
}

result<listen_address> parse_listen_address(std::string_view text) {
  const auto bad = [&](std::string_view why) {
    return error{errc::config_invalid,
                 std::string(why) + ": expected host:port like 127.0.0.1:9464 or [::1]:9464, got " + quoted(text)};
  };
  listen_address out;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find("]:");
    if (close == std::string_view::npos) return bad("an IPv6 address needs [brackets] and a port");
    const auto host = text.substr(1, close - 1);
    const auto v6 = boost::urls::parse_ipv6_address(host);
    if (!v6) return bad("not an IPv6 address");
    out.host = std::string(host);
    port_text = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad("no port");
    const auto host = text.substr(0, colon);
    if (host.find(':') != std::string_view::npos) return bad("an IPv6 address needs [brackets]");
    if (!boost::urls::parse_ipv4_address(host)) return bad("the host must be an IP address");
    out.host = std::string(host);
    port_text = text.substr(colon + 1);
  }
  const auto port = parse_whole(port_text);
  if (!port || *port > 65535) return bad("the port must be 0..65535");
  out.port = static_cast<std::uint16_t>(*port);
  return out;
}

secret_env secret_env::from_process() {
  const char* dir = std::getenv("CREDENTIALS_DIRECTORY");
  return secret_env{dir ? std::string(dir) : std::string()};
}

result<secret> read_secret_file(const std::string& path, std::string_view key) {
  // Larger than any password or token; a wrong path (a log file) is refused before reading it.
  constexpr std::size_t max_bytes = 64 * 1024;
  const std::string what = std::string(key) + ": " + quote_peer_text(path, 300);
  // O_NONBLOCK: opening a FIFO would otherwise wait for a writer, hanging the start-up before
  // the check below could refuse it. Reads of a regular file ignore the flag.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return error{errc::secret_unreadable, what + ": cannot open: " + std::strerror(errno)};
  struct closer {
    int fd;
    ~closer() { ::close(fd); }
  } const guard{fd};

  struct stat st {};
  if (::fstat(fd, &st) != 0) return error{errc::secret_unreadable, what + ": cannot stat: " + std::strerror(errno)};
  if (!S_ISREG(st.st_mode)) return error{errc::secret_unreadable, what + ": not a regular file"};
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return error{errc::secret_too_open,
                 what + ": group or others have access (mode " + mode + "); allow the owner only (chmod 600)"};
  }
  if (static_cast<std::size_t>(st.st_size) > max_bytes)
    return error{errc::secret_unreadable, what + ": larger than 64 KiB, not a secret file"};

  std::string value;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return error{errc::secret_unreadable, what + ": cannot read: " + std::strerror(errno)};
    if (n == 0) break;
    value.append(buffer, static_cast<std::size_t>(n));
    if (value.size() > max_bytes)
      return error{errc::secret_unreadable, what + ": larger than 64 KiB, not a secret file"};
  }
  while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
  if (value.empty()) return error{errc::secret_unreadable, what + ": empty"};
  // A second line is a mistake (two secrets, a comment); a line break or NUL would also end
  // up inside an HTTP header or a JSON string.
  if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos)
    return error{errc::secret_unreadable, what + ": holds more than one line"};
  return secret(std::move(value));
}

namespace {

// Where a secret comes from: the configured name when absolute, else the credentials
// directory. nullopt: an optional secret that is not provided.
result<std::optional<std::string>> resolve_secret_path(std::string_view key, const std::string& configured,
                                                       std::string_view credential, bool optional,
                                                       const secret_env& env) {
  if (!configured.empty() && configured.front() == '/') return std::optional<std::string>(configured);
  const std::string& dir = env.credentials_directory;
  if (!configured.empty()) {
    if (dir.empty())
      return error{errc::config_invalid, std::string(key) + ": the relative name " + quoted(configured) +
                                             " is looked up in $CREDENTIALS_DIRECTORY, which is not set "
                                             "(give an absolute path, or use systemd LoadCredential=)"};
    return std::optional<std::string>(dir + "/" + configured);
  }
  if (dir.empty()) {
    if (optional) return std::optional<std::string>();
    return error{errc::config_invalid, std::string(key) +
                                           " is not set and $CREDENTIALS_DIRECTORY is not set "
                                           "(systemd: LoadCredential=" +
                                           std::string(credential) + ":<file>)"};
  }
  std::string path = dir + "/" + std::string(credential);
  if (optional) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 && errno == ENOENT) return std::optional<std::string>();
  }
  return std::optional<std::string>(std::move(path));
}

std::vector<error> collect_secrets(const config& cfg, const secret_env& env, secrets& out) {
  std::vector<error> problems;
  const auto load = [&](std::string_view key, const std::string& configured, std::string_view credential,
                        bool optional) -> std::optional<secret> {
    auto path = resolve_secret_path(key, configured, credential, optional, env);
    if (!path) {
      problems.push_back(path.error());
      return std::nullopt;
    }
    if (!*path) return std::nullopt;
    auto value = read_secret_file(**path, key);
    if (!value) {
      problems.push_back(value.error());
      return std::nullopt;
    }
    return std::move(*value);
  };
  if (!cfg.crm.username.empty()) {
    if (auto s = load("crm.password_file", cfg.crm.password_file, "crm-password", false))
      out.crm_password = std::move(*s);
  } else {
    if (auto s = load("crm.web_api_key_file", cfg.crm.web_api_key_file, "crm-web-api-key", false))
      out.crm_web_api_key = std::move(*s);
  }
  out.billing_token = load("billing.token_file", cfg.billing.token_file, "billing-token", true);
  return problems;
}

}  // namespace

result<secrets> load_secrets(const config& cfg, const secret_env& env) {
  secrets out;
  auto problems = collect_secrets(cfg, env, out);
  if (!problems.empty()) return std::move(problems.front());
  return out;
}

std::vector<error> check_secrets(const config& cfg, const secret_env& env) {
  secrets ignored;
  return collect_secrets(cfg, env, ignored);
}

}  // namespace chargerecon
