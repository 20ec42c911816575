#include "ledger/sqlite_ledger.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <cerrno>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <mutex>
#include <random>
#include <unordered_map>
#include <utility>

#include "ledger/sqlite_db.hpp"

namespace chargerecon::ledger {
namespace {

// --- schema --------------------------------------------------------------------------------

// Version 1. Amounts, currencies and the raw JSON are TEXT so they come back byte for byte;
// states are TEXT so the file reads well in the sqlite3 shell (no CHECK on them, so adding a
// state later needs no table rebuild; the program validates them on read).
constexpr char schema_v1[] = R"sql(
CREATE TABLE charges (
  id INTEGER PRIMARY KEY,
  number TEXT NOT NULL UNIQUE,
  customer TEXT NOT NULL,
  status TEXT NOT NULL,
  amount TEXT NOT NULL,
  currency TEXT NOT NULL,
  raw_json TEXT NOT NULL,
  state TEXT NOT NULL,
  billing_reference TEXT,
  bill_attempts INTEGER NOT NULL DEFAULT 0,
  ack_attempts INTEGER NOT NULL DEFAULT 0,
  next_try TEXT,
  last_error TEXT NOT NULL DEFAULT '',
  first_seen TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  billed_at TEXT,
  acknowledged_at TEXT,
  last_change_observed TEXT
) STRICT;
CREATE UNIQUE INDEX charges_by_billing_reference ON charges(billing_reference);
CREATE INDEX charges_by_state ON charges(state, next_try, id);
CREATE INDEX charges_by_customer ON charges(customer, id);
CREATE TABLE events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL,
  number TEXT NOT NULL,
  actor TEXT NOT NULL,
  kind TEXT NOT NULL,
  from_state TEXT,
  to_state TEXT,
  reason TEXT NOT NULL DEFAULT '',
  detail TEXT NOT NULL DEFAULT '{}'
) STRICT;
CREATE INDEX events_by_number ON events(number, id);
CREATE TRIGGER events_are_append_only_update BEFORE UPDATE ON events
  BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_are_append_only_delete BEFORE DELETE ON events
  BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
)sql";

// Version 2: indexes for the engine's queries on a big ledger. Version 1's (state, next_try, id)
// ordered the charges of one state by retry time, so "the oldest seen charges" or "the oldest
// unfinished charge" sorted every charge of that state (a million at a 1M backlog) at each call.
// (state, id) gives them in id order, stopping at the LIMIT; the few charges with a retry time
// (billing or acknowledgement backing off) get an index of their own, which the many rows
// without one never touch. Building them on an existing 1M-charge ledger takes seconds, once.
constexpr char schema_v2[] = R"sql(
DROP INDEX charges_by_state;
CREATE INDEX charges_by_state ON charges(state, id);
CREATE INDEX charges_by_retry_time ON charges(state, next_try, id) WHERE next_try IS NOT NULL;
)sql";

// Version 3: how many charges are in each state, with and without a billing reference, kept
// by triggers in the same transaction as every change (so it cannot disagree with the rows).
// The daemon's gauges and balance read it every few seconds; counting the rows instead scanned
// the whole ledger each time (0.55 s for the balance on a 1M-charge ledger, plus the state
// index for the gauges on the engine's own thread). Groups that emptied stay with n = 0.
constexpr char schema_v3[] = R"sql(
CREATE TABLE charge_counts (
  state TEXT NOT NULL,
  has_reference INTEGER NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (state, has_reference)
) STRICT, WITHOUT ROWID;
INSERT INTO charge_counts SELECT state, billing_reference IS NOT NULL, COUNT(*) FROM charges GROUP BY 1, 2;
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

// Version 4: charge_counts is kept by the ledger's own code instead of triggers. A statement
// that fires a trigger runs in a statement journal (a copy of every page it touches, to undo a
// half-done statement), and the two trigger statements ran at every transition: together a
// third of the ledger thread's instructions in a 0 ms drain. Every write of this program goes
// through sqlite_ledger, which adds up its changes per (state, has_reference) and writes them to
// charge_counts inside the same transaction, just before it commits (see count_changes). Rows
// changed by hand in the sqlite3 shell are no longer counted; the file was never meant to be
// edited that way (chargereconctl retry and release go through the ledger).
constexpr char schema_v4[] = R"sql(
DROP TRIGGER charge_counts_on_insert;
DROP TRIGGER charge_counts_on_delete;
DROP TRIGGER charge_counts_on_update;
)sql";

// Step i brings the schema from version i to i + 1. Append only; never edit a shipped step.
constexpr const char* migrations[] = {schema_v1, schema_v2, schema_v3, schema_v4};
static_assert(std::size(migrations) == sqlite_ledger::schema_version);

// --- statements ----------------------------------------------------------------------------

#define CHARGERECON_CHARGE_COLUMNS                                                                      \
  "id, number, customer, status, amount, currency, raw_json, state, billing_reference, bill_attempts, " \
  "ack_attempts, next_try, last_error, first_seen, updated_at, billed_at, acknowledged_at, "            \
  "last_change_observed"

constexpr char sql_select_charge[] = "SELECT " CHARGERECON_CHARGE_COLUMNS " FROM charges WHERE number = ?1";

constexpr char sql_insert_charge[] =
    "INSERT INTO charges (number, customer, status, amount, currency, raw_json, state, first_seen, updated_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)";

// What the engine's work changes. customer, amount and currency are never updated: the first
// values recorded are the ones kept (a pending charge that resolves is the one exception, see
// record_page, which writes them with sql_update_observed_values). Leaving them out of the SET
// list also spares SQLite the customer index at every transition.
constexpr char sql_update_charge[] =
    "UPDATE charges SET state = ?2, billing_reference = ?3, bill_attempts = ?4, ack_attempts = ?5, next_try = ?6, "
    "last_error = ?7, updated_at = ?8, billed_at = ?9, acknowledged_at = ?10, last_change_observed = ?11 "
    "WHERE number = ?1";

constexpr char sql_update_observed_values[] =
    "UPDATE charges SET customer = ?2, status = ?3, amount = ?4, currency = ?5, raw_json = ?6 WHERE number = ?1";

// The engine's routine transitions touch a few columns of one row, found by number once; the
// general path (find the whole row, write every column back) is for the rare ones.
constexpr char sql_select_head[] = "SELECT id, state, billing_reference FROM charges WHERE number = ?1";

constexpr char sql_mark_billing[] =
    "UPDATE charges SET state = 'billing', next_try = NULL, updated_at = ?2 WHERE id = ?1";

constexpr char sql_mark_billed[] =
    "UPDATE charges SET state = 'billed', billing_reference = ?2, billed_at = ?3, updated_at = ?3, next_try = NULL, "
    "last_error = '', ack_attempts = 0 WHERE id = ?1";

constexpr char sql_mark_acknowledged[] =
    "UPDATE charges SET state = 'acknowledged', acknowledged_at = ?2, updated_at = ?2, next_try = NULL, "
    "last_error = '' WHERE id = ?1";

constexpr char sql_add_to_count[] =
    "INSERT INTO charge_counts VALUES (?1, ?2, ?3) ON CONFLICT (state, has_reference) DO UPDATE SET n = n + excluded.n";

constexpr char sql_charge_by_reference[] = "SELECT number FROM charges WHERE billing_reference = ?1";

