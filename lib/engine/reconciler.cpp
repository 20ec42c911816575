#include "engine/reconciler.hpp"

#include "billing/client.hpp"
#include "crm/client.hpp"
#include "engine/ack_answer.hpp"
#include "engine/ack_head_start.hpp"
#include "engine/ack_window.hpp"
#include "engine/broadcast.hpp"
#include "engine/group_commit.hpp"
#include "engine/pass_cursor.hpp"
#include "engine/wakeup.hpp"
#include "engine/worker_thread.hpp"
#include "ledger/ledger.hpp"
#include "observability/metrics.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>

#include <algorithm>
#include <deque>
#include <list>
#include <optional>
#include <random>
#include <set>
#include <unordered_map>
#include <unordered_set>

namespace chargerecon::engine {
namespace asio = boost::asio;

namespace {

ledger::timestamp now_ts() { return ledger::to_timestamp(std::chrono::system_clock::now()); }

bool is_cancelled(const asio::cancellation_state& st) { return st.cancelled() != asio::cancellation_type::none; }

}  // namespace

struct reconciler::impl {
  crm::client& crm;
  billing::client& billing;
  ledger::ledger& store;
  worker_thread& worker;
  engine_config cfg;
  obs::event_log log;
  obs::registry* metrics;
  run_summary summary;

  // Set up by run(): they need the awaiting coroutine's executor.
  std::optional<wakeup> bill_wake;
  std::optional<wakeup> ack_wake;
  std::optional<wakeup> poll_wake;      // stop() ends the wait between passes
  std::optional<broadcast> ack_gate;    // acknowledgement calls wait here for a list call to finish
  std::optional<wakeup> poller_wake;    // the poller waits here for its pages' commits, and for the rest to catch up
  std::optional<wakeup> posts_drained;  // the biller waits here for its posts at the end
  std::optional<wakeup> progress_wake;  // ends the progress reporter's wait when the run ends
  std::optional<group_commit> writes;   // every ledger write goes through it: one fsync per group
  int tasks_running = 0;                // the committer ends after the last of them

  bool once = false;
  bool stopping = false;
  bool biller_done = false;
  bool acknowledger_done = false;
  bool fatal = false;
  std::optional<error> fatal_error;

  pass_cursor* cursor = nullptr;  // the pass in progress, if any
  bool list_call_in_flight = false;
  // The poller lists ahead of its pages' commits (see pass()); at most this many wait for theirs.
  // Eight: at 0 ms, four let the poller wait for the ledger's commits a fifth of its time.
  static constexpr std::size_t max_pages_recording = 8;
  std::chrono::steady_clock::duration last_list_call{};  // for the acknowledgements' head start
  std::size_t pages_recording = 0;
  bool page_record_failed = false;  // a page of the current pass could not be recorded
  std::uint64_t new_in_round = 0;   // charges recorded for the first time in this round of passes
  // Charges this run recorded as unfinished and has not seen finish yet (acknowledged, held or
  // dead; those an earlier run left unfinished are not in it, so it may undercount). The poller
  // lists at most this far ahead of billing and acknowledging: what the engine holds per
  // charge in flight (the pass's cursor, queues) then stays bounded however long the backlog;
  // listing at its own pace left 60% of a 100k backlog listed and unbilled at the pass's end.
  // Far more than billing and acknowledging keep in flight, so it never slows them.
  static constexpr std::uint64_t max_unfinished_ahead = 2000;
  std::uint64_t unfinished_recorded = 0;
  void finished(std::uint64_t n) {
    unfinished_recorded = n > unfinished_recorded ? 0 : unfinished_recorded - n;
    poller_wake->notify();
  }

  // Acknowledgement calls out at once (see ack_window): more than one, so that acknowledging
  // is not a chain of call + commit per batch.
  ack_window acks{ack_calls_at_once};
  std::list<asio::cancellation_signal> ack_signals;
  // After a failed call, no new one starts until then (CRM.COM is likely down; its client has
  // already retried); while an answer's commit keeps failing, none starts at all.
  std::chrono::steady_clock::time_point acks_paused_until{};
  int ack_commits_retrying = 0;
  // Acknowledge calls sent so far (each numbered by this count), and those whose answer is not
  // back: a list call that ran beside one may repeat charges the cursor already counts as gone
  // (pass_cursor::on_page).
  std::uint64_t ack_calls_sent = 0;
  std::set<std::uint64_t> ack_calls_unanswered;
  std::optional<wakeup> ack_answered;  // the poller waits here for those calls to be answered

  std::unordered_set<std::string> posts_in_flight;  // posted, billing's answer not back yet
  std::size_t answers_uncommitted = 0;             // answered, waiting for their group commit
  std::list<asio::cancellation_signal> post_signals;
  // Charges this run marked `billing` whose billing answer is not committed yet (queued, posted,
  // or answered and waiting for the group commit). Any other `billing` charge without a retry
  // time is a post a previous run started and never finished: it is posted again.
  std::unordered_set<std::string> marked_this_run;
  // See refill_post_queue. At start, a previous run's interrupted posts may be waiting.
  bool others_in_flight_found = true;
  std::chrono::steady_clock::time_point last_in_flight_scan{};

  // Charges the ledger has as acknowledged that a pass still found listed: the acknowledgement
  // CRM.COM answered did not stick, or the list answer predates it. Re-acknowledging is safe.
  std::unordered_map<std::string, crm::ack_item> reack;
  std::unordered_set<std::string> reacked;  // sent from `reack`: the ledger has them acknowledged already
  std::unordered_map<std::string, std::string> ack_status;  // number -> CRM.COM status, while its ack is out

  std::mt19937_64 rng{std::random_device{}()};

  impl(crm::client& c, billing::client& b, ledger::ledger& l, worker_thread& w, engine_config conf, obs::event_log lg,
       obs::registry* m)
      : crm(c), billing(b), store(l), worker(w), cfg(std::move(conf)), log(std::move(lg)), metrics(m) {}

  // --- metrics ---------------------------------------------------------------------------------
  void count(std::string_view name, std::string_view help, const obs::labels& l = {}, std::uint64_t n = 1) {
    if (metrics) metrics->get_counter(name, help, l).inc(n);
  }

  void fail_fatally(error e) {
    log.error("engine.fatal", {{"error", e.to_string()}});
    fatal = true;
    fatal_error = std::move(e);
    stop();
  }

  void stop() {
    stopping = true;
    poll_wake->notify();
    bill_wake->notify();
    ack_wake->notify();
  }

  // A ledger failure: integrity problems stop the engine; write failures (a full disk, a
  // read-only file) are logged loudly and the work is retried later, since nothing was written.
  std::chrono::steady_clock::time_point last_ledger_failure{};
  void ledger_failed(std::string_view what, const error& e) {
    if (e.code == make_error_code(errc::ledger_integrity)) {
      fail_fatally(e);
      return;
    }
    last_ledger_failure = std::chrono::steady_clock::now();
    log.error("ledger.write_failed", {{"operation", what}, {"error", e.to_string()}});
    count("chargerecon_ledger_errors_total", "Ledger operations that failed", {{"operation", std::string(what)}});
  }

