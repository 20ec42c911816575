// The HTTP client against an in-test loopback server written with plain Asio and Beast, so that
// these tests depend on nothing of ours but the client. Every test runs its io_context under a
// deadline and requires it to run out of work (no socket, timer or coroutine left behind).

#include "http/client.hpp"

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/io_deadline.hpp"
#include "support/tls_fixture.hpp"

namespace chargerecon::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using test::require;
using test::run_io;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr auto io_deadline = 20s;

// What the test server does with one request.
struct reply {
  enum class kind {
    respond,             // answer, keep the connection
    respond_then_close,  // answer as if keeping the connection, then close it (an idle timeout)
    never_answer,        // read the request, then wait for the client to give up
    truncate,            // promise 100 body bytes, send 10, close
    garbage,             // answer with bytes that are not HTTP, close
  };
  kind what = kind::respond;
  unsigned status = 200;
  std::string body = "{}";
  std::vector<header_field> headers;
  std::chrono::milliseconds delay{0};
};

using wire_request = bhttp::request<bhttp::string_body>;
using script = std::function<reply(const wire_request&)>;

// A loopback HTTP/1.1 server: counts connections and records requests.
class loopback_server {
 public:
  loopback_server(asio::io_context& ioc, script s, std::string address = "127.0.0.1")
      : ioc_(ioc), acceptor_(ioc), script_(std::move(s)) {
    const tcp::endpoint endpoint(asio::ip::make_address(address), 0);
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen();
  }

  // TLS with this certificate chain and key.
  void use_tls(const std::string& cert_file, const std::string& key_file) {
    tls_.emplace(ssl::context::tls_server);
    tls_->use_certificate_chain_file(cert_file);
    tls_->use_private_key_file(key_file, ssl::context::pem);
  }

  // Accept TCP connections but never speak (neither TLS nor HTTP).
  void go_silent() { silent_ = true; }

  void start() { asio::co_spawn(ioc_, accept_loop(), asio::detached); }
  void stop() { acceptor_.close(); }
  unsigned short port() const { return acceptor_.local_endpoint().port(); }

  int accepted = 0;
  int closed = 0;
  std::vector<wire_request> requests;

 private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(use_tuple);
      if (ec) co_return;
      ++accepted;
      asio::co_spawn(ioc_, connection(std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<void> connection(tcp::socket socket) {
    if (silent_) {
      co_await wait_for_close(socket);
    } else if (tls_) {
      ssl::stream<tcp::socket> stream(std::move(socket), *tls_);
      auto [ec] = co_await stream.async_handshake(ssl::stream_base::server, use_tuple);
      if (!ec) co_await serve(stream);
    } else {
      co_await serve(socket);
    }
    ++closed;
  }

  template <class Stream>
  static asio::awaitable<void> wait_for_close(Stream& stream) {
    char byte = 0;
    for (;;) {
      auto [ec, n] = co_await stream.async_read_some(asio::buffer(&byte, 1), use_tuple);
      if (ec) co_return;
    }
  }

  template <class Stream>
  asio::awaitable<void> serve(Stream& stream) {
    beast::flat_buffer buffer;
    for (;;) {
      wire_request req;
      auto [read_ec, n] = co_await bhttp::async_read(stream, buffer, req, use_tuple);
      if (read_ec) co_return;
      requests.push_back(req);
      const reply r = script_(req);
      if (r.delay.count() > 0) {
        asio::steady_timer timer(ioc_, r.delay);
        co_await timer.async_wait(use_tuple);
      }
      if (r.what == reply::kind::never_answer) {
        co_await wait_for_close(stream);
        co_return;
      }
      if (r.what == reply::kind::truncate || r.what == reply::kind::garbage) {
        const std::string bytes = r.what == reply::kind::truncate
                                      ? "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789"
                                      : "SSH-2.0-OpenSSH_9.2\r\n\r\n";
        co_await asio::async_write(stream, asio::buffer(bytes), use_tuple);
        co_return;
      }
      bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(r.status), 11};
      for (const auto& h : r.headers) res.set(h.name, h.value);
      res.body() = r.body;
      res.prepare_payload();
      auto [write_ec, written] = co_await bhttp::async_write(stream, res, use_tuple);
      if (write_ec || r.what == reply::kind::respond_then_close) co_return;
    }
  }

  asio::io_context& ioc_;
  tcp::acceptor acceptor_;
  script script_;
  std::optional<ssl::context> tls_;
  bool silent_ = false;
};

script always(reply r) {
  return [r](const wire_request&) { return r; };
}

client_config config_for(const loopback_server& server, std::string_view scheme = "http",
                         std::string_view host = "127.0.0.1", std::string_view path = "/") {
  client_config config;
  config.base_url =
      std::string(scheme) + "://" + std::string(host) + ":" + std::to_string(server.port()) + std::string(path);
  config.connect_timeout = 5s;
  config.request_timeout = 5s;
  return config;
}

std::unique_ptr<client> make_client(asio::io_context& ioc, client_config config) {
  auto c = client::create(ioc.get_executor(), std::move(config));
  require(c.has_value(), c ? "" : "client::create: " + c.error().to_string());
  return std::move(*c);
}

request get(std::string target = "ping") {
  request req;
  req.target = std::move(target);
  return req;
}

// Waits, under the test's global deadline, for something another coroutine does.
asio::awaitable<void> wait_until(std::function<bool()> done) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (!done()) {
    timer.expires_after(2ms);
    co_await timer.async_wait(asio::use_awaitable);
  }
}

