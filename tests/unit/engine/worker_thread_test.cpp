#include "engine/worker_thread.hpp"

#include <boost/asio/detached.hpp>
#include <gtest/gtest.h>

namespace chargerecon::engine {
namespace {

TEST(worker_thread, runs_the_function_elsewhere_and_resumes_on_the_callers_loop) {
  boost::asio::io_context loop;
  worker_thread worker;
  const auto loop_thread = std::this_thread::get_id();
  std::thread::id ran_on{};
  std::thread::id resumed_on{};
  int answer = 0;
  boost::asio::co_spawn(
      loop,
      [&]() -> boost::asio::awaitable<void> {
        answer = co_await worker.run([&] {
          ran_on = std::this_thread::get_id();
          return 42;
        });
        resumed_on = std::this_thread::get_id();
      },
      boost::asio::detached);
  loop.run_for(std::chrono::seconds(10));
  EXPECT_TRUE(loop.stopped());
  EXPECT_EQ(answer, 42);
  EXPECT_NE(ran_on, loop_thread);
  EXPECT_EQ(resumed_on, loop_thread);
}

}  // namespace
}  // namespace chargerecon::engine
