#include "ledger/sqlite_ledger.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/ledger_faults.hpp"

// Defined by support/fault_shim/ledger_fault_shim.c, linked into this program.
extern "C" int chargerecon_ledger_fault_shim_loaded;

namespace chargerecon::ledger {
namespace {

namespace fs = std::filesystem;
using enum charge_state;
using std::chrono::milliseconds;
using std::chrono::seconds;

const timestamp t0 = *parse_timestamp("2026-11-27T05:40:01.123Z");

observed_charge charge(std::string number, std::string status = "APPROVED", std::string amount = "10.00",
                       std::string customer = "C-1", std::string currency = "EUR") {
  observed_charge c;
  c.number = std::move(number);
  c.customer = std::move(customer);
  c.status = std::move(status);
  c.amount = std::move(amount);
  c.currency = std::move(currency);
  c.raw_json = R"({"number":")" + c.number + R"(","billing_system_customer_identifier":")" + c.customer +
               R"(","amount":)" + c.amount + R"(,"currency":")" + c.currency + R"(","charge_status":")" + c.status +
               R"("})";
  return c;
}

// Direct SQL on the ledger file, for setting up what the ledger itself would never write.
struct raw_db {
  sqlite3* db = nullptr;
  explicit raw_db(const fs::path& p) { EXPECT_EQ(sqlite3_open(p.c_str(), &db), SQLITE_OK); }
  ~raw_db() { sqlite3_close(db); }
  int exec(const std::string& sql) { return sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr); }
  std::string text(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    std::string out;
    if (sqlite3_step(s) == SQLITE_ROW) out = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    return out;
  }
};

class sqlite_ledger_test : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "chargerecon-ledger-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir = tmpl;
    path = dir / "ledger.db";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

  result<std::unique_ptr<sqlite_ledger>> open(open_mode mode = open_mode::exclusive,
                                              std::optional<std::int64_t> max_pages = std::nullopt,
                                              const fs::path* at = nullptr) {
    sqlite_ledger_options o;
    o.path = at != nullptr ? *at : path;
    o.mode = mode;
    o.policy = policy;
    o.max_page_count = max_pages;
    o.busy_timeout = milliseconds(2000);
    return sqlite_ledger::open(std::move(o), obs::event_log::null());
  }

  std::unique_ptr<sqlite_ledger> open_ok(open_mode mode = open_mode::exclusive) {
    auto r = open(mode);
    EXPECT_TRUE(r) << (r ? "" : r.error().to_string());
    return r ? std::move(*r) : nullptr;
  }

  static std::vector<observed_result> record(ledger& l, std::vector<observed_charge> page, timestamp now = t0) {
    auto r = l.record_page(page, now);
    EXPECT_TRUE(r) << (r ? "" : r.error().to_string());
    return r ? *r : std::vector<observed_result>{};
  }

  // A ledger capped at a few pages (created first at full size): pages of fat charges soon do
  // not fit, as on a full disk.
  std::unique_ptr<sqlite_ledger> open_nearly_full() {
    open_ok();
    auto r = open(open_mode::exclusive, 16);
    EXPECT_TRUE(r) << (r ? "" : r.error().to_string());
    return r ? std::move(*r) : nullptr;
  }

  // Five charges of 1.5 KB each, numbered <prefix><page_no>-<i>.
  static std::vector<observed_charge> fat_page(const std::string& prefix, int page_no) {
    const std::string fat(1500, 'x');
    std::vector<observed_charge> page;
    for (int i = 0; i < 5; ++i) {
      auto c = charge(prefix + std::to_string(page_no) + "-" + std::to_string(i));
      c.raw_json = R"({"padding":")" + fat + R"("})";
      page.push_back(c);
    }
    return page;
  }

  static charge_state state_of(ledger& l, std::string_view number) {
    auto r = l.get(number);
    EXPECT_TRUE(r) << (r ? "" : r.error().to_string());
    return r ? r->state : pending;
  }

  template <class Record>
  static std::vector<std::string> numbers(const std::vector<Record>& records) {
    std::vector<std::string> out;
    for (const auto& c : records) out.push_back(c.number);
    return out;
  }

  // Takes a charge from seen to billed.
  static void bill(ledger& l, const std::string& number, const std::string& reference, timestamp now = t0) {
    const std::vector<std::string> one{number};
    ASSERT_TRUE(l.mark_billing(one, now));
    ASSERT_TRUE(l.mark_billed(number, reference, now));
  }

  // A ledger as an older release left it: V1 billed, V2 seen, V3 (DECLINED) ack_pending, then
  // `downgrade` (SQL undoing the later schema versions) run on the file.
  void write_older_ledger(const std::string& downgrade) {
    {
      auto l = open_ok();
      ASSERT_TRUE(l);
      record(*l, {charge("V1"), charge("V2"), charge("V3", "DECLINED")});
      bill(*l, "V1", "REF-V1");
    }
    raw_db raw(path);
    ASSERT_EQ(raw.exec(downgrade), SQLITE_OK);
  }

  fs::path dir;
  fs::path path;
  ledger_policy policy;
};

// --- opening, schema, locking --------------------------------------------------------------

TEST_F(sqlite_ledger_test, creates_the_schema_in_a_new_file_in_wal_mode) {
  {
    auto l = open_ok();
    ASSERT_TRUE(l);
  }
  raw_db raw(path);
  EXPECT_EQ(raw.text("PRAGMA user_version"), std::to_string(sqlite_ledger::schema_version));
  EXPECT_EQ(raw.text("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(raw.text("SELECT count(*) FROM sqlite_schema WHERE name IN ('charges', 'events')"), "2");
}

TEST_F(sqlite_ledger_test, migrates_an_empty_version_zero_file) {
  { std::ofstream touch(path); }
  ASSERT_EQ(fs::file_size(path), 0u);
  auto l = open_ok();
  ASSERT_TRUE(l);
  record(*l, {charge("I1")});
  EXPECT_EQ(state_of(*l, "I1"), seen);
}

TEST_F(sqlite_ledger_test, refuses_a_ledger_written_by_a_newer_program) {
  {
    auto l = open_ok();
    ASSERT_TRUE(l);
  }
  {
    raw_db raw(path);
    ASSERT_EQ(raw.exec("PRAGMA user_version = 99"), SQLITE_OK);
  }
  for (const auto mode : {open_mode::exclusive, open_mode::shared, open_mode::read_only}) {
    auto r = open(mode);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, make_error_code(errc::ledger_schema_too_new));
    EXPECT_NE(r.error().diagnostic.find("99"), std::string::npos) << r.error().diagnostic;
  }
}

TEST_F(sqlite_ledger_test, only_the_daemon_migrates) {
  { std::ofstream touch(path); }
  for (const auto mode : {open_mode::shared, open_mode::read_only}) {
    auto r = open(mode);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, make_error_code(errc::ledger_open_failed));
    EXPECT_NE(r.error().diagnostic.find("start chargerecond once"), std::string::npos) << r.error().diagnostic;
  }
}

TEST_F(sqlite_ledger_test, tools_refuse_a_missing_ledger_instead_of_creating_one) {
  for (const auto mode : {open_mode::shared, open_mode::read_only}) {
    auto r = open(mode);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, make_error_code(errc::ledger_open_failed));
    EXPECT_NE(r.error().diagnostic.find(path.string()), std::string::npos);
  }
  EXPECT_FALSE(fs::exists(path));
}

TEST_F(sqlite_ledger_test, a_second_daemon_on_the_same_ledger_is_refused_with_path_and_pid) {
  auto first = open_ok();
  ASSERT_TRUE(first);
  auto second = open();
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, make_error_code(errc::ledger_locked));
  const auto& d = second.error().diagnostic;
  EXPECT_NE(d.find(path.string()), std::string::npos) << d;
  EXPECT_NE(d.find("pid " + std::to_string(::getpid())), std::string::npos) << d;

  first.reset();  // the lock goes with the ledger
  auto third = open();
  EXPECT_TRUE(third) << third.error().to_string();
}