std::string field(const wire_request& req, std::string_view name) {
  auto it = req.find(name);
  return it == req.end() ? std::string("<absent>") : std::string(it->value());
}

bool failed_with(const result<response>& r, boost::system::error_code expected) {
  return !r.has_value() && r.error().code == expected;
}

std::string describe(const result<response>& r) {
  return r ? "HTTP " + std::to_string(r->status) : r.error().to_string();
}

TEST(http_client, post_round_trip_carries_body_and_headers_both_ways) {
  asio::io_context ioc;
  reply answer;
  answer.status = 201;
  answer.body = R"({"id":"7"})";
  answer.headers = {{"Content-Type", "application/json"}, {"X-Reply", "yes"}};
  loopback_server server(ioc, always(answer));
  server.start();

  auto body = [&]() -> asio::awaitable<void> {
    auto config = config_for(server, "http", "127.0.0.1", "/crmapi/rest/v2");
    config.user_agent = "chargerecon-test/1";
    auto c = make_client(ioc, config);
    request req;
    req.verb = method::post;
    req.target = "netflix/charges/ack?x=1";
    req.body = R"({"number":"I0001","amount":"12.50"})";
    req.content_type = "application/json";
    req.headers = {{"Authorization", "Bearer t0ken"}, {"Idempotency-Key", "I0001"}};
    auto r = co_await c->send(req);
    require(r.has_value(), describe(r));
    EXPECT_EQ(r->status, 201u);
    EXPECT_EQ(r->body, R"({"id":"7"})");
    EXPECT_EQ(r->header("x-reply"), std::optional<std::string_view>("yes"));
    EXPECT_EQ(r->header("Content-Type"), std::optional<std::string_view>("application/json"));

    require(server.requests.size() == 1, "one request received");
    const auto& got = server.requests[0];
    EXPECT_EQ(got.method(), bhttp::verb::post);
    EXPECT_EQ(got.target(), "/crmapi/rest/v2/netflix/charges/ack?x=1");
    EXPECT_EQ(got.version(), 11u);
    EXPECT_EQ(field(got, "Host"), "127.0.0.1:" + std::to_string(server.port()));
    EXPECT_EQ(field(got, "User-Agent"), "chargerecon-test/1");
    EXPECT_EQ(field(got, "Content-Type"), "application/json");
    EXPECT_EQ(field(got, "Content-Length"), std::to_string(req.body.size()));
    EXPECT_EQ(field(got, "Authorization"), "Bearer t0ken");
    EXPECT_EQ(field(got, "Idempotency-Key"), "I0001");
    EXPECT_EQ(got.body(), req.body);
    server.stop();
  };
  ASSERT_TRUE(run_io(ioc, body(), io_deadline));
}