  // One of the tasks that write to the ledger; the last one to end lets the committer end.
  asio::awaitable<void> counted(asio::awaitable<void> task) {
    try {
      co_await std::move(task);
    } catch (...) {
      if (--tasks_running == 0) writes->finish();
      throw;
    }
    if (--tasks_running == 0) writes->finish();
  }

  // --- poller ----------------------------------------------------------------------------------
  asio::awaitable<void> poller() {
    co_await asio::this_coro::throw_if_cancelled(false);
    const auto cs = co_await asio::this_coro::cancellation_state;
    while (!stopping && !is_cancelled(cs)) {
      new_in_round = 0;
      poll_wake->clear();  // what happened before this round is in it (stop() is seen as `stopping`)
      bool pass_ok = true;
      if (cfg.list_processed) pass_ok = co_await pass(crm::list_status::processed) && pass_ok;
      if (cfg.list_not_processed && !stopping) pass_ok = co_await pass(crm::list_status::not_processed) && pass_ok;
      if (is_cancelled(cs)) break;
      const auto new_in_pass = new_in_round;
      ++summary.passes;
      count("chargerecon_passes_total", "Completed passes over charges/list", {{"result", pass_ok ? "ok" : "failed"}});
      if (pass_ok && metrics)
        metrics->get_gauge("chargerecon_last_successful_pass_timestamp_seconds", "When the last pass ended without error")
            .set(std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
      log.info("poll.pass_done", {{"ok", pass_ok}, {"new_charges", new_in_pass}});

      if (once) {
        // A clean pass: no error, nothing new, no acknowledgement found not to have stuck.
        const bool clean = pass_ok && new_in_pass == 0 && reack.empty();
        const bool drained = co_await settle_before_next_pass(pass_ok, clean);
        if (drained) {
          log.info("engine.drained", {{"passes", summary.passes}});
          stop();
          break;
        }
        continue;
      }
      co_await poll_wake->wait_for(cfg.poll_interval);
    }
    // Pages still being committed (a cancelled pass does not wait for them) finish first: they
    // write into this object. Their commit cannot be interrupted, so this wait is short.
    co_await asio::this_coro::reset_cancellation_state();
    while (pages_recording > 0) co_await poller_wake->wait_for(std::chrono::milliseconds(200));
    // Wake whoever waits on us so they can see `stopping`.
    bill_wake->notify();
    ack_wake->notify();
  }

  // --once, between passes: whether the engine has drained. Another pass can only find what
  // the work in progress leaves behind (charges whose acknowledgement did not stick, new
  // charges), so it waits for that work to end rather than re-listing the whole backlog after
  // every answer (each such pass only repeated what the ledger had, and took CPU from billing):
  // until no charge is unfinished in the ledger, no re-acknowledgement is waiting and no
  // acknowledgement call is out. Drained when, then, the pass that just ended was clean (no
  // error, nothing new, no acknowledgement to repeat).
  asio::awaitable<bool> settle_before_next_pass(bool pass_ok, bool clean_pass) {
    const auto cs = co_await asio::this_coro::cancellation_state;
    // A failed pass (CRM.COM down, say) is not repeated at once.
    if (!pass_ok) co_await poll_wake->wait_for(std::chrono::milliseconds(500));
    while (!stopping && !is_cancelled(cs)) {
      if (reack.empty() && acks.calls() == 0) {
        // One index lookup per unfinished state (counting them all scanned the whole ledger).
        auto oldest = co_await worker.run([this] { return store.oldest_unfinished(); });
        if (!oldest) {
          ledger_failed("oldest_unfinished", oldest.error());
        } else if (!*oldest) {
          co_return clean_pass;
        }
      }
      // Woken when an acknowledgement's answer is committed; the timeout covers the rest
      // (billing answers that hold a charge, retries coming due).
      co_await poll_wake->wait_for(std::chrono::milliseconds(500));
    }
    co_return false;
  }

  // One pass over one list. Returns false when it ended on an error (logged).
  //
  // Listing runs ahead of the ledger: the next offset depends only on the charges seen (the
  // cursor), not on their commit, and a list call tells CRM.COM nothing; so each page is
  // committed in the background while the next one is asked for, and the pass ends once its
  // pages are committed. The order that matters holds: a charge is billed or acknowledged only
  // once the ledger has it (the biller and the acknowledger read the committed ledger).
  asio::awaitable<bool> pass(crm::list_status status) {
    const auto cs = co_await asio::this_coro::cancellation_state;
    const auto ex = co_await asio::this_coro::executor;
    pass_cursor cur(cfg.page_size);
    cursor = &cur;
    page_record_failed = false;
    bool ok = true;
    while (!cur.finished() && !stopping && !is_cancelled(cs)) {
      // A few pages ahead of their commits at most (their memory, and a ledger that falls behind
      // slows us down), and max_unfinished_ahead charges ahead of billing and acknowledging.
      while ((pages_recording >= max_pages_recording || unfinished_recorded >= max_unfinished_ahead) && !stopping &&
             !is_cancelled(cs))
        co_await poller_wake->wait_for(std::chrono::seconds(1));
      if (page_record_failed || is_cancelled(cs)) {
        ok = false;
        break;
      }
      // A list call may start while acknowledgements are in flight: their charges no longer
      // count in the offset (pass_cursor), so at worst this page repeats charges already seen.
      const auto offset = cur.next_offset();
      const bool acks_in_flight_before = !ack_calls_unanswered.empty();
      const auto acks_sent_before = ack_calls_sent;
      list_call_in_flight = true;
      const auto list_started = std::chrono::steady_clock::now();
      auto page = co_await crm.list_charges(status, offset, cfg.page_size);
      last_list_call = std::chrono::steady_clock::now() - list_started;
      list_call_in_flight = false;
      const bool acks_unsettled = acks_in_flight_before || ack_calls_sent != acks_sent_before;
      const auto acks_sent_by_answer = ack_calls_sent;
      ack_gate->notify_all();
      if (!page) {
        if (page.error().code != asio::error::operation_aborted)
          log.error("poll.page_failed", {{"list", crm::to_wire(status)}, {"offset", offset}, {"error", page.error().to_string()}});
        ok = false;
        break;
      }
      ++summary.pages;
      std::vector<std::string> identities;
      identities.reserve(page->entries);
      for (const auto& c : page->charges) identities.push_back(c.number);
      for (const auto& m : page->malformed) identities.push_back(m.number ? *m.number : "raw:" + m.raw_json);
      cur.on_page(identities, acks_unsettled);
      record_in_background(ex, std::move(*page));
      // The acknowledgements held at the gate during the call go now, before the next offset is
      // taken (it then counts them as gone): let them run once.
      co_await asio::post(ex, asio::use_awaitable);
      // If some went, give them a head start (see ack_head_start.hpp). Correctness never rests
      // on this pause: a list call that still overtakes them only repeats charges.
      if (ack_calls_sent != acks_sent_by_answer) {
        asio::steady_timer head_start(ex, ack_head_start(last_list_call));
        co_await head_start.async_wait(asio::redirect_error(asio::use_awaitable, ignored_));
      }
      // A full page of repeats explained by acknowledgements in flight: ask again once those are
      // answered (not at once, which would spin on the same page while a slow one is out).
      if (!cur.finished() && cur.last_page_new() == 0)
        while (!ack_calls_unanswered.empty() && *ack_calls_unanswered.begin() <= acks_sent_by_answer && !stopping &&
               !is_cancelled(cs))
          co_await ack_answered->wait_for(std::chrono::seconds(1));
    }
    while (pages_recording > 0 && !is_cancelled(cs)) co_await poller_wake->wait_for(std::chrono::seconds(1));
    if (page_record_failed) ok = false;
    if (cur.stalled())
      log.warn("poll.pass_stalled", {{"list", crm::to_wire(status)}, {"offset", cur.next_offset()},
                                     {"detail", "a full page brought no charge not already seen in this pass"}});
    cursor = nullptr;
    co_return ok;
  }

  void record_in_background(const asio::any_io_executor& ex, crm::charges_page page) {
    ++pages_recording;
    asio::co_spawn(ex, record_page_task(std::make_shared<const crm::charges_page>(std::move(page))),
                   [this](std::exception_ptr e) {
                     if (e) {
                       page_record_failed = true;
                       log.error("engine.bug", {{"where", "record_page"}, {"detail", "exception escaped"}});
                     }
                     --pages_recording;
                     poller_wake->notify();
                   });
  }

  asio::awaitable<void> record_page_task(std::shared_ptr<const crm::charges_page> page) {
    const bool recorded = co_await record_page(*page);
    if (!recorded) page_record_failed = true;
    bill_wake->notify();
    ack_wake->notify();
  }

  asio::awaitable<bool> record_page(const crm::charges_page& page) {
    for (const auto& m : page.malformed) {
      ++summary.charges_malformed;
      count("chargerecon_charges_malformed_total", "charges/list elements that are not a charge we can act on");
      // Never dropped silently: it stays in CRM.COM's list (we do not acknowledge what we
      // cannot read), counts in the offset, and is reported on every pass until fixed.
      log.error("charge.malformed", {{"number", m.number ? *m.number : std::string("?")},
                                     {"index", m.index},
                                     {"error", m.diagnostic},
                                     {"raw", m.raw_json}});
    }
    if (page.charges.empty()) co_return true;
    std::vector<ledger::observed_charge> observed;
    observed.reserve(page.charges.size());
    for (const auto& c : page.charges)
      observed.push_back({c.number, c.customer, std::string(crm::to_wire(c.status)), c.amount, c.currency, c.raw_json});
    // A page reserves what it can use, not the whole allowance: the pages recorded beside it
    // (up to max_pages_recording) need theirs.
    const auto to_billing = std::min(straight_to_billing_budget(), observed.size());
    straight_to_billing_reserved += to_billing;
    if (to_billing > 0)
      for (const auto& o : observed) ++numbers_recording[o.number];
    auto results = co_await writes->run([&] { return store.record_page(observed, now_ts(), to_billing); });
    straight_to_billing_reserved -= to_billing;
    // Queued first, then released: no moment where a query could take one of them for a charge
    // nobody posts.
    if (results)
      for (const auto& r : *results)
        if (r.what == ledger::observation::inserted && r.state == ledger::charge_state::billing)
          queue_recorded_for_billing(observed, r.number);
    if (to_billing > 0)
      for (const auto& o : observed)
        if (auto it = numbers_recording.find(o.number); it != numbers_recording.end() && --it->second == 0)
          numbers_recording.erase(it);
    if (!results) {
      ledger_failed("record_page", results.error());
      co_return false;
    }
    for (std::size_t i = 0; i < results->size(); ++i) {
      const auto& r = (*results)[i];
      const auto it = std::find_if(page.charges.begin(), page.charges.end(), [&](const crm::charge& c) { return c.number == r.number; });
      const std::string status = it != page.charges.end() ? std::string(crm::to_wire(it->status)) : std::string();
      switch (r.what) {
        case ledger::observation::inserted:
        case ledger::observation::pending_resolved:
          ++new_in_round;
          ++summary.charges_new;
          if (ledger::is_unfinished(r.state)) ++unfinished_recorded;
          count("chargerecon_charges_seen_total", "Charges recorded for the first time (or resolved from PENDING), by status",
                {{"status", status}});
          log.debug("charge.recorded", {{"number", r.number}, {"status", status}, {"state", ledger::to_string(r.state)}});
          // Not billable: committed as waiting for its acknowledgement (without a reference).
          if (r.state == ledger::charge_state::ack_pending && it != page.charges.end())
            queue_for_ack({r.number, it->customer, std::nullopt}, status);
          break;
        case ledger::observation::changed:
          count("chargerecon_charges_changed_total", "Known charges that came back with different fields");
          log.warn("charge.changed", {{"number", r.number},
                                      {"detail", "customer, amount, currency or status differ from the first record; "
                                                 "first values kept, never billed twice"}});
          break;
        case ledger::observation::unchanged:
          break;
      }
      if (r.state == ledger::charge_state::acknowledged && !reack.contains(r.number)) {
        auto rec = co_await worker.run([&] { return store.get(r.number); });
        if (rec) reack.emplace(r.number, crm::ack_item{rec->number, rec->customer, rec->billing_reference});
      }
    }
    co_return true;
  }

  // --- biller ----------------------------------------------------------------------------------
  asio::awaitable<void> biller() {
    co_await asio::this_coro::throw_if_cancelled(false);
    const auto cs = co_await asio::this_coro::cancellation_state;
    const auto ex = co_await asio::this_coro::executor;
    while (!stopping && !is_cancelled(cs)) {
      const std::size_t free_slots =
          cfg.billing_concurrency > posts_in_flight.size() ? cfg.billing_concurrency - posts_in_flight.size() : 0;
      if (free_slots > 0) co_await start_posts(ex, free_slots);
      if (fatal) break;
      co_await bill_wake->wait_for(cfg.retry_scan_interval);
    }
    // Stop: posts in flight finish (or are abandoned on cancellation), nothing new starts.
    if (is_cancelled(cs))
      for (auto& s : post_signals) s.emit(asio::cancellation_type::terminal);
    co_await asio::this_coro::reset_cancellation_state();
    const auto draining = co_await asio::this_coro::cancellation_state;
    while (!posts_in_flight.empty() || answers_uncommitted > 0) {
      // The shutdown deadline can strike while we wait here (say, answers whose commit the
      // ledger keeps failing): abandon what is left then, as above.
      if (is_cancelled(draining))
        for (auto& s : post_signals) s.emit(asio::cancellation_type::terminal);
      co_await posts_drained->wait_for(std::chrono::milliseconds(200));
    }
    biller_done = true;
    ack_wake->notify();
    progress_wake->notify();
  }

  // Charges committed as `billing` and waiting for a free post slot. Marking a chunk (several
  // rounds of posts) at once costs one transaction instead of one per charge; a crash before
  // their post is harmless (the next start posts them, same Idempotency-Key).
  std::deque<ledger::charge_record> to_post;
  std::unordered_set<std::string> queued;

  // How many charges the biller keeps marked ahead: four rounds of posts per transaction. Every
  // mark waits for its commit (an fsync), and with one round (50) per commit a 4 ms fsync
  // capped billing near 4,500 charges/s at 0 ms.
  std::size_t post_chunk() const { return std::max<std::size_t>(4 * cfg.billing_concurrency, 200); }

  // The poller records new billable charges straight into `billing` and queues them itself
  // (ledger::record_page): it spares a query to find them and a second write of each row, which
  // were a sixth of the ledger thread's instructions in a 0 ms drain while only a chunk (200)
  // went this way. Up to the listing's own bound (max_unfinished_ahead), so in a steady drain
  // every charge does; `seen` remains for what comes past it (and for stopping). The cost: up
  // to that many charges sit in `billing` before their post leaves, and a crash leaves them
  // there; the next start posts them under their Idempotency-Key, as it does any `billing`
  // charge, so nothing is billed twice. Their rows in memory: about 2 MiB at most.
  // Pages being recorded hold their share until they commit.
  std::size_t straight_to_billing_reserved = 0;
  // The numbers of the pages being recorded with an allowance, until their results are queued:
  // a ready_to_bill query that runs between the page's commit and the poller's look at its
  // results finds the new ones `billing`, in flight, and in no set of ours; the biller must
  // not take them for an earlier run's posts and post them a second time.
  std::unordered_map<std::string, int> numbers_recording;
  std::size_t straight_to_billing_budget() const {
    if (stopping || fatal) return 0;
    const std::size_t limit = std::max<std::size_t>(post_chunk(), max_unfinished_ahead);
    const std::size_t have = to_post.size() + straight_to_billing_reserved;
    return have >= limit ? 0 : limit - have;
  }

  // A charge the page just recorded as `billing` (committed): posted like one the biller marked.
  void queue_recorded_for_billing(std::vector<ledger::observed_charge>& observed, const std::string& number) {
    const auto it = std::find_if(observed.begin(), observed.end(),
                                 [&](const ledger::observed_charge& o) { return o.number == number; });
    if (it == observed.end() || queued.contains(number) || marked_this_run.contains(number)) return;
    ledger::charge_record rec;
    rec.number = number;
    rec.customer = it->customer;
    rec.status = it->status;
    rec.amount = it->amount;
    rec.currency = it->currency;
    rec.raw_json = std::move(it->raw_json);
    rec.state = ledger::charge_state::billing;
    queued.insert(rec.number);
    marked_this_run.insert(rec.number);
    to_post.push_back(std::move(rec));
  }

  asio::awaitable<void> start_posts(const asio::any_io_executor& ex, std::size_t free_slots) {
    if (to_post.size() < free_slots) co_await refill_post_queue();
    // The query may have found the ledger damaged: nothing more leaves on its word.
    if (fatal) co_return;
    launch_posts(ex, free_slots);
    // Keep a full round of posts marked ahead, so a slot that frees up starts its next post at
    // once instead of waiting for a query and a commit (at 20 ms per post, that wait was a
    // large part of billing's idle time).
    if (to_post.size() < cfg.billing_concurrency && !stopping) co_await refill_post_queue();
  }

  void launch_posts(const asio::any_io_executor& ex, std::size_t free_slots) {
    while (free_slots > 0 && !to_post.empty()) {
      auto rec = std::move(to_post.front());
      to_post.pop_front();
      queued.erase(rec.number);
      --free_slots;
      posts_in_flight.insert(rec.number);
      auto& sig = post_signals.emplace_back();
      auto sig_it = std::prev(post_signals.end());
      asio::co_spawn(ex, post_one(std::move(rec)),
                     asio::bind_cancellation_slot(sig.slot(), [this, sig_it](std::exception_ptr e) {
                       post_signals.erase(sig_it);
                       if (e) log.error("engine.bug", {{"where", "post_one"}, {"detail", "exception escaped"}});
                     }));
    }
  }

  asio::awaitable<void> refill_post_queue() {
    // Every recorded page wakes the biller; while the ledger fails its writes, marking again at
    // each wake-up would only fail (and log) many times a second. Once per retry_scan_interval.
    if (std::chrono::steady_clock::now() - last_ledger_failure < cfg.retry_scan_interval) co_return;
    const std::size_t chunk = post_chunk();
    // `billing` charges without a retry time are mostly this run's own posts, read only to be
    // skipped (thousands at full speed, a sixth of the ledger thread when read at every refill).
    // The others are a previous run's interrupted posts and held charges an operator retried:
    // looked for at every refill while the last look found some, else once per
    // retry_scan_interval.
    const auto now = std::chrono::steady_clock::now();
    const bool include_in_flight =
        others_in_flight_found || now - last_in_flight_scan >= cfg.retry_scan_interval;
    const std::size_t limit = include_in_flight ? chunk + marked_this_run.size() : chunk;
    auto ready = co_await worker.run([&] { return store.ready_to_bill(now_ts(), limit, include_in_flight); });
    if (!ready) {
      ledger_failed("ready_to_bill", ready.error());
      co_return;
    }
    if (include_in_flight) {
      last_in_flight_scan = now;
      others_in_flight_found = false;
    }
    std::vector<ledger::charge_record> batch;
    std::vector<std::string> to_mark;
    for (auto& rec : *ready) {
      if (batch.size() >= chunk) break;
      if (marked_this_run.contains(rec.number) || numbers_recording.contains(rec.number)) continue;
      if (include_in_flight && rec.state == ledger::charge_state::billing && !rec.next_try)
        others_in_flight_found = true;
      to_mark.push_back(rec.number);
      batch.push_back(std::move(rec));
    }
    if (batch.empty()) co_return;
    // Committed as `billing` before any post leaves (a due retry is marked again, which clears
    // its retry time: it is in flight once more).
    auto marked = co_await writes->run([&] { return store.mark_billing(to_mark, now_ts()); });
    if (!marked) {
      ledger_failed("mark_billing", marked.error());
      co_return;
    }
    for (auto& rec : batch) {
      queued.insert(rec.number);
      marked_this_run.insert(rec.number);
      to_post.push_back(std::move(rec));
    }
  }

  asio::awaitable<void> post_one(ledger::charge_record rec) {
    co_await asio::this_coro::throw_if_cancelled(false);
    const std::string number = rec.number;
    auto out = co_await billing.post(rec.number, rec.raw_json);
    if (!out) {
      // Cancelled or a request we could not form: the charge stays `billing`; a later scan or
      // the next start posts it again under the same key.
      if (out.error().code != asio::error::operation_aborted)
        log.error("billing.post_failed", {{"number", number}, {"error", out.error().to_string()}});
    } else {
      // Named locals, not temporaries in the co_await expression: GCC 12 mishandles the
      // lifetime of braced temporaries passed to a coroutine inside co_await.
      ledger::bill_result result;
      result.number = number;
      bill_context ctx{rec.customer, rec.amount, rec.currency, false, 0, rec.status};
      if (auto* b = std::get_if<billing::billed>(&*out)) {
        result.what = ledger::bill_result::kind::billed;
        result.text = b->reference;
        ctx.replay = b->replay;
      } else if (auto* rj = std::get_if<billing::rejected>(&*out)) {
        result.what = ledger::bill_result::kind::held;
        result.text = rj->reason;
        ctx.status = rj->status;
      } else {
        const auto& g = std::get<billing::gave_up>(*out);
        const auto delay = ledger::backoff_delay({cfg.billing_backoff_initial, cfg.billing_backoff_max},
                                                 rec.bill_attempts + 1, std::uniform_real_distribution<double>(0, 1)(rng));
        result.what = ledger::bill_result::kind::failed;
        result.text = g.last.to_string();
        result.next_try = now_ts() + delay;
      }
      // Billing has answered: the slot is free for the next post while this answer waits
      // for its group commit.
      posts_in_flight.erase(number);
      ++answers_uncommitted;
      bill_wake->notify();
      co_await commit_bill_result(std::move(result), std::move(ctx));
      --answers_uncommitted;
      // Committed (billed, held, or retrying at its next_try): no longer this run's in-flight.
      // A post that ended without an answer (cancelled, or a number billing cannot take) stays
      // marked, so it is not re-posted in a loop; the next start posts it again.
      marked_this_run.erase(number);
    }
    posts_in_flight.erase(number);
    bill_wake->notify();
    posts_drained->notify();
  }

  // --- group commit of billing answers --------------------------------------------------------
  // Every billing answer must be committed before the acknowledgement that carries it is sent,
  // but an fsync per charge would cap billing at the disk's sync rate. Answers that arrive
  // while a commit runs wait and go together in the next one: one transaction, one fsync.
  struct bill_context {
    std::string customer, amount, currency;
    bool replay = false;
    unsigned status = 0;         // billing's HTTP status (held)
    std::string charge_status;  // CRM.COM's status, for the metrics' label
  };
  std::vector<std::pair<ledger::bill_result, bill_context>> bill_results_pending;
  std::uint64_t bill_results_enqueued = 0;
  std::uint64_t bill_results_committed = 0;
  bool bill_committer_running = false;
  std::optional<asio::steady_timer> bill_committed;  // cancel() wakes every waiter; never re-armed

  // Returns once `result` is committed (or could not be, which is logged).
  asio::awaitable<void> commit_bill_result(ledger::bill_result result, bill_context ctx) {
    bill_results_pending.emplace_back(std::move(result), std::move(ctx));
    const auto mine = ++bill_results_enqueued;
    if (bill_committer_running) {
      while (bill_results_committed < mine) {
        boost::system::error_code ec;
        co_await bill_committed->async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
      co_return;
    }
    bill_committer_running = true;
    while (!bill_results_pending.empty()) {
      auto batch = std::move(bill_results_pending);
      bill_results_pending.clear();
      const auto upto = bill_results_enqueued;
      co_await commit_bill_batch(batch);
      bill_results_committed = upto;
      bill_committed->cancel();
    }
    bill_committer_running = false;
  }

  asio::awaitable<void> commit_bill_batch(const std::vector<std::pair<ledger::bill_result, bill_context>>& batch) {
    std::vector<ledger::bill_result> results;
    results.reserve(batch.size());
    for (const auto& [r, c] : batch) results.push_back(r);
    // Every way out of this coroutine, the early ones on a stop or a damaged ledger included.
    struct committing_guard {
      std::unordered_set<std::string>& set;
      std::vector<std::string> numbers;  // a copy: results[i].number is cleared below when refused
      ~committing_guard() {
        for (const auto& n : numbers) set.erase(n);
      }
    };
    committing_guard committing{bill_answers_committing, {}};
    for (const auto& r : results) {
      bill_answers_committing.insert(r.number);
      committing.numbers.push_back(r.number);
    }
    const auto cs = co_await asio::this_coro::cancellation_state;
    for (;;) {
      auto r = co_await writes->run([&] { return store.record_bill_results(results, now_ts()); });
      if (r) break;
      if (r.error().code == make_error_code(errc::ledger_write_failed)) {
        // A full or read-only disk: billing's answers are known and must not be lost; keep
        // them and try again (nothing is acknowledged meanwhile, since nothing is "billed").
        ledger_failed("record_bill_results", r.error());
        if (is_cancelled(cs) || fatal) co_return;
        asio::steady_timer pause(co_await asio::this_coro::executor, cfg.retry_scan_interval);
        co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ignored_));
        continue;
      }
      if (r.error().code == make_error_code(errc::ledger_integrity)) {
        ledger_failed("record_bill_results", r.error());
        co_return;
      }
      // One item does not fit (say, an operator acted on the charge meanwhile): apply them one
      // by one so the others still land, and report the odd one.
      for (std::size_t i = 0; i < results.size(); ++i) {
        std::span<const ledger::bill_result> one(&results[i], 1);
        auto single = co_await writes->run([&] { return store.record_bill_results(one, now_ts()); });
        if (!single) {
          log.error("ledger.transition_refused", {{"number", results[i].number}, {"error", single.error().to_string()}});
          results[i].number.clear();  // not reported below as done
        }
      }
      break;
    }
    for (std::size_t i = 0; i < results.size(); ++i) {
      const auto& r = results[i];
      if (r.number.empty()) continue;
      const auto& c = batch[i].second;
      switch (r.what) {
        case ledger::bill_result::kind::billed:
          ++summary.billed;
          count("chargerecon_charges_billed_total", "Charges billed (reference committed), by status",
                {{"status", c.charge_status}});
          // Debug, like every routine per-charge line: at full speed they would be 15,000 lines a
          // second, past journald's default rate limit (10,000 per 30 s per service), which then
          // drops lines, warnings and errors among them, and costs the journal a core. The
          // ledger's audit trail has every billed charge; engine.progress counts them at info.
          queue_for_ack({r.number, c.customer, r.text}, c.charge_status);
          log.debug("charge.billed", {{"number", r.number}, {"customer", c.customer}, {"amount", c.amount},
                                     {"currency", c.currency}, {"reference", r.text}, {"replay", c.replay}});
          break;
        case ledger::bill_result::kind::held:
          ++summary.held;
          finished(1);
          count("chargerecon_charges_held_total", "Charges billing refused permanently, held for a person, by status",
                {{"status", c.charge_status}});
          log.error("charge.held", {{"number", r.number}, {"customer", c.customer}, {"status", c.status}, {"reason", r.text}});
          break;
        case ledger::bill_result::kind::failed:
          log.warn("charge.bill_retry", {{"number", r.number}, {"next_try", ledger::format_timestamp(r.next_try)},
                                         {"error", r.text}});
          break;
      }
    }
    ack_wake->notify();
  }

