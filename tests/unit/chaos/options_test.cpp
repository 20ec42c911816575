#include "chaos/options.hpp"

#include <gtest/gtest.h>

namespace chargerecon::chaos {
namespace {

TEST(chaos_options, defaults_are_a_run_of_50_kills) {
  const auto o = parse_options({});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->kills, 50u);
  EXPECT_EQ(o->charges, 2000u);
  EXPECT_EQ(o->seed, 1u);
  EXPECT_EQ(o->held_customers, "C0007,C0013");
  EXPECT_FALSE(o->report);
  EXPECT_FALSE(o->chargerecond);
  EXPECT_FALSE(o->keep);
}

TEST(chaos_options, every_flag_in_both_forms) {
  const auto o = parse_options({"--charges",
                                "20000",
                                "--seed=42",
                                "--kills",
                                "300",
                                "--report",
                                "r.json",
                                "--held-customers=",
                                "--customers",
                                "9",
                                "--pending-ratio",
                                "0.1",
                                "--cycle-deadline",
                                "90",
                                "--stall=7",
                                "--drain-timeout",
                                "600",
                                "--chargerecond",
                                "/x/chargerecond",
                                "--crm-sim",
                                "/x/crm-sim",
                                "--billing-fake",
                                "/x/billing-fake",
                                "--build",
                                "/b",
                                "--work-dir",
                                "/w",
                                "--keep"});
  ASSERT_TRUE(o) << o.error().diagnostic;
  EXPECT_EQ(o->charges, 20000u);
  EXPECT_EQ(o->seed, 42u);
  EXPECT_EQ(o->kills, 300u);
  EXPECT_EQ(o->report, std::filesystem::path("r.json"));
  EXPECT_EQ(o->held_customers, "");
  EXPECT_EQ(o->customers, 9u);
  EXPECT_EQ(o->pending_ratio, 0.1);
  EXPECT_EQ(o->cycle_deadline, std::chrono::seconds(90));
  EXPECT_EQ(o->stall, std::chrono::seconds(7));
  EXPECT_EQ(o->drain_timeout, std::chrono::seconds(600));
  EXPECT_EQ(o->chargerecond, std::filesystem::path("/x/chargerecond"));
  EXPECT_EQ(o->crm_sim, std::filesystem::path("/x/crm-sim"));
  EXPECT_EQ(o->billing_fake, std::filesystem::path("/x/billing-fake"));
  EXPECT_EQ(o->build_dir, std::filesystem::path("/b"));
  EXPECT_EQ(o->work_dir, std::filesystem::path("/w"));
  EXPECT_TRUE(o->keep);
}

TEST(chaos_options, mistakes_name_the_flag) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--kills", "0"}, "--kills"},
      {{"--kills", "many"}, "--kills"},
      {{"--charges", "-5"}, "--charges"},
      {{"--charges"}, "--charges"},
      {{"--pending-ratio", "0.9"}, "--pending-ratio"},
      {{"--stall", "60", "--cycle-deadline", "60"}, "--stall"},
      {{"--report", ""}, "--report"},
      {{"--keep=yes"}, "--keep"},
      {{"--bogus", "1"}, "--bogus"},
      {{"stray"}, "stray"},
  };
  for (const auto& [args, names] : cases) {
    const auto o = parse_options(args);
    ASSERT_FALSE(o) << args.front();
    EXPECT_NE(o.error().diagnostic.find(names), std::string::npos) << o.error().diagnostic;
  }
}

TEST(chaos_options, usage_lists_every_flag) {
  const auto text = usage_text();
  for (const auto* flag : {"--charges", "--seed", "--kills", "--report", "--held-customers", "--customers",
                           "--pending-ratio", "--cycle-deadline", "--stall", "--drain-timeout", "--chargerecond",
                           "--crm-sim", "--billing-fake", "--build", "--work-dir", "--keep", "--help"})
    EXPECT_NE(text.find(flag), std::string::npos) << flag;
}

}  // namespace
}  // namespace chargerecon::chaos
