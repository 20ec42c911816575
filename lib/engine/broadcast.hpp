#pragma once
// A wake-up for any number of waiting coroutines: notify_all() ends every wait in progress.
// Edge-triggered: a waiter checks its condition and waits with no suspension in between (one
// executor, one thread), so it cannot miss the notification that changes the condition.
// (`wakeup` serves one waiter only: a second waiter's wait_for re-arms the shared timer,
// which ends the first one's wait, and two such waiters would wake each other in a loop.)

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace chargerecon::engine {

class broadcast {
 public:
  explicit broadcast(const boost::asio::any_io_executor& ex)
      : timer_(ex, boost::asio::steady_timer::time_point::max()) {}

  void notify_all() { timer_.cancel(); }

  // Returns after the next notify_all(), or at once when cancelled (check the cancellation
  // state afterwards).
  boost::asio::awaitable<void> wait() {
    boost::system::error_code ec;
    co_await timer_.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
  }

 private:
  boost::asio::steady_timer timer_;  // never expires; cancel() wakes every waiter
};

}  // namespace chargerecon::engine