TEST_F(sqlite_ledger_test, the_lock_names_another_process_and_dies_with_it) {
  {
    auto l = open_ok();
    ASSERT_TRUE(l);
  }
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(ready[0]);
    sqlite_ledger_options o;
    o.path = path;
    auto l = sqlite_ledger::open(std::move(o), obs::event_log::null());
    const char verdict = l ? 'y' : 'n';
    (void)!::write(ready[1], &verdict, 1);
    for (;;) ::pause();  // until SIGKILL: a crashed daemon, as far as the lock can tell
  }
  ::close(ready[1]);
  char verdict = 0;
  ASSERT_EQ(::read(ready[0], &verdict, 1), 1);
  ::close(ready[0]);
  EXPECT_EQ(verdict, 'y');

  auto second = open();
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, make_error_code(errc::ledger_locked));
  EXPECT_NE(second.error().diagnostic.find("pid " + std::to_string(child)), std::string::npos)
      << second.error().diagnostic;

  ::kill(child, SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  auto after = open();
  EXPECT_TRUE(after) << after.error().to_string();
}

TEST_F(sqlite_ledger_test, calls_from_two_threads_are_serialised) {
  auto l = open_ok();
  ASSERT_TRUE(l);
  const auto writer = [&](char prefix) {
    for (int page = 0; page < 20; ++page) {
      std::vector<observed_charge> charges;
      for (int i = 0; i < 10; ++i) charges.push_back(charge(prefix + std::to_string(page * 10 + i)));
      const auto r = l->record_page(charges, t0);
      EXPECT_TRUE(r) << r.error().to_string();
      EXPECT_TRUE(l->counts());
    }
  };
  std::thread a(writer, 'A');
  std::thread b(writer, 'B');
  a.join();
  b.join();
  EXPECT_EQ((*l->counts())[seen], 400);
}

TEST_F(sqlite_ledger_test, read_only_open_works_while_the_daemon_writes) {
  auto daemon = open_ok();
  ASSERT_TRUE(daemon);
  record(*daemon, {charge("I1")});
  auto reader = open_ok(open_mode::read_only);
  ASSERT_TRUE(reader);
  EXPECT_EQ(state_of(*reader, "I1"), seen);

  // It sees the daemon's later commits.
  record(*daemon, {charge("I2", "DECLINED")});
  EXPECT_EQ(state_of(*reader, "I2"), ack_pending);
  auto counts = reader->counts();
  ASSERT_TRUE(counts);
  EXPECT_EQ((*counts)[seen], 1);
  EXPECT_EQ((*counts)[ack_pending], 1);

  // And cannot write.
  const auto w = reader->record_page(std::vector{charge("I3")}, t0);
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code, make_error_code(errc::ledger_write_failed));
  EXPECT_FALSE(daemon->get("I3"));
}

TEST_F(sqlite_ledger_test, an_operator_acts_while_the_daemon_holds_the_ledger) {
  auto daemon = open_ok();
  ASSERT_TRUE(daemon);
  record(*daemon, {charge("I1")});
  ASSERT_TRUE(daemon->mark_billing(std::vector<std::string>{"I1"}, t0));
  ASSERT_TRUE(daemon->mark_held("I1", "422 unknown customer", t0));

  auto tool = open_ok(open_mode::shared);
  ASSERT_TRUE(tool);
  const auto released = tool->release("I1", "alice", "customer closed; not billable", t0 + seconds(5));
  ASSERT_TRUE(released) << released.error().to_string();
  EXPECT_EQ(released->state, ack_pending);
  EXPECT_EQ(state_of(*daemon, "I1"), ack_pending);
}

TEST_F(sqlite_ledger_test, garbage_instead_of_a_database_is_an_integrity_error) {
  {
    std::ofstream f(path, std::ios::binary);
    for (int i = 0; i < 4096; ++i) f.put(static_cast<char>((i * 37 + 11) & 0xff));
  }
  auto r = open();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, make_error_code(errc::ledger_integrity)) << r.error().to_string();
  EXPECT_NE(r.error().diagnostic.find(path.string()), std::string::npos);
}

TEST_F(sqlite_ledger_test, a_damaged_copy_fails_the_integrity_check_at_open) {
  {
    auto l = open_ok();
    ASSERT_TRUE(l);
    std::vector<observed_charge> page;
    for (int i = 0; i < 200; ++i) page.push_back(charge("I" + std::to_string(i)));
    record(*l, page);
  }  // closing checkpoints the WAL into the file
  const fs::path copy = dir / "copy.db";
  fs::copy_file(path, copy);
  const auto size = fs::file_size(copy);
  ASSERT_GT(size, 4u * 4096u);
  {
    // Keep the header page, scribble over the b-tree pages behind it.
    std::fstream f(copy, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(4096 + 100);
    for (std::uintmax_t i = 4096 + 100; i < size - 100; ++i) f.put(static_cast<char>((i * 131 + 7) & 0xff));
  }
  auto r = open(open_mode::exclusive, std::nullopt, &copy);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, make_error_code(errc::ledger_integrity)) << r.error().to_string();
  // The original is untouched.
  auto original = open_ok();
  ASSERT_TRUE(original);
  EXPECT_EQ(state_of(*original, "I199"), seen);
}

// The ledger fault shim is linked into this program (tests/CMakeLists.txt): while a fault is
// set, the ledger's own system calls on its files fail as on a read-only or full file system.
// Unlike chmod, that holds for root too.
class storage_fault_scope {
 public:
  storage_fault_scope(const fs::path& ledger_path, const fs::path& control)
      : faults_(ledger_path, control), variables_(faults_.variables()) {
    for (const auto& [name, value] : variables_) ::setenv(name.c_str(), value.c_str(), 1);
  }
  ~storage_fault_scope() {
    faults_.set(test::storage_fault::none);
    for (const auto& [name, value] : variables_) ::unsetenv(name.c_str());
  }
  storage_fault_scope(const storage_fault_scope&) = delete;
  storage_fault_scope& operator=(const storage_fault_scope&) = delete;
  void set(test::storage_fault f) const { faults_.set(f); }

 private:
  test::ledger_faults faults_;
  test::environment variables_;
};

TEST_F(sqlite_ledger_test, a_read_only_file_system_refuses_to_open_for_writing_and_reads_still_work) {
  ASSERT_EQ(chargerecon_ledger_fault_shim_loaded, 1);
  // The daemon's connection stays open, as in production: a WAL ledger is read without writing
  // only while its -wal and -shm files exist.
  auto daemon = open_ok();
  ASSERT_TRUE(daemon);
  record(*daemon, {charge("I1")});
  storage_fault_scope faults(path, dir / "fault");
  faults.set(test::storage_fault::read_only);
  // A starting daemon: its lock file is the first thing it cannot write.
  auto second = open();
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, make_error_code(errc::ledger_open_failed)) << second.error().to_string();
  EXPECT_NE(second.error().diagnostic.find("Read-only file system"), std::string::npos) << second.error().diagnostic;
  // chargereconctl's retry and release take no lock: SQLite itself finds the file read-only.
  auto writer = open(open_mode::shared);
  ASSERT_FALSE(writer);
  EXPECT_EQ(writer.error().code, make_error_code(errc::ledger_write_failed)) << writer.error().to_string();
  EXPECT_NE(writer.error().diagnostic.find("read-only"), std::string::npos) << writer.error().diagnostic;
  auto reader = open_ok(open_mode::read_only);
  ASSERT_TRUE(reader);
  EXPECT_EQ(state_of(*reader, "I1"), seen);
}

TEST_F(sqlite_ledger_test, a_disk_that_fills_or_turns_read_only_under_an_open_ledger_fails_writes_until_it_recovers) {
  ASSERT_EQ(chargerecon_ledger_fault_shim_loaded, 1);
  auto l = open_ok();
  ASSERT_TRUE(l);
  storage_fault_scope faults(path, dir / "fault");
  int round = 0;
  for (const auto fault : {test::storage_fault::disk_full, test::storage_fault::read_only}) {
    const bool full = fault == test::storage_fault::disk_full;
    SCOPED_TRACE(full ? "ENOSPC" : "EROFS");
    const std::string known = "K" + std::to_string(round);
    const std::string fresh = "F" + std::to_string(round);
    ++round;
    record(*l, {charge(known)});
    faults.set(fault);
    const auto failed = l->record_page(std::vector<observed_charge>{charge(fresh)}, t0);
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error().code, make_error_code(errc::ledger_write_failed)) << failed.error().to_string();
    // SQLite's own words for the two: "database or disk is full", "disk I/O error".
    EXPECT_NE(failed.error().diagnostic.find(full ? "full" : "I/O error"), std::string::npos)
        << failed.error().diagnostic;
    const std::vector<std::string> one{known};
    const auto marked = l->mark_billing(one, t0);
    ASSERT_FALSE(marked);
    EXPECT_EQ(marked.error().code, make_error_code(errc::ledger_write_failed)) << marked.error().to_string();
    // Reads go on, and show the state before the failed writes.
    EXPECT_EQ(l->get(fresh).error().code, make_error_code(errc::ledger_unknown_charge));
    EXPECT_EQ(state_of(*l, known), seen);
    // Room again: the same connection writes.
    faults.set(test::storage_fault::none);
    record(*l, {charge(fresh)});
    ASSERT_TRUE(l->mark_billing(one, t0));
    EXPECT_EQ(state_of(*l, known), billing);
  }
  // And what it wrote is there for the next open, the file intact.
  l.reset();
  auto reopened = open_ok();
  ASSERT_TRUE(reopened);
  EXPECT_EQ(state_of(*reopened, "K1"), billing);
  EXPECT_EQ(state_of(*reopened, "F1"), seen);
}

