#include "crm-sim/charge.hpp"

#include <boost/json/serialize.hpp>
#include <cstdio>

namespace chargerecon::crm_sim {

bool is_pending(const charge& c) {
  if (c.raw_json) return c.raw_status == "PENDING";
  return c.status == charge_status::pending;
}

std::string format_date(time_point t) {
  using namespace std::chrono;
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss hms{floor<seconds>(t - day)};
  char text[32];
  std::snprintf(text, sizeof text, "%04d-%02u-%02uT%02d:%02d:%02d", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return text;
}

namespace {

// Members are appended as text so that numbers can be written verbatim; Boost.JSON writes
// every key and string so that escaping stays its job.
class object_writer {
 public:
  object_writer(std::string& out, const std::set<std::string, std::less<>>& fields) : out_(out), fields_(fields) {
    out_.push_back('{');
  }
  void string(std::string_view key, std::string_view value) {
    if (begin(key)) out_ += boost::json::serialize(boost::json::string_view(value.data(), value.size()));
  }
  void number_text(std::string_view key, std::string_view text) {
    if (begin(key)) out_ += text;
  }
  void date(std::string_view key, const std::optional<time_point>& t) {
    if (!begin(key)) return;
    if (t)
      out_ += boost::json::serialize(boost::json::string_view(format_date(*t)));
    else
      out_ += "null";
  }
  void close() { out_.push_back('}'); }

 private:
  bool begin(std::string_view key) {
    if (!fields_.empty() && !fields_.contains(key)) return false;
    if (!first_) out_.push_back(',');
    first_ = false;
    out_ += boost::json::serialize(boost::json::string_view(key.data(), key.size()));
    out_.push_back(':');
    return true;
  }
  std::string& out_;
  const std::set<std::string, std::less<>>& fields_;
  bool first_ = true;
};

}  // namespace

std::string charge_to_json(const charge& c, const std::set<std::string, std::less<>>& fields) {
  if (c.raw_json) return *c.raw_json;
  std::string out;
  object_writer w(out, fields);
  w.string("number", c.number);
  w.string("billing_system_customer_identifier", c.customer);
  w.number_text("amount", c.amount);
  w.string("currency", c.currency);
  // Absent, not null, when the charge has none: older releases do not send these at all.
  if (c.local_currency_amount) w.number_text("local_currency_amount", *c.local_currency_amount);
  if (c.local_currency) w.string("local_currency", *c.local_currency);
  w.date("paid_through_date", c.paid_through_date);
  w.string("charge_status", to_string(c.status));
  w.date("received_on", c.received_on);
  const auto set_on = [&](charge_status s) { return c.status == s ? c.status_set_on : std::optional<time_point>{}; };
  w.date("set_as_approved_on", set_on(charge_status::approved));
  w.date("set_as_declined_on", set_on(charge_status::declined));
  w.date("set_as_bad_request_on", set_on(charge_status::bad_request));
  w.date("set_as_rejected_request_on", set_on(charge_status::rejected));
  w.close();
  return out;
}

}  // namespace chargerecon::crm_sim
