// The rules behind reconcile, the export's rows and the money totals, on hand-made charges.

#include "chargereconctl/reports.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace chargerecon::ctl {
namespace {

using namespace std::chrono;
using ledger::charge_record;
using ledger::charge_state;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const ledger::timestamp now = ledger::timestamp{sys_days{year{2026} / 11 / 27}} + hours(12);

charge_record charge(std::string number, charge_state state, std::string status = "APPROVED") {
  charge_record c;
  c.number = std::move(number);
  c.customer = "C0001";
  c.status = std::move(status);
  c.amount = "12.30";
  c.currency = "EUR";
  c.state = state;
  c.first_seen = now - hours(3);
  c.updated_at = now - hours(3);
  return c;
}

charge_record billed(std::string number, milliseconds ago) {
  auto c = charge(std::move(number), charge_state::billed);
  c.billing_reference = "B-" + c.number;
  c.billed_at = now - ago;
  c.updated_at = now - ago;
  return c;
}

std::vector<finding_kind> kinds(const std::vector<finding>& fs) {
  std::vector<finding_kind> out;
  for (const auto& f : fs) out.push_back(f.kind);
  return out;
}

const reconcile_rules rules{hours(1), {"APPROVED"}};

TEST(chargereconctl_reconcile, billed_but_unacknowledged_only_past_the_threshold) {
  EXPECT_THAT(check_charge(billed("I1", minutes(59)), now, rules, false), IsEmpty());
  const auto late = check_charge(billed("I2", minutes(61)), now, rules, false);
  ASSERT_THAT(kinds(late), ElementsAre(finding_kind::billed_not_acknowledged));
  EXPECT_EQ(late[0].number, "I2");
  EXPECT_EQ(late[0].state, "billed");
  EXPECT_EQ(late[0].amount, "12.30");
  EXPECT_THAT(late[0].detail, HasSubstr("B-I2"));
  EXPECT_THAT(late[0].detail, HasSubstr("1h 1m ago"));
  // A longer threshold forgives it.
  EXPECT_THAT(check_charge(billed("I2", minutes(61)), now, {hours(2), {"APPROVED"}}, false), IsEmpty());
}

TEST(chargereconctl_reconcile, billed_without_a_reference_is_always_a_disagreement) {
  auto c = billed("I1", minutes(1));
  c.billing_reference.reset();
  EXPECT_THAT(kinds(check_charge(c, now, rules, false)), ElementsAre(finding_kind::billed_without_reference));
  c.state = charge_state::acknowledged;
  c.acknowledged_at = now;
  EXPECT_THAT(kinds(check_charge(c, now, rules, false)), ElementsAre(finding_kind::billed_without_reference));
}

TEST(chargereconctl_reconcile, unbilled_acknowledgement_of_a_billable_charge_needs_a_release) {
  auto c = charge("I1", charge_state::acknowledged);
  c.acknowledged_at = now - hours(2);
  EXPECT_TRUE(released_matters(c, rules));
  EXPECT_THAT(kinds(check_charge(c, now, rules, false)), ElementsAre(finding_kind::acknowledged_unbilled));
  EXPECT_THAT(check_charge(c, now, rules, true), IsEmpty());  // a person released it: audited, fine

  // Not billable: acknowledged without billing is the rule, not a disagreement.
  auto declined = charge("I2", charge_state::acknowledged, "DECLINED");
  EXPECT_FALSE(released_matters(declined, rules));
  EXPECT_THAT(check_charge(declined, now, rules, false), IsEmpty());
  // Billable under this configuration's bill_statuses.
  EXPECT_THAT(kinds(check_charge(declined, now, {hours(1), {"APPROVED", "DECLINED"}}, false)),
              ElementsAre(finding_kind::acknowledged_unbilled));
}

TEST(chargereconctl_reconcile, a_reference_on_a_charge_not_billable) {
  auto c = billed("I1", minutes(1));
  c.status = "DECLINED";
  EXPECT_THAT(kinds(check_charge(c, now, rules, false)), ElementsAre(finding_kind::billed_not_billable));
  c.state = charge_state::acknowledged;
  EXPECT_THAT(kinds(check_charge(c, now, rules, false)), ElementsAre(finding_kind::billed_not_billable));
  // A correctly billed and acknowledged charge is no finding.
  auto ok = billed("I2", hours(5));
  ok.state = charge_state::acknowledged;
  ok.acknowledged_at = now - hours(4);
  EXPECT_THAT(check_charge(ok, now, rules, false), IsEmpty());
}

TEST(chargereconctl_reconcile, held_and_dead_always_wait_for_a_person) {
  auto h = charge("I1", charge_state::held);
  h.last_error = "422 unknown customer";
  h.first_seen = now - minutes(1);
  const auto held = check_charge(h, now, rules, false);
  ASSERT_THAT(kinds(held), ElementsAre(finding_kind::held));
  EXPECT_THAT(held[0].detail, HasSubstr("422 unknown customer"));
  EXPECT_THAT(held[0].detail, HasSubstr("chargereconctl retry I1"));

  auto d = billed("I2", minutes(1));
  d.state = charge_state::dead;
  d.ack_attempts = 10;
  const auto dead = check_charge(d, now, rules, false);
  ASSERT_THAT(kinds(dead), ElementsAre(finding_kind::dead));
  EXPECT_THAT(dead[0].detail, HasSubstr("10 times"));
}

TEST(chargereconctl_reconcile, unfinished_work_past_the_threshold) {
  auto seen = charge("I1", charge_state::seen);
  EXPECT_THAT(kinds(check_charge(seen, now, rules, false)), ElementsAre(finding_kind::not_billed));
  seen.first_seen = now - minutes(5);
  EXPECT_THAT(check_charge(seen, now, rules, false), IsEmpty());

  auto waiting = charge("I2", charge_state::ack_pending, "REJECTED");
  EXPECT_THAT(kinds(check_charge(waiting, now, rules, false)), ElementsAre(finding_kind::ack_overdue));
  // PENDING charges are CRM.COM's to decide: never a disagreement, however old.
  auto pending = charge("I3", charge_state::pending, "PENDING");
  pending.first_seen = now - days(30);
  EXPECT_THAT(check_charge(pending, now, rules, false), IsEmpty());
}

TEST(chargereconctl_reconcile, release_is_read_from_the_audit_trail) {
  ledger::event_record recorded;
  recorded.kind = "recorded";
  ledger::event_record release;
  release.kind = "release";
  EXPECT_FALSE(has_release({recorded}));
  EXPECT_TRUE(has_release({recorded, release}));
}

// ---- against CRM.COM's list ---------------------------------------------------------------

crm::charge listed(std::string number, std::optional<std::string> received_on = std::nullopt) {
  crm::charge c;
  c.number = std::move(number);
  c.customer = "C0002";
  c.amount = "5.00";
  c.currency = "USD";
  c.status = crm::charge_status::approved;
  c.received_on = std::move(received_on);
  return c;
}

using ledger_map = std::map<std::string, charge_record, std::less<>>;

ledger_map ledger_of(std::vector<charge_record> charges) {
  ledger_map m;
  for (auto& c : charges) m.emplace(c.number, std::move(c));
  return m;
}

const ledger::timestamp pass_start = now - seconds(10);

TEST(chargereconctl_reconcile, listed_but_unknown_to_the_ledger) {
  crm_listing l;
  l.charges = {listed("I9", "2026-11-27T08:00:00"), listed("I10"), listed("I11", "2026-11-27T11:30:00")};
  const auto r = compare_with_crm(l, {}, pass_start, now, rules);
  // I11 arrived 30 minutes ago: the daemon may not have polled yet.
  ASSERT_THAT(kinds(r.findings), ElementsAre(finding_kind::crm_unknown, finding_kind::crm_unknown));
  EXPECT_EQ(r.findings[0].number, "I9");
  EXPECT_EQ(r.findings[0].amount, "5.00");
  EXPECT_EQ(r.findings[0].currency, "USD");
  EXPECT_EQ(r.findings[0].status, "APPROVED");
  EXPECT_EQ(r.findings[0].state, "");
  EXPECT_EQ(r.findings[1].number, "I10");
  EXPECT_EQ(r.not_judged_recent, 1u);
  EXPECT_EQ(r.listed, 3u);
}

TEST(chargereconctl_reconcile, listed_but_acknowledged_before_the_pass) {
  auto acked = billed("I1", hours(2));
  acked.state = charge_state::acknowledged;
  acked.acknowledged_at = now - hours(1);
  auto acked_during = billed("I2", hours(2));
  acked_during.state = charge_state::acknowledged;
  acked_during.acknowledged_at = now - seconds(5);  // after the pass started: a race, not a finding
  acked_during.updated_at = now - seconds(5);
  crm_listing l;
  l.charges = {listed("I1"), listed("I2")};
  const auto r = compare_with_crm(l, ledger_of({acked, acked_during}), pass_start, now, rules);
  ASSERT_THAT(kinds(r.findings), ElementsAre(finding_kind::crm_lists_acknowledged));
  EXPECT_EQ(r.findings[0].number, "I1");
  EXPECT_EQ(r.findings[0].amount, "12.30");  // the ledger's record
  // The acknowledgement during the pass moved the list: charges that left it are not judged.
  EXPECT_FALSE(r.left_list_judged);
  EXPECT_THAT(r.not_judged_reason, HasSubstr("acknowledged 1 charges during the pass"));
}

TEST(chargereconctl_reconcile, waiting_in_the_ledger_but_no_longer_listed) {
  const auto waiting = billed("I1", hours(2));
  auto released = charge("I2", charge_state::ack_pending);
  auto held = charge("I3", charge_state::held);
  auto fresh = billed("I4", seconds(2));  // changed after the pass began: not judged
  auto done = billed("I5", hours(2));
  done.state = charge_state::acknowledged;
  done.acknowledged_at = now - hours(1);
  auto pending = charge("I6", charge_state::pending, "PENDING");  // not on the PROCESSED list
  const auto still_listed = billed("I7", hours(2));
  crm_listing l;
  l.charges = {listed("I7")};
  const auto r = compare_with_crm(l, ledger_of({waiting, released, held, fresh, done, pending, still_listed}),
                                  pass_start, now, rules);
  ASSERT_THAT(kinds(r.findings),
              ElementsAre(finding_kind::crm_left_list, finding_kind::crm_left_list, finding_kind::crm_left_list));
  EXPECT_EQ(r.findings[0].number, "I1");
  EXPECT_EQ(r.findings[1].number, "I2");
  EXPECT_EQ(r.findings[2].number, "I3");
  EXPECT_THAT(r.findings[0].detail, HasSubstr("no longer lists it"));
  EXPECT_TRUE(r.left_list_judged);
}

TEST(chargereconctl_reconcile, a_stalled_pass_reports_itself_and_judges_no_departures) {
  crm_listing l;
  l.complete = false;
  l.pages = 7;
  const auto r = compare_with_crm(l, ledger_of({billed("I1", hours(2))}), pass_start, now, rules);
  ASSERT_THAT(kinds(r.findings), ElementsAre(finding_kind::crm_pass_incomplete));
  EXPECT_THAT(r.findings[0].detail, HasSubstr("7 pages"));
  EXPECT_FALSE(r.left_list_judged);
}

TEST(chargereconctl_reconcile, malformed_listed_charges_are_findings_and_count_as_listed) {
  crm_listing l;
  crm::malformed_charge m;
  m.index = 3;
  m.number = "I1";
  m.raw_json = "{\"number\":\"I1\",\"amount\":\"x\"}";
  m.diagnostic = "netflix/charges/list: data.charges_set[3].amount: expected a number, got string";
  l.malformed.push_back(m);
  const auto r = compare_with_crm(l, ledger_of({billed("I1", hours(2))}), pass_start, now, rules);
  ASSERT_THAT(kinds(r.findings), ElementsAre(finding_kind::crm_malformed));  // not crm_left_list as well
  EXPECT_THAT(r.findings[0].detail, HasSubstr("expected a number"));
}

TEST(chargereconctl_reconcile, finding_names_are_stable) {
  EXPECT_EQ(to_string(finding_kind::billed_not_acknowledged), "billed_not_acknowledged");
  EXPECT_EQ(to_string(finding_kind::acknowledged_unbilled), "acknowledged_unbilled");
  EXPECT_EQ(to_string(finding_kind::crm_left_list), "crm_left_list");
  EXPECT_EQ(to_string(finding_kind::crm_unknown), "crm_unknown");
}

// ---- money --------------------------------------------------------------------------------

TEST(chargereconctl_money, totals_are_exact_per_currency) {
  money_tally t;
  // 0.1 + 0.2 + 0.7 in binary floating point is 0.9999999999999999.
  t.add("0.1", "EUR");
  t.add("0.2", "EUR");
  t.add("0.7", "EUR");
  t.add("99999999999999999.99", "USD");
  t.add("0.01", "USD");
  t.add("-5", "GBP");
  t.add("1e2", "GBP");
  t.add("", "GBP");  // no amount: nothing to add
  t.add("12,30", "GBP");
  const auto totals = t.totals();
  EXPECT_EQ(totals.by_currency.at("EUR"), "1.0");
  EXPECT_EQ(totals.by_currency.at("USD"), "100000000000000000.00");
  EXPECT_EQ(totals.by_currency.at("GBP"), "95");
  EXPECT_EQ(totals.unreadable, 1u);
}

TEST(chargereconctl_money, an_unreadable_amount_alone_leaves_no_currency_behind) {
  money_tally t;
  t.add("n/a", "JPY");
  EXPECT_TRUE(t.totals().by_currency.empty());
  EXPECT_EQ(t.totals().unreadable, 1u);
}

TEST(chargereconctl_money, findings_count_each_charge_once) {
  std::vector<finding> fs;
  fs.push_back(finding{finding_kind::billed_not_billable, "I1", "", "", "", "10.10", "EUR", ""});
  fs.push_back(finding{finding_kind::billed_not_acknowledged, "I1", "", "", "", "10.10", "EUR", ""});
  fs.push_back(finding{finding_kind::held, "I2", "", "", "", "0.90", "EUR", ""});
  fs.push_back(finding{finding_kind::crm_pass_incomplete, "", "", "", "", "", "", ""});
  EXPECT_EQ(total_findings(fs).by_currency.at("EUR"), "11.00");
}

// ---- export -------------------------------------------------------------------------------

TEST(chargereconctl_export, csv_fields_are_quoted_by_rfc_4180) {
  EXPECT_EQ(csv_field("plain"), "plain");
  EXPECT_EQ(csv_field(""), "");
  EXPECT_EQ(csv_field("-12.30"), "-12.30");
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_field("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(csv_field("cr\rhere"), "\"cr\rhere\"");
  EXPECT_EQ(csv_field(" padded "), "\" padded \"");
  EXPECT_EQ(csv_field("\""), "\"\"\"\"");
  EXPECT_EQ(csv_row({"a", "b,c", ""}), "a,\"b,c\",\r\n");
}

TEST(chargereconctl_export, a_line_per_charge_with_the_exact_amount) {
  auto c = billed("I00002706", hours(1));
  c.customer = "ACME, \"North\"";
  c.amount = "1234567890123456789.10";
  c.state = charge_state::acknowledged;
  c.first_seen = ledger::timestamp{sys_days{year{2026} / 1 / 2}} + hours(3) + milliseconds(4);
  c.billed_at = c.first_seen + seconds(1);
  c.acknowledged_at = c.first_seen + seconds(2);
  EXPECT_EQ(export_csv_header(),
            "number,customer,status,amount,currency,state,billing_reference,first_seen,billed_at,acknowledged_at\r\n");
  EXPECT_EQ(export_csv_line(c),
            "I00002706,\"ACME, \"\"North\"\"\",APPROVED,1234567890123456789.10,EUR,acknowledged,B-I00002706,"
            "2026-01-02T03:00:00.004Z,2026-01-02T03:00:01.004Z,2026-01-02T03:00:02.004Z\r\n");
  EXPECT_EQ(export_jsonl_line(c),
            "{\"number\":\"I00002706\",\"customer\":\"ACME, \\\"North\\\"\",\"status\":\"APPROVED\","
            "\"amount\":\"1234567890123456789.10\",\"currency\":\"EUR\",\"state\":\"acknowledged\","
            "\"billing_reference\":\"B-I00002706\",\"first_seen\":\"2026-01-02T03:00:00.004Z\","
            "\"billed_at\":\"2026-01-02T03:00:01.004Z\",\"acknowledged_at\":\"2026-01-02T03:00:02.004Z\"}\n");

  auto unbilled = charge("I2", charge_state::ack_pending, "DECLINED");
  unbilled.first_seen = c.first_seen;
  EXPECT_EQ(export_csv_line(unbilled), "I2,C0001,DECLINED,12.30,EUR,ack_pending,,2026-01-02T03:00:00.004Z,,\r\n");
  EXPECT_THAT(export_jsonl_line(unbilled), HasSubstr("\"billing_reference\":null"));
  EXPECT_THAT(export_jsonl_line(unbilled), HasSubstr("\"acknowledged_at\":null}"));
}

TEST(chargereconctl_report, ages_read_as_the_two_largest_units) {
  EXPECT_EQ(format_age(milliseconds(850)), "850ms");
  EXPECT_EQ(format_age(seconds(12)), "12s");
  EXPECT_EQ(format_age(minutes(4) + seconds(10)), "4m 10s");
  EXPECT_EQ(format_age(hours(2) + minutes(5) + seconds(9)), "2h 5m");
  EXPECT_EQ(format_age(days(3) + hours(4) + minutes(1)), "3d 4h");
  EXPECT_EQ(format_age(-seconds(5)), "-5s");
}

}  // namespace
}  // namespace chargerecon::ctl
