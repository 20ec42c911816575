#include "sim-audit/states.hpp"

#include <gtest/gtest.h>

#include <string>

#include "ledger/sqlite_ledger.hpp"
#include "support/process.hpp"

namespace chargerecon::sim_audit {
namespace {

using ledger::charge_state;

constexpr std::string_view crm_body = R"({"charges":[
  {"number":"I00000001","customer":"C0001","status":"APPROVED","amount":"1234567.89","currency":"EUR",
   "acknowledged":true,"reference_number":"B-000001","ack_attempts":1,"ack_refusals":0,"raw":false},
  {"number":"I00000002","customer":"C0002","status":null,"amount":null,"currency":"",
   "acknowledged":false,"reference_number":null,"ack_attempts":0,"ack_refusals":0,"raw":true}],
  "logins":1,"calls":{},"faults":{},"registered_devices":0,"time":"2026-11-27T05:40:01"})";

constexpr std::string_view billing_body = R"({"records":[
  {"reference_number":"B-000001","number":"I00000001","customer":"C0001","amount":"1234567.89","currency":"EUR",
   "posts":2}],"posts_total":3,"posts_by_key":{"I00000001":2,"I00000003":1}})";

TEST(sim_audit_states, parses_crm_sims_state) {
  const auto s = parse_crm_state(crm_body);
  ASSERT_TRUE(s) << s.error().to_string();
  ASSERT_EQ(s->charges.size(), 2u);
  const auto& a = s->charges[0];
  EXPECT_EQ(a.number, "I00000001");
  EXPECT_EQ(a.customer, "C0001");
  EXPECT_EQ(a.status, "APPROVED");
  EXPECT_EQ(a.amount, "1234567.89");
  EXPECT_EQ(a.currency, "EUR");
  EXPECT_TRUE(a.acknowledged);
  EXPECT_EQ(a.reference_number, "B-000001");
  const auto& b = s->charges[1];
  EXPECT_EQ(b.status, std::nullopt);
  EXPECT_EQ(b.amount, std::nullopt);
  EXPECT_FALSE(b.acknowledged);
  EXPECT_EQ(b.reference_number, std::nullopt);
}

TEST(sim_audit_states, parses_billing_fakes_state) {
  const auto s = parse_billing_state(billing_body);
  ASSERT_TRUE(s) << s.error().to_string();
  ASSERT_EQ(s->records.size(), 1u);
  EXPECT_EQ(s->records[0].reference_number, "B-000001");
  EXPECT_EQ(s->records[0].number, "I00000001");
  EXPECT_EQ(s->records[0].customer, "C0001");
  EXPECT_EQ(s->records[0].amount, "1234567.89");
  EXPECT_EQ(s->records[0].currency, "EUR");
  EXPECT_EQ(s->posts_total, 3u);
  EXPECT_EQ(s->posts_by_key, (std::map<std::string, std::uint64_t, std::less<>>{{"I00000001", 2}, {"I00000003", 1}}));
}

TEST(sim_audit_states, reads_replay_conflicts_and_refused_customers_when_present) {
  auto s = parse_billing_state(billing_body);
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->replay_conflicts.empty());
  EXPECT_EQ(s->reject_customers, std::nullopt);  // an older billing-fake: nothing to check against
  s = parse_billing_state(
      R"({"records":[],"posts_total":0,"posts_by_key":{},"replay_conflicts":{"I7":2},"reject_customers":["C0007"]})");
  ASSERT_TRUE(s) << s.error().to_string();
  EXPECT_EQ(s->replay_conflicts, (std::map<std::string, std::uint64_t, std::less<>>{{"I7", 2}}));
  EXPECT_EQ(s->reject_customers, (std::set<std::string, std::less<>>{"C0007"}));
  EXPECT_FALSE(parse_billing_state(R"({"records":[],"posts_total":0,"posts_by_key":{},"reject_customers":[7]})"));
}

TEST(sim_audit_states, empty_states_parse) {
  EXPECT_TRUE(parse_crm_state(R"({"charges":[]})"));
  EXPECT_TRUE(parse_billing_state(R"({"records":[],"posts_total":0,"posts_by_key":{}})"));
}

// Every cut of a valid body fails cleanly, never with a half-read state.
TEST(sim_audit_states, every_truncation_is_a_malformed_answer) {
  for (std::size_t n = 0; n < crm_body.size(); ++n) {
    const auto s = parse_crm_state(crm_body.substr(0, n));
    ASSERT_FALSE(s) << "cut at " << n;
    EXPECT_EQ(s.error().code, make_error_code(errc::malformed_answer));
  }
  for (std::size_t n = 0; n < billing_body.size(); ++n) {
    const auto s = parse_billing_state(billing_body.substr(0, n));
    ASSERT_FALSE(s) << "cut at " << n;
    EXPECT_EQ(s.error().code, make_error_code(errc::malformed_answer));
  }
}

