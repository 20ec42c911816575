#pragma once
// The life of a stand-alone server process (crm-sim, billing-fake): serve until SIGINT or
// SIGTERM, then stop accepting, close connections and return, so main() can exit 0.

#include "http/server.hpp"

#include <boost/asio/io_context.hpp>

#include <exception>
#include <functional>

namespace chargerecon::http {

// Runs `srv` on `io` (which must not be running) until a signal; `on_signal` is called with the
// signal number before the server stops (for a last log line), `on_failure` if run() ended with
// an exception. `announce` (write the port file, log "listening") runs once SIGINT and SIGTERM
// are caught, so whoever waits for the announcement can signal at once; when it returns false,
// nothing is served and this returns false. Returns once io has no more work.
bool serve_until_signal(boost::asio::io_context& io, server& srv, const std::function<bool()>& announce,
                        const std::function<void(int)>& on_signal,
                        const std::function<void(const std::exception&)>& on_failure);

}  // namespace chargerecon::http