TEST_F(sqlite_ledger_test, a_full_disk_fails_the_write_and_keeps_the_previous_state) {
  auto opened = open_nearly_full();
  ASSERT_TRUE(opened);
  auto& l = *opened;
  int recorded = 0;
  result<std::vector<observed_result>> last = std::vector<observed_result>{};
  for (int page_no = 0; page_no < 100 && last; ++page_no) {
    last = l.record_page(fat_page("P", page_no), t0);
    if (last) recorded += 5;
  }
  ASSERT_FALSE(last) << "the page cap never filled";
  EXPECT_EQ(last.error().code, make_error_code(errc::ledger_write_failed)) << last.error().to_string();
  EXPECT_NE(last.error().diagnostic.find("full"), std::string::npos) << last.error().diagnostic;
  ASSERT_GT(recorded, 0);

  // Nothing of the failed page is there; everything before it is.
  auto counts = l.counts();
  ASSERT_TRUE(counts) << counts.error().to_string();
  EXPECT_EQ((*counts)[seen], recorded);
  const int failed_page = recorded / 5;
  EXPECT_EQ(l.get("P" + std::to_string(failed_page) + "-0").error().code, make_error_code(errc::ledger_unknown_charge));
  for (const auto& e : *l.list({})) EXPECT_EQ(l.events(e.number)->size(), 1u) << e.number;

  // No transaction was left open: the next call starts its own (and refuses on its merits).
  const auto next = l.retry("P0-0", "alice", "x", t0);
  ASSERT_FALSE(next);
  EXPECT_EQ(next.error().code, make_error_code(errc::ledger_bad_transition)) << next.error().to_string();
}

// --- recording pages -----------------------------------------------------------------------

TEST_F(sqlite_ledger_test, a_new_charge_enters_the_state_its_status_calls_for) {
  auto l = open_ok();
  ASSERT_TRUE(l);
  const auto results = record(*l, {charge("A", "APPROVED"), charge("D", "DECLINED"), charge("B", "BAD_REQUEST"),
                                   charge("R", "REJECTED"), charge("P", "PENDING"), charge("U", "REFUNDED")});
  ASSERT_EQ(results.size(), 6u);
  const std::vector<charge_state> expected{seen, ack_pending, ack_pending, ack_pending, pending, pending};
  for (std::size_t i = 0; i < results.size(); ++i) {
    EXPECT_EQ(results[i].what, observation::inserted) << results[i].number;
    EXPECT_EQ(results[i].state, expected[i]) << results[i].number;
    EXPECT_EQ(state_of(*l, results[i].number), expected[i]) << results[i].number;
  }
  const auto ev = l->events("A");
  ASSERT_TRUE(ev);
  ASSERT_EQ(ev->size(), 1u);
  EXPECT_EQ((*ev)[0].kind, "recorded");
  EXPECT_EQ((*ev)[0].actor, "engine");
  EXPECT_EQ((*ev)[0].from, std::nullopt);
  EXPECT_EQ((*ev)[0].to, seen);
  EXPECT_EQ((*ev)[0].at, t0);
}

TEST_F(sqlite_ledger_test, bill_statuses_come_from_the_policy) {
  policy.bill_statuses = {"APPROVED", "DECLINED"};
  auto l = open_ok();
  ASSERT_TRUE(l);
  record(*l, {charge("D", "DECLINED"), charge("R", "REJECTED")});
  EXPECT_EQ(state_of(*l, "D"), seen);
  EXPECT_EQ(state_of(*l, "R"), ack_pending);
}

TEST_F(sqlite_ledger_test, amounts_and_raw_json_are_stored_verbatim) {
  auto l = open_ok();
  ASSERT_TRUE(l);
  std::vector<observed_charge> page{charge("I1", "APPROVED", "0.1"), charge("I2", "APPROVED", "1234567.89"),
                                    charge("I3", "APPROVED", "100.10"), charge("I4", "APPROVED", "1E+2"),
                                    charge("I5", "APPROVED", "0.30000000000000004")};
  page[0].raw_json = "{ \"amount\" : 0.1 ,\n \"note\": \"caf\xc3\xa9 \\u00e9\" }";
  record(*l, page);
  for (const auto& c : page) {
    const auto got = l->get(c.number);
    ASSERT_TRUE(got);
    EXPECT_EQ(got->amount, c.amount);
    EXPECT_EQ(got->raw_json, c.raw_json);
    EXPECT_EQ(got->currency, "EUR");
    EXPECT_EQ(got->customer, "C-1");
  }
}

TEST_F(sqlite_ledger_test, a_page_recorded_twice_is_not_duplicated) {
  auto l = open_ok();
  ASSERT_TRUE(l);
  const std::vector<observed_charge> page{charge("I1"), charge("I2", "DECLINED"), charge("I3", "PENDING")};
  record(*l, page);
  const auto again = record(*l, page, t0 + seconds(30));
  ASSERT_EQ(again.size(), 3u);
  for (const auto& r : again) EXPECT_EQ(r.what, observation::unchanged) << r.number;
  EXPECT_EQ(l->list({})->size(), 3u);
  EXPECT_EQ(l->events("I1")->size(), 1u);
  EXPECT_EQ(l->get("I1")->updated_at, t0);
}

TEST_F(sqlite_ledger_test, a_number_twice_in_one_page_is_recorded_once) {
  auto l = open_ok();
  ASSERT_TRUE(l);
  const auto results = record(*l, {charge("I1"), charge("I1")});
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].what, observation::inserted);
  EXPECT_EQ(results[1].what, observation::unchanged);
  EXPECT_EQ(l->list({})->size(), 1u);
}

TEST_F(sqlite_ledger_test, a_changed_known_charge_keeps_its_first_values_and_is_audited_once) {
  auto l = open_ok();
  ASSERT_TRUE(l);
  record(*l, {charge("I1", "APPROVED", "10.00")});
  bill(*l, "I1", "B-1");

  const auto changed = record(*l, {charge("I1", "APPROVED", "99.99", "C-2")}, t0 + seconds(10));
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_EQ(changed[0].what, observation::changed);
  EXPECT_EQ(changed[0].state, billed);  // never billed again
  const auto got = l->get("I1");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->amount, "10.00");
  EXPECT_EQ(got->customer, "C-1");
  EXPECT_EQ(got->billing_reference, "B-1");

  auto ev = l->events("I1");
  ASSERT_TRUE(ev);
  ASSERT_FALSE(ev->empty());
  const auto& last = ev->back();
  EXPECT_EQ(last.kind, "changed");
  EXPECT_EQ(last.from, billed);
  EXPECT_EQ(last.to, billed);
  EXPECT_NE(last.detail_json.find(R"("amount":"10.00")"), std::string::npos) << last.detail_json;
  EXPECT_NE(last.detail_json.find(R"("amount":"99.99")"), std::string::npos) << last.detail_json;
  EXPECT_NE(last.detail_json.find(R"("customer":"C-2")"), std::string::npos) << last.detail_json;

  // The same change seen on the next pass is not a new event; a different one is.
  const auto size = ev->size();
  EXPECT_EQ(record(*l, {charge("I1", "APPROVED", "99.99", "C-2")})[0].what, observation::unchanged);
  EXPECT_EQ(l->events("I1")->size(), size);
  EXPECT_EQ(record(*l, {charge("I1", "APPROVED", "10.00", "C-1", "USD")})[0].what, observation::changed);
  EXPECT_EQ(l->events("I1")->size(), size + 1);
  EXPECT_EQ(l->get("I1")->currency, "EUR");
}

