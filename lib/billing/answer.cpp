#include "billing/answer.hpp"

#include "common/error.hpp"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <limits>

namespace chargerecon::billing {
namespace {

// The ledger and CRM.COM's acknowledgement carry the reference: it must be something a person
// can read back, not an arbitrary blob.
constexpr std::size_t max_reference_bytes = 255;

struct body_fields {
  bool is_object = false;            // the body is exactly one JSON object
  int reference_count = 0;           // how many "reference_number" keys
  bool reference_is_string = false;  // the (single) reference_number is a JSON string
  std::string reference;
  std::optional<std::string> error_text;
};

body_fields read_body(std::string_view body) {
  body_fields out;
  thread_local simdjson::ondemand::parser parser;
  const simdjson::padded_string padded(body);
  simdjson::ondemand::document doc;
  if (parser.iterate(padded).get(doc)) return out;
  simdjson::ondemand::object obj;
  if (doc.get_object().get(obj)) return out;
  for (auto item : obj) {
    simdjson::ondemand::field f;
    if (std::move(item).get(f)) return {};
    std::string_view key;
    if (f.unescaped_key().get(key)) return {};
    if (key == "reference_number") {
      ++out.reference_count;
      std::string_view v;
      out.reference_is_string = f.value().get_string().get(v) == simdjson::SUCCESS;
      out.reference = out.reference_is_string ? std::string(v) : std::string();
    } else if (key == "error") {
      std::string_view v;
      if (f.value().get_string().get(v) == simdjson::SUCCESS) out.error_text = std::string(v);
    }
  }
  // The on-demand parser stops where we stop reading: make sure nothing follows the object.
  if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) return {};
  out.is_object = true;
  return out;
}

// Why the body does not carry a usable reference, or empty when it does.
std::string reference_problem(const body_fields& b) {
  if (!b.is_object) return "the body is not a JSON object";
  if (b.reference_count == 0) return "no reference_number";
  if (b.reference_count > 1) return "reference_number given more than once";
  if (!b.reference_is_string) return "reference_number is not a string";
  if (b.reference.empty()) return "reference_number is empty";
  if (b.reference.size() > max_reference_bytes) return "reference_number is longer than 255 bytes";
  if (std::all_of(b.reference.begin(), b.reference.end(), [](char c) { return c == ' ' || c == '\t'; }))
    return "reference_number is blank";
  if (std::any_of(b.reference.begin(), b.reference.end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7F; }))
    return "reference_number contains control characters";
  return {};
}

std::string quoted_body(std::string_view body) {
  if (body.empty()) return "(empty body)";
  return "'" + quote_peer_text(body) + "'";
}

// The peer's own words for a failure: its "error" text when it gave one, else the body.
std::string peer_words(const body_fields& b, std::string_view body) {
  if (b.error_text) return "'" + quote_peer_text(*b.error_text) + "'";
  return quoted_body(body);
}

bool is_rejection(unsigned status) { return status == 400 || status == 404 || status == 422; }

std::optional<unsigned> month_number(std::string_view m) {
  static constexpr std::array<std::string_view, 12> names{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (unsigned i = 0; i < names.size(); ++i)
    if (names[i] == m) return i + 1;
  return std::nullopt;
}

std::optional<std::chrono::system_clock::time_point> make_time(int year, std::string_view month, unsigned day,
                                                                unsigned hour, unsigned minute, unsigned second) {
  const auto m = month_number(month);
  if (!m || hour > 23 || minute > 59 || second > 60) return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year{year}, std::chrono::month{*m}, std::chrono::day{day}};
  if (!ymd.ok()) return std::nullopt;
  return std::chrono::sys_days{ymd} + std::chrono::hours{hour} + std::chrono::minutes{minute} +
         std::chrono::seconds{second};
}

