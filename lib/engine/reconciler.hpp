#pragma once
// The reconciliation engine: CRM.COM's charges/list -> ledger -> billing -> ledger ->
// charges/acknowledge -> ledger, as three cooperating tasks on one executor:
//
//   poller        passes over each configured charges/list (offset RULE: pass_cursor); each
//                 page is committed in the background while the next one is listed (a few
//                 pages ahead at most); wakes the biller and the acknowledger.
//   biller        takes charges the ledger says are ready to bill, commits them as `billing`,
//                 then posts them (at most billing.concurrency at once; same Idempotency-Key on
//                 every retry and after a restart) and commits each answer. While its queue is
//                 short, the poller records new billable charges straight as `billing` (one
//                 write instead of two) and queues them for it.
//   acknowledger  takes charges the ledger says await acknowledgement, in batches of at most
//                 ack.batch_size after a short linger, sends them with their billing reference
//                 (up to ack_calls_at_once calls out together, a charge in one of them at most),
//                 and commits what CRM.COM answered (refusals back off, then go dead).
//
// Durability order: every transition is committed before anyone is told about it: a charge is
// `billing` in the ledger before its post leaves, its reference is committed before the
// acknowledgement that carries it is sent, and an acknowledgement is recorded only from
// CRM.COM's answer. So a crash at any instant leaves the ledger behind the world, never ahead:
// a restart re-posts `billing` charges with the same key and re-acknowledges `billed` ones.
//
// Listing and acknowledging overlap except where the offset RULE forbids it: an
// acknowledgement of a charge that the current pass counts in its offset is never sent while a
// charges/list call is in flight (it could shift the list under the call and skip a charge);
// such acknowledgements wait and go between two list calls. A list call may start while
// acknowledgements are in flight: their charges stop counting in the offset when they are
// sent, so at worst the page repeats charges already seen.
//
// Threading: every task runs on the executor of the coroutine that awaits run(); ledger calls
// run on the worker_thread. All members are touched from that executor only.

#include "common/error.hpp"
#include "observability/event_log.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace chargerecon::crm {
class client;
}
namespace chargerecon::billing {
class client;
}
namespace chargerecon::ledger {
class ledger;
}
namespace chargerecon::obs {
class registry;
}

namespace chargerecon::engine {

class worker_thread;

struct engine_config {
  bool list_processed = true;       // poll.charge_status has PROCESSED
  bool list_not_processed = false;  // poll.charge_status has NOT_PROCESSED
  unsigned page_size = 50;
  std::chrono::milliseconds poll_interval{std::chrono::seconds(30)};
  std::size_t billing_concurrency = 8;
  std::chrono::milliseconds billing_backoff_initial{std::chrono::seconds(1)};
  std::chrono::milliseconds billing_backoff_max{std::chrono::minutes(5)};
  unsigned ack_batch_size = 50;
  std::chrono::milliseconds ack_linger{200};
  std::vector<std::string> ack_done_error_codes;
  // How often due retries (billing and acknowledgement backoff) are looked for while idle.
  std::chrono::milliseconds retry_scan_interval{std::chrono::seconds(1)};
};

// Counts of what this run did (the ledger holds the totals).
struct run_summary {
  std::uint64_t passes = 0;
  std::uint64_t pages = 0;
  std::uint64_t charges_new = 0;
  std::uint64_t charges_malformed = 0;
  std::uint64_t billed = 0;
  std::uint64_t held = 0;
  std::uint64_t acknowledged = 0;
  std::uint64_t ack_refusals = 0;
  std::uint64_t dead = 0;
};

class reconciler {
 public:
  // Everything passed by reference must outlive the reconciler. `metrics` may be null.
  reconciler(crm::client& crm, billing::client& billing, ledger::ledger& ledger, worker_thread& ledger_thread,
             engine_config config, obs::event_log log, obs::registry* metrics);
  ~reconciler();
  reconciler(const reconciler&) = delete;
  reconciler& operator=(const reconciler&) = delete;

  // Runs until stop() (or, with `once`, until a pass finds nothing new and no charge is left
  // unfinished), then finishes posts in flight and flushes ready acknowledgements, and returns.
  // Cancellation of the awaiting coroutine (the shutdown deadline) abandons work in flight at
  // once: nothing is lost, since the ledger only ever lags behind (see above).
  // Errors: a ledger failure that leaves nothing safe to do (ledger_write_failed persisting is
  // retried, not returned; ledger_integrity is returned).
  boost::asio::awaitable<result<run_summary>> run(bool once);

  // Graceful stop: no new pages or posts; posts in flight finish, ready acks are flushed.
  void stop();

  // A config reload: takes the settings that apply live (poll interval and page size, billing
  // backoff, ack batch size, linger and done error codes; see config/diff.hpp) from `c`; the
  // others keep their start-up values. Call on the run()'s executor.
  void apply(const engine_config& c);

  const run_summary& summary() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace chargerecon::engine
