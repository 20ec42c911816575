#pragma once
// A small RAII layer over the sqlite3 C API, private to the ledger (sqlite_ledger.cpp only).
// Failures throw sqlite::failure inside the ledger; sqlite_ledger turns them into result<T>
// at its public boundary, after the transaction guard has rolled back.

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace chargerecon::ledger::sqlite {

class failure : public std::runtime_error {
 public:
  failure(int code, std::string what_failed, std::string sqlite_message);
  int code() const noexcept { return code_; }  // extended result code
  const std::string& what_failed() const noexcept { return what_failed_; }
  const std::string& sqlite_message() const noexcept { return sqlite_message_; }

 private:
  int code_;
  std::string what_failed_;
  std::string sqlite_message_;
};

// Throws failure(rc, what, sqlite3_errmsg(db)).
[[noreturn]] void fail(sqlite3* db, int rc, std::string_view what);

// A connection; closes on destruction.
class connection {
 public:
  connection() = default;
  explicit connection(sqlite3* db) noexcept : db_(db) {}
  ~connection();
  connection(connection&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
  connection& operator=(connection&& other) noexcept;
  connection(const connection&) = delete;

  sqlite3* get() const noexcept { return db_; }

  // Runs SQL without results (one or more statements); throws failure naming `what`.
  void exec(const char* sql, std::string_view what) const;

 private:
  sqlite3* db_ = nullptr;
};

// A prepared statement, prepared once and reused (SQLITE_PREPARE_PERSISTENT).
class statement {
 public:
  statement(sqlite3* db, const char* sql);  // throws failure
  ~statement();
  statement(statement&& other) noexcept;
  statement& operator=(statement&&) = delete;
  statement(const statement&) = delete;

  // Parameters are 1-based, as in the SQL (?1, ?2...). Text is copied.
  void bind(int index, std::string_view text);
  // Text that is not copied: it must stay unchanged until the statement is reset (the end of
  // the `use` that borrowed it). For big values bound once per row, such as a charge's JSON.
  void bind_borrowed(int index, std::string_view text);
  void bind(int index, std::int64_t value);
  void bind_optional(int index, const std::optional<std::string>& text);
  void bind_null(int index);

  // True when a row is ready, false when done; throws failure on error.
  bool step();
  // Forgets the current execution and all bindings. Never throws.
  void reset() noexcept;

  // Columns are 0-based.
  std::string text(int column) const;
  std::optional<std::string> optional_text(int column) const;
  std::int64_t int64(int column) const;
  bool is_null(int column) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

// Borrows a reused statement and resets it on scope exit, so it never keeps a read snapshot
// (or a write lock) open after its use.
class use {
 public:
  explicit use(statement& s) noexcept : s_(s) {}
  ~use() { s_.reset(); }
  use(const use&) = delete;
  use& operator=(const use&) = delete;
  statement* operator->() const noexcept { return &s_; }
  statement& operator*() const noexcept { return s_; }

 private:
  statement& s_;
};

// BEGIN IMMEDIATE on construction: the write lock is taken up front, so a transaction never
// fails half-way on a lock upgrade. Rolls back on destruction unless committed; never throws
// from the destructor (SQLite may already have rolled back after SQLITE_FULL or an I/O error).
class transaction {
 public:
  explicit transaction(const connection& db);  // throws failure
  ~transaction();
  transaction(const transaction&) = delete;
  transaction& operator=(const transaction&) = delete;

  void commit();  // throws failure; the destructor then rolls back

 private:
  sqlite3* db_;
  bool done_ = false;
};

}  // namespace chargerecon::ledger::sqlite
