// chargereconctl's ledger commands, run in-process against a real SQLite ledger that the test
// fills through the engine's own calls (record_page, mark_billing, ...), while that
// "daemon" connection stays open and holds its lock, as chargerecond would.

#include "chargereconctl/commands.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <sstream>

#include "chargereconctl/cli.hpp"
#include "ledger/sqlite_ledger.hpp"
#include "support/process.hpp"

namespace chargerecon::ctl {
namespace {

using namespace std::chrono;
using ledger::charge_state;
using ::testing::HasSubstr;
using ::testing::Not;

const ledger::timestamp t0 = ledger::timestamp{sys_days{year{2026} / 11 / 2}} + hours(9);

ledger::observed_charge observed(std::string number, std::string status, std::string amount = "10.00",
                                 std::string customer = "C0001", std::string currency = "EUR") {
  ledger::observed_charge c;
  c.number = std::move(number);
  c.customer = std::move(customer);
  c.status = std::move(status);
  c.amount = std::move(amount);
  c.currency = std::move(currency);
  c.raw_json = "{\"number\":\"" + c.number + "\",\"amount\":" + c.amount + "}";
  return c;
}

struct outcome {
  int status = -1;
  std::string out;
  std::string err;
};

class chargereconctl_commands : public ::testing::Test {
 protected:
  void SetUp() override {
    ledger::sqlite_ledger_options o;
    o.path = ledger_path();
    o.mode = ledger::open_mode::exclusive;
    o.policy.ack_max_attempts = 1;  // one refusal makes a charge dead
    o.policy.random01 = [] { return 0.0; };
    auto opened = ledger::sqlite_ledger::open(o, obs::event_log::null());
    ASSERT_TRUE(opened) << opened.error().to_string();
    daemon_ = std::move(*opened);
    fill();
  }

  std::string ledger_path() const { return (dir_ / "ledger.db").string(); }

  // I1 billed and acknowledged; I2 billed, never acknowledged; I3 held; I4 (DECLINED) dead;
  // I5 PENDING; I6 (a customer that needs CSV quoting) billed and acknowledged, a day later;
  // I7 APPROVED, left seen (never billed).
  void fill() {
    auto& l = *daemon_;
    const std::vector<ledger::observed_charge> day1{
        observed("I1", "APPROVED", "19.99"), observed("I2", "APPROVED", "0.1"),
        observed("I3", "APPROVED", "0.2", "C0003"), observed("I4", "DECLINED", "7.00", "C0004", "USD"),
        observed("I5", "PENDING", "3.00")};
    ASSERT_TRUE(l.record_page(day1, t0));
    const std::vector<std::string> bill{"I1", "I2", "I3"};
    ASSERT_TRUE(l.mark_billing(bill, t0 + seconds(1)));
    ASSERT_TRUE(l.mark_billed("I1", "B-1", t0 + seconds(2)));
    ASSERT_TRUE(l.mark_billed("I2", "B-2", t0 + seconds(2)));
    ASSERT_TRUE(l.mark_held("I3", "422 unknown customer C0003", t0 + seconds(2)));
    ledger::ack_report ack;
    ack.acknowledged = {"I1"};
    ack.refused = {{"I4", "TEMPORARY_FAILURE", "try later"}};
    ASSERT_TRUE(l.record_ack_result(ack, t0 + seconds(3)));

    const std::vector<ledger::observed_charge> day2{observed("I6", "APPROVED", "1234567890.10", "ACME, \"North\""),
                                                    observed("I7", "APPROVED", "0.7")};
    const auto t1 = t0 + days(1);
    ASSERT_TRUE(l.record_page(day2, t1));
    const std::vector<std::string> bill6{"I6"};
    ASSERT_TRUE(l.mark_billing(bill6, t1 + seconds(1)));
    ASSERT_TRUE(l.mark_billed("I6", "B-6", t1 + seconds(2)));
    ledger::ack_report ack2;
    ack2.acknowledged = {"I6"};
    ASSERT_TRUE(l.record_ack_result(ack2, t1 + seconds(3)));
  }