TEST(http_client, get_sends_no_body_and_returns_error_statuses_as_responses) {
  asio::io_context ioc;
  reply answer;
  answer.status = 503;
  answer.body = "busy";
  loopback_server server(ioc, always(answer));
  server.start();

  auto body = [&]() -> asio::awaitable<void> {
    auto c = make_client(ioc, config_for(server));
    auto r = co_await c->send(get("/status"));
    require(r.has_value(), describe(r));
    EXPECT_EQ(r->status, 503u);
    EXPECT_EQ(r->body, "busy");
    require(server.requests.size() == 1, "one request received");
    EXPECT_EQ(server.requests[0].method(), bhttp::verb::get);
    // A leading '/' on the request target does not double the base path's slash.
    EXPECT_EQ(server.requests[0].target(), "/status");
    EXPECT_EQ(server.requests[0].body(), "");
    EXPECT_EQ(field(server.requests[0], "Transfer-Encoding"), "<absent>");
    server.stop();
  };
  ASSERT_TRUE(run_io(ioc, body(), io_deadline));
}

TEST(http_client, a_redirect_is_returned_not_followed) {
  asio::io_context ioc;
  reply answer;
  answer.status = 302;
  answer.body = "";
  answer.headers = {{"Location", "http://127.0.0.1:1/elsewhere"}};
  loopback_server server(ioc, always(answer));
  server.start();

  auto body = [&]() -> asio::awaitable<void> {
    auto c = make_client(ioc, config_for(server));
    auto r = co_await c->send(get());
    require(r.has_value(), describe(r));
    EXPECT_EQ(r->status, 302u);
    EXPECT_EQ(r->header("Location"), std::optional<std::string_view>("http://127.0.0.1:1/elsewhere"));
    EXPECT_EQ(server.requests.size(), 1u);
    server.stop();
  };
  ASSERT_TRUE(run_io(ioc, body(), io_deadline));
}

TEST(http_client, sequential_sends_reuse_one_kept_alive_connection) {
  asio::io_context ioc;
  loopback_server server(ioc, always(reply{}));
  server.start();

  auto body = [&]() -> asio::awaitable<void> {
    auto c = make_client(ioc, config_for(server));
    for (int i = 0; i < 3; ++i) {
      auto r = co_await c->send(get());
      require(r.has_value(), describe(r));
    }
    EXPECT_EQ(server.accepted, 1);
    EXPECT_EQ(server.requests.size(), 3u);

    // After close_idle the next send needs a new connection.
    c->close_idle();
    auto r = co_await c->send(get());
    require(r.has_value(), describe(r));
    EXPECT_EQ(server.accepted, 2);
    server.stop();
  };
  ASSERT_TRUE(run_io(ioc, body(), io_deadline));
}

TEST(http_client, a_connection_the_server_refuses_to_keep_is_not_reused) {
  asio::io_context ioc;
  reply answer;
  answer.headers = {{"Connection", "close"}};
  answer.what = reply::kind::respond_then_close;
  loopback_server server(ioc, always(answer));
  server.start();

  auto body = [&]() -> asio::awaitable<void> {
    auto c = make_client(ioc, config_for(server));
    for (int i = 0; i < 2; ++i) {
      auto r = co_await c->send(get());
      require(r.has_value(), describe(r));
    }
    EXPECT_EQ(server.accepted, 2);
    EXPECT_EQ(server.requests.size(), 2u);  // no request went to a closed connection first
    server.stop();
  };
  ASSERT_TRUE(run_io(ioc, body(), io_deadline));
}