// The audit events of one write go in together, in INSERTs of 64, 16, 4 or 1 rows: with
// AUTOINCREMENT, each INSERT statement reads and writes sqlite_sequence once, and a statement
// has its fixed costs; one per event was a tenth of the ledger thread in a 0 ms drain. Four
// sizes, not one per row count: each is a prepared statement kept for the ledger's life (the
// 64 sizes took 1 MB of heap, pinned among the rest).
constexpr std::array<std::size_t, 4> event_insert_sizes{64, 16, 4, 1};
constexpr std::size_t event_columns = 8;

// The INSERT of `rows` events, one of event_insert_sizes, built once.
const char* sql_insert_events(std::size_t rows) {
  static const auto texts = [] {
    std::array<std::string, event_insert_sizes.size()> t;
    for (std::size_t k = 0; k < event_insert_sizes.size(); ++k) {
      std::string& sql = t[k];
      sql = "INSERT INTO events (at, number, actor, kind, from_state, to_state, reason, detail) VALUES ";
      for (std::size_t i = 0; i < event_insert_sizes[k]; ++i)
        sql += i == 0 ? "(?, ?, ?, ?, ?, ?, ?, ?)" : ", (?, ?, ?, ?, ?, ?, ?, ?)";
    }
    return t;
  }();
  for (std::size_t k = 0; k < event_insert_sizes.size(); ++k)
    if (event_insert_sizes[k] == rows) return texts[k].c_str();
  return nullptr;  // not a size we insert by
}

constexpr char sql_select_events[] =
    "SELECT id, at, number, actor, kind, from_state, to_state, reason, detail FROM events "
    "WHERE number = ?1 ORDER BY id";

// The engine's queries run at every page; each is one index range that stops at its LIMIT (an
// OR across states would make SQLite collect and sort every match first). The callers merge.
constexpr char sql_ready_to_bill_seen[] =
    "SELECT " CHARGERECON_CHARGE_COLUMNS " FROM charges WHERE state = 'seen' ORDER BY id LIMIT ?1";

// Retries that came due, earliest first, through the retry-time index: the charges in
// `billing` without one (posts queued or in flight, up to a few thousand at full speed) are
// never read for them.
constexpr char sql_ready_to_bill_due[] =
    "SELECT " CHARGERECON_CHARGE_COLUMNS
    " FROM charges WHERE state = 'billing' AND next_try IS NOT NULL AND next_try <= ?1 ORDER BY next_try, id LIMIT ?2";

// Every `billing` charge without a retry time: the engine's own posts, and those a previous run
// (or an operator's retry) left for it to post. Read only when asked for (include_in_flight).
constexpr char sql_ready_to_bill_in_flight[] =
    "SELECT " CHARGERECON_CHARGE_COLUMNS " FROM charges WHERE state = 'billing' AND next_try IS NULL ORDER BY id LIMIT ?1";

// What an acknowledgement needs of a charge, not the whole row: the acknowledger asks again at
// every billing answer while its batch fills, so these run many times per charge.
#define CHARGERECON_ACK_COLUMNS "id, number, customer, status, state, billing_reference"

constexpr char sql_ready_to_ack_first_try[] =
    "SELECT " CHARGERECON_ACK_COLUMNS " FROM charges WHERE state = ?1 AND next_try IS NULL ORDER BY id LIMIT ?2";

constexpr char sql_ready_to_ack_retry[] =
    "SELECT " CHARGERECON_ACK_COLUMNS
    " FROM charges WHERE state IN ('billed', 'ack_pending') AND next_try IS NOT NULL AND next_try <= ?1 "
    "ORDER BY next_try, id LIMIT ?2";

constexpr char sql_counts[] = "SELECT state, SUM(n) FROM charge_counts GROUP BY state";

// Run for each unfinished state; the oldest of the answers wins.
constexpr char sql_oldest_in_state[] =
    "SELECT " CHARGERECON_CHARGE_COLUMNS " FROM charges WHERE state = ?1 ORDER BY id LIMIT 1";

constexpr char sql_list[] =
    "SELECT " CHARGERECON_CHARGE_COLUMNS
    " FROM charges "
    "WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR customer = ?2) AND (?3 IS NULL OR status = ?3) "
    "AND (?4 IS NULL OR first_seen >= ?4) AND (?5 IS NULL OR first_seen < ?5) AND id > ?8 "
    "ORDER BY id LIMIT ?6 OFFSET ?7";

#undef CHARGERECON_CHARGE_COLUMNS
#undef CHARGERECON_ACK_COLUMNS

constexpr std::string_view engine_actor = "engine";

// --- failures ------------------------------------------------------------------------------

// A refusal decided by the ledger itself (unknown charge, bad transition): thrown inside a
// transaction so the guard rolls back everything the call did, returned at the boundary.
struct refusal {
  error err;
};

[[noreturn]] void refuse(errc code, std::string diagnostic) { throw refusal{error{code, std::move(diagnostic)}}; }

std::string peer(std::string_view peer_text) { return "'" + quote_peer_text(peer_text, 80) + "'"; }

bool is_integrity_code(int rc) {
  const int primary = rc & 0xff;
  return primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB;
}

// --- the pid-holding lock file -------------------------------------------------------------

std::string read_lock_holder(int fd) {
  char buf[32] = {};
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return {};
  std::string pid;
  for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; ++i) pid += buf[i];
  return pid;
}

struct lock_file {
  int fd = -1;
  lock_file() = default;
  lock_file(const lock_file&) = delete;
  lock_file& operator=(const lock_file&) = delete;
  // Closing the descriptor releases the flock; the file stays, so there is no unlink race.
  ~lock_file() {
    if (fd >= 0) ::close(fd);
  }
};

// flock (not fcntl locks): it belongs to the open file description, so it also excludes a
// second open in the same process, and the kernel drops it when the process dies, even by
// SIGKILL; no stale lock survives a crash.
result<void> acquire_lock(lock_file& lock, const std::filesystem::path& ledger_path) {
  const std::string lock_path = ledger_path.string() + ".lock";
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return error{errc::ledger_open_failed,
                 "cannot open the ledger lock file " + lock_path + ": " + std::strerror(errno)};
  }
  lock.fd = fd;
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int e = errno;
    if (e == EWOULDBLOCK) {
      const std::string pid = read_lock_holder(fd);
      return error{errc::ledger_locked, "ledger " + ledger_path.string() + " is in use by another chargerecond" +
                                            (pid.empty() ? std::string() : " (pid " + pid + ")") + "; lock file " +
                                            lock_path};
    }
    return error{errc::ledger_open_failed, "cannot lock " + lock_path + ": " + std::strerror(e)};
  }
  // The pid is for the message above only; the flock is what excludes.
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    return error{errc::ledger_open_failed, "cannot write our pid to " + lock_path + ": " + std::strerror(errno)};
  }
  return {};
}

// The internal row: the public record plus what record_page needs to report a change once,
// and the state and reference presence it was read with (what charge_counts has it under).
struct row {
  charge_record rec;
  std::optional<std::string> last_change_observed;
  charge_state stored_state = charge_state::pending;
  bool stored_has_reference = false;
};

// The few columns the routine transitions need (sql_select_head).
struct head {
  std::int64_t id = 0;
  std::string number;
  charge_state state = charge_state::pending;
  std::optional<std::string> billing_reference;
};

