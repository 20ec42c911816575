// crm-sim: wiring only. Flags -> simulator (crm_sim_core) -> http::server, one io_context
// thread (so the simulator, which is not thread-safe, is only ever touched from it).

#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdio>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "crm-sim/options.hpp"
#include "crm-sim/simulator.hpp"
#include "http/port_file.hpp"
#include "http/serve_until_signal.hpp"
#include "http/server.hpp"
#include "observability/event_log.hpp"

namespace asio = boost::asio;
using namespace chargerecon;

namespace {

asio::awaitable<http::server_reply> serve(crm_sim::simulator& sim, const obs::event_log& log,
                                          http::server_request request) {
  crm_sim::sim_reply out;
  try {
    out = sim.handle(request, crm_sim::sim_clock::now());
  } catch (const std::exception& e) {
    // A bug, not a simulated fault: say so loudly and answer 500 rather than hang the client.
    log.error("crm_sim.handler_failed", {{"target", request.target}, {"what", e.what()}});
    out.reply.resp.status = 500;
    out.reply.resp.body = R"({"error":"crm-sim internal error"})";
    out.method = request.target;
    out.outcome = "BUG";
  }
  if (out.delay.count() > 0) {
    asio::steady_timer timer(co_await asio::this_coro::executor, out.delay);
    boost::system::error_code ec;  // cancelled at shutdown: answer anyway, the server is closing
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  log.info("crm_sim.call",
           {{"method", out.method},
            {"http_status", out.reply.what == http::server_reply::action::drop ? 0U : out.reply.resp.status},
            {"outcome", out.outcome},
            {"count", out.count}});
  co_return std::move(out.reply);
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  auto options = crm_sim::parse_options(args);
  if (!options) {
    std::cerr << "crm-sim: " << options.error().diagnostic << "\n\n" << crm_sim::usage_text();
    return 64;
  }
  if (options->help) {
    std::cout << crm_sim::usage_text();
    return 0;
  }
  if (!options->password_file.empty()) {
    auto password = crm_sim::read_password_file(options->password_file);
    if (!password) {
      std::cerr << "crm-sim: " << password.error().to_string() << "\n";
      return 1;
    }
    options->sim.password = std::move(*password);
  }

  auto log = obs::make_stderr_log(obs::log_format::text, options->quiet ? obs::log_level::warn : obs::log_level::info,
                                  "crm-sim");
  try {
    // One thread runs everything, the signal set included: the scheduler and the reactor need
    // no locks, which every request paid for.
    asio::io_context io(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE);
    crm_sim::simulator sim(options->sim, crm_sim::sim_clock::now());
    auto server = http::server::create(io.get_executor(), options->server, [&sim, &log](http::server_request request) {
      return serve(sim, log, std::move(request));
    });
    if (!server) {
      log.error("crm_sim.start_failed", {{"error", server.error().to_string()}});
      return 1;
    }
    const auto port = (*server)->port();
    const auto announce = [&] {
      if (!options->port_file.empty() && !http::write_port_file(options->port_file, port)) {
        log.error("crm_sim.start_failed", {{"error", "cannot write the port file"}, {"path", options->port_file}});
        return false;
      }
      log.warn("crm_sim.listening", {{"address", options->server.listen_address},
                                     {"port", port},
                                     {"tls", !options->server.tls_cert_file.empty()},
                                     {"backlog", options->sim.generator.backlog},
                                     {"seed", options->sim.generator.seed}});
      return true;
    };
    const bool served = http::serve_until_signal(
        io, **server, announce,
        [&](int signal) { log.warn("crm_sim.stopping", {{"signal", signal}}); },
        [&](const std::exception& ex) { log.error("crm_sim.server_failed", {{"what", ex.what()}}); });
    if (!served) return 1;
  } catch (const std::exception& e) {
    log.error("crm_sim.failed", {{"what", e.what()}});
    return 1;
  }
  return 0;
}