TEST(http_client, concurrent_sends_beyond_max_connections_wait_and_all_complete) {
  asio::io_context ioc;
  reply answer;
  answer.delay = 20ms;  // keeps exchanges overlapping so that sends must queue for a connection
  loopback_server server(ioc, always(answer));
  server.start();

  auto body = [&]() -> asio::awaitable<void> {
    auto config = config_for(server);
    config.max_connections = 2;
    auto c = make_client(ioc, config);
    constexpr int sends = 7;
    std::vector<result<response>> results;
    for (int i = 0; i < sends; ++i)
      asio::co_spawn(ioc, c->send(get("n" + std::to_string(i))), [&](std::exception_ptr e, result<response> r) {
        if (e) r = error{boost::asio::error::fault, "send threw"};
        results.push_back(std::move(r));
      });
    co_await wait_until([&] { return results.size() == sends; });
    for (const auto& r : results) EXPECT_TRUE(r.has_value() && r->status == 200) << describe(r);
    EXPECT_LE(server.accepted, 2);
    EXPECT_EQ(server.requests.size(), static_cast<std::size_t>(sends));
    server.stop();
  };
  ASSERT_TRUE(run_io(ioc, body(), io_deadline));
}

TEST(http_client, a_connection_closed_by_the_server_while_idle_is_replaced_transparently) {
  asio::io_context ioc;
  reply answer;
  answer.what = reply::kind::respond_then_close;  // keep-alive promised, then an "idle timeout"
  loopback_server server(ioc, always(answer));
  server.start();

  auto body = [&]() -> asio::awaitable<void> {
    auto c = make_client(ioc, config_for(server));
    auto first = co_await c->send(get("first"));
    require(first.has_value(), describe(first));
    co_await wait_until([&] { return server.closed == 1; });

    auto second = co_await c->send(get("second"));
    require(second.has_value(), describe(second));
    EXPECT_EQ(second->status, 200u);
    EXPECT_EQ(server.accepted, 2);
    // The stale connection carried nothing: the server saw each request once.
    require(server.requests.size() == 2, "two requests received");
    EXPECT_EQ(server.requests[1].target(), "/second");
    server.stop();
  };
  ASSERT_TRUE(run_io(ioc, body(), io_deadline));
}

TEST(http_client, a_server_that_never_answers_yields_request_timeout) {
  asio::io_context ioc;
  reply answer;
  answer.what = reply::kind::never_answer;
  loopback_server server(ioc, always(answer));
  server.start();

  auto body = [&]() -> asio::awaitable<void> {
    auto config = config_for(server);
    config.request_timeout = 200ms;
    auto c = make_client(ioc, config);
    auto r = co_await c->send(get());
    EXPECT_TRUE(failed_with(r, errc::request_timeout)) << describe(r);
    // The timed-out connection is closed, not pooled: the server sees the close.
    co_await wait_until([&] { return server.closed == 1; });
    server.stop();
  };
  ASSERT_TRUE(run_io(ioc, body(), io_deadline));
}

// One timer watches every exchange of a client: a hung exchange must time out on its own
// deadline, neither earlier nor taking down exchanges that are still within theirs.
TEST(http_client, each_exchange_times_out_on_its_own_deadline) {
  asio::io_context ioc;
  loopback_server server(ioc, [](const wire_request& req) {
    reply r;
    if (req.target() == "/hang") r.what = reply::kind::never_answer;
    if (req.target() == "/slow") r.delay = 500ms;
    return r;
  });
  server.start();

  auto body = [&]() -> asio::awaitable<void> {
    auto config = config_for(server);
    config.request_timeout = 800ms;
    auto c = make_client(ioc, config);
    const auto start = std::chrono::steady_clock::now();
    std::optional<result<response>> hung, slow;
    std::chrono::steady_clock::duration hung_after{};
    asio::co_spawn(ioc, c->send(get("hang")), [&](std::exception_ptr, result<response> r) {
      hung_after = std::chrono::steady_clock::now() - start;
      hung = std::move(r);
    });
    co_await wait_until([&] { return server.requests.size() == 1; });
    for (int i = 0; i < 3; ++i) {
      auto quick = co_await c->send(get("quick"));
      EXPECT_TRUE(quick.has_value() && quick->status == 200) << describe(quick);
    }
    // Starts before the hung exchange's deadline and answers after it, well within its own.
    asio::steady_timer pause(ioc, start + 500ms);
    co_await pause.async_wait(asio::use_awaitable);
    asio::co_spawn(ioc, c->send(get("slow")), [&](std::exception_ptr, result<response> r) { slow = std::move(r); });
    co_await wait_until([&] { return hung.has_value() && slow.has_value(); });

    EXPECT_TRUE(failed_with(*hung, errc::request_timeout)) << describe(*hung);
    // On its own deadline: not before, and well before the slow exchange's (at about 1.3 s).
    EXPECT_GE(hung_after, 800ms);
    EXPECT_LT(hung_after, 1200ms);
    EXPECT_TRUE(slow->has_value() && (*slow)->status == 200) << describe(*slow);
    // The timed-out connection is closed, not pooled: the server sees the close.
    co_await wait_until([&] { return server.closed >= 1; });
    server.stop();
  };
  ASSERT_TRUE(run_io(ioc, body(), io_deadline));
}