constexpr std::size_t state_index(charge_state s) noexcept { return static_cast<std::size_t>(s); }
static_assert(std::size(all_charge_states) == state_index(charge_state::dead) + 1);

std::string detail_of(const boost::json::object& o) { return boost::json::serialize(o); }

boost::json::object values_of(std::string_view customer, std::string_view status, std::string_view amount,
                              std::string_view currency) {
  return {{"customer", customer}, {"status", status}, {"amount", amount}, {"currency", currency}};
}

std::optional<std::string> optional_time(const std::optional<timestamp>& t) {
  if (!t) return std::nullopt;
  return format_timestamp(*t);
}

// Two id-ordered lists as one, at most `limit` long.
template <class Record>
std::vector<Record> oldest_first(std::vector<Record> a, std::vector<Record> b, std::size_t limit) {
  std::vector<Record> out;
  out.reserve(std::min(limit, a.size() + b.size()));
  std::merge(std::make_move_iterator(a.begin()), std::make_move_iterator(a.end()), std::make_move_iterator(b.begin()),
             std::make_move_iterator(b.end()), std::back_inserter(out),
             [](const Record& x, const Record& y) { return x.id < y.id; });
  if (out.size() > limit) out.resize(limit);
  return out;
}

}  // namespace

// --- impl ----------------------------------------------------------------------------------

struct sqlite_ledger::impl {
  sqlite_ledger_options options;
  obs::event_log log;
  std::string path_text;
  // Recursive: the write operations called inside group_commit take it again.
  std::recursive_mutex mutex;
  bool in_group = false;              // inside group_commit: writes use savepoints
  std::optional<error> group_broken;  // SQLite ended the group's transaction: nothing more runs
  lock_file lock;                     // released last, after the connection has closed
  sqlite::connection db;
  std::unordered_map<const char*, sqlite::statement> statements;  // finalised before db closes
  std::mt19937_64 rng{std::random_device{}()};
  // What the open transaction changed in charge_counts, by state and reference presence; written
  // just before it commits (flush_counts). A savepoint that is undone takes its share back.
  using count_changes = std::array<std::array<std::int64_t, 2>, std::size(all_charge_states)>;
  count_changes counts_changed{};
  // The audit events of the open write, inserted just before it ends (flush_events), or dropped
  // with it. Their text lives in event_text (offsets, since it grows), so nothing is allocated
  // per event.
  struct text_span {
    std::size_t offset = 0, size = 0;
  };
  struct pending_event {
    text_span at, number, actor, kind, reason, detail;
    std::optional<charge_state> from, to;
  };
  std::vector<pending_event> events_pending;
  std::string event_text;
  // The last time formatted: every row a call writes carries the same `now`.
  timestamp formatted_time{};
  std::string formatted_text = format_timestamp(formatted_time);

  void apply_bill_failure(std::string_view number, std::string_view error_text, timestamp next_try, timestamp now);
  void apply_billed(std::string_view number, std::string_view reference, timestamp now);
  void apply_held(std::string_view number, std::string_view reason, timestamp now);

  impl(sqlite_ledger_options o, obs::event_log l)
      : options(std::move(o)), log(std::move(l)), path_text(options.path.string()) {
    if (!options.policy.random01) {
      options.policy.random01 = [this] { return std::uniform_real_distribution<double>(0.0, 1.0)(rng); };
    }
  }

  sqlite::statement& stmt(const char* sql) {
    auto it = statements.find(sql);
    if (it == statements.end()) it = statements.emplace(sql, sqlite::statement(db.get(), sql)).first;
    return it->second;
  }

  // A statement without parameters or rows (BEGIN, COMMIT, SAVEPOINT...), prepared once.
  void run(const char* sql) {
    sqlite::use s(stmt(sql));
    s->step();
  }

  const std::string& text_of(timestamp t) {
    if (t != formatted_time) {
      formatted_text = format_timestamp(t);
      formatted_time = t;
    }
    return formatted_text;
  }

  // --- charge_counts -------------------------------------------------------------------------

  void count_change(charge_state from, bool from_has_reference, charge_state to, bool to_has_reference) {
    if (from == to && from_has_reference == to_has_reference) return;
    --counts_changed[state_index(from)][from_has_reference ? 1 : 0];
    ++counts_changed[state_index(to)][to_has_reference ? 1 : 0];
  }

  void count_new(charge_state state) { ++counts_changed[state_index(state)][0]; }

  // Inside the transaction, before its COMMIT: the counts commit with the rows or not at all.
  void flush_counts() {
    for (const auto st : all_charge_states) {
      for (int has_reference = 0; has_reference < 2; ++has_reference) {
        const auto n = counts_changed[state_index(st)][static_cast<std::size_t>(has_reference)];
        if (n == 0) continue;
        sqlite::use s(stmt(sql_add_to_count));
        s->bind(1, to_string(st));
        s->bind(2, std::int64_t{has_reference});
        s->bind(3, n);
        s->step();
      }
    }
    counts_changed = {};
  }

  text_span keep_text(std::string_view text) {
    const text_span span{event_text.size(), text.size()};
    event_text.append(text);
    return span;
  }

  std::string_view text_at(text_span span) const { return std::string_view(event_text).substr(span.offset, span.size); }

  void drop_events() {
    events_pending.clear();
    event_text.clear();
  }

  // Inside the write, before its RELEASE or COMMIT: the events go with the rows or not at all.
  void flush_events() {
    for (std::size_t first = 0; first < events_pending.size();) {
      const std::size_t left = events_pending.size() - first;
      std::size_t rows = 1;
      for (const auto size : event_insert_sizes)
        if (size <= left) {
          rows = size;
          break;
        }
      sqlite::use s(stmt(sql_insert_events(rows)));
      for (std::size_t i = 0; i < rows; ++i) {
        const auto& e = events_pending[first + i];
        const int base = static_cast<int>(i * event_columns);
        // Borrowed: event_text does not change until the statement is reset.
        s->bind_borrowed(base + 1, text_at(e.at));
        s->bind_borrowed(base + 2, text_at(e.number));
        s->bind_borrowed(base + 3, text_at(e.actor));
        s->bind_borrowed(base + 4, text_at(e.kind));
        if (e.from)
          s->bind_borrowed(base + 5, to_string(*e.from));
        else
          s->bind_null(base + 5);
        if (e.to)
          s->bind_borrowed(base + 6, to_string(*e.to));
        else
          s->bind_null(base + 6);
        s->bind_borrowed(base + 7, text_at(e.reason));
        s->bind_borrowed(base + 8, text_at(e.detail));
      }
      s->step();
      first += rows;
    }
    drop_events();
  }

  // --- opening -----------------------------------------------------------------------------

  result<void> open();
  error open_failure(const sqlite::failure& f) const;
  std::string single_text(const char* sql);

  // --- boundaries: one mutex, one transaction, failures mapped ------------------------------

  error write_failure(std::string_view op, const sqlite::failure& f) const {
    return error{is_integrity_code(f.code()) ? errc::ledger_integrity : errc::ledger_write_failed,
                 "ledger " + path_text + ": " + std::string(op) + ": " + f.what_failed() + ": " + f.sqlite_message()};
  }