TEST_F(sqlite_ledger_test, a_status_change_of_a_processed_charge_is_a_change_not_a_transition) {
  auto l = open_ok();
  ASSERT_TRUE(l);
  record(*l, {charge("I1", "DECLINED")});
  const auto r = record(*l, {charge("I1", "APPROVED")});
  EXPECT_EQ(r[0].what, observation::changed);
  EXPECT_EQ(r[0].state, ack_pending);
  EXPECT_EQ(l->get("I1")->status, "DECLINED");
}

TEST_F(sqlite_ledger_test, a_pending_charge_that_comes_back_processed_moves_on) {
  auto l = open_ok();
  ASSERT_TRUE(l);
  record(*l, {charge("P1", "PENDING"), charge("P2", "PENDING"), charge("P3", "PENDING")});
  EXPECT_EQ(record(*l, {charge("P1", "PENDING")})[0].what, observation::unchanged);

  const auto later = t0 + seconds(60);
  const auto r = record(*l, {charge("P1", "APPROVED"), charge("P2", "DECLINED")}, later);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].what, observation::pending_resolved);
  EXPECT_EQ(r[0].state, seen);
  EXPECT_EQ(r[1].what, observation::pending_resolved);
  EXPECT_EQ(r[1].state, ack_pending);
  const auto p1 = l->get("P1");
  EXPECT_EQ(p1->status, "APPROVED");
  EXPECT_EQ(p1->raw_json, charge("P1", "APPROVED").raw_json);  // billing receives the processed charge
  EXPECT_EQ(p1->updated_at, later);
  EXPECT_EQ(p1->first_seen, t0);
  const auto ev = l->events("P1");
  ASSERT_EQ(ev->size(), 2u);
  EXPECT_EQ((*ev)[1].from, pending);
  EXPECT_EQ((*ev)[1].to, seen);
  EXPECT_EQ((*ev)[1].reason, "status PENDING -> APPROVED");
  EXPECT_EQ(state_of(*l, "P3"), pending);

  const auto bill_list = l->ready_to_bill(later, 10, false);
  EXPECT_EQ(numbers(*bill_list), std::vector<std::string>{"P1"});
}

// --- billing -------------------------------------------------------------------------------

TEST_F(sqlite_ledger_test, a_billable_charge_goes_seen_billing_billed_acknowledged) {
  auto l = open_ok();
  ASSERT_TRUE(l);
  record(*l, {charge("I1"), charge("I2"), charge("N1", "DECLINED"), charge("P1", "PENDING")});

  EXPECT_EQ(numbers(*l->ready_to_bill(t0, 10, false)), (std::vector<std::string>{"I1", "I2"}));
  ASSERT_TRUE(l->mark_billing(std::vector<std::string>{"I1", "I2"}, t0));
  EXPECT_EQ(state_of(*l, "I1"), billing);
  // Posts in flight are not offered again while running; after a restart they are.
  EXPECT_TRUE(l->ready_to_bill(t0, 10, false)->empty());
  EXPECT_EQ(numbers(*l->ready_to_bill(t0, 10, true)), (std::vector<std::string>{"I1", "I2"}));

  ASSERT_TRUE(l->mark_billed("I1", "B-1", t0 + seconds(1)));
  const auto billed_charge = l->get("I1");
  EXPECT_EQ(billed_charge->state, billed);
  EXPECT_EQ(billed_charge->billing_reference, "B-1");
  EXPECT_EQ(billed_charge->billed_at, t0 + seconds(1));
  // A replayed answer (409 with the first reference) changes nothing.
  EXPECT_TRUE(l->mark_billed("I1", "B-1", t0 + seconds(2)));
  EXPECT_EQ(l->get("I1")->updated_at, t0 + seconds(1));

  EXPECT_EQ(numbers(*l->ready_to_ack(t0 + seconds(1), 10)), (std::vector<std::string>{"I1", "N1"}));
  const auto summary = l->record_ack_result({{"I1", "N1"}, {}}, t0 + seconds(3));
  ASSERT_TRUE(summary) << summary.error().to_string();
  EXPECT_EQ(summary->acknowledged, 2);
  EXPECT_EQ(state_of(*l, "I1"), acknowledged);
  EXPECT_EQ(state_of(*l, "N1"), acknowledged);
  EXPECT_EQ(l->get("N1")->billing_reference, std::nullopt);  // recorded, never billed
  EXPECT_EQ(l->get("I1")->acknowledged_at, t0 + seconds(3));
  EXPECT_TRUE(l->ready_to_ack(t0 + seconds(3), 10)->empty());

  // Re-acknowledging is safe.
  const auto again = l->record_ack_result({{"I1"}, {}}, t0 + seconds(4));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->acknowledged, 0);

  std::vector<std::string> kinds;
  for (const auto& e : *l->events("I1")) kinds.push_back(std::string(e.to ? to_string(*e.to) : "-"));
  EXPECT_EQ(kinds, (std::vector<std::string>{"seen", "billing", "billed", "acknowledged"}));
}

TEST_F(sqlite_ledger_test, a_write_of_many_charges_audits_each_of_them_in_order) {
  // More events in one write than one INSERT of events carries (they go in together at its
  // end): each charge still has its own, with its own texts, and ids follow the calls' order.
  auto l = open_ok();
  ASSERT_TRUE(l);
  std::vector<observed_charge> page;
  std::vector<std::string> all;
  for (int i = 0; i < 150; ++i) {
    page.push_back(charge("M" + std::to_string(i), i % 3 == 0 ? "DECLINED" : "APPROVED"));
    all.push_back(page.back().number);
  }
  record(*l, page);
  std::vector<std::string> billable;
  for (const auto& c : page)
    if (c.status == "APPROVED") billable.push_back(c.number);
  ASSERT_TRUE(l->mark_billing(billable, t0 + seconds(1)));
  std::int64_t last_recorded = 0;
  std::int64_t first_marked = std::numeric_limits<std::int64_t>::max();
  for (const auto& c : page) {
    const auto ev = l->events(c.number);
    ASSERT_TRUE(ev);
    const bool billable_charge = c.status == "APPROVED";
    ASSERT_EQ(ev->size(), billable_charge ? 2u : 1u) << c.number;
    const auto& recorded = ev->front();
    EXPECT_EQ(recorded.number, c.number);
    EXPECT_EQ(recorded.kind, "recorded");
    EXPECT_EQ(recorded.at, t0);
    EXPECT_EQ(recorded.to, billable_charge ? seen : ack_pending) << c.number;
    EXPECT_NE(recorded.detail_json.find("\"" + c.customer + "\""), std::string::npos) << recorded.detail_json;
    EXPECT_GT(recorded.id, last_recorded) << c.number << " was audited out of order";
    last_recorded = recorded.id;
    if (billable_charge) {
      const auto& marked = ev->back();
      EXPECT_EQ(marked.from, seen);
      EXPECT_EQ(marked.to, billing);
      EXPECT_EQ(marked.at, t0 + seconds(1));
      EXPECT_EQ(marked.reason, "posting to billing");
      first_marked = std::min(first_marked, marked.id);
    }
  }
  EXPECT_GT(first_marked, last_recorded);
}

TEST_F(sqlite_ledger_test, mark_billing_is_all_or_nothing) {
  auto l = open_ok();
  ASSERT_TRUE(l);
  record(*l, {charge("I1"), charge("N1", "DECLINED")});
  const auto r = l->mark_billing(std::vector<std::string>{"I1", "N1"}, t0);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, make_error_code(errc::ledger_bad_transition));
  EXPECT_NE(r.error().diagnostic.find("N1"), std::string::npos) << r.error().diagnostic;
  EXPECT_EQ(state_of(*l, "I1"), seen);
  EXPECT_EQ(l->events("I1")->size(), 1u);

  const auto unknown = l->mark_billing(std::vector<std::string>{"I1", "nope"}, t0);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, make_error_code(errc::ledger_unknown_charge));
  EXPECT_EQ(state_of(*l, "I1"), seen);
}

