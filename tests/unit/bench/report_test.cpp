#include "bench/report.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "bench/runner.hpp"

namespace chargerecon::bench {
namespace {

latency_result twenty_ms() {
  latency_result r;
  r.latency_ms = 20;
  r.concurrency = 32;
  r.engine_workload = {10000, 7700, 9850};
  r.bound = compute_bound(r.engine_workload, network{0.020, 0.020, 32, 50, 50});
  r.engine.charges = 10000;
  r.engine.wall_s = r.bound.seconds / 0.9;  // 90% of the bound
  r.engine.audit_ok = true;
  r.engine.exit_status = 0;
  r.baseline.charges = 500;
  r.baseline.wall_s = 10;  // 50 charges/s
  r.baseline.audit_ok = true;
  r.baseline.exit_status = 0;
  r.baseline_extrapolated = true;
  return r;
}

TEST(report, ratios_to_the_bound_and_to_the_baseline) {
  const auto r = twenty_ms();
  ASSERT_TRUE(ratio_to_bound(r));
  EXPECT_NEAR(*ratio_to_bound(r), 0.9, 1e-12);
  ASSERT_TRUE(ratio_to_baseline(r));
  EXPECT_NEAR(*ratio_to_baseline(r), 0.9 * *r.bound.charges_per_second / 50, 1e-9);
}

TEST(report, json_carries_every_figure_and_null_for_a_missing_bound) {
  bench_report rep;
  rep.seed = 7;
  rep.reject_customers = "C0007";
  rep.results.push_back(twenty_ms());
  auto zero = twenty_ms();
  zero.latency_ms = 0;
  zero.bound = compute_bound(zero.engine_workload, network{0, 0, 32, 50, 50});
  rep.results.push_back(zero);

  const auto doc = boost::json::parse(format_json(rep)).as_object();
  EXPECT_EQ(doc.at("seed").to_number<std::uint64_t>(), 7u);
  const auto& results = doc.at("results").as_array();
  ASSERT_EQ(results.size(), 2u);
  const auto& first = results[0].as_object();
  EXPECT_EQ(first.at("latency_ms").as_double(), 20);
  EXPECT_EQ(first.at("bound").at("limited_by").as_string(), "billing");
  EXPECT_NEAR(first.at("ratio_to_bound").as_double(), 0.9, 1e-12);
  EXPECT_TRUE(first.at("baseline").at("extrapolated").as_bool());
  EXPECT_EQ(first.at("baseline").at("charges").to_number<std::uint64_t>(), 500u);
  EXPECT_DOUBLE_EQ(first.at("baseline").at("charges_per_s").as_double(), 50);
  EXPECT_EQ(first.at("workload").at("posts").to_number<std::uint64_t>(), 7700u);
  const auto& second = results[1].as_object();
  EXPECT_TRUE(second.at("ratio_to_bound").is_null());
  EXPECT_TRUE(second.at("bound").at("charges_per_s").is_null());
  EXPECT_FALSE(second.at("ratio_to_baseline").is_null());
}

TEST(report, table_says_when_the_baseline_is_extrapolated_and_when_an_audit_failed) {
  bench_report rep;
  auto r = twenty_ms();
  r.baseline.audit_ok = false;
  r.baseline.exit_status = 1;
  rep.results.push_back(r);
  const auto table = format_table(rep);
  EXPECT_NE(table.find("500*"), std::string::npos) << table;
  EXPECT_NE(table.find("ran 500 of 10000 charges; its rate is extrapolated"), std::string::npos) << table;
  EXPECT_NE(table.find("baseline at 20 ms: sim-audit did NOT pass"), std::string::npos) << table;
  EXPECT_NE(table.find("90.0%"), std::string::npos) << table;
  EXPECT_NE(table.find("limited by billing"), std::string::npos) << table;
}

// Three runs of the same workload at 2, 1 and 3 seconds.
latency_result three_runs() {
  auto r = twenty_ms();
  for (const double wall : {2.0, 1.0, 3.0}) {
    auto m = r.engine;
    m.wall_s = wall;
    r.engine_runs.push_back(m);
  }
  r.engine = r.engine_runs[median_run(r.engine_runs)];
  return r;
}

TEST(report, the_median_run_is_the_middle_rate_and_of_two_the_slower) {
  const auto r = three_runs();
  EXPECT_EQ(median_run(r.engine_runs), 0u);  // 5,000 charges/s, between 3,333 and 10,000
  EXPECT_EQ(median_run({r.engine_runs[1], r.engine_runs[2]}), 1u);  // the slower of 10,000 and 3,333
  EXPECT_EQ(median_run({r.engine_runs[1]}), 0u);
  EXPECT_EQ(median_run({}), 0u);
}

TEST(report, repeated_runs_show_in_the_notes_and_in_the_json) {
  bench_report rep;
  rep.results.push_back(three_runs());
  const auto table = format_table(rep);
  EXPECT_NE(table.find("engine at 20 ms: 3 runs, 5000 / 10000 / 3333 charges/s; the row is the median run"),
            std::string::npos)
      << table;
  const auto doc = boost::json::parse(format_json(rep)).as_object();
  const auto& first = doc.at("results").as_array()[0].as_object();
  ASSERT_EQ(first.at("engine_runs").as_array().size(), 3u);
  EXPECT_DOUBLE_EQ(first.at("engine_runs").as_array()[1].at("wall_s").as_double(), 1.0);
  EXPECT_DOUBLE_EQ(first.at("engine").at("charges_per_s").as_double(), 5000);
}

TEST(parse_options, defaults_are_the_issue_s_benchmark) {
  auto o = parse_options({});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->charges, 10000u);
  EXPECT_EQ(o->latencies_ms, (std::vector<double>{0, 5, 20}));
  EXPECT_EQ(o->concurrency, 32u);
  EXPECT_FALSE(o->baseline_charges);
  EXPECT_EQ(o->repeat, 1u);
}

TEST(parse_options, takes_every_flag) {
  auto o = parse_options({"--charges", "2000", "--latency", "5", "--concurrency", "16", "--baseline-charges", "300",
                          "--out", "r.json", "--seed", "3", "--reject-customers", "", "--keep", "--repeat", "5"});
  ASSERT_TRUE(o) << o.error().diagnostic;
  EXPECT_EQ(o->charges, 2000u);
  EXPECT_EQ(o->latencies_ms, (std::vector<double>{5}));
  EXPECT_EQ(o->concurrency, 16u);
  EXPECT_EQ(o->baseline_charges, 300u);
  EXPECT_EQ(o->out, std::filesystem::path("r.json"));
  EXPECT_EQ(o->seed, 3u);
  EXPECT_EQ(o->reject_customers, "");
  EXPECT_TRUE(o->keep);
  EXPECT_EQ(o->repeat, 5u);
}

TEST(parse_options, refuses_what_cannot_be_run) {
  EXPECT_FALSE(parse_options({"--charges", "0"}));
  EXPECT_FALSE(parse_options({"--charges", "ten"}));
  EXPECT_FALSE(parse_options({"--latency", "5,x"}));
  EXPECT_FALSE(parse_options({"--concurrency", "300"}));
  EXPECT_FALSE(parse_options({"--charges", "100", "--baseline-charges", "200"}));
  EXPECT_FALSE(parse_options({"--charges"}));
  EXPECT_FALSE(parse_options({"--frobnicate", "1"}));
  EXPECT_FALSE(parse_options({"--repeat", "0"}));
  EXPECT_FALSE(parse_options({"--repeat", "101"}));
}

}  // namespace
}  // namespace chargerecon::bench