  // --- acknowledger ----------------------------------------------------------------------------
  // Takes batches of ready charges and sends each in a call of its own, up to max_ack_calls at
  // once (ack_window); each call commits its answer before its charges can be taken again.
  asio::awaitable<void> acknowledger() {
    co_await asio::this_coro::throw_if_cancelled(false);
    const auto cs = co_await asio::this_coro::cancellation_state;
    const auto ex = co_await asio::this_coro::executor;
    // A damaged ledger ends it at once: what it lists as ready to acknowledge is not to be
    // trusted, and calls out still finish below.
    while (!is_cancelled(cs) && !fatal) {
      const auto now = std::chrono::steady_clock::now();
      if (!acks.has_room() || ack_commits_retrying > 0 || now < acks_paused_until) {
        co_await ack_wake->wait_for(now < acks_paused_until ? acks_paused_until - now : cfg.retry_scan_interval);
        continue;
      }
      acks.query_started();
      std::vector<crm::ack_item> batch;
      const bool read = co_await fill_ack_batch(batch);
      if (!read) {
        acks.query_ended();
        co_await ack_wake->wait_for(cfg.retry_scan_interval);
        continue;
      }
      if (batch.empty()) {
        acks.query_ended();
        // Flushed everything that was ready, and no call is out whose charges may need sending again.
        if (stopping && biller_done && acks.calls() == 0) break;
        co_await ack_wake->wait_for(cfg.retry_scan_interval);
        continue;
      }
      // A batch that is not full waits a little for company while billing answers are on
      // their way, unless we are flushing; it goes as soon as it is full (every billing answer
      // committed wakes us to look). With no post out, waiting would only delay it.
      const auto linger_end = std::chrono::steady_clock::now() + cfg.ack_linger;
      while (batch.size() < cfg.ack_batch_size && billing_in_progress() && !stopping && !is_cancelled(cs)) {
        const auto left = linger_end - std::chrono::steady_clock::now();
        if (left <= std::chrono::steady_clock::duration::zero()) break;
        co_await ack_wake->wait_for(left);
        if (is_cancelled(cs)) break;
        co_await fill_ack_batch(batch);
      }
      if (is_cancelled(cs) || fatal) {
        acks.query_ended();
        break;
      }
      launch_ack(ex, std::move(batch));
      acks.query_ended();
    }
    // Calls out finish (their answers are committed), or are abandoned on cancellation.
    if (is_cancelled(cs))
      for (auto& s : ack_signals) s.emit(asio::cancellation_type::terminal);
    co_await asio::this_coro::reset_cancellation_state();
    const auto draining = co_await asio::this_coro::cancellation_state;
    while (acks.calls() > 0) {
      if (is_cancelled(draining))
        for (auto& s : ack_signals) s.emit(asio::cancellation_type::terminal);
      co_await ack_wake->wait_for(std::chrono::milliseconds(200));
    }
    acknowledger_done = true;
    progress_wake->notify();
  }