TEST(http_client, a_response_over_the_cap_yields_response_too_large) {
  asio::io_context ioc;
  loopback_server server(ioc, [](const wire_request& req) {
    reply r;
    r.body = std::string(req.target() == "/small" ? 500 : 64 * 1024, 'x');
    return r;
  });
  server.start();

  auto body = [&]() -> asio::awaitable<void> {
    auto config = config_for(server);
    config.max_response_bytes = 1024;
    auto c = make_client(ioc, config);
    auto small = co_await c->send(get("small"));
    require(small.has_value(), describe(small));
    EXPECT_EQ(small->body.size(), 500u);

    auto large = co_await c->send(get("large"));
    EXPECT_TRUE(failed_with(large, errc::response_too_large)) << describe(large);
    server.stop();
  };
  ASSERT_TRUE(run_io(ioc, body(), io_deadline));
}

TEST(http_client, headers_over_the_cap_yield_response_too_large) {
  asio::io_context ioc;
  reply answer;
  answer.body = "";
  answer.headers = {{"X-Padding", std::string(4096, 'p')}};
  loopback_server server(ioc, always(answer));
  server.start();

  auto body = [&]() -> asio::awaitable<void> {
    auto config = config_for(server);
    config.max_response_bytes = 1024;
    auto c = make_client(ioc, config);
    auto r = co_await c->send(get());
    EXPECT_TRUE(failed_with(r, errc::response_too_large)) << describe(r);
    server.stop();
  };
  ASSERT_TRUE(run_io(ioc, body(), io_deadline));
}

TEST(http_client, a_peer_dropping_mid_response_yields_connection_lost_without_a_retry) {
  asio::io_context ioc;
  loopback_server server(ioc, [](const wire_request& req) {
    reply r;
    if (req.target() == "/drop") r.what = reply::kind::truncate;
    return r;
  });
  server.start();

  auto body = [&]() -> asio::awaitable<void> {
    auto c = make_client(ioc, config_for(server));
    auto warm = co_await c->send(get("warm"));  // so that the failing send reuses a connection
    require(warm.has_value(), describe(warm));
    auto r = co_await c->send(get("drop"));
    EXPECT_TRUE(failed_with(r, errc::connection_lost)) << describe(r);
    // Part of a response arrived: the request is not silently sent again.
    EXPECT_EQ(server.requests.size(), 2u);
    EXPECT_EQ(server.accepted, 1);
    server.stop();
  };
  ASSERT_TRUE(run_io(ioc, body(), io_deadline));
}

TEST(http_client, a_peer_that_does_not_speak_http_yields_http_protocol_error) {
  asio::io_context ioc;
  reply answer;
  answer.what = reply::kind::garbage;
  loopback_server server(ioc, always(answer));
  server.start();

  auto body = [&]() -> asio::awaitable<void> {
    auto c = make_client(ioc, config_for(server));
    auto r = co_await c->send(get());
    EXPECT_TRUE(failed_with(r, errc::http_protocol_error)) << describe(r);
    server.stop();
  };
  ASSERT_TRUE(run_io(ioc, body(), io_deadline));
}