  template <class F>
  auto write(std::string_view op, F&& body) -> result<decltype(body())> {
    std::lock_guard guard(mutex);
    if (options.mode == open_mode::read_only)
      return error{errc::ledger_write_failed, "ledger " + path_text + ": " + std::string(op) + ": opened read-only"};
    if (in_group) return write_in_savepoint(op, body);
    try {
      sqlite::transaction tx(db);
      counts_changed = {};
      drop_events();
      if constexpr (std::is_void_v<decltype(body())>) {
        body();
        flush_events();
        flush_counts();
        tx.commit();
        return {};
      } else {
        auto value = body();
        flush_events();
        flush_counts();
        tx.commit();
        return value;
      }
    } catch (const refusal& r) {
      return r.err;
    } catch (const sqlite::failure& f) {
      return write_failure(op, f);
    }
  }

  // One write inside group_commit's transaction: all or nothing on its own, through a savepoint.
  template <class F>
  auto write_in_savepoint(std::string_view op, F& body) -> result<decltype(body())> {
    if (group_broken) return *group_broken;
    const auto counts_before = counts_changed;
    try {
      run("SAVEPOINT one_write");
      try {
        if constexpr (std::is_void_v<decltype(body())>) {
          body();
          flush_events();
          run("RELEASE one_write");
          return {};
        } else {
          auto value = body();
          flush_events();
          run("RELEASE one_write");
          return value;
        }
      } catch (const refusal& r) {
        drop_events();
        undo_savepoint();
        counts_changed = counts_before;
        return r.err;
      } catch (const sqlite::failure& f) {
        drop_events();
        auto e = write_failure(op, f);
        // After SQLITE_FULL or an I/O error SQLite may have rolled back the whole transaction:
        // then the group is over (the writes before this one are gone too), and a write after
        // it must not run outside a transaction.
        if (sqlite3_get_autocommit(db.get()) != 0) {
          group_broken = e;
        } else {
          undo_savepoint();
          counts_changed = counts_before;
        }
        return e;
      }
    } catch (const sqlite::failure& f) {
      // The savepoint could not start or be undone: the group cannot go on.
      drop_events();
      group_broken = write_failure(op, f);
      return *group_broken;
    }
  }

  void undo_savepoint() {
    run("ROLLBACK TO one_write");
    run("RELEASE one_write");
  }

  template <class F>
  auto read(std::string_view op, F&& body) -> result<decltype(body())> {
    std::lock_guard guard(mutex);
    try {
      return body();
    } catch (const refusal& r) {
      return r.err;
    } catch (const sqlite::failure& f) {
      return error{is_integrity_code(f.code()) ? errc::ledger_integrity : errc::ledger_read_failed,
                   "ledger " + path_text + ": " + std::string(op) + ": " + f.what_failed() + ": " + f.sqlite_message()};
    }
  }

  // --- rows and events ---------------------------------------------------------------------

  row read_row(const sqlite::statement& s) const {
    row r;
    auto& c = r.rec;
    c.id = s.int64(0);
    c.number = s.text(1);
    c.customer = s.text(2);
    c.status = s.text(3);
    c.amount = s.text(4);
    c.currency = s.text(5);
    c.raw_json = s.text(6);
    c.state = state_column(s, 7, c.number);
    c.billing_reference = s.optional_text(8);
    c.bill_attempts = static_cast<int>(s.int64(9));
    c.ack_attempts = static_cast<int>(s.int64(10));
    c.next_try = time_column(s, 11, c.number, /*nullable=*/true);
    c.last_error = s.text(12);
    c.first_seen = *time_column(s, 13, c.number, false);
    c.updated_at = *time_column(s, 14, c.number, false);
    c.billed_at = time_column(s, 15, c.number, true);
    c.acknowledged_at = time_column(s, 16, c.number, true);
    r.last_change_observed = s.optional_text(17);
    r.stored_state = c.state;
    r.stored_has_reference = c.billing_reference.has_value();
    return r;
  }

  charge_state state_column(const sqlite::statement& s, int column, std::string_view number) const {
    const auto text = s.text(column);
    const auto state = parse_charge_state(text);
    if (!state)
      refuse(errc::ledger_integrity,
             "ledger " + path_text + ": charge " + peer(number) + " has an unknown state " + peer(text));
    return *state;
  }

  std::optional<head> find_head(std::string_view number) {
    sqlite::use s(stmt(sql_select_head));
    s->bind_borrowed(1, number);
    if (!s->step()) return std::nullopt;
    head h;
    h.id = s->int64(0);
    h.number = std::string(number);
    h.state = state_column(*s, 1, number);
    h.billing_reference = s->optional_text(2);
    return h;
  }

  head must_find_head(std::string_view number) {
    auto h = find_head(number);
    if (!h) refuse(errc::ledger_unknown_charge, "charge " + peer(number) + " is not in the ledger");
    return std::move(*h);
  }

  std::optional<timestamp> time_column(const sqlite::statement& s, int column, const std::string& number,
                                       bool nullable) const {
    if (s.is_null(column) && nullable) return std::nullopt;
    const auto text = s.text(column);
    const auto t = parse_timestamp(text);
    if (!t)
      refuse(errc::ledger_integrity,
             "ledger " + path_text + ": charge " + peer(number) + " has a malformed time " + peer(text));
    return t;
  }

  std::optional<row> find(std::string_view number) {
    sqlite::use s(stmt(sql_select_charge));
    s->bind(1, number);
    if (!s->step()) return std::nullopt;
    return read_row(*s);
  }

  row must_find(std::string_view number) {
    auto r = find(number);
    if (!r) refuse(errc::ledger_unknown_charge, "charge " + peer(number) + " is not in the ledger");
    return std::move(*r);
  }

  std::vector<charge_record> collect(sqlite::statement& s) {
    std::vector<charge_record> out;
    while (s.step()) out.push_back(read_row(s).rec);
    return out;
  }

  void insert(const observed_charge& oc, charge_state state, timestamp now) {
    sqlite::use s(stmt(sql_insert_charge));
    // `oc` outlives this statement's use: its text is bound, not copied.
    s->bind_borrowed(1, oc.number);
    s->bind_borrowed(2, oc.customer);
    s->bind_borrowed(3, oc.status);
    s->bind_borrowed(4, oc.amount);
    s->bind_borrowed(5, oc.currency);
    s->bind_borrowed(6, oc.raw_json);
    s->bind(7, to_string(state));
    s->bind(8, text_of(now));
    s->step();
    count_new(state);
  }

  void update(row& r) {
    const auto& c = r.rec;
    count_change(r.stored_state, r.stored_has_reference, c.state, c.billing_reference.has_value());
    r.stored_state = c.state;
    r.stored_has_reference = c.billing_reference.has_value();
    sqlite::use s(stmt(sql_update_charge));
    s->bind(1, c.number);
    s->bind(2, to_string(c.state));
    s->bind_optional(3, c.billing_reference);
    s->bind(4, std::int64_t{c.bill_attempts});
    s->bind(5, std::int64_t{c.ack_attempts});
    s->bind_optional(6, optional_time(c.next_try));
    s->bind(7, c.last_error);
    s->bind(8, text_of(c.updated_at));
    s->bind_optional(9, optional_time(c.billed_at));
    s->bind_optional(10, optional_time(c.acknowledged_at));
    s->bind_optional(11, r.last_change_observed);
    s->step();
  }