  // Posts queued, out, or answered and not committed yet: billing answers still to come.
  bool billing_in_progress() const { return !to_post.empty() || !posts_in_flight.empty() || answers_uncommitted > 0; }

  void launch_ack(const asio::any_io_executor& ex, std::vector<crm::ack_item> items) {
    std::vector<std::string> numbers;
    numbers.reserve(items.size());
    for (const auto& i : items) numbers.push_back(i.number);
    acks.open(numbers);
    auto& sig = ack_signals.emplace_back();
    auto sig_it = std::prev(ack_signals.end());
    asio::co_spawn(ex, send_acks(std::move(items)),
                   asio::bind_cancellation_slot(sig.slot(), [this, sig_it, numbers](std::exception_ptr e) {
                     ack_signals.erase(sig_it);
                     acks.close(numbers);
                     if (e) log.error("engine.bug", {{"where", "send_acks"}, {"detail", "exception escaped"}});
                     ack_wake->notify();
                     // In --once mode the poller looks again once work moved on.
                     if (once) poll_wake->notify();
                   }));
  }

  // --- progress --------------------------------------------------------------------------------
  // One engine.progress event every few seconds while something moves, so an operator watching
  // the log (or the demo) sees the flow without a line per charge.
  asio::awaitable<void> progress_reporter() {
    co_await asio::this_coro::throw_if_cancelled(false);
    const auto cs = co_await asio::this_coro::cancellation_state;
    run_summary last;
    while (!(biller_done && acknowledger_done) && !is_cancelled(cs)) {
      co_await progress_wake->wait_for(std::chrono::seconds(2));
      const auto& s = summary;
      if (s.charges_new == last.charges_new && s.billed == last.billed && s.acknowledged == last.acknowledged &&
          s.held == last.held && s.dead == last.dead)
        continue;
      last = s;
      log.info("engine.progress", {{"new_charges", s.charges_new}, {"billed", s.billed}, {"acknowledged", s.acknowledged},
                                   {"held", s.held}, {"ack_refusals", s.ack_refusals}, {"dead", s.dead},
                                   {"posts_in_flight", posts_in_flight.size()}});
    }
  }

