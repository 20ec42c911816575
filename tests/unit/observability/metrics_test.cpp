#include "observability/metrics.hpp"

#include <gtest/gtest.h>

namespace chargerecon::obs {
namespace {

bool contains(const std::string& text, const std::string& line) { return text.find(line + "\n") != std::string::npos; }

TEST(metrics, counters_by_label_render_with_help_and_type) {
  registry r;
  r.get_counter("chargerecon_charges_seen_total", "Charges first seen, by status", {{"status", "APPROVED"}}).inc(3);
  r.get_counter("chargerecon_charges_seen_total", "ignored", {{"status", "DECLINED"}}).inc();
  // The same name and labels are the same instrument.
  r.get_counter("chargerecon_charges_seen_total", "", {{"status", "APPROVED"}}).inc();
  const auto text = r.render();
  EXPECT_TRUE(contains(text, "# HELP chargerecon_charges_seen_total Charges first seen, by status"));
  EXPECT_TRUE(contains(text, "# TYPE chargerecon_charges_seen_total counter"));
  EXPECT_TRUE(contains(text, "chargerecon_charges_seen_total{status=\"APPROVED\"} 4"));
  EXPECT_TRUE(contains(text, "chargerecon_charges_seen_total{status=\"DECLINED\"} 1"));
}

TEST(metrics, gauges_take_fractional_values) {
  registry r;
  auto& g = r.get_gauge("chargerecon_oldest_unfinished_charge_age_seconds", "Age");
  g.set(2.5);
  g.add(0.25);
  EXPECT_TRUE(contains(r.render(), "chargerecon_oldest_unfinished_charge_age_seconds 2.75"));
}

TEST(metrics, histograms_are_cumulative_with_inf_sum_and_count) {
  registry r;
  auto& h = r.get_histogram("chargerecon_crm_call_duration_seconds", "CRM.COM call latency",
                            {{"method", "charges/list"}}, {0.01, 0.1, 1});
  h.observe(0.005);
  h.observe(0.05);
  h.observe(0.05);
  h.observe(5);
  const auto text = r.render();
  EXPECT_TRUE(contains(text, "# TYPE chargerecon_crm_call_duration_seconds histogram"));
  EXPECT_TRUE(contains(text, "chargerecon_crm_call_duration_seconds_bucket{method=\"charges/list\",le=\"0.01\"} 1"));
  EXPECT_TRUE(contains(text, "chargerecon_crm_call_duration_seconds_bucket{method=\"charges/list\",le=\"0.1\"} 3"));
  EXPECT_TRUE(contains(text, "chargerecon_crm_call_duration_seconds_bucket{method=\"charges/list\",le=\"+Inf\"} 4"));
  EXPECT_TRUE(contains(text, "chargerecon_crm_call_duration_seconds_count{method=\"charges/list\"} 4"));
  EXPECT_TRUE(contains(text, "chargerecon_crm_call_duration_seconds_sum{method=\"charges/list\"} 5.105"));
}

TEST(metrics, label_values_are_escaped) {
  EXPECT_EQ(render_labels({{"code", "a\"b\\c\nd"}}), "{code=\"a\\\"b\\\\c\\nd\"}");
}

TEST(metrics, counter_sum_adds_every_label_set) {
  registry r;
  EXPECT_EQ(r.counter_sum("chargerecon_ledger_errors_total"), 0u);
  r.get_counter("chargerecon_ledger_errors_total", "x", {{"operation", "record_page"}}).inc(2);
  r.get_counter("chargerecon_ledger_errors_total", "x", {{"operation", "counts"}}).inc();
  EXPECT_EQ(r.counter_sum("chargerecon_ledger_errors_total"), 3u);
}

TEST(metrics, one_name_cannot_have_two_types) {
  registry r;
  r.get_counter("x_total", "x");
  EXPECT_THROW(r.get_gauge("x_total", "x"), std::logic_error);
}

}  // namespace
}  // namespace chargerecon::obs
