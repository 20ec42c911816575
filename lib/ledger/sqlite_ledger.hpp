#pragma once
// The ledger in one SQLite file (WAL mode, synchronous=FULL), next to a "<path>.lock" file.
//
// Open modes:
//   exclusive  chargerecond. Takes an flock on "<path>.lock" (holding our pid) so a second daemon
//              on the same ledger refuses to start (ledger_locked, naming the path and the
//              holder's pid); creates the file if needed and applies schema migrations.
//   shared     chargereconctl's operator actions (retry, release) while the daemon runs: no
//              flock, short write transactions that wait for the daemon's (busy_timeout). Every
//              transition re-checks the charge's state inside its transaction, so the daemon and
//              the operator cannot undo each other. Needs an existing, current-schema ledger.
//   read_only  chargereconctl's queries: no flock, query_only, works while the daemon runs.
//
// Start-up errors from open(): ledger_locked, ledger_open_failed (missing file, wrong schema for
// a non-exclusive mode, I/O), ledger_integrity (PRAGMA quick_check failed, or not a database),
// ledger_schema_too_new (written by a newer chargerecon), ledger_write_failed (read-only file,
// disk full while migrating).
//
// Blocking, synchronous: see ledger.hpp for the threading story.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>

#include "ledger/ledger.hpp"
#include "observability/event_log.hpp"

namespace chargerecon::ledger {

enum class open_mode { exclusive, shared, read_only };

struct sqlite_ledger_options {
  std::filesystem::path path;
  open_mode mode = open_mode::exclusive;
  ledger_policy policy;
  // How long a write waits for another connection's transaction (the operator's or the
  // daemon's) before failing with ledger_write_failed.
  std::chrono::milliseconds busy_timeout{std::chrono::seconds(5)};
  bool check_integrity = true;  // PRAGMA quick_check at open
  // When set, the check stops (ledger_open_failed, "interrupted") once this becomes true: on a
  // big file it takes seconds, which a stopping daemon should not wait for.
  const std::atomic<bool>* stop_check = nullptr;
  // Caps the file at this many pages (SQLite's max_page_count); a write past it fails like a
  // full disk. Unset: no cap beyond SQLite's own.
  std::optional<std::int64_t> max_page_count;
};

class sqlite_ledger final : public ledger {
 public:
  // The schema this program writes (PRAGMA user_version).
  static constexpr int schema_version = 4;

  static result<std::unique_ptr<sqlite_ledger>> open(sqlite_ledger_options options, obs::event_log log);

  ~sqlite_ledger() override;
  sqlite_ledger(const sqlite_ledger&) = delete;
  sqlite_ledger& operator=(const sqlite_ledger&) = delete;

  using ledger::record_page;
  result<std::vector<observed_result>> record_page(std::span<const observed_charge> page, timestamp now,
                                                   std::size_t straight_to_billing) override;
  result<void> mark_billing(std::span<const std::string> numbers, timestamp now) override;
  result<void> record_bill_failure(std::string_view number, std::string_view error_text, timestamp next_try,
                                   timestamp now) override;
  result<void> mark_billed(std::string_view number, std::string_view reference, timestamp now) override;
  result<void> mark_held(std::string_view number, std::string_view reason, timestamp now) override;
  result<void> record_bill_results(std::span<const bill_result> results, timestamp now) override;
  result<ack_summary> record_ack_result(const ack_report& report, timestamp now) override;
  result<void> group_commit(const std::function<void()>& writes) override;

  result<std::vector<charge_record>> ready_to_bill(timestamp now, std::size_t limit, bool include_in_flight) override;
  result<std::vector<ack_candidate>> ready_to_ack(timestamp now, std::size_t limit) override;
  result<state_counts> counts() override;
  result<std::optional<charge_record>> oldest_unfinished() override;

  result<charge_record> get(std::string_view number) override;
  result<std::vector<charge_record>> list(const charge_filter& filter) override;
  result<std::vector<event_record>> events(std::string_view number) override;
  result<charge_record> retry(std::string_view number, std::string_view who, std::string_view reason,
                              timestamp now) override;
  result<charge_record> release(std::string_view number, std::string_view who, std::string_view reason,
                                timestamp now) override;

 private:
  struct impl;
  explicit sqlite_ledger(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace chargerecon::ledger