  boost::system::error_code ignored_;

  // Fills `items` up to ack_batch_size: re-acknowledgements first, then what the ledger has
  // ready; charges already in `items` or carried by a call out (ack_window) are left out.
  // false on a ledger failure (logged) that left `items` empty.
  asio::awaitable<bool> fill_ack_batch(std::vector<crm::ack_item>& items) {
    std::unordered_set<std::string> numbers;
    for (const auto& i : items) numbers.insert(i.number);
    for (auto it = reack.begin(); it != reack.end() && items.size() < cfg.ack_batch_size;) {
      if (acks.carries(it->first) || numbers.contains(it->first)) {
        ++it;
        continue;
      }
      numbers.insert(it->first);
      reacked.insert(it->first);
      items.push_back(std::move(it->second));
      it = reack.erase(it);
    }
    const auto now = std::chrono::steady_clock::now();
    if (items.size() < cfg.ack_batch_size &&
        (ack_scan_wanted || now - last_ack_scan >= cfg.retry_scan_interval)) {
      // The ledger still lists the charges of calls out, of this batch and of ack_ready (and
      // billed answers about to join it) as ready: ask for enough to fill the batch without them.
      const auto limit = cfg.ack_batch_size - items.size() + acks.excluded() + numbers.size() +
                         ack_ready_status.size() + bill_answers_committing.size();
      auto ready = co_await worker.run([&] { return store.ready_to_ack(now_ts(), limit); });
      if (!ready) {
        ledger_failed("ready_to_ack", ready.error());
        co_return !items.empty();
      }
      last_ack_scan = now;
      // Ready charges this run did not queue (a previous run's, refusals due again, an
      // operator's release), or as many rows as asked for (more may follow): look again at the
      // next batch, not a retry_scan_interval later. A restart with thousands left billed
      // acknowledges them at full speed.
      ack_scan_wanted = ready->size() >= limit;
      for (auto& rec : *ready) {
        // Charge numbers are de-duplicated within a request, and sent by one call at a time.
        if (acks.carries(rec.number) || numbers.contains(rec.number)) continue;
        // Ours too: a billed answer whose commit this scan saw before we queued it.
        const bool known = ack_ready_status.contains(rec.number) || bill_answers_committing.contains(rec.number);
        if (!known) ack_scan_wanted = true;
        if (items.size() >= cfg.ack_batch_size) continue;
        ack_ready_status.erase(rec.number);  // its entry in ack_ready is skipped
        numbers.insert(rec.number);
        std::optional<std::string> ref;
        if (rec.state == ledger::charge_state::billed) ref = rec.billing_reference;
        ack_status[rec.number] = rec.status;
        items.push_back({std::move(rec.number), std::move(rec.customer), std::move(ref)});
      }
    }
    while (items.size() < cfg.ack_batch_size && !ack_ready.empty()) {
      auto item = std::move(ack_ready.front());
      ack_ready.pop_front();
      const auto st = ack_ready_status.find(item.number);
      if (st == ack_ready_status.end()) continue;  // a ledger scan took it first
      auto status = std::move(st->second);
      ack_ready_status.erase(st);
      if (acks.carries(item.number) || !numbers.insert(item.number).second) continue;
      ack_status[item.number] = std::move(status);
      items.push_back(std::move(item));
    }
    co_return true;
  }