  void update_observed_values(const charge_record& c) {
    sqlite::use s(stmt(sql_update_observed_values));
    s->bind(1, c.number);
    s->bind(2, c.customer);
    s->bind(3, c.status);
    s->bind(4, c.amount);
    s->bind(5, c.currency);
    s->bind(6, c.raw_json);
    s->step();
  }

  void add_event(timestamp at, std::string_view number, std::string_view actor, std::string_view kind,
                 std::optional<charge_state> from, std::optional<charge_state> to, std::string_view reason,
                 const boost::json::object& detail) {
    add_event(at, number, actor, kind, from, to, reason, detail_of(detail));
  }

  // Written at the end of the write (flush_events), with the others of that write.
  void add_event(timestamp at, std::string_view number, std::string_view actor, std::string_view kind,
                 std::optional<charge_state> from, std::optional<charge_state> to, std::string_view reason,
                 std::string_view detail_json) {
    pending_event e;
    e.at = keep_text(text_of(at));
    e.number = keep_text(number);
    e.actor = keep_text(actor);
    e.kind = keep_text(kind);
    e.from = from;
    e.to = to;
    e.reason = keep_text(reason);
    e.detail = keep_text(detail_json);
    events_pending.push_back(e);
  }

  // Moves a row to `to` if the state machine allows it, writes it and its audit event.
  void transition(row& r, charge_state to, timestamp now, std::string_view actor, std::string_view kind,
                  std::string_view reason, const boost::json::object& detail = {}) {
    const auto from = r.rec.state;
    if (!allowed(from, to)) {
      refuse(errc::ledger_bad_transition, "charge " + peer(r.rec.number) + " is " + std::string(to_string(from)) +
                                              "; it cannot become " + std::string(to_string(to)));
    }
    r.rec.state = to;
    r.rec.updated_at = now;
    update(r);
    add_event(now, r.rec.number, actor, kind, from, to, reason, detail);
  }

  [[noreturn]] void refuse_state(std::string_view number, charge_state state, std::string_view operation) {
    refuse(errc::ledger_bad_transition,
           std::string(operation) + ": charge " + peer(number) + " is " + std::string(to_string(state)));
  }
  [[noreturn]] void refuse_state(const row& r, std::string_view operation) {
    refuse_state(r.rec.number, r.rec.state, operation);
  }

  // A routine transition of the row `h` names, written by `sql` (?1 the id, then `texts`), with
  // its audit event and its move in the counts.
  void quick_transition(const head& h, charge_state to, bool to_has_reference, const char* sql,
                        std::initializer_list<std::string_view> texts, timestamp now, std::string_view reason,
                        std::string_view detail_json) {
    if (!allowed(h.state, to)) {
      refuse(errc::ledger_bad_transition, "charge " + peer(h.number) + " is " + std::string(to_string(h.state)) +
                                              "; it cannot become " + std::string(to_string(to)));
    }
    {
      sqlite::use s(stmt(sql));
      s->bind(1, h.id);
      int index = 2;
      for (const auto t : texts) s->bind_borrowed(index++, t);  // the caller's, alive until it returns
      s->step();
    }
    count_change(h.state, h.billing_reference.has_value(), to, to_has_reference);
    add_event(now, h.number, engine_actor, "transition", h.state, to, reason, detail_json);
  }

  bill_policy bills() const { return bill_policy{options.policy.bill_statuses}; }

  observed_result observe(const observed_charge& oc, timestamp now, std::size_t& straight_to_billing);
};

// --- opening -------------------------------------------------------------------------------

std::string sqlite_ledger::impl::single_text(const char* sql) {
  sqlite::statement s(db.get(), sql);
  if (!s.step()) return {};
  return s.text(0);
}

error sqlite_ledger::impl::open_failure(const sqlite::failure& f) const {
  const int primary = f.code() & 0xff;
  errc code = errc::ledger_open_failed;
  if (is_integrity_code(f.code()))
    code = errc::ledger_integrity;
  else if (primary == SQLITE_FULL || primary == SQLITE_READONLY)
    code = errc::ledger_write_failed;
  return error{code, "ledger " + path_text + ": " + f.what_failed() + ": " + f.sqlite_message()};
}

result<void> sqlite_ledger::impl::open() {
  const auto mode = options.mode;
  if (mode == open_mode::exclusive) {
    if (auto r = acquire_lock(lock, options.path); !r) return r;
  } else {
    std::error_code ec;
    if (!std::filesystem::exists(options.path, ec))
      return error{errc::ledger_open_failed, "no ledger at " + path_text + " (chargerecond creates it)"};
  }

  // SQLite keeps process-wide memory statistics by default, behind a global mutex taken at every
  // allocation (4% of the ledger thread's instructions in a 0 ms drain); nothing reads them. Only
  // possible before SQLite's first use in the process: later calls are refused, harmlessly.
  static const int memstatus_off = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  (void)memstatus_off;

  // NOMUTEX: every call already holds this object's mutex (ledger.hpp), so SQLite's own
  // locking of the connection only cost time (pthread_mutex_lock/unlock were 11% of the
  // daemon's CPU samples in a 0 ms drain).
  const int flags = (mode == open_mode::exclusive ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
                     : mode == open_mode::shared  ? SQLITE_OPEN_READWRITE
                                                  : SQLITE_OPEN_READONLY) |
                    SQLITE_OPEN_NOMUTEX;
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path_text.c_str(), &raw, flags, nullptr);
  db = sqlite::connection(raw);  // closes even a handle whose open failed
  if (rc != SQLITE_OK) sqlite::fail(raw, rc, "opening");
  sqlite3_extended_result_codes(db.get(), 1);
  sqlite3_busy_timeout(db.get(), static_cast<int>(options.busy_timeout.count()));

  if (mode != open_mode::read_only && sqlite3_db_readonly(db.get(), "main") == 1)
    return error{errc::ledger_write_failed, "ledger " + path_text + " is read-only (file permissions or mount)"};

  if (options.check_integrity) {
    if (options.stop_check != nullptr) {
      sqlite3_progress_handler(
          db.get(), 10000,
          [](void* flag) -> int { return static_cast<const std::atomic<bool>*>(flag)->load() ? 1 : 0; },
          const_cast<std::atomic<bool>*>(options.stop_check));
    }
    const auto verdict = single_text("PRAGMA quick_check(1)");
    sqlite3_progress_handler(db.get(), 0, nullptr, nullptr);
    if (verdict != "ok")
      return error{errc::ledger_integrity,
                   "ledger " + path_text + " failed PRAGMA quick_check: " + quote_peer_text(verdict)};
  }

  if (mode == open_mode::exclusive) {
    const auto journal = single_text("PRAGMA journal_mode = WAL");
    if (journal != "wal")
      return error{errc::ledger_open_failed,
                   "ledger " + path_text + ": WAL mode unavailable (journal_mode is " + journal + ")"};
  }
  if (mode != open_mode::read_only) {
    // FULL, not NORMAL: in WAL mode NORMAL does not sync the WAL at each commit, so a power loss
    // may take back the last committed transactions. We tell billing and CRM.COM things only
    // after a commit; a commit lost afterwards could bill a charge twice or leave an
    // acknowledgement without its record.
    db.exec("PRAGMA synchronous = FULL", "setting synchronous = FULL");
    // Statement and savepoint journals (every write of a group commit has its savepoint, and
    // every statement that fires the charge_counts triggers a statement journal) in memory,
    // not in temporary files: they only ever undo part of an open transaction, a crash
    // discards them either way, and as files they cost a write(2) per page (42 per charge with
    // the triggers, against 7 to the WAL). They hold the pages one group changes: a few hundred KiB.
    db.exec("PRAGMA temp_store = MEMORY", "setting temp_store = MEMORY");
  } else {
    db.exec("PRAGMA query_only = 1", "setting query_only");
  }

  const int version = std::stoi(single_text("PRAGMA user_version"));
  if (version > schema_version) {
    return error{errc::ledger_schema_too_new, "ledger " + path_text + " has schema version " + std::to_string(version) +
                                                  "; this chargerecon knows up to " + std::to_string(schema_version)};
  }
  if (version < schema_version) {
    if (mode != open_mode::exclusive) {
      return error{errc::ledger_open_failed, "ledger " + path_text + " has schema version " + std::to_string(version) +
                                                 ", this program needs " + std::to_string(schema_version) +
                                                 "; start chargerecond once to migrate it"};
    }
    // All steps and the new version in one transaction: a failed migration leaves the old schema.
    sqlite::transaction tx(db);
    for (int v = version; v < schema_version; ++v)
      db.exec(migrations[v], "migrating the schema to version " + std::to_string(v + 1));
    db.exec(("PRAGMA user_version = " + std::to_string(schema_version)).c_str(), "setting user_version");
    tx.commit();
    log.info("ledger.migrated", {{"path", path_text}, {"from", version}, {"to", schema_version}});
  }

  if (options.max_page_count) {
    db.exec(("PRAGMA max_page_count = " + std::to_string(*options.max_page_count)).c_str(), "setting max_page_count");
  }
  log.info("ledger.opened", {{"path", path_text},
                             {"mode", mode == open_mode::exclusive ? "exclusive"
                                      : mode == open_mode::shared  ? "shared"
                                                                   : "read_only"},
                             {"schema_version", schema_version}});
  return {};
}