TEST_F(sqlite_ledger_test, a_transient_billing_failure_waits_for_its_next_try) {
  auto l = open_ok();
  ASSERT_TRUE(l);
  record(*l, {charge("I1")});
  ASSERT_TRUE(l->mark_billing(std::vector<std::string>{"I1"}, t0));
  const auto retry_at = t0 + seconds(30);
  ASSERT_TRUE(l->record_bill_failure("I1", "HTTP 503", retry_at, t0));
  const auto c = l->get("I1");
  EXPECT_EQ(c->state, billing);
  EXPECT_EQ(c->bill_attempts, 1);
  EXPECT_EQ(c->last_error, "HTTP 503");
  EXPECT_EQ(c->next_try, retry_at);
  EXPECT_TRUE(l->ready_to_bill(t0 + seconds(29), 10, false)->empty());
  EXPECT_EQ(numbers(*l->ready_to_bill(retry_at, 10, false)), std::vector<std::string>{"I1"});
  // Posting it again clears the retry time: it is in flight once more.
  ASSERT_TRUE(l->mark_billing(std::vector<std::string>{"I1"}, retry_at));
  EXPECT_TRUE(l->ready_to_bill(retry_at, 10, false)->empty());
  EXPECT_EQ(l->get("I1")->next_try, std::nullopt);
  EXPECT_EQ(l->events("I1")->back().kind, "bill_failed");
}

TEST_F(sqlite_ledger_test, billing_answers_are_committed_together) {
  auto l = open_ok();
  ASSERT_TRUE(l);
  record(*l, {charge("I1"), charge("I2"), charge("I3")});
  ASSERT_TRUE(l->mark_billing(std::vector<std::string>{"I1", "I2", "I3"}, t0));
  const std::vector<bill_result> answers{{bill_result::kind::billed, "I1", "B-1", {}},
                                         {bill_result::kind::held, "I2", "customer unknown", {}},
                                         {bill_result::kind::failed, "I3", "HTTP 503", t0 + seconds(9)}};
  ASSERT_TRUE(l->record_bill_results(answers, t0));
  EXPECT_EQ(state_of(*l, "I1"), billed);
  EXPECT_EQ(l->get("I1")->billing_reference, "B-1");
  EXPECT_EQ(state_of(*l, "I2"), held);
  EXPECT_EQ(l->get("I2")->last_error, "customer unknown");
  EXPECT_EQ(state_of(*l, "I3"), billing);
  EXPECT_EQ(l->get("I3")->next_try, t0 + seconds(9));
}

TEST_F(sqlite_ledger_test, billing_answers_together_are_all_or_nothing) {
  auto l = open_ok();
  ASSERT_TRUE(l);
  record(*l, {charge("I1"), charge("I2")});
  ASSERT_TRUE(l->mark_billing(std::vector<std::string>{"I1"}, t0));
  // I2 was never handed to billing: the whole batch is refused and I1 stays billing.
  const std::vector<bill_result> answers{{bill_result::kind::billed, "I1", "B-1", {}},
                                         {bill_result::kind::billed, "I2", "B-2", {}}};
  const auto r = l->record_bill_results(answers, t0);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, make_error_code(errc::ledger_bad_transition));
  EXPECT_EQ(state_of(*l, "I1"), billing);
  EXPECT_EQ(l->get("I1")->billing_reference, std::nullopt);
}

TEST_F(sqlite_ledger_test, a_billing_reference_belongs_to_one_charge) {
  auto l = open_ok();
  ASSERT_TRUE(l);
  record(*l, {charge("I1"), charge("I2")});
  bill(*l, "I1", "B-1");
  ASSERT_TRUE(l->mark_billing(std::vector<std::string>{"I2"}, t0));
  const auto dup = l->mark_billed("I2", "B-1", t0);
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, make_error_code(errc::ledger_duplicate_reference));
  EXPECT_NE(dup.error().diagnostic.find("I1"), std::string::npos);
  EXPECT_EQ(state_of(*l, "I2"), billing);
  // A different reference for an already billed charge is not a replay.
  const auto other = l->mark_billed("I1", "B-9", t0);
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, make_error_code(errc::ledger_bad_transition));
  EXPECT_EQ(l->get("I1")->billing_reference, "B-1");
  EXPECT_EQ(l->mark_billed("I2", "", t0).error().code, make_error_code(errc::invalid_argument));
}

TEST_F(sqlite_ledger_test, billing_must_come_before_billed) {
  auto l = open_ok();
  ASSERT_TRUE(l);
  record(*l, {charge("I1"), charge("P1", "PENDING")});
  EXPECT_EQ(l->mark_billed("I1", "B-1", t0).error().code, make_error_code(errc::ledger_bad_transition));
  EXPECT_EQ(l->mark_held("I1", "nope", t0).error().code, make_error_code(errc::ledger_bad_transition));
  EXPECT_EQ(l->mark_billing(std::vector<std::string>{"P1"}, t0).error().code,
            make_error_code(errc::ledger_bad_transition));
  EXPECT_EQ(l->mark_billed("X", "B-1", t0).error().code, make_error_code(errc::ledger_unknown_charge));
}

// --- held, released, retried ---------------------------------------------------------------

TEST_F(sqlite_ledger_test, a_held_charge_is_never_acknowledged_until_a_person_acts) {
  auto l = open_ok();
  ASSERT_TRUE(l);
  record(*l, {charge("I1"), charge("I2")});
  ASSERT_TRUE(l->mark_billing(std::vector<std::string>{"I1", "I2"}, t0));
  ASSERT_TRUE(l->mark_held("I1", "422: unknown customer", t0));
  ASSERT_TRUE(l->mark_held("I2", "404: no such account", t0));
  EXPECT_EQ(state_of(*l, "I1"), held);
  EXPECT_EQ(l->get("I1")->last_error, "422: unknown customer");
  EXPECT_TRUE(l->ready_to_ack(t0 + std::chrono::hours(24), 10)->empty());
  EXPECT_TRUE(l->ready_to_bill(t0 + std::chrono::hours(24), 10, true)->empty());
  EXPECT_EQ(l->record_ack_result({{"I1"}, {}}, t0).error().code, make_error_code(errc::ledger_bad_transition));

  // Retry: back to billing, posted again.
  const auto retried = l->retry("I1", "alice", "customer fixed in billing", t0 + seconds(100));
  ASSERT_TRUE(retried) << retried.error().to_string();
  EXPECT_EQ(retried->state, billing);
  EXPECT_EQ(numbers(*l->ready_to_bill(t0 + seconds(100), 10, true)), std::vector<std::string>{"I1"});
  const auto ev = l->events("I1")->back();
  EXPECT_EQ(ev.kind, "retry");
  EXPECT_EQ(ev.actor, "alice");
  EXPECT_EQ(ev.reason, "customer fixed in billing");
  EXPECT_EQ(ev.from, held);
  EXPECT_EQ(ev.to, billing);
  EXPECT_EQ(ev.at, t0 + seconds(100));

  // Release: acknowledged without billing, with a reason.
  EXPECT_EQ(l->release("I2", "bob", "", t0).error().code, make_error_code(errc::invalid_argument));
  EXPECT_EQ(l->release("I2", "", "reason", t0).error().code, make_error_code(errc::invalid_argument));
  const auto released = l->release("I2", "bob", "account closed, write off", t0 + seconds(200));
  ASSERT_TRUE(released) << released.error().to_string();
  EXPECT_EQ(released->state, ack_pending);
  EXPECT_EQ(released->billing_reference, std::nullopt);
  EXPECT_EQ(numbers(*l->ready_to_ack(t0 + seconds(200), 10)), std::vector<std::string>{"I2"});
  const auto rel = l->events("I2")->back();
  EXPECT_EQ(rel.kind, "release");
  EXPECT_EQ(rel.actor, "bob");
  EXPECT_EQ(rel.reason, "account closed, write off");
  EXPECT_NE(rel.detail_json.find("404: no such account"), std::string::npos) << rel.detail_json;
}

TEST_F(sqlite_ledger_test, only_held_or_dead_charges_take_operator_actions) {
  auto l = open_ok();
  ASSERT_TRUE(l);
  record(*l, {charge("I1"), charge("N1", "DECLINED")});
  EXPECT_EQ(l->retry("I1", "alice", "why not", t0).error().code, make_error_code(errc::ledger_bad_transition));
  EXPECT_EQ(l->release("N1", "alice", "why not", t0).error().code, make_error_code(errc::ledger_bad_transition));
  EXPECT_EQ(l->retry("nope", "alice", "x", t0).error().code, make_error_code(errc::ledger_unknown_charge));
  EXPECT_EQ(l->events("I1")->size(), 1u);
}

// --- acknowledgement refusals --------------------------------------------------------------