  outcome run_ctl(std::vector<std::string> args, std::string stdin_text = {}) {
    outcome o;
    auto inv = parse_command_line(args, {"", "alice"});
    if (!inv) {
      o.status = exit_usage;
      o.err = inv.error().diagnostic;
      return o;
    }
    std::ostringstream out, err;
    std::istringstream in(stdin_text);
    context ctx{out, err, in, [this] { return now_; }, secret_env{}};
    o.status = run(*inv, ctx);
    o.out = out.str();
    o.err = err.str();
    return o;
  }

  outcome ledger_ctl(std::vector<std::string> args) {
    args.insert(args.begin(), {"--ledger", ledger_path()});
    return run_ctl(std::move(args));
  }

  test::temp_dir dir_{"chargereconctl"};
  std::unique_ptr<ledger::sqlite_ledger> daemon_;
  ledger::timestamp now_ = t0 + days(1) + hours(2);
};

TEST_F(chargereconctl_commands, status_counts_states_and_names_the_oldest_unfinished) {
  const auto r = ledger_ctl({"status"});
  ASSERT_EQ(r.status, exit_ok) << r.err;
  EXPECT_THAT(r.out, HasSubstr("charges: 7"));
  EXPECT_THAT(r.out, HasSubstr("  held          1"));
  EXPECT_THAT(r.out, HasSubstr("  acknowledged  2"));
  EXPECT_THAT(r.out, HasSubstr("oldest unfinished: I2 (billed), first seen 2026-11-02T09:00:00.000Z, 1d 2h ago"));
  EXPECT_THAT(r.out, HasSubstr("last activity: 2026-11-03T09:00:03.000Z, 1h 59m ago"));

  const auto j = ledger_ctl({"status", "--json"});
  ASSERT_EQ(j.status, exit_ok) << j.err;
  const auto v = boost::json::parse(j.out).as_object();
  EXPECT_EQ(v.at("total").as_int64(), 7);
  EXPECT_EQ(v.at("counts").at("billed").as_int64(), 1);
  EXPECT_EQ(v.at("counts").at("seen").as_int64(), 1);
  EXPECT_EQ(v.at("counts").at("dead").as_int64(), 1);
  EXPECT_EQ(v.at("counts").at("billing").as_int64(), 0);  // every state, zeros included
  EXPECT_EQ(v.at("oldest_unfinished").at("number").as_string(), "I2");
  EXPECT_EQ(v.at("oldest_unfinished").at("age_seconds").as_int64(), 26 * 3600);
  EXPECT_EQ(v.at("last_activity").as_string(), "2026-11-03T09:00:03.000Z");
}

TEST_F(chargereconctl_commands, list_filters_and_says_when_the_limit_cut_it) {
  const auto held = ledger_ctl({"list", "--state", "held"});
  ASSERT_EQ(held.status, exit_ok) << held.err;
  EXPECT_THAT(held.out, HasSubstr("NUMBER"));
  EXPECT_THAT(held.out, ::testing::ContainsRegex("\nI3 +held +APPROVED +C0003 +0.2 +EUR"));
  EXPECT_THAT(held.out, Not(HasSubstr("I2")));

  const auto by_customer = ledger_ctl({"list", "--customer", "C0004", "--json"});
  ASSERT_EQ(by_customer.status, exit_ok);
  const auto v = boost::json::parse(by_customer.out).as_object();
  ASSERT_EQ(v.at("count").as_int64(), 1);
  const auto& c = v.at("charges").as_array()[0].as_object();
  EXPECT_EQ(c.at("number").as_string(), "I4");
  EXPECT_EQ(c.at("state").as_string(), "dead");
  EXPECT_EQ(c.at("amount").as_string(), "7.00");  // exact text, never a float
  EXPECT_EQ(c.at("currency").as_string(), "USD");
  EXPECT_FALSE(v.at("truncated").as_bool());

  const auto second_day = ledger_ctl({"list", "--since", "2026-11-03", "--json"});
  const auto s = boost::json::parse(second_day.out).as_object();
  EXPECT_EQ(s.at("count").as_int64(), 2);

  const auto cut = ledger_ctl({"list", "--limit", "2"});
  ASSERT_EQ(cut.status, exit_ok);
  EXPECT_THAT(cut.out, HasSubstr("I1"));
  EXPECT_THAT(cut.out, HasSubstr("I2"));
  EXPECT_THAT(cut.out, Not(HasSubstr("I3")));
  EXPECT_THAT(cut.err, HasSubstr("raise --limit"));

  EXPECT_THAT(ledger_ctl({"list", "--customer", "nobody"}).out, HasSubstr("no charge matches"));
}

TEST_F(chargereconctl_commands, show_prints_the_charge_and_its_audit_trail) {
  const auto r = ledger_ctl({"show", "I3"});
  ASSERT_EQ(r.status, exit_ok) << r.err;
  EXPECT_THAT(r.out, HasSubstr("state              held"));
  EXPECT_THAT(r.out, HasSubstr("422 unknown customer C0003"));
  EXPECT_THAT(r.out, HasSubstr("audit trail:"));
  EXPECT_THAT(r.out, HasSubstr("billing -> held"));

  const auto j = ledger_ctl({"show", "I3", "--json"});
  ASSERT_EQ(j.status, exit_ok);
  const auto v = boost::json::parse(j.out).as_object();
  EXPECT_EQ(v.at("charge").at("raw_json").as_string(), "{\"number\":\"I3\",\"amount\":0.2}");
  const auto& events = v.at("events").as_array();
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events.back().at("to").as_string(), "held");
  EXPECT_EQ(events.back().at("actor").as_string(), "engine");

