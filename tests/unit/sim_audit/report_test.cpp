#include "sim-audit/report.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace chargerecon::sim_audit {
namespace {

audit_report sample() {
  crm_state crm;
  crm.charges = {{"I1", "C0001", "APPROVED", "0.1", "EUR", true, "B-000001"},
                 {"I2", "C0001", "APPROVED", "0.7", "EUR", true, "B-000002"},
                 {"I3", "C0002", "DECLINED", "5", "USD", false, std::nullopt}};
  billing_state billing;
  billing.records = {{"B-000001", "I1", "C0001", "0.1", "EUR"}, {"B-000002", "I2", "C0001", "0.7", "EUR"}};
  billing.posts_total = 3;
  billing.posts_by_key = {{"I1", 2}, {"I2", 1}};
  std::vector<ledger_charge> ledger = {
      {"I1", "C0001", "APPROVED", "0.1", "EUR", ledger::charge_state::acknowledged, "B-000001", false},
      {"I2", "C0001", "APPROVED", "0.7", "EUR", ledger::charge_state::acknowledged, "B-000002", false},
  };
  return audit(crm, billing, ledger, {{"APPROVED"}, true});
}

TEST(sim_audit_report, text_lists_the_summary_and_each_discrepancy_on_its_line) {
  const auto text = render_text(sample(), {{"APPROVED"}, true});
  EXPECT_NE(text.find("3 charges, APPROVED=2 DECLINED=1; 2 acknowledged"), std::string::npos) << text;
  EXPECT_NE(text.find("2 billed, 3 posts, 1 charges posted again (1 idempotent replays)"), std::string::npos) << text;
  EXPECT_NE(text.find("billed total: EUR 0.8\n"), std::string::npos) << text;  // never 0.7999999999999999
  EXPECT_NE(text.find("acknowledged=2"), std::string::npos) << text;
  EXPECT_NE(text.find("\ndiscrepancy not_drained I3: "), std::string::npos) << text;
  EXPECT_NE(text.find("sim-audit: 1 discrepancies\n"), std::string::npos) << text;
}

TEST(sim_audit_report, text_says_so_when_everything_agrees) {
  const auto text = render_text(audit_report{}, {{"APPROVED"}, true});
  EXPECT_NE(text.find("agree exactly; the backlog is drained"), std::string::npos) << text;
  EXPECT_EQ(text.find("discrepancy "), std::string::npos) << text;
}

TEST(sim_audit_report, json_is_one_object_with_every_figure) {
  const auto json = render_json(sample(), {{"APPROVED"}, true});
  const auto v = boost::json::parse(json).as_object();
  EXPECT_EQ(v.at("agrees"), false);
  EXPECT_EQ(v.at("expect_drained"), true);
  EXPECT_EQ(v.at("crm").at("charges"), 3);
  EXPECT_EQ(v.at("crm").at("by_status").at("APPROVED"), 2);
  EXPECT_EQ(v.at("billing").at("replayed_posts"), 1);
  EXPECT_EQ(v.at("billing").at("billed_total").at("EUR"), "0.8");
  EXPECT_EQ(v.at("ledger").at("by_state").at("acknowledged"), 2);
  EXPECT_EQ(v.at("ledger").at("by_state").at("dead"), 0);
  const auto& d = v.at("discrepancies").as_array();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].at("rule"), "not_drained");
  EXPECT_EQ(d[0].at("number"), "I3");
}

}  // namespace
}  // namespace chargerecon::sim_audit
