#include "crm-sim/charge.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include <ctime>

namespace chargerecon::crm_sim {
namespace {

using namespace std::chrono;
const time_point t0 = sys_days{year{2026} / 1 / 15} + hours(12) + minutes(3) + seconds(9);

charge approved(std::string amount) {
  charge c;
  c.number = "I00000042";
  c.customer = "C0007";
  c.status = charge_status::approved;
  c.amount = std::move(amount);
  c.currency = "EUR";
  c.received_on = t0;
  c.status_set_on = t0 + seconds(30);
  c.paid_through_date = t0 + days(30);
  return c;
}

TEST(charge_json, dates_are_utc_without_zone_or_fraction) {
  EXPECT_EQ(format_date(t0), "2026-01-15T12:03:09");
  EXPECT_EQ(format_date(t0 + milliseconds(999)), "2026-01-15T12:03:09");
  EXPECT_EQ(format_date(sys_days{year{2024} / 2 / 29}), "2024-02-29T00:00:00");
}

TEST(charge_json, dates_read_as_strftime_writes_them_across_the_clock_range) {
  // Sweeps the nanosecond clock's whole span (1677..2262) in uneven steps, leap days included.
  const auto first = time_point::min() + days(1);
  const auto last = time_point::max() - days(1);
  const auto step = days(2) + hours(3) + minutes(7) + seconds(11) + nanoseconds(999'999'989);
  for (auto t = first; t < last - step; t += step) {
    const auto seconds_since_epoch = floor<seconds>(t.time_since_epoch()).count();
    const std::time_t whole = static_cast<std::time_t>(seconds_since_epoch);
    std::tm utc{};
    ASSERT_NE(gmtime_r(&whole, &utc), nullptr);
    char expected[32];
    std::strftime(expected, sizeof expected, "%Y-%m-%dT%H:%M:%S", &utc);
    ASSERT_EQ(format_date(t), expected) << seconds_since_epoch;
  }
}

TEST(charge_json, amounts_are_written_verbatim_as_json_numbers) {
  for (const std::string amount : {"0.1", "0.30", "1234567.89", "10.00", "7", "2.675"}) {
    const auto text = charge_to_json(approved(amount), {});
    EXPECT_NE(text.find("\"amount\":" + amount + ","), std::string::npos) << text;
  }
  auto c = approved("0.7");
  c.local_currency_amount = "19.99";
  c.local_currency = "GBP";
  const auto text = charge_to_json(c, {});
  EXPECT_NE(text.find("\"local_currency_amount\":19.99,"), std::string::npos) << text;
}

TEST(charge_json, carries_every_documented_field_with_nulls_for_unreached_statuses) {
  const auto v = boost::json::parse(charge_to_json(approved("19.99"), {})).as_object();
  EXPECT_EQ(v.at("number"), "I00000042");
  EXPECT_EQ(v.at("billing_system_customer_identifier"), "C0007");
  EXPECT_TRUE(v.at("amount").is_number());
  EXPECT_EQ(v.at("currency"), "EUR");
  EXPECT_EQ(v.at("charge_status"), "APPROVED");
  EXPECT_EQ(v.at("received_on"), "2026-01-15T12:03:09");
  EXPECT_EQ(v.at("set_as_approved_on"), "2026-01-15T12:03:39");
  EXPECT_EQ(v.at("paid_through_date"), "2026-02-14T12:03:09");
  EXPECT_TRUE(v.at("set_as_declined_on").is_null());
  EXPECT_TRUE(v.at("set_as_bad_request_on").is_null());
  EXPECT_TRUE(v.at("set_as_rejected_request_on").is_null());
  // Older releases have no local currency: absent rather than null.
  EXPECT_FALSE(v.contains("local_currency_amount"));
  EXPECT_FALSE(v.contains("local_currency"));
}

TEST(charge_json, fields_set_limits_the_members) {
  const std::set<std::string, std::less<>> fields{"number", "amount", "no_such_field"};
  EXPECT_EQ(charge_to_json(approved("0.1"), fields), R"({"number":"I00000042","amount":0.1})");
}

TEST(charge_json, strings_are_escaped) {
  auto c = approved("1");
  c.customer = "C\"7\\\n";
  const auto v = boost::json::parse(charge_to_json(c, {})).as_object();
  EXPECT_EQ(v.at("billing_system_customer_identifier"), "C\"7\\\n");
}

TEST(charge_json, raw_charges_are_served_byte_for_byte) {
  charge c;
  c.raw_json = R"({"number": 17, "amount": "0.1"})";
  c.raw_status = "PENDING";
  EXPECT_EQ(charge_to_json(c, {"number"}), R"({"number": 17, "amount": "0.1"})");
  EXPECT_TRUE(is_pending(c));
  c.raw_status.reset();
  EXPECT_FALSE(is_pending(c));
}

}  // namespace
}  // namespace chargerecon::crm_sim
