#include "chaos/report.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace chargerecon::chaos {
namespace {

TEST(chaos_report, reads_the_simulators_counters) {
  const auto crm = parse_crm_stats(
      R"({"logins":3,"calls":{"charges/list":12,"charges/acknowledge":4},"faults_injected":{"drop":2,"fail_5xx":0},)"
      R"("charge_count":10,"acknowledged_count":2})");
  ASSERT_TRUE(crm) << crm.error().to_string();
  EXPECT_EQ(crm->call("charges/list"), 12u);
  EXPECT_EQ(crm->call("charges/acknowledge"), 4u);
  EXPECT_EQ(crm->call("never"), 0u);
  EXPECT_EQ(crm->faults.at("drop"), 2u);
  const auto billing = parse_billing_stats(
      R"({"posts_total":9,"record_count":5,"faults_injected":{"rate_limit":1},"replay_conflict_count":0})");
  ASSERT_TRUE(billing) << billing.error().to_string();
  EXPECT_EQ(billing->call("posts"), 9u);
  EXPECT_EQ(billing->faults.at("rate_limit"), 1u);
}

TEST(chaos_report, a_stats_body_without_its_counters_is_malformed) {
  for (const auto* body : {"", "[]", R"({"calls":{}})", R"({"calls":{"x":"1"},"faults_injected":{}})",
                           R"({"calls":{},"faults_injected":{"drop":-1}})"}) {
    const auto r = parse_crm_stats(body);
    ASSERT_FALSE(r) << body;
    EXPECT_EQ(r.error().code, errc::malformed_answer);
  }
  EXPECT_FALSE(parse_billing_stats(R"({"faults_injected":{}})"));  // no posts_total
}

chaos_report sample() {
  chaos_report r;
  r.seed = 7;
  r.kills_requested = 50;
  r.kills = 50;
  r.restarts = 51;
  r.kills_by_phase = {{"billing", 12}, {"startup", 13}};
  r.crm.faults = {{"drop", 4}, {"token_expired", 9}};
  r.billing.faults = {{"rate_limit", 3}};
  r.audit.crm_charges = 400;
  r.audit.crm_by_status = {{"APPROVED", 300}, {"PENDING", 20}, {"DECLINED", 80}};
  r.wall_s = 61.25;
  r.drain_exit = 0;
  return r;
}

TEST(chaos_report, text_and_json_carry_the_figures) {
  auto r = sample();
  EXPECT_TRUE(r.passed());
  const auto text = render_text(r);
  for (const auto* want : {"seed 7", "400 charges", "380 processed", "kills survived: 50 of 50", "restarts 51",
                           "drop 4, token_expired 9", "rate_limit 3", "wall time 61.2 s", "discrepancies: 0"})
    EXPECT_NE(text.find(want), std::string::npos) << want << "\n" << text;

  const auto json = boost::json::parse(render_json(r)).as_object();
  EXPECT_EQ(json.at("kills_survived").to_number<int>(), 50);
  EXPECT_EQ(json.at("restarts").to_number<int>(), 51);
  EXPECT_EQ(json.at("charges").to_number<int>(), 400);
  EXPECT_EQ(json.at("faults_injected").at("crm_sim").at("token_expired").to_number<int>(), 9);
  EXPECT_EQ(json.at("faults_injected").at("billing_fake").at("rate_limit").to_number<int>(), 3);
  EXPECT_EQ(json.at("kills_by_phase").at("startup").to_number<int>(), 13);
  EXPECT_EQ(json.at("discrepancy_count").to_number<int>(), 0);
  EXPECT_EQ(json.at("passed"), true);
  EXPECT_EQ(json.at("seed").to_number<int>(), 7);
}

TEST(chaos_report, a_discrepancy_fails_the_run_and_is_listed) {
  auto r = sample();
  r.discrepancies.push_back({"billing_duplicate_records", "I00000042", "billing-fake holds 2 records"});
  EXPECT_FALSE(r.passed());
  EXPECT_NE(render_text(r).find("discrepancy billing_duplicate_records I00000042: billing-fake holds 2 records"),
            std::string::npos);
  const auto json = boost::json::parse(render_json(r)).as_object();
  EXPECT_EQ(json.at("passed"), false);
  EXPECT_EQ(json.at("discrepancies").at(0).at("rule"), "billing_duplicate_records");
}

}  // namespace
}  // namespace chargerecon::chaos