  const auto missing = ledger_ctl({"show", "I404"});
  EXPECT_EQ(missing.status, exit_problems);
  EXPECT_THAT(missing.err, HasSubstr("no charge I404 in the ledger"));
}

TEST_F(chargereconctl_commands, retry_requeues_a_held_charge_once_and_is_audited) {
  const auto r = ledger_ctl({"retry", "I3", "--reason", "customer created in billing"});
  ASSERT_EQ(r.status, exit_ok) << r.err;
  EXPECT_EQ(r.out, "I3: held -> billing (retried by alice)\n");

  const auto again = ledger_ctl({"retry", "I3", "--reason", "twice"});
  EXPECT_EQ(again.status, exit_problems);
  EXPECT_THAT(again.err, HasSubstr("retry refused: I3 is billing; only held and dead charges can be retried"));

  // The daemon's connection sees the change, with the person and the reason in the trail.
  auto c = daemon_->get("I3");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->state, charge_state::billing);
  auto events = daemon_->events("I3");
  ASSERT_TRUE(events);
  EXPECT_EQ(events->back().kind, "retry");
  EXPECT_EQ(events->back().actor, "alice");
  EXPECT_EQ(events->back().reason, "customer created in billing");

  // A dead charge goes back to waiting for its acknowledgement; --by names someone else.
  const auto dead = ledger_ctl({"retry", "I4", "--reason", "CRM.COM fixed", "--by", "bob", "--json"});
  ASSERT_EQ(dead.status, exit_ok) << dead.err;
  const auto v = boost::json::parse(dead.out).as_object();
  EXPECT_EQ(v.at("from").as_string(), "dead");
  EXPECT_EQ(v.at("to").as_string(), "ack_pending");
  EXPECT_EQ(v.at("by").as_string(), "bob");

  EXPECT_EQ(ledger_ctl({"retry", "I404", "--reason", "x"}).status, exit_problems);
}

TEST_F(chargereconctl_commands, release_is_for_held_charges_only) {
  const auto dead = ledger_ctl({"release", "I4", "--reason", "write off"});
  EXPECT_EQ(dead.status, exit_problems);
  EXPECT_THAT(dead.err, HasSubstr("only held charges can be released"));

  const auto r = ledger_ctl({"release", "I3", "--reason", "goodwill: never bill this one"});
  ASSERT_EQ(r.status, exit_ok) << r.err;
  EXPECT_EQ(r.out, "I3: held -> ack_pending (released by alice)\n");
  auto events = daemon_->events("I3");
  ASSERT_TRUE(events);
  EXPECT_EQ(events->back().kind, "release");
  EXPECT_EQ(events->back().reason, "goodwill: never bill this one");
}