TEST(http_client, cancellation_aborts_a_send_and_closes_its_connection) {
  asio::io_context ioc;
  reply answer;
  answer.what = reply::kind::never_answer;
  loopback_server server(ioc, always(answer));
  server.start();

  auto body = [&]() -> asio::awaitable<void> {
    auto c = make_client(ioc, config_for(server));  // request_timeout 5 s: cancellation comes first
    asio::cancellation_signal cancel;
    std::optional<result<response>> outcome;
    asio::co_spawn(ioc, c->send(get()),
                   asio::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr e, result<response> r) {
                     if (e) r = error{boost::asio::error::fault, "send threw"};
                     outcome = std::move(r);
                   }));
    co_await wait_until([&] { return server.requests.size() == 1; });
    cancel.emit(asio::cancellation_type::terminal);
    co_await wait_until([&] { return outcome.has_value(); });
    EXPECT_TRUE(failed_with(*outcome, asio::error::operation_aborted)) << describe(*outcome);
    co_await wait_until([&] { return server.closed == 1; });
    server.stop();
  };
  ASSERT_TRUE(run_io(ioc, body(), io_deadline));
}

TEST(http_client, cancellation_while_waiting_for_a_connection_aborts_only_that_send) {
  asio::io_context ioc;
  loopback_server server(ioc, [](const wire_request& req) {
    reply r;
    if (req.target() == "/slow") r.delay = 100ms;
    return r;
  });
  server.start();

  auto body = [&]() -> asio::awaitable<void> {
    auto config = config_for(server);
    config.max_connections = 1;
    auto c = make_client(ioc, config);
    std::optional<result<response>> slow, queued;
    asio::cancellation_signal cancel;
    asio::co_spawn(ioc, c->send(get("slow")), [&](std::exception_ptr, result<response> r) { slow = std::move(r); });
    asio::co_spawn(ioc, c->send(get("queued")),
                   asio::bind_cancellation_slot(
                       cancel.slot(), [&](std::exception_ptr, result<response> r) { queued = std::move(r); }));
    co_await wait_until([&] { return server.requests.size() == 1; });
    cancel.emit(asio::cancellation_type::terminal);
    co_await wait_until([&] { return slow.has_value() && queued.has_value(); });
    EXPECT_TRUE(failed_with(*queued, asio::error::operation_aborted)) << describe(*queued);
    EXPECT_TRUE(slow->has_value()) << describe(*slow);
    // The permit of the cancelled waiter was not lost: the pool still serves.
    auto again = co_await c->send(get("again"));
    EXPECT_TRUE(again.has_value()) << describe(again);
    EXPECT_EQ(server.requests.size(), 2u);
    server.stop();
  };
  ASSERT_TRUE(run_io(ioc, body(), io_deadline));
}

TEST(http_client, header_injection_is_refused_before_anything_is_sent) {
  asio::io_context ioc;
  loopback_server server(ioc, always(reply{}));
  server.start();

  auto body = [&]() -> asio::awaitable<void> {
    auto c = make_client(ioc, config_for(server));
    auto injected = get();
    injected.headers = {{"Authorization", "Bearer x\r\nX-Evil: 1"}};
    auto r1 = co_await c->send(injected);
    EXPECT_TRUE(failed_with(r1, errc::invalid_request)) << describe(r1);
    if (!r1) {
      EXPECT_EQ(r1.error().diagnostic.find("Bearer"), std::string::npos) << "the value may be a secret";
    }

    auto bad_name = get();
    bad_name.headers = {{"X Bad", "1"}};
    EXPECT_TRUE(failed_with(co_await c->send(bad_name), errc::invalid_request));

    auto framing = get();
    framing.headers = {{"content-length", "0"}};
    EXPECT_TRUE(failed_with(co_await c->send(framing), errc::invalid_request));

    EXPECT_TRUE(failed_with(co_await c->send(get("a b")), errc::invalid_request));
    EXPECT_TRUE(failed_with(co_await c->send(get("a\r\nb")), errc::invalid_request));
    EXPECT_EQ(server.accepted, 0);
    server.stop();
  };
  ASSERT_TRUE(run_io(ioc, body(), io_deadline));
}

