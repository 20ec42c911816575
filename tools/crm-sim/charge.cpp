#include "crm-sim/charge.hpp"

#include "common/json_text.hpp"


namespace chargerecon::crm_sim {

bool is_pending(const charge& c) {
  if (c.raw_json) return c.raw_status == "PENDING";
  return c.status == charge_status::pending;
}

namespace {

void put_digits(char* at, unsigned value, int width) {
  for (int i = width - 1; i >= 0; --i, value /= 10) at[i] = static_cast<char>('0' + value % 10);
}

// format_date's text into `text`; its length. A list call writes three dates per charge, and
// snprintf was most of what a charge cost.
std::size_t write_date(char (&text)[20], time_point t) {
  using namespace std::chrono;
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss hms{floor<seconds>(t - day)};
  const int y = static_cast<int>(ymd.year());
  const auto month = static_cast<unsigned>(ymd.month());
  const auto d = static_cast<unsigned>(ymd.day());
  const auto h = static_cast<int>(hms.hours().count());
  const auto m = static_cast<int>(hms.minutes().count());
  const auto sec = static_cast<int>(hms.seconds().count());
  // A nanosecond system_clock spans the years 1677 to 2262: always four digits.
  put_digits(text, static_cast<unsigned>(y), 4);
  text[4] = '-';
  put_digits(text + 5, month, 2);
  text[7] = '-';
  put_digits(text + 8, d, 2);
  text[10] = 'T';
  put_digits(text + 11, static_cast<unsigned>(h), 2);
  text[13] = ':';
  put_digits(text + 14, static_cast<unsigned>(m), 2);
  text[16] = ':';
  put_digits(text + 17, static_cast<unsigned>(sec), 2);
  return 19;
}

}  // namespace

std::string format_date(time_point t) {
  char text[20];
  return std::string(text, write_date(text, t));
}

namespace {

// A member name with its JSON text, written by Boost.JSON once rather than once per charge.
struct member_key {
  explicit member_key(std::string_view n) : name(n) { append_json_string(json, n); }
  std::string_view name;
  std::string json;
};

// Members are appended as text so that numbers can be written verbatim; Boost.JSON writes
// every key and string so that escaping stays its job.
class object_writer {
 public:
  object_writer(std::string& out, const std::set<std::string, std::less<>>& fields) : out_(out), fields_(fields) {
    out_.push_back('{');
  }
  void string(const member_key& key, std::string_view value) {
    if (begin(key)) append_json_string(out_, value);
  }
  void number_text(const member_key& key, std::string_view text) {
    if (begin(key)) out_ += text;
  }
  void date(const member_key& key, const std::optional<time_point>& t) {
    if (!begin(key)) return;
    if (t) {
      char text[20];
      append_json_string(out_, std::string_view(text, write_date(text, *t)));
    } else {
      out_ += "null";
    }
  }
  void close() { out_.push_back('}'); }

 private:
  bool begin(const member_key& key) {
    if (!fields_.empty() && !fields_.contains(key.name)) return false;
    if (!first_) out_.push_back(',');
    first_ = false;
    out_ += key.json;
    out_.push_back(':');
    return true;
  }
  std::string& out_;
  const std::set<std::string, std::less<>>& fields_;
  bool first_ = true;
};

}  // namespace

void append_charge_json(std::string& out, const charge& c, const std::set<std::string, std::less<>>& fields) {
  if (c.raw_json) {
    out += *c.raw_json;
    return;
  }
  static const member_key number{"number"}, customer{"billing_system_customer_identifier"}, amount{"amount"},
      currency{"currency"}, local_currency_amount{"local_currency_amount"}, local_currency{"local_currency"},
      paid_through_date{"paid_through_date"}, charge_status_key{"charge_status"}, received_on{"received_on"},
      set_as_approved_on{"set_as_approved_on"}, set_as_declined_on{"set_as_declined_on"},
      set_as_bad_request_on{"set_as_bad_request_on"}, set_as_rejected_request_on{"set_as_rejected_request_on"};
  object_writer w(out, fields);
  w.string(number, c.number);
  w.string(customer, c.customer);
  w.number_text(amount, c.amount);
  w.string(currency, c.currency);
  // Absent, not null, when the charge has none: older releases do not send these at all.
  if (c.local_currency_amount) w.number_text(local_currency_amount, *c.local_currency_amount);
  if (c.local_currency) w.string(local_currency, *c.local_currency);
  w.date(paid_through_date, c.paid_through_date);
  w.string(charge_status_key, to_string(c.status));
  w.date(received_on, c.received_on);
  const auto set_on = [&](charge_status s) { return c.status == s ? c.status_set_on : std::optional<time_point>{}; };
  w.date(set_as_approved_on, set_on(charge_status::approved));
  w.date(set_as_declined_on, set_on(charge_status::declined));
  w.date(set_as_bad_request_on, set_on(charge_status::bad_request));
  w.date(set_as_rejected_request_on, set_on(charge_status::rejected));
  w.close();
}

std::string charge_to_json(const charge& c, const std::set<std::string, std::less<>>& fields) {
  std::string out;
  append_charge_json(out, c, fields);
  return out;
}

}  // namespace chargerecon::crm_sim
