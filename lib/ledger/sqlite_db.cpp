#include "ledger/sqlite_db.hpp"

#include <cstdint>
#include <utility>

namespace chargerecon::ledger::sqlite {
namespace {
// SQLITE_TRANSIENT without the C-style cast its macro spells.
sqlite3_destructor_type transient() noexcept {
  return reinterpret_cast<sqlite3_destructor_type>(static_cast<std::intptr_t>(-1));
}
}  // namespace

failure::failure(int code, std::string what_failed, std::string sqlite_message)
    : std::runtime_error(what_failed + ": " + sqlite_message),
      code_(code),
      what_failed_(std::move(what_failed)),
      sqlite_message_(std::move(sqlite_message)) {}

void fail(sqlite3* db, int rc, std::string_view what) {
  std::string message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  throw failure(rc, std::string(what), std::move(message));
}

connection::~connection() {
  // sqlite3_close_v2 defers the close until every statement is finalised; statements are
  // members destroyed before the connection, so this closes at once.
  if (db_ != nullptr) sqlite3_close_v2(db_);
}

connection& connection::operator=(connection&& other) noexcept {
  if (this != &other) {
    if (db_ != nullptr) sqlite3_close_v2(db_);
    db_ = std::exchange(other.db_, nullptr);
  }
  return *this;
}

void connection::exec(const char* sql, std::string_view what) const {
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) fail(db_, rc, what);
}

statement::statement(sqlite3* db, const char* sql) : db_(db), stmt_(nullptr) {
  const int rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr);
  if (rc != SQLITE_OK) fail(db, rc, std::string("preparing: ") + sql);
}

statement::~statement() {
  if (stmt_ != nullptr) sqlite3_finalize(stmt_);
}

statement::statement(statement&& other) noexcept : db_(other.db_), stmt_(std::exchange(other.stmt_, nullptr)) {}

void statement::bind(int index, std::string_view text) {
  // SQLite binds NULL for a null pointer; an empty string_view may carry one.
  const char* data = text.data() != nullptr ? text.data() : "";
  const int rc = sqlite3_bind_text64(stmt_, index, data, text.size(), transient(), SQLITE_UTF8);
  if (rc != SQLITE_OK) fail(db_, rc, "binding a parameter");
}

void statement::bind_borrowed(int index, std::string_view text) {
  const char* data = text.data() != nullptr ? text.data() : "";
  const int rc = sqlite3_bind_text64(stmt_, index, data, text.size(), nullptr /* SQLITE_STATIC */, SQLITE_UTF8);
  if (rc != SQLITE_OK) fail(db_, rc, "binding a parameter");
}

void statement::bind(int index, std::int64_t value) {
  const int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK) fail(db_, rc, "binding a parameter");
}

void statement::bind_optional(int index, const std::optional<std::string>& text) {
  if (text)
    bind(index, std::string_view(*text));
  else
    bind_null(index);
}

void statement::bind_null(int index) {
  const int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK) fail(db_, rc, "binding a parameter");
}

bool statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  fail(db_, rc, std::string("executing: ") + sqlite3_sql(stmt_));
}

void statement::reset() noexcept {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::string statement::text(int column) const {
  const auto* p = sqlite3_column_text(stmt_, column);
  const int n = sqlite3_column_bytes(stmt_, column);
  if (p == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n));
}

std::optional<std::string> statement::optional_text(int column) const {
  if (is_null(column)) return std::nullopt;
  return text(column);
}

std::int64_t statement::int64(int column) const { return sqlite3_column_int64(stmt_, column); }

bool statement::is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

transaction::transaction(const connection& db) : db_(db.get()) { db.exec("BEGIN IMMEDIATE", "starting a transaction"); }

void transaction::commit() {
  const int rc = sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) fail(db_, rc, "committing");
  done_ = true;
}

transaction::~transaction() {
  if (done_) return;
  // After SQLITE_FULL or an I/O error SQLite may have rolled back on its own; a second ROLLBACK
  // would only report "no transaction is active".
  if (sqlite3_get_autocommit(db_) == 0) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

}  // namespace chargerecon::ledger::sqlite
