#include "http/serve_until_signal.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/signal_set.hpp>

#include <csignal>

namespace chargerecon::http {

bool serve_until_signal(boost::asio::io_context& io, server& srv, const std::function<bool()>& announce,
                        const std::function<void(int)>& on_signal,
                        const std::function<void(const std::exception&)>& on_failure) {
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  if (!announce()) return false;
  signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    on_signal(signal);
    srv.stop();
  });
  boost::asio::co_spawn(io, srv.run(), [&](std::exception_ptr e) {
    signals.cancel();
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      on_failure(ex);
    }
  });
  io.run();
  return true;
}

}  // namespace chargerecon::http