TEST(sim_audit_states, a_wrong_type_names_the_member) {
  const auto crm = parse_crm_state(R"({"charges":[{"number":"I1","customer":"C1","status":"APPROVED",
    "amount":12.5,"currency":"EUR","acknowledged":false,"reference_number":null}]})");
  ASSERT_FALSE(crm);
  EXPECT_NE(crm.error().diagnostic.find("charges[0].amount"), std::string::npos) << crm.error().diagnostic;

  const auto ack = parse_crm_state(R"({"charges":[{"number":"I1","customer":"C1","status":"APPROVED",
    "amount":"1","currency":"EUR","acknowledged":"yes","reference_number":null}]})");
  ASSERT_FALSE(ack);
  EXPECT_NE(ack.error().diagnostic.find("charges[0].acknowledged"), std::string::npos) << ack.error().diagnostic;

  const auto billing = parse_billing_state(R"({"records":[],"posts_total":0,"posts_by_key":{"I1":"two"}})");
  ASSERT_FALSE(billing);
  EXPECT_NE(billing.error().diagnostic.find("posts_by_key"), std::string::npos) << billing.error().diagnostic;

  EXPECT_FALSE(parse_crm_state("[]"));
  EXPECT_FALSE(parse_billing_state(R"({"records":{}})"));
}

TEST(sim_audit_states, loads_every_ledger_charge_and_who_released_them) {
  test::temp_dir dir("sim-audit");
  const auto path = dir / "ledger.db";
  const auto t0 = *ledger::parse_timestamp("2026-11-27T05:40:01.123Z");
  {
    ledger::sqlite_ledger_options o;
    o.path = path;
    auto opened = ledger::sqlite_ledger::open(o, obs::event_log::null());
    ASSERT_TRUE(opened) << opened.error().to_string();
    auto& l = **opened;
    std::vector<ledger::observed_charge> page;
    const std::vector<std::pair<std::string, std::string>> charges{
        {"I1", "APPROVED"}, {"I2", "DECLINED"}, {"I3", "APPROVED"}};
    for (const auto& [number, status] : charges)
      page.push_back({number, "C0001", status, "0.30", "EUR", R"({"number":")" + number + R"(","amount":0.30})"});
    ASSERT_TRUE(l.record_page(page, t0));
    const std::vector<std::string> to_bill{"I1", "I3"};
    ASSERT_TRUE(l.mark_billing(to_bill, t0));
    ASSERT_TRUE(l.mark_billed("I1", "B-000001", t0));
    ASSERT_TRUE(l.mark_held("I3", "customer cannot be billed", t0));
    ASSERT_TRUE(l.release("I3", "alice", "billed by hand", t0));
    ASSERT_TRUE(l.record_ack_result({{"I1", "I2", "I3"}, {}}, t0));
  }
  const auto charges = load_ledger(path);
  ASSERT_TRUE(charges) << charges.error().to_string();
  ASSERT_EQ(charges->size(), 3u);
  const auto& i1 = (*charges)[0];
  EXPECT_EQ(i1.number, "I1");
  EXPECT_EQ(i1.customer, "C0001");
  EXPECT_EQ(i1.status, "APPROVED");
  EXPECT_EQ(i1.amount, "0.30");
  EXPECT_EQ(i1.currency, "EUR");
  EXPECT_EQ(i1.state, charge_state::acknowledged);
  EXPECT_EQ(i1.billing_reference, "B-000001");
  EXPECT_FALSE(i1.released);
  EXPECT_EQ((*charges)[1].state, charge_state::acknowledged);
  EXPECT_FALSE((*charges)[1].released);  // acknowledged unbilled by the engine, not a person
  EXPECT_EQ((*charges)[2].state, charge_state::acknowledged);
  EXPECT_EQ((*charges)[2].billing_reference, std::nullopt);
  EXPECT_TRUE((*charges)[2].released);
}

TEST(sim_audit_states, a_missing_ledger_is_an_error_not_an_empty_ledger) {
  test::temp_dir dir("sim-audit");
  const auto charges = load_ledger(dir / "no-such-ledger.db");
  ASSERT_FALSE(charges);
  EXPECT_EQ(charges.error().code, make_error_code(errc::ledger_open_failed)) << charges.error().to_string();
  EXPECT_FALSE(std::filesystem::exists(dir / "no-such-ledger.db"));
}

}  // namespace
}  // namespace chargerecon::sim_audit