TEST_F(chargereconctl_commands, export_writes_rfc_4180_csv_of_the_range_with_exact_totals) {
  const auto r = ledger_ctl({"export", "--since", "2026-11-02", "--until", "2026-11-03"});
  ASSERT_EQ(r.status, exit_ok) << r.err;
  EXPECT_EQ(r.out,
            "number,customer,status,amount,currency,state,billing_reference,first_seen,billed_at,acknowledged_at\r\n"
            "I1,C0001,APPROVED,19.99,EUR,acknowledged,B-1,2026-11-02T09:00:00.000Z,2026-11-02T09:00:02.000Z,"
            "2026-11-02T09:00:03.000Z\r\n"
            "I2,C0001,APPROVED,0.1,EUR,billed,B-2,2026-11-02T09:00:00.000Z,2026-11-02T09:00:02.000Z,\r\n"
            "I3,C0003,APPROVED,0.2,EUR,held,,2026-11-02T09:00:00.000Z,,\r\n"
            "I4,C0004,DECLINED,7.00,USD,dead,,2026-11-02T09:00:00.000Z,,\r\n"
            "I5,C0001,PENDING,3.00,EUR,pending,,2026-11-02T09:00:00.000Z,,\r\n"
            "I6,\"ACME, \"\"North\"\"\",APPROVED,1234567890.10,EUR,acknowledged,B-6,2026-11-03T09:00:00.000Z,"
            "2026-11-03T09:00:02.000Z,2026-11-03T09:00:03.000Z\r\n"
            "I7,C0001,APPROVED,0.7,EUR,seen,,2026-11-03T09:00:00.000Z,,\r\n");
  EXPECT_THAT(r.err,
              HasSubstr("exported 7 charges first seen in [2026-11-02T00:00:00.000Z, 2026-11-04T00:00:00.000Z)"));
  EXPECT_THAT(r.err, HasSubstr("totals: EUR 1234567914.09, USD 7.00"));

  const auto day2 = ledger_ctl({"export", "--since", "2026-11-03", "--until", "2026-11-03", "--format", "jsonl"});
  ASSERT_EQ(day2.status, exit_ok) << day2.err;
  std::istringstream lines(day2.out);
  std::string line;
  std::vector<std::string> numbers;
  while (std::getline(lines, line)) {
    const auto v = boost::json::parse(line).as_object();
    numbers.emplace_back(v.at("number").as_string());
  }
  EXPECT_EQ(numbers, (std::vector<std::string>{"I6", "I7"}));
  EXPECT_THAT(day2.out, HasSubstr("\"amount\":\"1234567890.10\""));

  EXPECT_EQ(ledger_ctl({"export", "--since", "2026-11-02", "--until", "2026-11-03", "--json"}).status, exit_usage);
}

TEST_F(chargereconctl_commands, reconcile_reports_every_disagreement_and_exits_1) {
  const auto r = ledger_ctl({"reconcile", "--older-than", "1h"});
  EXPECT_EQ(r.status, exit_problems) << r.err;
  EXPECT_THAT(r.out, HasSubstr("billed_not_acknowledged I2 state=billed"));
  EXPECT_THAT(r.out, HasSubstr("held I3 state=held"));
  EXPECT_THAT(r.out, HasSubstr("dead I4 state=dead"));
  EXPECT_THAT(r.out, HasSubstr("not_billed I7 state=seen"));
  EXPECT_THAT(r.out, Not(HasSubstr(" I1 ")));
  EXPECT_THAT(r.out, Not(HasSubstr(" I5 ")));
  EXPECT_THAT(r.out, Not(HasSubstr(" I6 ")));
  EXPECT_THAT(r.out,
              HasSubstr("4 disagreements over 7 charges in the ledger (threshold 1h); at stake: EUR 1.0, USD 7.00"));

  // A longer threshold leaves only what waits for a person.
  const auto j = ledger_ctl({"reconcile", "--older-than", "3h", "--json"});
  EXPECT_EQ(j.status, exit_problems);
  const auto v = boost::json::parse(j.out).as_object();
  const auto& findings = v.at("findings").as_array();
  ASSERT_EQ(findings.size(), 3u);  // I2 was billed 1d 2h ago; I7 seen 2h ago is within 3h
  EXPECT_EQ(findings[0].at("kind").as_string(), "billed_not_acknowledged");
  EXPECT_EQ(findings[1].at("kind").as_string(), "held");
  EXPECT_EQ(findings[2].at("kind").as_string(), "dead");
  EXPECT_EQ(v.at("at_stake").at("USD").as_string(), "7.00");
  EXPECT_TRUE(v.at("crm").is_null());
}

