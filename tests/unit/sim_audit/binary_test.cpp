// The sim-audit executable against the real simulators over loopback: exit statuses, the text
// report, --json. (That a full chargerecond run ends in exact agreement is scripts/demo's and
// the integration tests' to show; here the ledger is made by hand.)

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <csignal>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "ledger/sqlite_ledger.hpp"
#include "support/process.hpp"

namespace chargerecon::sim_audit {
namespace {

using namespace std::chrono_literals;

#if defined(CHARGERECON_SIM_AUDIT_PATH) && defined(CHARGERECON_CRM_SIM_PATH) && defined(CHARGERECON_BILLING_FAKE_PATH)
const std::filesystem::path sim_audit_program = CHARGERECON_SIM_AUDIT_PATH;
const std::filesystem::path crm_sim_program = CHARGERECON_CRM_SIM_PATH;
const std::filesystem::path billing_fake_program = CHARGERECON_BILLING_FAKE_PATH;
#else
const std::filesystem::path sim_audit_program, crm_sim_program, billing_fake_program;
#endif

class sim_audit_binary : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const auto& p : {sim_audit_program, crm_sim_program, billing_fake_program}) {
      ASSERT_FALSE(p.empty()) << "the sim-audit, crm-sim and billing-fake targets must be defined";
      ASSERT_TRUE(std::filesystem::exists(p)) << p << " is missing: build it first";
    }
  }

  // Starts both simulators; crm-sim with `backlog` charges, none PENDING.
  void start_simulators(std::size_t backlog) {
    crm.emplace(test::child_process::spawn(crm_sim_program,
                                           {"--port-file", (dir / "crm.port").string(), "--quiet", "--backlog",
                                            std::to_string(backlog), "--pending-ratio", "0"},
                                           {}, dir / "crm.out", dir / "crm.err"));
    billing.emplace(test::child_process::spawn(billing_fake_program,
                                               {"--port-file", (dir / "billing.port").string(), "--quiet"}, {},
                                               dir / "billing.out", dir / "billing.err"));
    const auto crm_port = test::wait_for_port_file(dir / "crm.port", 30s, *crm);
    ASSERT_TRUE(crm_port) << crm->output();
    const auto billing_port = test::wait_for_port_file(dir / "billing.port", 30s, *billing);
    ASSERT_TRUE(billing_port) << billing->output();
    crm_url = "http://127.0.0.1:" + std::to_string(*crm_port);
    billing_url = "http://127.0.0.1:" + std::to_string(*billing_port);
  }

  // An empty ledger, as chargerecond creates it.
  void make_ledger() {
    ledger::sqlite_ledger_options o;
    o.path = ledger_path;
    auto opened = ledger::sqlite_ledger::open(o, obs::event_log::null());
    ASSERT_TRUE(opened) << opened.error().to_string();
  }

  struct outcome {
    int status = -1;
    std::string out;
    std::string err;
  };
  outcome audit(std::vector<std::string> args) {
    auto child = test::child_process::spawn(sim_audit_program, args, {}, dir / "audit.out", dir / "audit.err");
    const auto status = child.wait(60s);
    EXPECT_TRUE(status) << "sim-audit did not finish";
    return {status.value_or(-1), test::read_file(dir / "audit.out"), test::read_file(dir / "audit.err")};
  }
  std::vector<std::string> peers() const {
    return {"--crm-url", crm_url, "--billing-url", billing_url, "--ledger", ledger_path.string()};
  }

  test::temp_dir dir{"sim-audit-test"};
  std::filesystem::path ledger_path = dir / "ledger.db";
  std::optional<test::child_process> crm, billing;
  std::string crm_url, billing_url;
};

TEST_F(sim_audit_binary, untouched_empty_states_agree) {
  start_simulators(0);
  make_ledger();
  auto args = peers();
  args.push_back("--expect-drained");
  const auto r = audit(args);
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("agree exactly; the backlog is drained"), std::string::npos) << r.out;
}

TEST_F(sim_audit_binary, an_undrained_backlog_is_listed_and_exits_1) {
  start_simulators(5);
  make_ledger();
  auto args = peers();
  // Nothing ran yet: without --expect-drained that is no discrepancy.
  EXPECT_EQ(audit(args).status, 0);

  args.push_back("--expect-drained");
  const auto text = audit(args);
  EXPECT_EQ(text.status, 1) << text.out << text.err;
  for (const auto* number : {"I00000001", "I00000002", "I00000003", "I00000004", "I00000005"})
    EXPECT_NE(text.out.find(std::string("\ndiscrepancy not_drained ") + number + ": "), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("crm-sim:      5 charges,"), std::string::npos) << text.out;

  args.push_back("--json");
  const auto json = audit(args);
  EXPECT_EQ(json.status, 1);
  const auto v = boost::json::parse(json.out);
  EXPECT_EQ(v.at("agrees"), false);
  EXPECT_EQ(v.at("crm").at("charges"), 5);
  EXPECT_EQ(v.at("discrepancies").as_array().size(), 5u);
}

TEST_F(sim_audit_binary, usage_errors_exit_2) {
  const auto r = audit({"--crm-url", "http://127.0.0.1:1"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("--billing-url"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("usage: sim-audit"), std::string::npos) << r.err;
}

TEST_F(sim_audit_binary, an_unreadable_ledger_exits_2) {
  start_simulators(0);
  const auto r = audit(peers());  // no ledger made
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find(ledger_path.string()), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

TEST_F(sim_audit_binary, an_unreachable_simulator_exits_2) {
  start_simulators(0);
  make_ledger();
  // A port nobody listens on any more: billing-fake's, after it stopped.
  billing->signal(SIGTERM);
  ASSERT_TRUE(billing->wait(30s));
  const auto r = audit(peers());
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find(billing_url), std::string::npos) << r.err;
}

TEST_F(sim_audit_binary, plain_http_beyond_loopback_is_refused) {
  make_ledger();
  const auto r = audit(
      {"--crm-url", "http://192.0.2.1:80", "--billing-url", "http://192.0.2.1:81", "--ledger", ledger_path.string()});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("plain"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace chargerecon::sim_audit
