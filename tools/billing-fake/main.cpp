// billing-fake: wiring only. Flags -> fake (billing_fake_core) -> http::server, on one io_context
// thread (the fake is not thread-safe and is only ever touched from it).

#include "billing-fake/fake.hpp"
#include "billing-fake/options.hpp"
#include "http/port_file.hpp"
#include "http/serve_until_signal.hpp"
#include "http/server.hpp"
#include "observability/event_log.hpp"

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

namespace asio = boost::asio;
using namespace chargerecon;

namespace {

asio::awaitable<http::server_reply> serve(billing_fake::fake& fake, const obs::event_log& log,
                                          http::server_request request) {
  // The state changes at once; only the answer is late, like a billing system whose reply is
  // slow to travel back (so a client that times out may still have billed: the key saves it).
  auto out = fake.handle(request);
  if (out.delay.count() > 0) {
    asio::steady_timer timer(co_await asio::this_coro::executor, out.delay);
    boost::system::error_code ec;  // cancelled at shutdown: answer anyway, the server is closing
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  // Its fields (quoted copies of what the client sent) are built only when the line is written.
  if (out.outcome != "state" && log.enabled(obs::log_level::info))
    log.info("billing_fake.request",
             {{"target", quote_peer_text(request.target, 100)},
              {"key", quote_peer_text(request.header("Idempotency-Key").value_or(""), 64)},
              {"status", out.reply.what == http::server_reply::action::drop ? 0U : out.reply.resp.status},
              {"outcome", out.outcome}});
  co_return std::move(out.reply);
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  auto options = billing_fake::parse_options(args);
  if (!options) {
    std::cerr << "billing-fake: " << options.error().diagnostic << "\n\n" << billing_fake::usage_text();
    return 64;
  }
  if (options->help) {
    std::cout << billing_fake::usage_text();
    return 0;
  }
  if (!options->token_file.empty()) {
    auto token = billing_fake::read_token_file(options->token_file);
    if (!token) {
      std::cerr << "billing-fake: " << token.error().to_string() << "\n";
      return 1;
    }
    options->fake.token = std::move(*token);
  }

  auto log = obs::make_stderr_log(obs::log_format::text, options->quiet ? obs::log_level::warn : obs::log_level::info,
                                  "billing-fake");
  try {
    // One thread runs everything, the signal set included: the scheduler and the reactor need
    // no locks, which every request paid for.
    asio::io_context io(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE);
    billing_fake::fake fake(options->fake);
    auto server = http::server::create(io.get_executor(), options->server, [&fake, &log](http::server_request request) {
      return serve(fake, log, std::move(request));
    });
    if (!server) {
      log.error("billing_fake.start_failed", {{"error", server.error().to_string()}});
      return 1;
    }
    const auto port = (*server)->port();
    const auto announce = [&] {
      if (!options->port_file.empty() && !http::write_port_file(options->port_file, port)) {
        log.error("billing_fake.start_failed", {{"error", "cannot write the port file"}, {"path", options->port_file}});
        return false;
      }
      log.warn("billing_fake.listening", {{"address", options->server.listen_address},
                                           {"port", port},
                                           {"path", options->fake.path},
                                           {"tls", !options->server.tls_cert_file.empty()},
                                           {"token", !options->fake.token.empty()},
                                           {"seed", options->fake.seed}});
      return true;
    };
    const bool served = http::serve_until_signal(
        io, **server, announce,
        [&](int signal) { log.warn("billing_fake.stopping", {{"signal", signal}, {"records", fake.records().size()}, {"posts_total", fake.posts_total()}}); },
        [&](const std::exception& ex) { log.error("billing_fake.server_failed", {{"what", ex.what()}}); });
    if (!served) return 1;
  } catch (const std::exception& e) {
    log.error("billing_fake.failed", {{"what", e.what()}});
    return 1;
  }
  return 0;
}
