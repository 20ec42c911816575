#pragma once
// A level-triggered wake-up for one waiting coroutine: notify() before or during wait_for()
// both end the wait, so no notification is lost between a check and the wait.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>

namespace chargerecon::engine {

class wakeup {
 public:
  explicit wakeup(const boost::asio::any_io_executor& ex) : timer_(ex) {}

  void notify() {
    pending_ = true;
    timer_.cancel();
  }

  // Forgets a notify() nobody waited for yet.
  void clear() { pending_ = false; }

  // Returns after notify() or `timeout`, or at once when cancelled (check the cancellation
  // state afterwards).
  boost::asio::awaitable<void> wait_for(std::chrono::steady_clock::duration timeout) {
    if (!pending_) {
      timer_.expires_after(timeout);
      boost::system::error_code ec;
      co_await timer_.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    }
    pending_ = false;
  }

 private:
  boost::asio::steady_timer timer_;
  bool pending_ = false;
};

}  // namespace chargerecon::engine
