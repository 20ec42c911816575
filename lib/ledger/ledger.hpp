#pragma once
// The ledger: the local, durable record of every charge chargerecon has seen and what it did
// with it. Every operation below is one committed transaction: when it returns success the
// change survives a crash or power loss, and when it fails nothing of it was written. The
// engine tells billing or CRM.COM something only after the ledger has committed it.
//
// This interface is deliberately narrow and free of storage types so that a PostgreSQL ledger
// (for a standby daemon) can implement it next to sqlite_ledger.
//
// Threading: implementations are synchronous and block on disk I/O. The engine calls them on
// its dedicated ledger thread, never on the io_context thread. sqlite_ledger serialises calls
// with a mutex, so a stray call from another thread is safe, only slow.
//
// Errors (as result<T>): ledger_write_failed (disk full, read-only file, I/O error, busy past the
// timeout; nothing half-written), ledger_read_failed, ledger_integrity (corruption found while
// working), ledger_unknown_charge, ledger_bad_transition (the charge is not in a state the
// operation applies to; nothing of the whole call was written), ledger_duplicate_reference,
// invalid_argument.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "ledger/charge_state.hpp"
#include "ledger/timestamp.hpp"

namespace chargerecon::ledger {

// One charge as charges/list returned it. amount is the JSON number's exact text ("1234567.89"),
// raw_json the whole charge object as received; both are stored verbatim.
struct observed_charge {
  std::string number;
  std::string customer;  // billing_system_customer_identifier
  std::string status;    // charge_status
  std::string amount;
  std::string currency;
  std::string raw_json;
};

enum class observation {
  inserted,          // first time seen
  unchanged,         // known, and nothing new about it
  changed,           // known, but customer, amount, currency or status differ from what was
                     // first recorded: the first values are kept, an event "changed" records both,
                     // and it is never billed a second time. Reported once per distinct change.
  pending_resolved,  // known as PENDING (watched), now processed: it moves on like a new charge
};

struct observed_result {
  std::string number;
  observation what = observation::unchanged;
  charge_state state = charge_state::pending;  // after this page was recorded
};

struct charge_record {
  std::int64_t id = 0;  // insertion order: lower is older
  std::string number;
  std::string customer;
  std::string status;
  std::string amount;
  std::string currency;
  std::string raw_json;
  charge_state state = charge_state::pending;
  std::optional<std::string> billing_reference;
  int bill_attempts = 0;              // billing failures (transient or permanent) so far
  int ack_attempts = 0;               // acknowledgements CRM.COM refused since it last became ack-waiting
  std::optional<timestamp> next_try;  // when set, not before this time
  std::string last_error;
  timestamp first_seen{};
  timestamp updated_at{};
  std::optional<timestamp> billed_at;
  std::optional<timestamp> acknowledged_at;
};

// What acknowledging a charge needs of it (ready_to_ack): the number and customer CRM.COM wants,
// the reference when it was billed, and its status for the metrics.
struct ack_candidate {
  std::int64_t id = 0;
  std::string number;
  std::string customer;
  std::string status;
  charge_state state = charge_state::billed;
  std::optional<std::string> billing_reference;
};

// One audit row. Rows are append-only (the SQLite schema refuses UPDATE and DELETE on them).
struct event_record {
  std::int64_t id = 0;
  timestamp at{};
  std::string number;
  std::string actor;  // "engine", or the person who acted (retry, release)
  std::string kind;   // recorded, transition, changed, bill_failed, ack_refused, retry, release
  std::optional<charge_state> from;
  std::optional<charge_state> to;
  std::string reason;
  std::string detail_json;  // a JSON object; "{}" when there is nothing more to say
};

struct ack_refusal {
  std::string number;
  std::string error_code;   // CRM.COM's error_code, verbatim
  std::string description;  // CRM.COM's error_description, verbatim
};

// What one acknowledge call came back with. Charges whose refusal code means "already
// acknowledged" (ack.done_error_codes) belong in `acknowledged`.
struct ack_report {
  std::vector<std::string> acknowledged;
  std::vector<ack_refusal> refused;
};

struct ack_summary {
  int acknowledged = 0;
  int retrying = 0;  // refused, next try scheduled
  int dead = 0;      // refused for the max_attempts-th time
};

// One billing answer, for record_bill_results.
struct bill_result {
  enum class kind { billed, held, failed };
  kind what = kind::billed;
  std::string number;
  std::string text;      // billed: the reference; held: the reason; failed: the error
  timestamp next_try{};  // failed only
};

struct charge_filter {
  std::optional<charge_state> state;
  std::optional<std::string> customer;
  std::optional<std::string> status;
  std::optional<timestamp> first_seen_from;   // inclusive
  std::optional<timestamp> first_seen_until;  // exclusive
  std::size_t limit = 100;
  std::size_t offset = 0;
  // Only charges with a greater id: keyset paging, for walking the whole ledger page by page
  // (each page a short index range, where an offset would re-read every row before it).
  std::int64_t after_id = 0;
};

// Every state, with a zero for the ones no charge is in.
using state_counts = std::map<charge_state, std::int64_t>;

// The decisions the ledger takes inside its transactions, from configuration.
struct ledger_policy {
  std::vector<std::string> bill_statuses{"APPROVED"};  // billing.bill_statuses
  int ack_max_attempts = 10;                           // ack.max_attempts
  backoff_policy ack_backoff;
  // Uniform in [0, 1) for backoff jitter; empty means a PRNG seeded from std::random_device.
  std::function<double()> random01;
};

class ledger {
 public:
  virtual ~ledger() = default;