TEST_F(sqlite_ledger_test, ack_refusals_back_off_then_go_dead_at_max_attempts) {
  policy.ack_max_attempts = 3;
  policy.ack_backoff = {seconds(10), seconds(30)};
  policy.random01 = [] { return 0.5; };
  auto l = open_ok();
  ASSERT_TRUE(l);
  record(*l, {charge("I1")});
  bill(*l, "I1", "B-1");
  const ack_report refused{{}, {{"I1", "E42", "reference_number already used"}}};

  // Refusal 1: 10 s step, equal jitter at 0.5 -> 7.5 s.
  auto s = l->record_ack_result(refused, t0);
  ASSERT_TRUE(s) << s.error().to_string();
  EXPECT_EQ(s->retrying, 1);
  auto c = l->get("I1");
  EXPECT_EQ(c->state, billed);
  EXPECT_EQ(c->ack_attempts, 1);
  EXPECT_EQ(c->next_try, t0 + milliseconds(7500));
  EXPECT_EQ(c->last_error, "acknowledgement refused: E42: reference_number already used");
  EXPECT_TRUE(l->ready_to_ack(t0 + milliseconds(7499), 10)->empty());
  EXPECT_EQ(numbers(*l->ready_to_ack(t0 + milliseconds(7500), 10)), std::vector<std::string>{"I1"});

  // Refusal 2: 20 s step -> 15 s.
  const auto t1 = t0 + milliseconds(7500);
  ASSERT_TRUE(l->record_ack_result(refused, t1));
  EXPECT_EQ(l->get("I1")->next_try, t1 + seconds(15));

  // Refusal 3 = max_attempts: dead, no next try, not offered again.
  const auto t2 = t1 + seconds(15);
  s = l->record_ack_result(refused, t2);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->dead, 1);
  c = l->get("I1");
  EXPECT_EQ(c->state, dead);
  EXPECT_EQ(c->ack_attempts, 3);
  EXPECT_EQ(c->next_try, std::nullopt);
  EXPECT_TRUE(l->ready_to_ack(t2 + std::chrono::hours(24), 10)->empty());
  EXPECT_EQ(l->oldest_unfinished()->has_value(), false);

  const auto ev = *l->events("I1");
  ASSERT_GE(ev.size(), 3u);
  EXPECT_EQ(ev[ev.size() - 3].kind, "ack_refused");
  EXPECT_EQ(ev[ev.size() - 2].kind, "ack_refused");
  EXPECT_EQ(ev.back().to, dead);
  EXPECT_NE(ev.back().detail_json.find("E42"), std::string::npos);

  // A person retries: waiting for acknowledgement again, with its reference and a fresh count.
  const auto retried = l->retry("I1", "carol", "CRM.COM fixed the duplicate", t2 + seconds(1));
  ASSERT_TRUE(retried) << retried.error().to_string();
  EXPECT_EQ(retried->state, billed);
  EXPECT_EQ(retried->ack_attempts, 0);
  EXPECT_EQ(retried->billing_reference, "B-1");
  EXPECT_EQ(numbers(*l->ready_to_ack(t2 + seconds(1), 10)), std::vector<std::string>{"I1"});
  s = l->record_ack_result(refused, t2 + seconds(2));
  EXPECT_EQ(s->retrying, 1);  // one refusal after the retry is not the last
}

TEST_F(sqlite_ledger_test, an_unbilled_charge_that_dies_is_retried_back_to_ack_pending) {
  policy.ack_max_attempts = 1;
  auto l = open_ok();
  ASSERT_TRUE(l);
  record(*l, {charge("N1", "REJECTED")});
  ASSERT_TRUE(l->record_ack_result({{}, {{"N1", "E1", "no"}}}, t0));
  EXPECT_EQ(state_of(*l, "N1"), dead);
  EXPECT_EQ(l->retry("N1", "dave", "try again", t0)->state, ack_pending);
}

TEST_F(sqlite_ledger_test, an_ack_answer_is_one_transaction) {
  auto l = open_ok();
  ASSERT_TRUE(l);
  record(*l, {charge("N1", "DECLINED"), charge("I1")});
  // I1 was never billed: the answer is inconsistent with the ledger, nothing of it is kept.
  const auto r = l->record_ack_result({{"N1"}, {{"I1", "E1", "x"}}}, t0);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, make_error_code(errc::ledger_bad_transition));
  EXPECT_EQ(state_of(*l, "N1"), ack_pending);

  // A refusal of a charge the same answer acknowledged does not take the acknowledgement back.
  const auto both = l->record_ack_result({{"N1"}, {{"N1", "E1", "x"}}}, t0);
  ASSERT_TRUE(both) << both.error().to_string();
  EXPECT_EQ(both->acknowledged, 1);
  EXPECT_EQ(both->retrying, 0);
  EXPECT_EQ(state_of(*l, "N1"), acknowledged);
}

TEST_F(sqlite_ledger_test, ready_to_ack_puts_never_refused_first_and_honours_the_limit) {
  policy.random01 = [] { return 0.0; };
  policy.ack_backoff = {seconds(1), seconds(1)};
  auto l = open_ok();
  ASSERT_TRUE(l);
  record(*l, {charge("N1", "DECLINED"), charge("N2", "DECLINED"), charge("N3", "DECLINED")});
  ASSERT_TRUE(l->record_ack_result({{}, {{"N1", "E", "x"}}}, t0));
  const auto later = t0 + seconds(10);
  EXPECT_EQ(numbers(*l->ready_to_ack(later, 10)), (std::vector<std::string>{"N2", "N3", "N1"}));
  EXPECT_EQ(numbers(*l->ready_to_ack(later, 2)), (std::vector<std::string>{"N2", "N3"}));
}

// --- queries -------------------------------------------------------------------------------

TEST_F(sqlite_ledger_test, counts_cover_every_state_and_oldest_unfinished_is_the_oldest_owed) {
  auto l = open_ok();
  ASSERT_TRUE(l);
  auto counts = l->counts();
  ASSERT_TRUE(counts);
  EXPECT_EQ(counts->size(), std::size(all_charge_states));
  for (const auto& [state, n] : *counts) EXPECT_EQ(n, 0) << to_string(state);
  EXPECT_EQ(l->oldest_unfinished()->has_value(), false);

  record(*l, {charge("P1", "PENDING"), charge("I1"), charge("I2"), charge("N1", "DECLINED")});
  bill(*l, "I1", "B-1");
  ASSERT_TRUE(l->record_ack_result({{"I1"}, {}}, t0));
  counts = l->counts();
  EXPECT_EQ((*counts)[pending], 1);
  EXPECT_EQ((*counts)[seen], 1);
  EXPECT_EQ((*counts)[ack_pending], 1);
  EXPECT_EQ((*counts)[acknowledged], 1);
  EXPECT_EQ((*counts)[billed], 0);
  const auto oldest = l->oldest_unfinished();
  ASSERT_TRUE(oldest);
  ASSERT_TRUE(oldest->has_value());
  EXPECT_EQ((*oldest)->number, "I2");  // P1 is older, but watched, not owed
}

TEST_F(sqlite_ledger_test, list_filters_by_state_customer_status_and_time) {
  auto l = open_ok();
  ASSERT_TRUE(l);
  record(*l, {charge("A1", "APPROVED", "1", "C-1"), charge("A2", "APPROVED", "2", "C-2")}, t0);
  record(*l, {charge("D1", "DECLINED", "3", "C-1"), charge("A3", "APPROVED", "4", "C-1")}, t0 + seconds(60));

  charge_filter f;
  EXPECT_EQ(numbers(*l->list(f)), (std::vector<std::string>{"A1", "A2", "D1", "A3"}));
  f.customer = "C-1";
  EXPECT_EQ(numbers(*l->list(f)), (std::vector<std::string>{"A1", "D1", "A3"}));
  f.status = "APPROVED";
  EXPECT_EQ(numbers(*l->list(f)), (std::vector<std::string>{"A1", "A3"}));
  f.first_seen_from = t0 + seconds(1);
  EXPECT_EQ(numbers(*l->list(f)), (std::vector<std::string>{"A3"}));
  f = {};
  f.first_seen_until = t0 + seconds(60);
  EXPECT_EQ(numbers(*l->list(f)), (std::vector<std::string>{"A1", "A2"}));
  f = {};
  f.state = ack_pending;
  EXPECT_EQ(numbers(*l->list(f)), (std::vector<std::string>{"D1"}));
  f = {};
  f.limit = 2;
  f.offset = 1;
  EXPECT_EQ(numbers(*l->list(f)), (std::vector<std::string>{"A2", "D1"}));
}

