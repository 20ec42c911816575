#include "observability/ledger_accounting.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "ledger/sqlite_ledger.hpp"
#include "support/process.hpp"

namespace chargerecon::obs {
namespace {

using ledger::observed_charge;

TEST(account, every_state_falls_in_one_outcome) {
  const std::vector<accounting_row> rows{
      {"seen", false, 1},        {"billing", false, 2},      {"billed", true, 3}, {"ack_pending", false, 4},
      {"acknowledged", true, 5}, {"acknowledged", false, 6}, {"held", false, 7},  {"dead", true, 8},
      {"dead", false, 9},        {"pending", false, 10}};
  const auto a = account(rows);
  EXPECT_EQ(a.listed, 55);
  EXPECT_EQ(a.in_progress, 3);
  EXPECT_EQ(a.billed, 8);
  EXPECT_EQ(a.not_billable, 10);
  EXPECT_EQ(a.held, 7);
  EXPECT_EQ(a.dead, 17);
  EXPECT_EQ(a.pending, 10);
  EXPECT_TRUE(a.unaccounted.empty());
  EXPECT_TRUE(a.balanced());
}

TEST(account, an_empty_ledger_balances) { EXPECT_TRUE(account({}).balanced()); }

TEST(account, charges_the_engine_cannot_have_written_break_the_balance) {
  const std::vector<accounting_row> rows{
      {"billed", true, 2}, {"billed", false, 1}, {"ack_pending", true, 1}, {"lost", false, 4}};
  const auto a = account(rows);
  EXPECT_EQ(a.listed, 8);
  EXPECT_EQ(a.accounted(), 2);
  EXPECT_FALSE(a.balanced());
  EXPECT_EQ(a.unaccounted, (std::vector<std::string>{"state=billed reference=no charges=1",
                                                     "state=ack_pending reference=yes charges=1",
                                                     "state=lost reference=no charges=4"}));
}

// The query against a real ledger written by sqlite_ledger, read while it is held open.
TEST(ledger_accounting_reader, reads_a_live_ledger) {
  test::temp_dir dir("accounting");
  ledger::sqlite_ledger_options o;
  o.path = dir / "ledger.db";
  auto opened = ledger::sqlite_ledger::open(o, event_log::null());
  ASSERT_TRUE(opened) << opened.error().to_string();
  auto& l = **opened;
  const auto now = ledger::to_timestamp(std::chrono::system_clock::now());
  const std::vector<observed_charge> page{
      {"I1", "C1", "APPROVED", "0.1", "EUR", "{}"}, {"I2", "C1", "APPROVED", "0.7", "EUR", "{}"},
      {"I3", "C2", "APPROVED", "1.5", "EUR", "{}"}, {"I4", "C2", "DECLINED", "2", "EUR", "{}"},
      {"I5", "C3", "PENDING", "3", "EUR", "{}"},    {"I6", "C3", "APPROVED", "4", "EUR", "{}"}};
  ASSERT_TRUE(l.record_page(page, now));
  const std::vector<std::string> to_bill{"I1", "I2", "I3"};
  ASSERT_TRUE(l.mark_billing(to_bill, now));
  ASSERT_TRUE(l.mark_billed("I1", "B-1", now));
  ASSERT_TRUE(l.mark_billed("I2", "B-2", now));
  ASSERT_TRUE(l.mark_held("I3", "no such customer", now));
  ledger::ack_report report;
  report.acknowledged = {"I1", "I4"};
  ASSERT_TRUE(l.record_ack_result(report, now));

  auto reader = ledger_accounting_reader::open(o.path);
  ASSERT_TRUE(reader) << reader.error().to_string();
  auto rows = (*reader)->read();
  ASSERT_TRUE(rows) << rows.error().to_string();
  auto a = account(*rows);
  EXPECT_EQ(a.listed, 6);
  EXPECT_EQ(a.billed, 2);        // I1 acknowledged with B-1, I2 billed
  EXPECT_EQ(a.not_billable, 1);  // I4 declined, acknowledged
  EXPECT_EQ(a.held, 1);
  EXPECT_EQ(a.pending, 1);
  EXPECT_EQ(a.in_progress, 1);  // I6 seen
  EXPECT_TRUE(a.balanced());

  // A billed charge that lost its reference (written behind the engine's back, and counted so,
  // as the ledger counts what it writes) is reported.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(o.path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "UPDATE charges SET billing_reference = NULL WHERE number = 'I2'; "
                         "UPDATE charge_counts SET n = n - 1 WHERE state = 'billed' AND has_reference = 1; "
                         "INSERT INTO charge_counts VALUES ('billed', 0, 1) "
                         "ON CONFLICT (state, has_reference) DO UPDATE SET n = n + 1",
                         nullptr, nullptr, nullptr),
            SQLITE_OK)
      << sqlite3_errmsg(db);
  sqlite3_close(db);
  rows = (*reader)->read();  // the same prepared statement, read again
  ASSERT_TRUE(rows) << rows.error().to_string();
  a = account(*rows);
  EXPECT_FALSE(a.balanced());
  EXPECT_EQ(a.unaccounted, std::vector<std::string>{"state=billed reference=no charges=1"});
}

TEST(ledger_accounting_reader, a_missing_file_is_an_open_error) {
  test::temp_dir dir("accounting");
  auto reader = ledger_accounting_reader::open(dir / "absent.db");
  ASSERT_FALSE(reader);
  EXPECT_EQ(reader.error().code, make_error_code(errc::ledger_open_failed));
  EXPECT_NE(reader.error().diagnostic.find("absent.db"), std::string::npos);
}

}  // namespace
}  // namespace chargerecon::obs