  // --- the engine's transitions ------------------------------------------------------------

  // One charges/list page in one transaction. A new charge enters the state next_state_for_new
  // gives (seen, ack_pending or pending); a known one is compared with what was first recorded.
  // Results come in page order; a number twice in a page is recorded once.
  result<std::vector<observed_result>> record_page(std::span<const observed_charge> page, timestamp now) {
    return record_page(page, now, 0);
  }
  // The same, except that the first `straight_to_billing` new charges that would enter `seen`
  // enter `billing` instead, as if mark_billing ran in the same transaction: for an engine that
  // posts them next, it spares a second write of each row and a read to find them again.
  virtual result<std::vector<observed_result>> record_page(std::span<const observed_charge> page, timestamp now,
                                                           std::size_t straight_to_billing) = 0;

  // seen -> billing, committed before the billing posts. All or nothing.
  virtual result<void> mark_billing(std::span<const std::string> numbers, timestamp now) = 0;

  // A billing post failed transiently: stays billing, bill_attempts++, offered again by
  // ready_to_bill from next_try on.
  virtual result<void> record_bill_failure(std::string_view number, std::string_view error_text, timestamp next_try,
                                           timestamp now) = 0;

  // billing -> billed with billing's reference, committed before the acknowledgement carrying
  // it is sent. Repeating it with the same reference is a no-op (a replayed answer).
  virtual result<void> mark_billed(std::string_view number, std::string_view reference, timestamp now) = 0;

  // billing -> held: billing refused it for good; `reason` is shown to the operator.
  virtual result<void> mark_held(std::string_view number, std::string_view reason, timestamp now) = 0;

  // Several billing answers in one transaction (group commit: one fsync for all the posts that
  // finished meanwhile), each exactly as mark_billed / mark_held / record_bill_failure would
  // apply it. All or nothing: one refused item (a bad transition, a duplicate reference)
  // rolls the whole call back, and the caller applies the items one by one instead.
  virtual result<void> record_bill_results(std::span<const bill_result> results, timestamp now) = 0;
  // One acknowledge answer in one transaction: accepted charges -> acknowledged (again: no-op);
  // refused ones count an attempt and retry after backoff, or go dead at ack_max_attempts (a
  // refusal of an already acknowledged charge changes nothing: acknowledged is final).
  virtual result<ack_summary> record_ack_result(const ack_report& report, timestamp now) = 0;

  // Group commit: runs `writes` (calls of the write operations above, on this thread) in one
  // transaction. Each call inside keeps its own result and its own all-or-nothing: a refused
  // one (bad transition, duplicate reference) undoes only its own changes. But none of them is
  // durable before this returns success, and when it fails nothing of any of them was written,
  // whatever they returned: a caller acts on a write's result only after its group committed.
  virtual result<void> group_commit(const std::function<void()>& writes) = 0;

  // --- the engine's queries ----------------------------------------------------------------

  // Charges to post to billing, oldest first: seen ones, and billing ones whose retry is due
  // (the earliest due, when more are due than `limit`). With include_in_flight, also every
  // billing charge without a retry time: the posts a previous run started and never finished,
  // re-posted with the same Idempotency-Key, and held charges an operator retried; among them
  // are the engine's own posts in flight, which it tells apart. The engine asks for those at
  // start-up and then now and then: they can be thousands at full speed.
  virtual result<std::vector<charge_record>> ready_to_bill(timestamp now, std::size_t limit,
                                                           bool include_in_flight) = 0;

  // Charges waiting for acknowledgement (billed, ack_pending) whose next_try is unset or due,
  // never-refused first, then by next_try, oldest first. Acks in flight are not excluded:
  // re-acknowledging is safe, but the engine should not send the same charge twice at once.
  virtual result<std::vector<ack_candidate>> ready_to_ack(timestamp now, std::size_t limit) = 0;

  virtual result<state_counts> counts() = 0;

  // The oldest charge the engine still owes work on (seen, billing, billed, ack_pending).
  virtual result<std::optional<charge_record>> oldest_unfinished() = 0;

  // --- the operator's view and actions -----------------------------------------------------

  virtual result<charge_record> get(std::string_view number) = 0;
  virtual result<std::vector<charge_record>> list(const charge_filter& filter) = 0;
  virtual result<std::vector<event_record>> events(std::string_view number) = 0;

  // A person retries: held -> billing (posted again, same Idempotency-Key), dead -> billed or
  // ack_pending with its attempt count reset. `who` must be non-empty; audited with `reason`.
  virtual result<charge_record> retry(std::string_view number, std::string_view who, std::string_view reason,
                                      timestamp now) = 0;

  // A person releases a held charge: acknowledged without billing. `who` and `reason` must be
  // non-empty; audited.
  virtual result<charge_record> release(std::string_view number, std::string_view who, std::string_view reason,
                                        timestamp now) = 0;
};

}  // namespace chargerecon::ledger