  // Charges this run committed as ready to acknowledge (billed, or recorded as not billable),
  // in that order, with their CRM.COM status: the acknowledger takes its batches from here.
  // Asking the ledger at every billing answer while a batch filled read the charges of the
  // calls out and of the batch again each time, only to leave them out: 15% of the ledger
  // thread in a 0 ms drain. The ledger is still asked, for what this run did not queue (a
  // previous run's, refusals due again, an operator's release or retry), at the first batch,
  // after a failed call, while the last look found such charges, and once per
  // retry_scan_interval. An entry leaves ack_ready_status when taken, by either way.
  std::deque<crm::ack_item> ack_ready;
  std::unordered_map<std::string, std::string> ack_ready_status;
  bool ack_scan_wanted = true;
  std::chrono::steady_clock::time_point last_ack_scan{};
  std::unordered_set<std::string> bill_answers_committing;  // in commit_bill_batch's transaction

  void queue_for_ack(crm::ack_item item, std::string status) {
    if (!ack_ready_status.emplace(item.number, std::move(status)).second) return;
    ack_ready.push_back(std::move(item));
  }

  asio::awaitable<void> send_acks(std::vector<crm::ack_item> items) {
    // Spawned on its own (launch_ack): a cancellation is seen in `cs`, not thrown.
    co_await asio::this_coro::throw_if_cancelled(false);
    const auto cs = co_await asio::this_coro::cancellation_state;
    // Never send an acknowledgement of a charge the current pass counts while a list call is in
    // flight: that call's offset counted it, and CRM.COM applying the acknowledgement first would
    // shift the list under the call and skip a charge. (Re-checked after each wait: a new pass
    // may have begun meanwhile.)
    const auto counted_in_pass = [&] {
      if (!cursor) return false;
      for (const auto& i : items)
        if (cursor->counts(i.number)) return true;
      return false;
    };
    // The poller lets waiting calls go between two list calls (pass()).
    while (list_call_in_flight && counted_in_pass() && !is_cancelled(cs) && !fatal) co_await ack_gate->wait();
    // The ledger may have been found damaged while this call waited: it is not sent.
    if (is_cancelled(cs) || fatal) co_return;
    // From here on, with no suspension in between, they count as having left CRM.COM's list.
    if (cursor)
      for (const auto& i : items) cursor->on_ack_sent(i.number);
    std::unordered_set<std::string> sent;
    for (const auto& i : items) sent.insert(i.number);
    const auto batch_size = items.size();
    const auto call = ++ack_calls_sent;
    ack_calls_unanswered.insert(call);
    auto answer = co_await crm.acknowledge(std::move(items));
    ack_calls_unanswered.erase(call);
    ack_answered->notify();
    if (!answer) {
      // The answer is lost or the call failed after its retries: CRM.COM may or may not have
      // applied it. The ledger still says "waiting", so these charges are sent again later;
      // re-acknowledging with the same reference is safe.
      ack_scan_wanted = true;
      if (answer.error().code != asio::error::operation_aborted) {
        log.error("crm.ack_failed", {{"charges", batch_size}, {"error", answer.error().to_string()}});
        acks_paused_until = std::chrono::steady_clock::now() + cfg.retry_scan_interval;
        co_await asio::steady_timer(co_await asio::this_coro::executor, cfg.retry_scan_interval)
            .async_wait(asio::redirect_error(asio::use_awaitable, ignored_));
      }
      co_return;
    }
    const std::vector<std::string> sent_numbers(sent.begin(), sent.end());
    const auto classified = classify_ack_answer(sent_numbers, *answer, cfg.ack_done_error_codes);
    for (const auto& f : classified.unknown)
      log.warn("crm.ack_refusal_unknown",
               {{"number", f.number}, {"error_code", f.error_code},
                {"detail", "failed_charges_set names a charge this request did not send: the answer is not trusted, "
                           "every charge of the request is retried"}});
    for (const auto& f : classified.refusals) {
      ++summary.ack_refusals;
      count("chargerecon_ack_refusals_total", "Acknowledgements CRM.COM refused, by error code", {{"error_code", f.error_code}});
      log.warn("charge.ack_refused", {{"number", f.number}, {"error_code", f.error_code},
                                      {"description", quote_peer_text(f.error_description)}});
      // An untrusted answer may have been applied: its charges keep counting as gone (a wrong
      // guess only repeats known charges in this pass).
      if (cursor && classified.trusted) cursor->on_ack_refused(f.number);
    }
    const auto& report = classified.report;
    if (cursor)
      for (const auto& n : report.acknowledged) cursor->on_ack_applied(n, list_call_in_flight);
    auto summary_r = co_await writes->run([&] { return store.record_ack_result(report, now_ts()); });
    // A full or read-only disk: keep CRM.COM's answer and retry its commit, and start no new
    // call meanwhile (ack_commits_retrying holds the acknowledger): every batch would be
    // answered and then lost again, and sent again, as fast as CRM.COM answers.
    const bool commit_failed = !summary_r;
    if (commit_failed) ++ack_commits_retrying;
    while (!summary_r && summary_r.error().code == make_error_code(errc::ledger_write_failed) && !is_cancelled(cs) &&
           !fatal) {
      ledger_failed("record_ack_result", summary_r.error());
      asio::steady_timer pause(co_await asio::this_coro::executor, cfg.retry_scan_interval);
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ignored_));
      summary_r = co_await writes->run([&] { return store.record_ack_result(report, now_ts()); });
    }
    if (commit_failed) --ack_commits_retrying;
    if (!summary_r) {
      // CRM.COM took them but the ledger could not say so: they stay "waiting" and are
      // re-acknowledged later with the same reference, which CRM.COM answers as success.
      ack_scan_wanted = true;
      ledger_failed("record_ack_result", summary_r.error());
      co_return;
    }
    summary.acknowledged += static_cast<std::uint64_t>(summary_r->acknowledged);
    summary.dead += static_cast<std::uint64_t>(summary_r->dead);
    finished(static_cast<std::uint64_t>(summary_r->acknowledged + summary_r->dead));
    // By status: the charges of this answer the ledger moved to acknowledged (re-acknowledgements
    // of charges it already had as acknowledged are not counted twice).
    for (const auto& n : report.acknowledged) {
      const auto st = ack_status.find(n);
      if (st == ack_status.end() || reacked.contains(n)) continue;
      count("chargerecon_charges_acknowledged_total", "Charges CRM.COM took the acknowledgement of, by status",
            {{"status", st->second}});
    }
    for (const auto& n : sent) {
      ack_status.erase(n);
      reacked.erase(n);
    }
    if (summary_r->dead > 0) {
      // Which of the refused ones died: the ledger decided; read them back (a handful at most).
      std::vector<std::string> refused_numbers;
      for (const auto& r : report.refused) refused_numbers.push_back(r.number);
      auto records = co_await worker.run([&] {
        std::vector<ledger::charge_record> out;
        for (const auto& n : refused_numbers)
          if (auto rec = store.get(n); rec && rec->state == ledger::charge_state::dead) out.push_back(*rec);
        return out;
      });
      for (const auto& rec : records)
        count("chargerecon_charges_dead_total", "Charges whose acknowledgement was refused ack.max_attempts times, by status",
              {{"status", rec.status}});
      log.error("charge.dead", {{"charges", summary_r->dead},
                                {"detail", "acknowledgement refused ack.max_attempts times; see chargereconctl list --state dead"}});
    }
    log.debug("ack.batch_done", {{"sent", batch_size}, {"acknowledged", summary_r->acknowledged},
                                {"retrying", summary_r->retrying}, {"dead", summary_r->dead}});
  }
};