result<std::unique_ptr<sqlite_ledger>> sqlite_ledger::open(sqlite_ledger_options options, obs::event_log log) {
  auto p = std::make_unique<impl>(std::move(options), std::move(log));
  try {
    if (auto r = p->open(); !r) return r.error();
  } catch (const sqlite::failure& f) {
    return p->open_failure(f);
  }
  return std::unique_ptr<sqlite_ledger>(new sqlite_ledger(std::move(p)));
}

sqlite_ledger::sqlite_ledger(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
sqlite_ledger::~sqlite_ledger() = default;

// --- the engine's transitions --------------------------------------------------------------

observed_result sqlite_ledger::impl::observe(const observed_charge& oc, timestamp now,
                                             std::size_t& straight_to_billing) {
  auto existing = find(oc.number);
  if (!existing) {
    auto state = next_state_for_new(oc.status, bills());
    std::string_view reason;
    if (state == charge_state::seen && straight_to_billing > 0) {
      --straight_to_billing;
      state = charge_state::billing;
      reason = "posting to billing";
    }
    insert(oc, state, now);
    add_event(now, oc.number, engine_actor, "recorded", std::nullopt, state, reason,
              values_of(oc.customer, oc.status, oc.amount, oc.currency));
    return {oc.number, observation::inserted, state};
  }
  row& r = *existing;
  auto& c = r.rec;
  const bool same_values = c.customer == oc.customer && c.amount == oc.amount && c.currency == oc.currency;

  if (const auto next = next_state_for_observed(c.state, oc.status, bills())) {
    // A PENDING charge was never billed, so its processed form replaces it whole: that is the
    // charge billing will receive. Differences are kept in the event for the audit.
    boost::json::object detail{{"previous", values_of(c.customer, c.status, c.amount, c.currency)},
                               {"observed", values_of(oc.customer, oc.status, oc.amount, oc.currency)}};
    if (!same_values) {
      log.warn("ledger.pending_charge_changed", {{"number", oc.number},
                                                 {"amount", c.amount},
                                                 {"observed_amount", oc.amount},
                                                 {"customer", c.customer},
                                                 {"observed_customer", oc.customer}});
    }
    const std::string reason = "status " + c.status + " -> " + oc.status;
    c.customer = oc.customer;
    c.status = oc.status;
    c.amount = oc.amount;
    c.currency = oc.currency;
    c.raw_json = oc.raw_json;
    update_observed_values(c);
    transition(r, *next, now, engine_actor, "transition", reason, detail);
    return {oc.number, observation::pending_resolved, *next};
  }

  if (same_values && c.status == oc.status) return {oc.number, observation::unchanged, c.state};

  // Changed after it was first recorded: keep the first values (never bill twice, never bill a
  // different amount than the one recorded), and report each distinct change once.
  auto observed = values_of(oc.customer, oc.status, oc.amount, oc.currency);
  auto observed_text = detail_of(observed);
  if (r.last_change_observed == observed_text) return {oc.number, observation::unchanged, c.state};
  log.warn("ledger.charge_changed", {{"number", oc.number},
                                     {"state", to_string(c.state)},
                                     {"customer", c.customer},
                                     {"observed_customer", oc.customer},
                                     {"status", c.status},
                                     {"observed_status", oc.status},
                                     {"amount", c.amount},
                                     {"observed_amount", oc.amount},
                                     {"currency", c.currency},
                                     {"observed_currency", oc.currency}});
  boost::json::object detail{{"first", values_of(c.customer, c.status, c.amount, c.currency)},
                             {"observed", std::move(observed)},
                             {"observed_raw_json", oc.raw_json}};
  r.last_change_observed = std::move(observed_text);
  c.updated_at = now;
  update(r);
  add_event(now, c.number, engine_actor, "changed", c.state, c.state, "differs from the first observation", detail);
  return {oc.number, observation::changed, c.state};
}

result<std::vector<observed_result>> sqlite_ledger::record_page(std::span<const observed_charge> page, timestamp now,
                                                                std::size_t straight_to_billing) {
  return impl_->write("record_page", [&] {
    std::vector<observed_result> out;
    out.reserve(page.size());
    auto to_billing = straight_to_billing;
    for (const auto& oc : page) out.push_back(impl_->observe(oc, now, to_billing));
    return out;
  });
}

result<void> sqlite_ledger::group_commit(const std::function<void()>& writes) {
  auto& d = *impl_;
  std::lock_guard guard(d.mutex);
  if (d.options.mode == open_mode::read_only)
    return error{errc::ledger_write_failed, "ledger " + d.path_text + ": group commit: opened read-only"};
  if (d.in_group)
    return error{errc::invalid_argument, "ledger " + d.path_text + ": group commit inside a group commit"};
  try {
    sqlite::transaction tx(d.db);
    d.in_group = true;
    d.group_broken.reset();
    d.counts_changed = {};
    d.drop_events();
    struct leave_group {
      sqlite_ledger::impl& d;
      ~leave_group() { d.in_group = false; }
    } leave{d};
    writes();
    if (d.group_broken) return *d.group_broken;  // rolled back already; the guard finds no transaction
    d.flush_events();
    d.flush_counts();
    tx.commit();
    return {};
  } catch (const sqlite::failure& f) {
    return d.write_failure("group commit", f);
  }
}

result<void> sqlite_ledger::mark_billing(std::span<const std::string> numbers, timestamp now) {
  return impl_->write("mark_billing", [&] {
    auto& d = *impl_;
    const auto& now_text = d.text_of(now);
    for (const auto& number : numbers) {
      const auto h = d.must_find_head(number);
      if (h.state == charge_state::billing) {
        // A retry that came due: posted again, no new state. An unset next_try in billing
        // means "posted by this run".
        sqlite::use s(d.stmt(sql_mark_billing));
        s->bind(1, h.id);
        s->bind(2, now_text);
        s->step();
        continue;
      }
      if (h.state != charge_state::seen) d.refuse_state(number, h.state, "mark_billing");
      d.quick_transition(h, charge_state::billing, false, sql_mark_billing, {now_text}, now, "posting to billing", "{}");
    }
  });
}

// The three billing answers, applied inside a write transaction (one charge each, or a batch).
void sqlite_ledger::impl::apply_bill_failure(std::string_view number, std::string_view error_text, timestamp next_try,
                                             timestamp now) {
  auto r = must_find(number);
  if (r.rec.state != charge_state::billing) refuse_state(r, "record_bill_failure");
  r.rec.bill_attempts += 1;
  r.rec.last_error = std::string(error_text);
  r.rec.next_try = next_try;
  r.rec.updated_at = now;
  update(r);
  add_event(now, number, engine_actor, "bill_failed", r.rec.state, r.rec.state, error_text,
            {{"attempts", r.rec.bill_attempts}, {"next_try", format_timestamp(next_try)}});
}

void sqlite_ledger::impl::apply_billed(std::string_view number, std::string_view reference, timestamp now) {
  if (reference.empty())
    refuse(errc::invalid_argument, "mark_billed: empty billing reference for charge " + peer(number));
  const auto h = must_find_head(number);
  if (h.state == charge_state::billed && h.billing_reference == reference) return;
  if (h.state != charge_state::billing) refuse_state(number, h.state, "mark_billed");
  const boost::json::object detail{{"reference", reference}};
  try {
    quick_transition(h, charge_state::billed, true, sql_mark_billed, {reference, text_of(now)}, now, "billed",
                     detail_of(detail));
  } catch (const sqlite::failure& f) {
    // The reference's unique index refused it: only then is its holder looked up, for the
    // diagnostic (a lookup per billed charge beforehand cost an index search each).
    if (f.code() != SQLITE_CONSTRAINT_UNIQUE) throw;
    sqlite::use s(stmt(sql_charge_by_reference));
    s->bind_borrowed(1, reference);
    if (!s->step()) throw;
    refuse(errc::ledger_duplicate_reference, "billing reference " + peer(reference) + " for charge " + peer(number) +
                                                 " is already stored for charge " + peer(s->text(0)));
  }
}

void sqlite_ledger::impl::apply_held(std::string_view number, std::string_view reason, timestamp now) {
  auto r = must_find(number);
  if (r.rec.state != charge_state::billing) refuse_state(r, "mark_held");
  r.rec.bill_attempts += 1;
  r.rec.last_error = std::string(reason);
  r.rec.next_try.reset();
  transition(r, charge_state::held, now, engine_actor, "transition", reason);
}

result<void> sqlite_ledger::record_bill_failure(std::string_view number, std::string_view error_text,
                                                timestamp next_try, timestamp now) {
  return impl_->write("record_bill_failure", [&] { impl_->apply_bill_failure(number, error_text, next_try, now); });
}

result<void> sqlite_ledger::mark_billed(std::string_view number, std::string_view reference, timestamp now) {
  return impl_->write("mark_billed", [&] { impl_->apply_billed(number, reference, now); });
}

result<void> sqlite_ledger::mark_held(std::string_view number, std::string_view reason, timestamp now) {
  return impl_->write("mark_held", [&] { impl_->apply_held(number, reason, now); });
}

result<void> sqlite_ledger::record_bill_results(std::span<const bill_result> results, timestamp now) {
  return impl_->write("record_bill_results", [&] {
    for (const auto& b : results) {
      switch (b.what) {
        case bill_result::kind::billed:
          impl_->apply_billed(b.number, b.text, now);
          break;
        case bill_result::kind::held:
          impl_->apply_held(b.number, b.text, now);
          break;
        case bill_result::kind::failed:
          impl_->apply_bill_failure(b.number, b.text, b.next_try, now);
          break;
      }
    }
  });
}

result<ack_summary> sqlite_ledger::record_ack_result(const ack_report& report, timestamp now) {
  return impl_->write("record_ack_result", [&] {
    ack_summary summary;
    auto& d = *impl_;
    for (const auto& number : report.acknowledged) {
      const auto h = d.must_find_head(number);
      if (h.state == charge_state::acknowledged) continue;  // re-acknowledged: already done
      if (!next_state_for_ack_accepted(h.state)) d.refuse_state(number, h.state, "record_ack_result (acknowledged)");
      boost::json::object detail;
      if (h.billing_reference) detail["reference"] = *h.billing_reference;
      d.quick_transition(h, charge_state::acknowledged, h.billing_reference.has_value(), sql_mark_acknowledged,
                         {d.text_of(now)}, now, "acknowledged", detail_of(detail));
      ++summary.acknowledged;
    }
    const int max_attempts = impl_->options.policy.ack_max_attempts;
    for (const auto& refused : report.refused) {
      auto r = impl_->must_find(refused.number);
      // Acknowledged is final: a refusal cannot undo it (say, the same number listed both ways).
      if (r.rec.state == charge_state::acknowledged) continue;
      const int attempts = r.rec.ack_attempts + 1;
      const auto next = next_state_for_ack_refused(r.rec.state, attempts, max_attempts);
      if (!next) impl_->refuse_state(r, "record_ack_result (refused)");
      r.rec.ack_attempts = attempts;
      r.rec.last_error = "acknowledgement refused: " + refused.error_code + ": " + refused.description;
      boost::json::object detail{
          {"error_code", refused.error_code}, {"error_description", refused.description}, {"attempts", attempts}};
      if (*next == charge_state::dead) {
        r.rec.next_try.reset();
        impl_->transition(r, charge_state::dead, now, engine_actor, "transition",
                          "acknowledgement refused " + std::to_string(attempts) + " times", detail);
        ++summary.dead;
        continue;
      }
      const auto delay = backoff_delay(impl_->options.policy.ack_backoff, attempts, impl_->options.policy.random01());
      r.rec.next_try = now + delay;
      r.rec.updated_at = now;
      detail["next_try"] = format_timestamp(*r.rec.next_try);
      impl_->update(r);
      impl_->add_event(now, r.rec.number, engine_actor, "ack_refused", r.rec.state, r.rec.state, refused.error_code,
                       detail);
      ++summary.retrying;
    }
    return summary;
  });
}

// --- the engine's queries ------------------------------------------------------------------

result<std::vector<charge_record>> sqlite_ledger::ready_to_bill(timestamp now, std::size_t limit,
                                                                bool include_in_flight) {
  return impl_->read("ready_to_bill", [&] {
    auto& d = *impl_;
    std::vector<charge_record> fresh;
    {
      sqlite::use s(d.stmt(sql_ready_to_bill_seen));
      s->bind(1, static_cast<std::int64_t>(limit));
      fresh = d.collect(*s);
    }
    std::vector<charge_record> due;
    {
      sqlite::use s(d.stmt(sql_ready_to_bill_due));
      s->bind_borrowed(1, d.text_of(now));
      s->bind(2, static_cast<std::int64_t>(limit));
      due = d.collect(*s);
    }
    std::sort(due.begin(), due.end(), [](const charge_record& a, const charge_record& b) { return a.id < b.id; });
    auto out = oldest_first(std::move(fresh), std::move(due), limit);
    if (!include_in_flight) return out;
    sqlite::use s(d.stmt(sql_ready_to_bill_in_flight));
    s->bind(1, static_cast<std::int64_t>(limit));
    return oldest_first(std::move(out), d.collect(*s), limit);
  });
}

result<std::vector<ack_candidate>> sqlite_ledger::ready_to_ack(timestamp now, std::size_t limit) {
  return impl_->read("ready_to_ack", [&] {
    auto& d = *impl_;
    const auto collect = [&d](sqlite::statement& s) {
      std::vector<ack_candidate> out;
      while (s.step()) {
        ack_candidate c;
        c.id = s.int64(0);
        c.number = s.text(1);
        c.customer = s.text(2);
        c.status = s.text(3);
        c.state = d.state_column(s, 4, c.number);
        c.billing_reference = s.optional_text(5);
        out.push_back(std::move(c));
      }
      return out;
    };
    // Never refused first, oldest first; then the refused ones whose retry is due, by retry time.
    std::vector<ack_candidate> first_try;
    for (const auto state : {charge_state::billed, charge_state::ack_pending}) {
      sqlite::use s(d.stmt(sql_ready_to_ack_first_try));
      s->bind(1, to_string(state));
      s->bind(2, static_cast<std::int64_t>(limit));
      first_try = oldest_first(std::move(first_try), collect(*s), limit);
    }
    if (first_try.size() >= limit) return first_try;
    sqlite::use s(d.stmt(sql_ready_to_ack_retry));
    s->bind(1, d.text_of(now));
    s->bind(2, static_cast<std::int64_t>(limit - first_try.size()));
    auto due = collect(*s);
    first_try.insert(first_try.end(), std::make_move_iterator(due.begin()), std::make_move_iterator(due.end()));
    return first_try;
  });
}

result<state_counts> sqlite_ledger::counts() {
  return impl_->read("counts", [&] {
    state_counts out;
    for (const auto st : all_charge_states) out[st] = 0;
    sqlite::use s(impl_->stmt(sql_counts));
    while (s->step()) {
      const auto name = s->text(0);
      const auto st = parse_charge_state(name);
      if (!st) refuse(errc::ledger_integrity, "ledger " + impl_->path_text + ": unknown state " + peer(name));
      out[*st] = s->int64(1);
    }
    return out;
  });
}

result<std::optional<charge_record>> sqlite_ledger::oldest_unfinished() {
  return impl_->read("oldest_unfinished", [&]() -> std::optional<charge_record> {
    std::optional<charge_record> oldest;
    for (const auto state : all_charge_states) {
      if (!is_unfinished(state)) continue;
      sqlite::use s(impl_->stmt(sql_oldest_in_state));
      s->bind(1, to_string(state));
      if (!s->step()) continue;
      auto rec = impl_->read_row(*s).rec;
      if (!oldest || rec.id < oldest->id) oldest = std::move(rec);
    }
    return oldest;
  });
}

// --- the operator's view and actions -------------------------------------------------------

result<charge_record> sqlite_ledger::get(std::string_view number) {
  return impl_->read("get", [&] { return impl_->must_find(number).rec; });
}

result<std::vector<charge_record>> sqlite_ledger::list(const charge_filter& filter) {
  return impl_->read("list", [&] {
    sqlite::use s(impl_->stmt(sql_list));
    if (filter.state) s->bind(1, to_string(*filter.state));
    s->bind_optional(2, filter.customer);
    s->bind_optional(3, filter.status);
    s->bind_optional(4, optional_time(filter.first_seen_from));
    s->bind_optional(5, optional_time(filter.first_seen_until));
    s->bind(6, static_cast<std::int64_t>(filter.limit));
    s->bind(7, static_cast<std::int64_t>(filter.offset));
    s->bind(8, filter.after_id);
    return impl_->collect(*s);
  });
}

result<std::vector<event_record>> sqlite_ledger::events(std::string_view number) {
  return impl_->read("events", [&] {
    std::vector<event_record> out;
    sqlite::use s(impl_->stmt(sql_select_events));
    s->bind(1, number);
    while (s->step()) {
      event_record e;
      e.id = s->int64(0);
      const auto at = s->text(1);
      const auto t = parse_timestamp(at);
      if (!t)
        refuse(errc::ledger_integrity, "ledger " + impl_->path_text + ": event with a malformed time " + peer(at));
      e.at = *t;
      e.number = s->text(2);
      e.actor = s->text(3);
      e.kind = s->text(4);
      if (auto from = s->optional_text(5)) e.from = parse_charge_state(*from);
      if (auto to = s->optional_text(6)) e.to = parse_charge_state(*to);
      e.reason = s->text(7);
      e.detail_json = s->text(8);
      out.push_back(std::move(e));
    }
    return out;
  });
}

result<charge_record> sqlite_ledger::retry(std::string_view number, std::string_view who, std::string_view reason,
                                           timestamp now) {
  return impl_->write("retry", [&] {
    if (who.empty()) refuse(errc::invalid_argument, "retry of charge " + peer(number) + ": who is retrying?");
    auto r = impl_->must_find(number);
    const auto next = next_state_for_retry(r.rec.state, r.rec.billing_reference.has_value());
    if (!next) {
      refuse(errc::ledger_bad_transition, "retry: charge " + peer(number) + " is " +
                                              std::string(to_string(r.rec.state)) +
                                              "; only held or dead charges can be retried");
    }
    boost::json::object detail{
        {"bill_attempts", r.rec.bill_attempts}, {"ack_attempts", r.rec.ack_attempts}, {"last_error", r.rec.last_error}};
    if (r.rec.state == charge_state::dead) r.rec.ack_attempts = 0;  // a fresh round of max_attempts
    r.rec.next_try.reset();
    impl_->transition(r, *next, now, who, "retry", reason, detail);
    return r.rec;
  });
}

result<charge_record> sqlite_ledger::release(std::string_view number, std::string_view who, std::string_view reason,
                                             timestamp now) {
  return impl_->write("release", [&] {
    if (who.empty()) refuse(errc::invalid_argument, "release of charge " + peer(number) + ": who is releasing?");
    if (reason.empty())
      refuse(errc::invalid_argument, "release of charge " + peer(number) + " needs a reason for the audit trail");
    auto r = impl_->must_find(number);
    const auto next = next_state_for_release(r.rec.state);
    if (!next) {
      refuse(errc::ledger_bad_transition, "release: charge " + peer(number) + " is " +
                                              std::string(to_string(r.rec.state)) +
                                              "; only held charges can be released");
    }
    boost::json::object detail{{"bill_attempts", r.rec.bill_attempts}, {"last_error", r.rec.last_error}};
    r.rec.next_try.reset();
    impl_->transition(r, *next, now, who, "release", reason, detail);
    return r.rec;
  });
}

}  // namespace chargerecon::ledger