TEST_F(sqlite_ledger_test, unknown_charges_are_reported_as_such) {
  auto l = open_ok();
  ASSERT_TRUE(l);
  const auto r = l->get("I404");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, make_error_code(errc::ledger_unknown_charge));
  EXPECT_NE(r.error().diagnostic.find("I404"), std::string::npos);
  EXPECT_TRUE(l->events("I404")->empty());
}

TEST_F(sqlite_ledger_test, peer_text_in_a_diagnostic_is_escaped) {
  auto l = open_ok();
  ASSERT_TRUE(l);
  const auto r = l->get("I1\n\x1b[31mred");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().diagnostic.find('\n'), std::string::npos) << r.error().diagnostic;
  EXPECT_EQ(r.error().diagnostic.find('\x1b'), std::string::npos) << r.error().diagnostic;
}

TEST_F(sqlite_ledger_test, the_event_table_is_append_only) {
  {
    auto l = open_ok();
    ASSERT_TRUE(l);
    record(*l, {charge("I1")});
  }
  raw_db raw(path);
  EXPECT_NE(raw.exec("UPDATE events SET reason = 'x'"), SQLITE_OK);
  EXPECT_NE(raw.exec("DELETE FROM events"), SQLITE_OK);
  EXPECT_EQ(raw.text("SELECT count(*) FROM events"), "1");
}

TEST_F(sqlite_ledger_test, state_survives_closing_and_reopening) {
  {
    auto l = open_ok();
    ASSERT_TRUE(l);
    record(*l, {charge("I1", "APPROVED", "1234567.89")});
    bill(*l, "I1", "B-77", t0 + seconds(1));
  }
  auto l = open_ok();
  ASSERT_TRUE(l);
  const auto c = l->get("I1");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->state, billed);
  EXPECT_EQ(c->billing_reference, "B-77");
  EXPECT_EQ(c->amount, "1234567.89");
  EXPECT_EQ(c->first_seen, t0);
  EXPECT_EQ(c->billed_at, t0 + seconds(1));
}

// --- group commit --------------------------------------------------------------------------

TEST_F(sqlite_ledger_test, a_group_commits_its_writes_together_and_only_at_the_end) {
  auto l = open_ok();
  ASSERT_TRUE(l);
  raw_db other(path);  // another connection: sees only what is committed
  std::string seen_inside;
  result<std::vector<observed_result>> first = std::vector<observed_result>{};
  result<void> marked;
  auto group = l->group_commit([&] {
    const std::vector<observed_charge> page{charge("G1"), charge("G2")};
    first = l->record_page(page, t0);
    const std::vector<std::string> one{"G1"};
    marked = l->mark_billing(one, t0);
    seen_inside = other.text("SELECT count(*) FROM charges");
  });
  ASSERT_TRUE(group) << group.error().to_string();
  ASSERT_TRUE(first) << first.error().to_string();
  ASSERT_TRUE(marked) << marked.error().to_string();
  EXPECT_EQ(seen_inside, "0");  // nothing durable before the group returned
  EXPECT_EQ(other.text("SELECT count(*) FROM charges"), "2");
  EXPECT_EQ(state_of(*l, "G1"), billing);
  EXPECT_EQ(state_of(*l, "G2"), seen);
}

TEST_F(sqlite_ledger_test, a_refused_write_in_a_group_undoes_only_itself) {
  auto l = open_ok();
  ASSERT_TRUE(l);
  record(*l, {charge("R1"), charge("R2")});
  result<void> refused;
  result<void> fine;
  auto group = l->group_commit([&] {
    const std::vector<std::string> both{"R1", "NOPE"};  // all or nothing: R1 must stay seen
    refused = l->mark_billing(both, t0);
    const std::vector<std::string> r2{"R2"};
    fine = l->mark_billing(r2, t0);
  });
  ASSERT_TRUE(group) << group.error().to_string();
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, make_error_code(errc::ledger_unknown_charge));
  ASSERT_TRUE(fine) << fine.error().to_string();
  EXPECT_EQ(state_of(*l, "R1"), seen);
  EXPECT_EQ(state_of(*l, "R2"), billing);
  auto events = l->events("R1");
  ASSERT_TRUE(events);
  EXPECT_EQ(events->size(), 1u);  // recorded only: the refused transition left no event
}

TEST_F(sqlite_ledger_test, a_write_that_does_not_fit_fails_alone_in_its_group) {
  auto opened = open_nearly_full();
  ASSERT_TRUE(opened);
  auto& l = *opened;
  int fitted = 0;
  std::optional<error> full;
  auto group = l.group_commit([&] {
    for (int page_no = 0; page_no < 100; ++page_no) {
      auto r = l.record_page(fat_page("F", page_no), t0);
      if (!r) {
        full = r.error();
        break;
      }
      fitted += 5;
    }
  });
  ASSERT_TRUE(full) << "the page cap never filled";
  EXPECT_EQ(full->code, make_error_code(errc::ledger_write_failed)) << full->to_string();
  ASSERT_GT(fitted, 0);
  // Either the group went on without the page that did not fit, or SQLite ended the whole
  // transaction and the group failed with nothing written; never a part of that page.
  auto counts = l.counts();
  ASSERT_TRUE(counts) << counts.error().to_string();
  if (group)
    EXPECT_EQ((*counts)[seen], fitted);
  else
    EXPECT_EQ((*counts)[seen], 0);
}

// --- schema versions 3 and 4: the counts table ---------------------------------------------

// Version 3 kept the counts table by triggers; version 4 drops them and counts in the ledger's
// code. This puts them back, to make a version 3 ledger of a current file.
const std::string restore_count_triggers = R"sql(
CREATE TRIGGER charge_counts_on_insert AFTER INSERT ON charges BEGIN
  INSERT INTO charge_counts VALUES (NEW.state, NEW.billing_reference IS NOT NULL, 1)
    ON CONFLICT (state, has_reference) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER charge_counts_on_delete AFTER DELETE ON charges BEGIN
  UPDATE charge_counts SET n = n - 1 WHERE state = OLD.state AND has_reference = (OLD.billing_reference IS NOT NULL);
END;
CREATE TRIGGER charge_counts_on_update AFTER UPDATE OF state, billing_reference ON charges
  WHEN OLD.state IS NOT NEW.state OR (OLD.billing_reference IS NULL) IS NOT (NEW.billing_reference IS NULL)
BEGIN
  UPDATE charge_counts SET n = n - 1 WHERE state = OLD.state AND has_reference = (OLD.billing_reference IS NOT NULL);
  INSERT INTO charge_counts VALUES (NEW.state, NEW.billing_reference IS NOT NULL, 1)
    ON CONFLICT (state, has_reference) DO UPDATE SET n = n + 1;
END;
)sql";

// Version 3's table, to take a ledger back to version 2 (version 4 has no triggers to drop).
const std::string drop_counts_table = "DROP TABLE charge_counts; ";

// The counts by state and reference, as the table has them and as the rows say.
std::pair<std::string, std::string> counts_kept_and_counted(raw_db& raw) {
  return {raw.text("SELECT group_concat(g, ' ') FROM (SELECT state || '/' || has_reference || '=' || n AS g "
                   "FROM charge_counts WHERE n <> 0 ORDER BY state, has_reference)"),
          raw.text("SELECT group_concat(g, ' ') FROM (SELECT state || '/' || (billing_reference IS NOT NULL) || '=' "
                   "|| COUNT(*) AS g FROM charges GROUP BY state, billing_reference IS NOT NULL "
                   "ORDER BY state, billing_reference IS NOT NULL)")};
}

