#include "observability/ledger_accounting.hpp"

#include <sqlite3.h>

namespace chargerecon::obs {
namespace {

// The ledger's own count of its charges by state and reference (schema version 3 keeps it
// with triggers in the same transaction as every change; see lib/ledger/sqlite_ledger.cpp),
// not a scan of the charges (0.55 s on a 1M-charge ledger, every few seconds). States are
// stored as their stable names (ledger::to_string). Emptied groups stay with n = 0.
constexpr char sql_accounting[] = "SELECT state, has_reference, n FROM charge_counts WHERE n <> 0";

}  // namespace

ledger_accounting account(std::span<const accounting_row> rows) {
  ledger_accounting a;
  for (const auto& r : rows) {
    a.listed += r.count;
    const auto& s = r.state;
    std::int64_t* outcome = nullptr;
    if (s == "seen" || s == "billing")
      outcome = &a.in_progress;
    else if (s == "pending")
      outcome = &a.pending;
    else if (s == "held")
      outcome = &a.held;
    else if (s == "dead")
      outcome = &a.dead;
    else if (s == "billed" && r.has_reference)
      outcome = &a.billed;
    else if (s == "acknowledged")
      outcome = r.has_reference ? &a.billed : &a.not_billable;
    else if (s == "ack_pending" && !r.has_reference)
      outcome = &a.not_billable;
    if (outcome)
      *outcome += r.count;
    else
      a.unaccounted.push_back("state=" + s + " reference=" + (r.has_reference ? "yes" : "no") +
                              " charges=" + std::to_string(r.count));
  }
  return a;
}

struct ledger_accounting_reader::impl {
  sqlite3* db = nullptr;
  sqlite3_stmt* stmt = nullptr;
  ~impl() {
    sqlite3_finalize(stmt);
    sqlite3_close(db);
  }
};

ledger_accounting_reader::ledger_accounting_reader(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
ledger_accounting_reader::~ledger_accounting_reader() = default;

result<std::unique_ptr<ledger_accounting_reader>> ledger_accounting_reader::open(const std::filesystem::path& path) {
  auto p = std::make_unique<impl>();
  int rc = sqlite3_open_v2(path.c_str(), &p->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc == SQLITE_OK) {
    // The engine's writes hold the WAL briefly; a read waits for them rather than failing.
    sqlite3_busy_timeout(p->db, 2000);
    rc = sqlite3_prepare_v3(p->db, sql_accounting, -1, SQLITE_PREPARE_PERSISTENT, &p->stmt, nullptr);
  }
  if (rc != SQLITE_OK)
    return error{errc::ledger_open_failed, "cannot open the ledger " + path.string() + " for accounting: " +
                                               (p->db ? sqlite3_errmsg(p->db) : sqlite3_errstr(rc))};
  return std::unique_ptr<ledger_accounting_reader>(new ledger_accounting_reader(std::move(p)));
}

result<std::vector<accounting_row>> ledger_accounting_reader::read() {
  std::vector<accounting_row> rows;
  auto* stmt = impl_->stmt;
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    const auto* state = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    rows.push_back({state ? state : "", sqlite3_column_int(stmt, 1) != 0, sqlite3_column_int64(stmt, 2)});
  }
  const std::string message = rc == SQLITE_DONE ? "" : sqlite3_errmsg(impl_->db);
  sqlite3_reset(stmt);
  if (rc != SQLITE_DONE) return error{errc::ledger_read_failed, "ledger accounting query failed: " + message};
  return rows;
}

}  // namespace chargerecon::obs
