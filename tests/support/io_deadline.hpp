#pragma once
// Runs an async test body under a global deadline: the test passes this step only if the body
// finished without an exception AND the io_context ran out of work (nothing left behind: no
// stray timer, connection or coroutine).

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <exception>
#include <stdexcept>
#include <string>

namespace chargerecon::test {

constexpr std::chrono::seconds default_io_deadline{30};

// ASSERT_* cannot be used inside a coroutine (it expands to `return;`): this fails the body
// instead, and run_io reports the message.
inline void require(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error("requirement failed: " + what);
}

// Usage: auto body = [&]() -> boost::asio::awaitable<void> { ... };  // a named lambda: it must
//        ASSERT_TRUE(run_io(ioc, body()));                            // outlive its coroutine
inline ::testing::AssertionResult run_io(boost::asio::io_context& ioc, boost::asio::awaitable<void> body,
                                         std::chrono::steady_clock::duration deadline = default_io_deadline) {
  bool done = false;
  std::exception_ptr failure;
  boost::asio::co_spawn(ioc, std::move(body), [&](std::exception_ptr e) {
    done = true;
    failure = e;
  });
  ioc.run_for(deadline);
  const bool out_of_work = ioc.stopped();
  if (!out_of_work) ioc.stop();
  if (failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      return ::testing::AssertionFailure() << "the test body threw: " << e.what();
    } catch (...) {
      return ::testing::AssertionFailure() << "the test body threw a non-standard exception";
    }
  }
  if (!done)
    return ::testing::AssertionFailure() << "the test body did not finish within "
                                         << std::chrono::duration_cast<std::chrono::milliseconds>(deadline).count()
                                         << " ms";
  if (!out_of_work)
    return ::testing::AssertionFailure() << "the test body finished but the io_context still had work after "
                                         << std::chrono::duration_cast<std::chrono::milliseconds>(deadline).count()
                                         << " ms (a timer, socket or coroutine left behind)";
  return ::testing::AssertionSuccess();
}

}  // namespace chargerecon::test