TEST_F(sqlite_ledger_test, the_counts_table_follows_every_kind_of_change_and_a_failed_write_leaves_it_alone) {
  auto l = open_ok();
  ASSERT_TRUE(l);
  raw_db raw(path);
  record(*l, {charge("P1", "PENDING"), charge("I1"), charge("I2"), charge("I3"), charge("N1", "DECLINED")});
  bill(*l, "I1", "B-1");
  ASSERT_TRUE(l->mark_billing(std::vector<std::string>{"I2", "I3"}, t0));
  ASSERT_TRUE(l->mark_held("I2", "422: unknown customer", t0));
  ASSERT_TRUE(l->mark_held("I3", "422: unknown customer", t0));
  ASSERT_TRUE(l->release("I2", "bob", "written off", t0));
  ASSERT_TRUE(l->retry("I3", "alice", "fixed", t0));
  ASSERT_TRUE(l->record_ack_result({{"I1", "N1"}, {}}, t0));
  record(*l, {charge("P1", "APPROVED")});  // PENDING resolved
  // Refused as a whole (I1 is acknowledged, not billing): nothing of it is counted.
  ASSERT_FALSE(l->mark_billed("I1", "B-2", t0));

  auto [kept, counted] = counts_kept_and_counted(raw);
  EXPECT_EQ(kept, counted);
  EXPECT_EQ(kept, "ack_pending/0=1 acknowledged/0=1 acknowledged/1=1 billing/0=1 seen/0=1");
  auto counts = l->counts();
  ASSERT_TRUE(counts);
  EXPECT_EQ((*counts)[acknowledged], 2);
  EXPECT_EQ((*counts)[billing], 1);
  EXPECT_EQ((*counts)[held], 0);
}

TEST_F(sqlite_ledger_test, a_page_may_record_its_first_new_billable_charges_straight_into_billing) {
  auto l = open_ok();
  ASSERT_TRUE(l);
  raw_db raw(path);
  record(*l, {charge("K1")});  // known already: not new, not counted against the allowance
  const std::vector<observed_charge> page{charge("K1"), charge("D1", "DECLINED"), charge("I1"),
                                          charge("P1", "PENDING"), charge("I2"), charge("I3")};
  auto results = l->record_page(page, t0, 2);
  ASSERT_TRUE(results) << results.error().to_string();
  std::vector<charge_state> states;
  for (const auto& r : *results) states.push_back(r.state);
  EXPECT_EQ(states, (std::vector<charge_state>{seen, ack_pending, billing, pending, billing, seen}));
  EXPECT_EQ(state_of(*l, "I2"), billing);
  EXPECT_EQ(state_of(*l, "I3"), seen);
  // One audit row for the whole step, as for any new charge.
  const auto ev = l->events("I1");
  ASSERT_TRUE(ev);
  ASSERT_EQ(ev->size(), 1u);
  EXPECT_EQ((*ev)[0].kind, "recorded");
  EXPECT_EQ((*ev)[0].to, billing);
  EXPECT_EQ((*ev)[0].reason, "posting to billing");
  // Like charges marked billing: posted again by a restart (in flight, no retry time) and billed
  // from there.
  EXPECT_EQ(numbers(*l->ready_to_bill(t0, 10, true)), (std::vector<std::string>{"K1", "I1", "I2", "I3"}));
  EXPECT_EQ(numbers(*l->ready_to_bill(t0, 10, false)), (std::vector<std::string>{"K1", "I3"}));
  ASSERT_TRUE(l->mark_billed("I1", "B-1", t0));
  auto [kept, counted] = counts_kept_and_counted(raw);
  EXPECT_EQ(kept, counted);
  EXPECT_EQ(kept, "ack_pending/0=1 billed/1=1 billing/0=1 pending/0=1 seen/0=2");
}

TEST_F(sqlite_ledger_test, a_version_three_ledger_loses_its_count_triggers_and_counts_each_change_once) {
  write_older_ledger(restore_count_triggers + "PRAGMA user_version = 3");
  auto l = open_ok();
  ASSERT_TRUE(l);
  raw_db raw(path);
  EXPECT_EQ(raw.text("PRAGMA user_version"), "4");
  EXPECT_EQ(raw.text("SELECT count(*) FROM sqlite_schema WHERE type = 'trigger' AND name LIKE 'charge_counts%'"), "0");
  // A trigger left behind would count every change twice.
  record(*l, {charge("V4")});
  bill(*l, "V2", "REF-V2");
  ASSERT_TRUE(l->record_ack_result({{"V1", "V3"}, {}}, t0));
  auto [kept, counted] = counts_kept_and_counted(raw);
  EXPECT_EQ(kept, "acknowledged/0=1 acknowledged/1=1 billed/1=1 seen/0=1");
  EXPECT_EQ(kept, counted);
}

TEST_F(sqlite_ledger_test, a_version_two_ledger_gets_its_counts_table_with_its_charges_counted) {
  write_older_ledger(drop_counts_table + "PRAGMA user_version = 2");
  auto l = open_ok();
  ASSERT_TRUE(l);
  raw_db raw(path);
  EXPECT_EQ(raw.text("PRAGMA user_version"), "4");
  auto [kept, counted] = counts_kept_and_counted(raw);
  EXPECT_EQ(kept, "ack_pending/0=1 billed/1=1 seen/0=1");
  EXPECT_EQ(kept, counted);
  record(*l, {charge("V4")});
  EXPECT_EQ((*l->counts())[seen], 2);
}

// --- schema version 2 ----------------------------------------------------------------------

TEST_F(sqlite_ledger_test, a_version_one_ledger_is_migrated_with_its_charges) {
  // Back to version 1: its indexes, and no counts table.
  write_older_ledger(drop_counts_table +
                     "DROP INDEX charges_by_retry_time; DROP INDEX charges_by_state; "
                     "CREATE INDEX charges_by_state ON charges(state, next_try, id); PRAGMA user_version = 1");
  auto l = open_ok();
  ASSERT_TRUE(l);
  raw_db raw(path);
  EXPECT_EQ(raw.text("PRAGMA user_version"), std::to_string(sqlite_ledger::schema_version));
  EXPECT_EQ(raw.text("SELECT sql FROM sqlite_schema WHERE name = 'charges_by_state'"),
            "CREATE INDEX charges_by_state ON charges(state, id)");
  EXPECT_EQ(raw.text("SELECT count(*) FROM sqlite_schema WHERE name = 'charges_by_retry_time'"), "1");
  EXPECT_EQ(state_of(*l, "V1"), billed);
  auto to_bill = l->ready_to_bill(t0, 10, true);
  ASSERT_TRUE(to_bill);
  EXPECT_EQ(numbers(*to_bill), std::vector<std::string>{"V2"});
  auto to_ack = l->ready_to_ack(t0, 10);
  ASSERT_TRUE(to_ack);
  EXPECT_EQ(numbers(*to_ack), (std::vector<std::string>{"V1", "V3"}));
}

TEST_F(sqlite_ledger_test, the_engines_queries_walk_an_index_range_not_the_table) {
  auto l = open_ok();
  ASSERT_TRUE(l);
  raw_db raw(path);
  const auto plan = [&](const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(raw.db, ("EXPLAIN QUERY PLAN " + sql).c_str(), -1, &s, nullptr), SQLITE_OK);
    std::string out;
    while (sqlite3_step(s) == SQLITE_ROW)
      out += std::string(reinterpret_cast<const char*>(sqlite3_column_text(s, 3))) + "; ";
    sqlite3_finalize(s);
    return out;
  };
  // The shapes of the queries behind ready_to_bill, ready_to_ack and oldest_unfinished: no
  // full scan, no sort of every match (a "USE TEMP B-TREE FOR ORDER BY" would read them all).
  for (const std::string sql : {
           "SELECT * FROM charges WHERE state = 'seen' ORDER BY id LIMIT 50",
           "SELECT * FROM charges WHERE state = 'billing' AND next_try IS NULL ORDER BY id LIMIT 50",
           "SELECT * FROM charges WHERE state = 'billed' AND next_try IS NULL ORDER BY id LIMIT 50",
       }) {
    const auto p = plan(sql);
    EXPECT_NE(p.find("USING INDEX charges_by_state"), std::string::npos) << sql << ": " << p;
    EXPECT_EQ(p.find("TEMP B-TREE"), std::string::npos) << sql << ": " << p;
  }
  const auto retry = plan(
      "SELECT * FROM charges WHERE state IN ('billed', 'ack_pending') AND next_try IS NOT NULL AND next_try <= 'x' "
      "ORDER BY next_try, id LIMIT 50");
  EXPECT_NE(retry.find("charges_by_retry_time"), std::string::npos) << retry;
  // Due billing retries: never a read of the many billing charges without a retry time.
  const auto bill_retry = plan(
      "SELECT * FROM charges WHERE state = 'billing' AND next_try IS NOT NULL AND next_try <= 'x' "
      "ORDER BY next_try, id LIMIT 50");
  EXPECT_NE(bill_retry.find("charges_by_retry_time"), std::string::npos) << bill_retry;
  EXPECT_EQ(bill_retry.find("TEMP B-TREE"), std::string::npos) << bill_retry;
}

}  // namespace
}  // namespace chargerecon::ledger