TEST(http_client, nothing_listening_yields_connect_failed) {
  asio::io_context ioc;
  unsigned short port = 0;
  {
    // A port that was free a moment ago and is closed now.
    tcp::acceptor probe(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = probe.local_endpoint().port();
  }

  auto body = [&]() -> asio::awaitable<void> {
    client_config config;
    config.base_url = "http://127.0.0.1:" + std::to_string(port) + "/";
    auto c = make_client(ioc, config);
    auto r = co_await c->send(get());
    EXPECT_TRUE(failed_with(r, errc::connect_failed)) << describe(r);
  };
  ASSERT_TRUE(run_io(ioc, body(), io_deadline));
}

TEST(http_client, create_refuses_a_bad_url_and_an_unreadable_ca_file) {
  asio::io_context ioc;
  client_config config;
  config.base_url = "http://crm.example.com/";
  auto refused = client::create(ioc.get_executor(), config);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, make_error_code(errc::plain_http_refused));

  config.base_url = "https://crm.example.com/";
  config.ca_file = "/nonexistent/chargerecon/ca.pem";
  auto no_ca = client::create(ioc.get_executor(), config);
  ASSERT_FALSE(no_ca);
  EXPECT_EQ(no_ca.error().code, make_error_code(errc::tls_setup_failed));
  EXPECT_NE(no_ca.error().diagnostic.find("/nonexistent/chargerecon/ca.pem"), std::string::npos);

  config.ca_file.clear();
  auto ok = client::create(ioc.get_executor(), config);
  ASSERT_TRUE(ok) << ok.error().to_string();
  EXPECT_EQ((*ok)->url().host, "crm.example.com");
}

// TLS ----------------------------------------------------------------------------------------

class http_client_tls : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { files_ = new test::tls_fixture(); }
  static void TearDownTestSuite() {
    delete files_;
    files_ = nullptr;
  }
  static const test::tls_fixture& files() { return *files_; }

 private:
  static inline test::tls_fixture* files_ = nullptr;
};

TEST_F(http_client_tls, a_self_signed_server_is_refused_by_default) {
  asio::io_context ioc;
  loopback_server server(ioc, always(reply{}));
  server.use_tls(files().self_signed_cert_file, files().self_signed_key_file);
  server.start();

  auto body = [&]() -> asio::awaitable<void> {
    auto c = make_client(ioc, config_for(server, "https", "localhost"));
    auto r = co_await c->send(get());
    EXPECT_TRUE(failed_with(r, errc::tls_handshake_failed)) << describe(r);
    if (!r) {
      EXPECT_NE(r.error().diagnostic.find("not trusted"), std::string::npos) << r.error().diagnostic;
    }
    EXPECT_TRUE(server.requests.empty());
    server.stop();
  };
  ASSERT_TRUE(run_io(ioc, body(), io_deadline));
}

TEST_F(http_client_tls, a_self_signed_server_is_refused_when_trusting_another_ca) {
  asio::io_context ioc;
  loopback_server server(ioc, always(reply{}));
  server.use_tls(files().self_signed_cert_file, files().self_signed_key_file);
  server.start();

  auto body = [&]() -> asio::awaitable<void> {
    auto config = config_for(server, "https", "localhost");
    config.ca_file = files().ca_file;
    auto c = make_client(ioc, config);
    auto r = co_await c->send(get());
    EXPECT_TRUE(failed_with(r, errc::tls_handshake_failed)) << describe(r);
    EXPECT_TRUE(server.requests.empty());
    server.stop();
  };
  ASSERT_TRUE(run_io(ioc, body(), io_deadline));
}