reconciler::reconciler(crm::client& crm, billing::client& billing, ledger::ledger& ledger, worker_thread& ledger_thread,
                       engine_config config, obs::event_log log, obs::registry* metrics)
    : impl_(std::make_unique<impl>(crm, billing, ledger, ledger_thread, std::move(config), std::move(log), metrics)) {}

reconciler::~reconciler() = default;

void reconciler::stop() {
  if (impl_->poll_wake) impl_->stop();
  else impl_->stopping = true;
}

const run_summary& reconciler::summary() const { return impl_->summary; }

void reconciler::apply(const engine_config& c) {
  auto& cfg = impl_->cfg;
  cfg.poll_interval = c.poll_interval;
  cfg.page_size = c.page_size;  // from the next pass on
  cfg.billing_backoff_initial = c.billing_backoff_initial;
  cfg.billing_backoff_max = c.billing_backoff_max;
  cfg.ack_batch_size = c.ack_batch_size;
  cfg.ack_linger = c.ack_linger;
  cfg.ack_done_error_codes = c.ack_done_error_codes;
  if (impl_->poll_wake) impl_->poll_wake->notify();  // a shorter interval takes effect now
}

asio::awaitable<result<run_summary>> reconciler::run(bool once) {
  auto& d = *impl_;
  const auto ex = co_await asio::this_coro::executor;
  d.once = once;
  d.bill_wake.emplace(ex);
  d.ack_wake.emplace(ex);
  d.poll_wake.emplace(ex);
  d.ack_gate.emplace(ex);
  d.poller_wake.emplace(ex);
  d.ack_answered.emplace(ex);
  d.posts_drained.emplace(ex);
  d.progress_wake.emplace(ex);
  d.bill_committed.emplace(ex, asio::steady_timer::time_point::max());
  d.writes.emplace(ex, d.worker, d.store);
  d.log.info("engine.started", {{"once", once}, {"page_size", d.cfg.page_size},
                                {"billing_concurrency", d.cfg.billing_concurrency}, {"ack_batch_size", d.cfg.ack_batch_size}});

  // The three tasks end together: cancellation of run() reaches each of them.
  // std::get rather than a structured binding: GCC 12 corrupts structured bindings that live
  // in a coroutine frame.
  // The committer ends after them, once their last write is committed.
  d.tasks_running = 4;
  auto ended = co_await asio::experimental::make_parallel_group(
                   asio::co_spawn(ex, d.counted(d.poller()), asio::deferred),
                   asio::co_spawn(ex, d.counted(d.biller()), asio::deferred),
                   asio::co_spawn(ex, d.counted(d.acknowledger()), asio::deferred),
                   asio::co_spawn(ex, d.counted(d.progress_reporter()), asio::deferred),
                   asio::co_spawn(ex, d.writes->committer(), asio::deferred))
                   .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
  for (const auto& e :
       {std::get<1>(ended), std::get<2>(ended), std::get<3>(ended), std::get<4>(ended), std::get<5>(ended)})
    if (e) d.log.error("engine.bug", {{"where", "reconciler"}, {"detail", "a task ended with an exception"}});
  d.log.info("engine.stopped", {{"passes", d.summary.passes}, {"new_charges", d.summary.charges_new},
                                {"billed", d.summary.billed}, {"held", d.summary.held},
                                {"acknowledged", d.summary.acknowledged}, {"dead", d.summary.dead}});
  if (d.fatal_error) co_return *d.fatal_error;
  co_return d.summary;
}

}  // namespace chargerecon::engine