TEST_F(chargereconctl_commands, reconcile_is_clean_once_the_work_is_done) {
  ledger::ack_report ack;
  ack.acknowledged = {"I2"};
  ASSERT_TRUE(daemon_->record_ack_result(ack, now_));
  ASSERT_EQ(ledger_ctl({"release", "I3", "--reason", "goodwill"}).status, exit_ok);
  ASSERT_EQ(ledger_ctl({"retry", "I4", "--reason", "fixed"}).status, exit_ok);
  ack.acknowledged = {"I3", "I4"};
  ASSERT_TRUE(daemon_->record_ack_result(ack, now_));
  const std::vector<std::string> bill{"I7"};
  ASSERT_TRUE(daemon_->mark_billing(bill, now_));
  ASSERT_TRUE(daemon_->mark_billed("I7", "B-7", now_));
  ack.acknowledged = {"I7"};
  ASSERT_TRUE(daemon_->record_ack_result(ack, now_));

  const auto r = ledger_ctl({"reconcile"});
  EXPECT_EQ(r.status, exit_ok) << r.out << r.err;
  // I3 was acknowledged without billing, but a person released it: the trail says so.
  EXPECT_THAT(r.out, HasSubstr("0 disagreements over 7 charges"));
}

TEST_F(chargereconctl_commands, the_configuration_names_the_ledger_and_the_billable_statuses) {
  const auto config = dir_ / "chargerecon.yaml";
  test::write_file(config,
                   "crm:\n  base_url: http://127.0.0.1:9/crmapi/rest/v2/\n  username: operator\n"
                   "  organisation: demo-org\n"
                   "billing:\n  url: http://127.0.0.1:9/bill\n  bill_statuses: [APPROVED, DECLINED]\n"
                   "ledger:\n  path: " +
                       ledger_path() + "\n",
                   0600);
  // A DECLINED charge the daemon (billing APPROVED only) acknowledged without billing.
  const std::vector<ledger::observed_charge> page{observed("I8", "DECLINED", "4.00")};
  ASSERT_TRUE(daemon_->record_page(page, now_ - hours(1)));
  ledger::ack_report ack;
  ack.acknowledged = {"I8"};
  ASSERT_TRUE(daemon_->record_ack_result(ack, now_ - hours(1)));
  const auto i8_findings = [](const outcome& r) {
    std::vector<std::string> kinds;
    const auto report = boost::json::parse(r.out);
    for (const auto& f : report.at("findings").as_array())
      if (f.at("number").as_string() == "I8") kinds.emplace_back(f.at("kind").as_string());
    return kinds;
  };
  // Without a configuration, APPROVED alone is billable: nothing to say about I8.
  const auto plain = ledger_ctl({"reconcile", "--json"});
  EXPECT_EQ(plain.status, exit_problems) << plain.err;
  EXPECT_TRUE(i8_findings(plain).empty());
  // The configuration's billing.bill_statuses make it billable, and so never billed.
  const auto r = run_ctl({"--config", config.string(), "reconcile", "--json"});
  EXPECT_EQ(r.status, exit_problems) << r.err;
  EXPECT_EQ(i8_findings(r), std::vector<std::string>{"acknowledged_unbilled"});
  EXPECT_EQ(run_ctl({"--config", config.string(), "status"}).status, exit_ok);
}