bool is_day_name(std::string_view d, bool long_form) {
  static constexpr std::array<std::string_view, 7> short_names{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
  static constexpr std::array<std::string_view, 7> long_names{"Monday", "Tuesday",  "Wednesday", "Thursday",
                                                              "Friday", "Saturday", "Sunday"};
  const auto& names = long_form ? long_names : short_names;
  return std::find(names.begin(), names.end(), d) != names.end();
}

// The three HTTP-date forms; sscanf with %n so that only a fully consumed value counts.
std::optional<std::chrono::system_clock::time_point> parse_http_date(std::string_view value) {
  if (value.size() > 64) return std::nullopt;
  const std::string s(value);
  char day_name[10] = {};
  char month[4] = {};
  unsigned day = 0, hour = 0, minute = 0, second = 0;
  int year = 0;
  int consumed = -1;

  // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
  if (std::sscanf(s.c_str(), "%3[A-Za-z], %2u %3[A-Za-z] %4d %2u:%2u:%2u GMT%n", day_name, &day, month, &year, &hour,
                  &minute, &second, &consumed) == 7 &&
      consumed == static_cast<int>(s.size()) && is_day_name(day_name, false))
    return make_time(year, month, day, hour, minute, second);

  // RFC 850: Sunday, 06-Nov-94 08:49:37 GMT (two-digit years: RFC 9110 says pick the most
  // recent past century; for a Retry-After, 19xx only for years that are clearly history).
  consumed = -1;
  if (std::sscanf(s.c_str(), "%9[A-Za-z], %2u-%3[A-Za-z]-%2d %2u:%2u:%2u GMT%n", day_name, &day, month, &year, &hour,
                  &minute, &second, &consumed) == 7 &&
      consumed == static_cast<int>(s.size()) && is_day_name(day_name, true))
    return make_time(year < 70 ? 2000 + year : 1900 + year, month, day, hour, minute, second);

  // asctime: Sun Nov  6 08:49:37 1994
  consumed = -1;
  if (std::sscanf(s.c_str(), "%3[A-Za-z] %3[A-Za-z] %2u %2u:%2u:%2u %4d%n", day_name, month, &day, &hour, &minute,
                  &second, &year, &consumed) == 7 &&
      consumed == static_cast<int>(s.size()) && is_day_name(day_name, false))
    return make_time(year, month, day, hour, minute, second);

  return std::nullopt;
}

}  // namespace

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value, std::chrono::system_clock::time_point now,
                                                      std::chrono::seconds max_wait) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty()) return std::nullopt;

  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    std::uint64_t n = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec == std::errc::result_out_of_range) return max_wait;  // a huge number of digits
    if (ec != std::errc{} || end != value.data() + value.size()) return std::nullopt;
    if (n > static_cast<std::uint64_t>(max_wait.count())) return max_wait;
    return std::chrono::seconds(static_cast<std::chrono::seconds::rep>(n));
  }

  const auto when = parse_http_date(value);
  if (!when) return std::nullopt;
  if (*when <= now) return std::chrono::seconds{0};
  // Round up: waiting a fraction less than asked would arrive early.
  const auto wait = std::chrono::ceil<std::chrono::seconds>(*when - now);
  return std::min(wait, max_wait);
}

answer classify(unsigned status, const std::vector<http::header_field>& headers, std::string_view body,
                std::chrono::system_clock::time_point now, std::chrono::seconds max_retry_after) {
  const bool success = status >= 200 && status <= 299;
  if (success || status == 409) {
    const auto fields = read_body(body);
    const auto problem = reference_problem(fields);
    if (problem.empty()) return billed{fields.reference, status == 409};
    return protocol_error{status, "billing answered HTTP " + std::to_string(status) + " without a usable " +
                                      "reference_number (" + problem + "): " + quoted_body(body)};
  }

  if (is_rejection(status)) return rejected{status, peer_words(read_body(body), body)};

  transient t;
  t.status = status;
  if (const auto ra = find_header(headers, "Retry-After")) t.retry_after = parse_retry_after(*ra, now, max_retry_after);
  const bool named = status == 408 || status == 429 || (status >= 500 && status <= 599);
  t.reason = "billing answered HTTP " + std::to_string(status) + (named ? "" : " (a status the contract does not name)") +
             ": " + peer_words(read_body(body), body);
  return t;
}

}  // namespace chargerecon::billing