TEST_F(http_client_tls, a_server_signed_by_the_configured_ca_is_trusted_by_name_and_by_ip) {
  asio::io_context ioc;
  loopback_server server(ioc, always(reply{}));
  server.use_tls(files().cert_file, files().key_file);
  server.start();

  auto body = [&]() -> asio::awaitable<void> {
    for (const char* host : {"localhost", "127.0.0.1"}) {
      auto config = config_for(server, "https", host, "/api/");
      config.ca_file = files().ca_file;
      auto c = make_client(ioc, config);
      for (int i = 0; i < 2; ++i) {
        auto r = co_await c->send(get("x"));
        require(r.has_value(), std::string(host) + ": " + describe(r));
        EXPECT_EQ(r->status, 200u);
      }
    }
    EXPECT_EQ(server.accepted, 2);  // one kept-alive TLS connection per client
    EXPECT_EQ(server.requests.size(), 4u);
    server.stop();
  };
  ASSERT_TRUE(run_io(ioc, body(), io_deadline));
}

TEST_F(http_client_tls, a_tls_connection_closed_while_idle_is_replaced_transparently) {
  asio::io_context ioc;
  reply answer;
  answer.what = reply::kind::respond_then_close;
  loopback_server server(ioc, always(answer));
  server.use_tls(files().cert_file, files().key_file);
  server.start();

  auto body = [&]() -> asio::awaitable<void> {
    auto config = config_for(server, "https", "localhost");
    config.ca_file = files().ca_file;
    auto c = make_client(ioc, config);
    auto first = co_await c->send(get());
    require(first.has_value(), describe(first));
    co_await wait_until([&] { return server.closed == 1; });
    auto second = co_await c->send(get());
    require(second.has_value(), describe(second));
    EXPECT_EQ(server.accepted, 2);
    EXPECT_EQ(server.requests.size(), 2u);
    server.stop();
  };
  ASSERT_TRUE(run_io(ioc, body(), io_deadline));
}

TEST_F(http_client_tls, a_certificate_for_another_name_is_refused) {
  asio::io_context ioc;
  // The certificate names localhost and 127.0.0.1; 127.0.0.2 is loopback too on Linux, but it
  // is not on the certificate.
  std::optional<loopback_server> server;
  try {
    server.emplace(ioc, always(reply{}), "127.0.0.2");
  } catch (const boost::system::system_error& e) {
    GTEST_SKIP() << "cannot listen on 127.0.0.2: " << e.what();
  }
  server->use_tls(files().cert_file, files().key_file);
  server->start();

  auto body = [&]() -> asio::awaitable<void> {
    auto config = config_for(*server, "https", "127.0.0.2");
    config.ca_file = files().ca_file;
    auto c = make_client(ioc, config);
    auto r = co_await c->send(get());
    EXPECT_TRUE(failed_with(r, errc::tls_handshake_failed)) << describe(r);
    if (!r) {
      EXPECT_NE(r.error().diagnostic.find("mismatch"), std::string::npos) << r.error().diagnostic;
    }
    EXPECT_TRUE(server->requests.empty());
    server->stop();
  };
  ASSERT_TRUE(run_io(ioc, body(), io_deadline));
}

TEST_F(http_client_tls, a_server_that_never_completes_the_handshake_yields_connect_timeout) {
  asio::io_context ioc;
  loopback_server server(ioc, always(reply{}));
  server.go_silent();
  server.start();

  auto body = [&]() -> asio::awaitable<void> {
    auto config = config_for(server, "https", "localhost");
    config.ca_file = files().ca_file;
    config.connect_timeout = 200ms;
    auto c = make_client(ioc, config);
    auto r = co_await c->send(get());
    EXPECT_TRUE(failed_with(r, errc::connect_timeout)) << describe(r);
    co_await wait_until([&] { return server.closed == 1; });
    server.stop();
  };
  ASSERT_TRUE(run_io(ioc, body(), io_deadline));
}

}  // namespace
}  // namespace chargerecon::http
