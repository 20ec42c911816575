#pragma once
// The threading story, in one place: one io_context thread runs all protocol work (CRM.COM,
// billing, metrics, timers); the ledger's blocking SQLite calls (an fsync per commit) run on a
// worker_thread so they never stall the loop's timers and watchdog pings. A coroutine on the
// main loop does `co_await worker.run([&] { return ledger.record_page(...); })`: the function
// runs on the worker thread, the coroutine resumes on its own executor with the result.
//
// The function is not interrupted by cancellation: a ledger transaction either commits or rolls
// back, and the caller always learns which.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/executor_work_guard.hpp>

#include <thread>
#include <type_traits>
#include <utility>

namespace chargerecon::engine {

class worker_thread {
 public:
  worker_thread() : work_(ctx_.get_executor()), thread_([this] { ctx_.run(); }) {}
  ~worker_thread() {
    work_.reset();
    thread_.join();
  }
  worker_thread(const worker_thread&) = delete;
  worker_thread& operator=(const worker_thread&) = delete;

  boost::asio::any_io_executor executor() { return ctx_.get_executor(); }

  // Runs f() on the worker thread. f must not throw (exceptions are rethrown here, as bugs).
  template <class F>
  boost::asio::awaitable<std::invoke_result_t<F>> run(F f) {
    using R = std::invoke_result_t<F>;
    co_return co_await boost::asio::co_spawn(
        ctx_.get_executor(), [fn = std::move(f)]() mutable -> boost::asio::awaitable<R> { co_return fn(); },
        boost::asio::use_awaitable);
  }

 private:
  boost::asio::io_context ctx_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
};

}  // namespace chargerecon::engine