TEST_F(chargereconctl_commands, what_cannot_be_opened_gets_its_exit_status_and_a_next_step) {
  const auto missing = run_ctl({"--ledger", (dir_ / "none.db").string(), "status"});
  EXPECT_EQ(missing.status, exit_unavailable);
  EXPECT_THAT(missing.err, HasSubstr("cannot open the ledger"));
  EXPECT_THAT(missing.err, HasSubstr("check --ledger or ledger.path"));

  const auto no_config = run_ctl({"--config", (dir_ / "absent.yaml").string(), "status"});
  EXPECT_EQ(no_config.status, exit_config);
  EXPECT_THAT(no_config.err, HasSubstr("absent.yaml"));
  EXPECT_THAT(no_config.err, HasSubstr("--ledger PATH"));

  const auto bad = dir_ / "bad.yaml";
  test::write_file(bad, "crm:\n  base_url: http://127.0.0.1:9/crmapi/rest/v2/\n  page_sise: 3\n", 0600);
  const auto invalid = run_ctl({"--config", bad.string(), "list"});
  EXPECT_EQ(invalid.status, exit_config);
  EXPECT_THAT(invalid.err, HasSubstr("bad.yaml:3"));

  // CRM.COM commands need the configuration's crm section and its secrets.
  const auto crm = run_ctl({"--ledger", ledger_path(), "--config", bad.string(), "promotions"});
  EXPECT_EQ(crm.status, exit_config);
}

TEST_F(chargereconctl_commands, help_prints_to_stdout_and_exits_0) {
  const auto r = run_ctl({"reconcile", "--help"});
  EXPECT_EQ(r.status, exit_ok);
  EXPECT_THAT(r.out, HasSubstr("usage: chargereconctl reconcile"));
}

TEST(chargereconctl_exit_status, crm_failures_map_to_who_can_act) {
  EXPECT_EQ(crm_exit_status(error{errc::crm_login_refused, "authentication/token: refused"}), exit_config);
  EXPECT_EQ(crm_exit_status(error{errc::invalid_argument, "x"}), exit_usage);
  EXPECT_EQ(crm_exit_status(error{errc::crm_limit_exceeded, "x"}), exit_usage);
  EXPECT_EQ(crm_exit_status(error{errc::crm_http_status, "HTTP 404"}), exit_problems);
  const error not_ok{errc::crm_status_not_ok, "netflix/subscriptions/show: status.code 'NOT_FOUND': none"};
  EXPECT_EQ(crm_exit_status(not_ok), exit_problems);
  EXPECT_EQ(crm_exit_status(error{errc::crm_retries_exhausted, "gave up after 3 attempts: " + not_ok.to_string()}),
            exit_problems);
  const error refused{errc::connect_failed, "connect 127.0.0.1:9: refused"};
  EXPECT_EQ(crm_exit_status(error{errc::crm_retries_exhausted, "gave up after 3 attempts: " + refused.to_string()}),
            exit_unavailable);
  EXPECT_EQ(crm_exit_status(refused), exit_unavailable);
  EXPECT_EQ(crm_exit_status(error{errc::malformed_answer, "x"}), exit_unavailable);
}

TEST(chargereconctl_exit_status, ledger_failures_map_to_who_can_act) {
  EXPECT_EQ(ledger_exit_status(error{errc::ledger_unknown_charge, "x"}), exit_problems);
  EXPECT_EQ(ledger_exit_status(error{errc::ledger_bad_transition, "x"}), exit_problems);
  EXPECT_EQ(ledger_exit_status(error{errc::invalid_argument, "x"}), exit_usage);
  EXPECT_EQ(ledger_exit_status(error{errc::ledger_open_failed, "x"}), exit_unavailable);
  EXPECT_EQ(ledger_exit_status(error{errc::ledger_write_failed, "x"}), exit_unavailable);
}

}  // namespace
}  // namespace chargerecon::ctl
