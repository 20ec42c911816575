#pragma once
// Group commit of the engine's ledger writes: a page recorded, a chunk marked `billing`,
// billing's answers, an acknowledgement's answer. Each is its own ledger operation with its own
// result, but an fsync each would cap the engine at a few of them per fsync time; so writes
// that arrive while a commit is running wait and go together, in one transaction with one
// fsync, as soon as it ends (ledger::group_commit).
//
// Durability order holds: a writer resumes only after the transaction holding its write has
// committed, so nobody is told anything the ledger could still lose. If the group's commit
// fails, every write in it fails with that error (nothing of any of them was written).
//
// All members are touched from the engine's executor; the writes themselves run on the
// ledger's worker_thread.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_state.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <type_traits>
#include <vector>

#include "common/error.hpp"
#include "engine/wakeup.hpp"
#include "engine/worker_thread.hpp"
#include "ledger/ledger.hpp"

namespace chargerecon::engine {

class group_commit {
 public:
  group_commit(const boost::asio::any_io_executor& ex, worker_thread& worker, ledger::ledger& store)
      : worker_(worker), store_(store), wake_(ex), committed_(ex, boost::asio::steady_timer::time_point::max()) {}

  // Runs write() (one ledger write operation, returning result<T>) in the next group and
  // returns its result once the group has committed, or the group's error. Not interrupted by
  // cancellation: the caller always learns whether its write is durable.
  template <class F>
  boost::asio::awaitable<std::invoke_result_t<F>> run(F write) {
    using R = std::invoke_result_t<F>;
    std::optional<R> out;
    pending p;
    p.apply = [&] { out.emplace(write()); };
    p.fail = [&](const error& e) { out.emplace(e); };
    queue_.push_back(&p);
    wake_.notify();
    while (!p.done) {
      boost::system::error_code ignored;
      co_await committed_.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ignored));
    }
    co_return std::move(*out);
  }

  // The committing task: takes whatever is queued, commits it as one group, wakes its writers,
  // and again, until finish() has been called and nothing is queued.
  boost::asio::awaitable<void> committer() {
    // Writers wait for their group even when cancelled (see run()), so it keeps committing.
    co_await boost::asio::this_coro::reset_cancellation_state(boost::asio::disable_cancellation());
    while (true) {
      if (queue_.empty()) {
        if (finishing_) break;
        co_await wake_.wait_for(std::chrono::seconds(1));
        continue;
      }
      std::vector<pending*> batch;
      batch.swap(queue_);
      auto committed = co_await worker_.run([&] {
        return store_.group_commit([&] {
          for (auto* p : batch) p->apply();
        });
      });
      for (auto* p : batch) {
        if (!committed) p->fail(committed.error());
        p->done = true;
      }
      ++groups_;
      committed_.cancel();
    }
  }

  // No more writes will come: the committer ends once the queue is empty.
  void finish() {
    finishing_ = true;
    wake_.notify();
  }

  std::uint64_t groups() const { return groups_; }

 private:
  struct pending {
    std::function<void()> apply;             // on the worker, inside the group: keeps the result
    std::function<void(const error&)> fail;  // the group did not commit: the result is this
    bool done = false;
  };

  worker_thread& worker_;
  ledger::ledger& store_;
  wakeup wake_;
  boost::asio::steady_timer committed_;  // cancel() wakes every writer; never expires
  std::vector<pending*> queue_;
  bool finishing_ = false;
  std::uint64_t groups_ = 0;
};

}  // namespace chargerecon::engine
