#include "sim-audit/options.hpp"

#include <gtest/gtest.h>

namespace chargerecon::sim_audit {
namespace {

const std::vector<std::string> mandatory{"--crm-url", "http://127.0.0.1:1", "--billing-url=http://127.0.0.1:2",
                                         "--ledger", "/tmp/l.db"};

std::vector<std::string> with(std::vector<std::string> extra) {
  auto args = mandatory;
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

TEST(sim_audit_options, mandatory_flags_and_defaults) {
  const auto o = parse_options(mandatory).value();
  EXPECT_EQ(o.crm_url, "http://127.0.0.1:1");
  EXPECT_EQ(o.billing_url, "http://127.0.0.1:2");
  EXPECT_EQ(o.ledger_path, "/tmp/l.db");
  EXPECT_EQ(o.audit.bill_statuses, std::vector<std::string>{"APPROVED"});
  EXPECT_FALSE(o.audit.expect_drained);
  EXPECT_FALSE(o.json);
  EXPECT_EQ(o.timeout, std::chrono::seconds(30));
}

TEST(sim_audit_options, every_flag) {
  const auto o = parse_options(with({"--bill-statuses", "APPROVED,DECLINED,APPROVED", "--expect-drained", "--json",
                                     "--timeout=5"}))
                     .value();
  EXPECT_EQ(o.audit.bill_statuses, (std::vector<std::string>{"APPROVED", "DECLINED"}));
  EXPECT_TRUE(o.audit.expect_drained);
  EXPECT_TRUE(o.json);
  EXPECT_EQ(o.timeout, std::chrono::seconds(5));
}

TEST(sim_audit_options, help_needs_nothing_else) { EXPECT_TRUE(parse_options({"--help"}).value().help); }

TEST(sim_audit_options, refusals_name_the_flag) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--billing-url", "http://x", "--ledger", "l"}, "--crm-url"},
      {{"--crm-url", "http://x", "--ledger", "l"}, "--billing-url"},
      {{"--crm-url", "http://x", "--billing-url", "http://y"}, "--ledger"},
      {with({"--bill-statuses", "PENDING"}), "--bill-statuses"},
      {with({"--bill-statuses", "APPROVED,,DECLINED"}), "--bill-statuses"},
      {with({"--timeout", "0"}), "--timeout"},
      {with({"--timeout", "5s"}), "--timeout"},
      {with({"--json=yes"}), "--json"},
      {with({"--ledger"}), "--ledger"},
      {with({"--frobnicate"}), "--frobnicate"},
      {with({"stray"}), "stray"},
  };
  for (const auto& [args, named] : cases) {
    const auto o = parse_options(args);
    ASSERT_FALSE(o) << named;
    EXPECT_EQ(o.error().code, make_error_code(errc::invalid_argument));
    EXPECT_NE(o.error().diagnostic.find(named), std::string::npos) << o.error().diagnostic;
  }
}

}  // namespace
}  // namespace chargerecon::sim_audit
