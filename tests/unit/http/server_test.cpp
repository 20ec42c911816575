#include "http/server.hpp"

#include "support/io_deadline.hpp"
#include "support/tls_fixture.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/ostream.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <gtest/gtest.h>

#include <array>
#include <optional>
#include <string>
#include <vector>

namespace chargerecon::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using chargerecon::test::require;
using chargerecon::test::run_io;
using namespace std::chrono_literals;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

using beast_request = bhttp::request<bhttp::string_body>;
using beast_response = bhttp::response<bhttp::string_body>;

// Opened once by one side, awaited by the other: orders steps across coroutines without sleeping.
class gate {
 public:
  explicit gate(asio::io_context& ioc) : timer_(ioc) {}
  void open() {
    open_ = true;
    timer_.cancel();
  }
  bool is_open() const { return open_; }
  asio::awaitable<void> wait() {
    while (!open_) {
      timer_.expires_at(asio::steady_timer::time_point::max());
      co_await timer_.async_wait(use_tuple);
    }
  }

 private:
  asio::steady_timer timer_;
  bool open_ = false;
};

server_reply reply_with(unsigned status, std::string body) {
  server_reply r;
  r.resp.status = status;
  r.resp.body = std::move(body);
  return r;
}

asio::awaitable<beast::tcp_stream> connect_to(std::uint16_t port) {
  beast::tcp_stream stream(co_await asio::this_coro::executor);
  co_await stream.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), asio::use_awaitable);
  co_return stream;
}

beast_request make_request(bhttp::verb verb, std::string target, std::string body = {}) {
  beast_request req{verb, target, 11};
  req.set(bhttp::field::host, "127.0.0.1");
  req.body() = std::move(body);
  req.prepare_payload();
  return req;
}

template <class Stream>
asio::awaitable<beast_response> exchange(Stream& stream, beast_request req) {
  co_await bhttp::async_write(stream, req, asio::use_awaitable);
  beast::flat_buffer buffer;
  beast_response res;
  co_await bhttp::async_read(stream, buffer, res, asio::use_awaitable);
  co_return res;
}

// Reads until the server closes the connection: the error that ended the read, and how many
// bytes came before it.
asio::awaitable<std::pair<error_code, std::size_t>> read_until_closed(beast::tcp_stream& stream) {
  std::array<char, 1024> sink;
  std::size_t total = 0;
  for (;;) {
    auto [ec, n] = co_await stream.async_read_some(asio::buffer(sink), use_tuple);
    total += n;
    if (ec) co_return std::pair{ec, total};
  }
}

bool is_closed_by_peer(const error_code& ec) {
  return ec == asio::error::eof || ec == asio::error::connection_reset;
}

class server_test : public ::testing::Test {
 protected:
  std::unique_ptr<server> make_server(handler h, server_config config = {}) {
    auto s = server::create(ioc.get_executor(), std::move(config), std::move(h));
    if (!s) throw std::runtime_error(s.error().to_string());
    return std::move(*s);
  }

  // Starts srv.run(); run_returned tells when it has returned.
  void start(server& srv) {
    asio::co_spawn(ioc, srv.run(), [this](std::exception_ptr e) {
      run_returned = true;
      run_failure = e;
    });
  }

  asio::io_context ioc;
  bool run_returned = false;
  std::exception_ptr run_failure;
};

TEST_F(server_test, get_and_post_round_trip_with_headers_and_body) {
  std::vector<server_request> seen;
  auto srv = make_server([&](server_request req) -> asio::awaitable<server_reply> {
    seen.push_back(req);
    auto r = reply_with(201, "{\"echo\":\"" + req.body + "\"}");
    r.resp.headers.push_back({"X-Seen", req.target});
    if (req.target == "/text") r.resp.headers.push_back({"Content-Type", "text/plain"});
    co_return r;
  });
  start(*srv);

  auto body = [&]() -> asio::awaitable<void> {
    auto stream = co_await connect_to(srv->port());

    auto get = make_request(bhttp::verb::get, "/crmapi/rest/v2/netflix/charges/list?offset=0&size=10");
    get.set("X-Test", "yes");
    const auto got = co_await exchange(stream, get);
    EXPECT_EQ(got.result_int(), 201u);
    EXPECT_EQ(got.body(), "{\"echo\":\"\"}");
    EXPECT_EQ(got[bhttp::field::content_type], "application/json");
    EXPECT_EQ(got["X-Seen"], "/crmapi/rest/v2/netflix/charges/list?offset=0&size=10");

    auto post = make_request(bhttp::verb::post, "/charges", "payload");
    post.set(bhttp::field::content_type, "application/json");
    post.set(bhttp::field::authorization, "Bearer t0k3n");
    const auto posted = co_await exchange(stream, post);
    EXPECT_EQ(posted.result_int(), 201u);
    EXPECT_EQ(posted.body(), "{\"echo\":\"payload\"}");
    EXPECT_EQ(posted[bhttp::field::content_length], "18");

    const auto text = co_await exchange(stream, make_request(bhttp::verb::get, "/text"));
    EXPECT_EQ(text[bhttp::field::content_type], "text/plain");
    srv->stop();
  };
  ASSERT_TRUE(run_io(ioc, body()));
  EXPECT_TRUE(run_returned);
  EXPECT_FALSE(run_failure);

  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].verb, method::get);
  EXPECT_EQ(seen[0].target, "/crmapi/rest/v2/netflix/charges/list?offset=0&size=10");
  EXPECT_EQ(seen[0].header("x-test"), "yes");
  EXPECT_TRUE(seen[0].body.empty());
  EXPECT_EQ(seen[1].verb, method::post);
  EXPECT_EQ(seen[1].body, "payload");
  EXPECT_EQ(seen[1].header("Content-Type"), "application/json");
  EXPECT_EQ(seen[1].header("authorization"), "Bearer t0k3n");
}

TEST_F(server_test, a_request_in_pieces_reaches_the_handler_whole_with_repeated_headers_together) {
  std::vector<server_request> seen;
  auto srv = make_server([&](server_request req) -> asio::awaitable<server_reply> {
    seen.push_back(req);
    co_return reply_with(200, "{}");
  });
  start(*srv);

  auto body = [&]() -> asio::awaitable<void> {
    auto stream = co_await connect_to(srv->port());
    const std::string pieces[] = {
        "POST /bill HT",
        "TP/1.1\r\nHost: h\r\nX-A: 1\r\nTransfer-Encoding: chunked\r\nX-B:  two \r\nx-a: 3\r\n\r\n7\r\n{\"n\"",
        ":1}\r\n0\r\n\r\n",
    };
    for (const auto& piece : pieces) {
      co_await asio::async_write(stream, asio::buffer(piece), asio::use_awaitable);
      asio::steady_timer pause(co_await asio::this_coro::executor, 20ms);
      co_await pause.async_wait(asio::use_awaitable);
    }
    beast::flat_buffer buffer;
    beast_response res;
    co_await bhttp::async_read(stream, buffer, res, asio::use_awaitable);
    EXPECT_EQ(res.result_int(), 200u);
    srv->stop();
  };
  ASSERT_TRUE(run_io(ioc, body()));

  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].body, "{\"n\":1}");
  std::vector<std::string> order;
  for (const auto& h : seen[0].headers) order.push_back(h.name + "=" + h.value);
  // Beast's message kept a repeated name next to its first, and the value without its spaces.
  EXPECT_EQ(order, (std::vector<std::string>{"Host=h", "X-A=1", "x-a=3", "Transfer-Encoding=chunked", "X-B=two"}));
}

TEST_F(server_test, an_answer_larger_than_the_socket_takes_at_once_arrives_whole) {
  // Bigger than a loopback socket's buffers: the server sends what fits and waits for the rest.
  std::string big(24 * 1024 * 1024, 'x');
  for (std::size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>('a' + (i / 4096) % 26);
  auto srv = make_server([&](server_request) -> asio::awaitable<server_reply> { co_return reply_with(200, big); });
  start(*srv);

  auto body = [&]() -> asio::awaitable<void> {
    auto stream = co_await connect_to(srv->port());
    auto req = make_request(bhttp::verb::get, "/big");
    co_await bhttp::async_write(stream, req, asio::use_awaitable);
    // Read nothing for a while, so that the server's first write cannot take it all.
    asio::steady_timer pause(co_await asio::this_coro::executor, 100ms);
    co_await pause.async_wait(use_tuple);
    beast::flat_buffer buffer;
    for (int round = 0; round < 2; ++round) {
      if (round > 0) co_await bhttp::async_write(stream, req, asio::use_awaitable);  // the connection stays good
      bhttp::response_parser<bhttp::string_body> parser;
      parser.body_limit(big.size() + 1);
      co_await bhttp::async_read(stream, buffer, parser, asio::use_awaitable);
      EXPECT_EQ(parser.get().result_int(), 200u);
      EXPECT_TRUE(parser.get().body() == big) << "the body differs";
    }
    srv->stop();
  };
  ASSERT_TRUE(run_io(ioc, body()));
}

TEST_F(server_test, keeps_the_connection_alive_between_requests) {
  int calls = 0;
  auto srv = make_server([&](server_request) -> asio::awaitable<server_reply> {
    co_return reply_with(200, std::to_string(++calls));
  });
  start(*srv);

  auto body = [&]() -> asio::awaitable<void> {
    auto stream = co_await connect_to(srv->port());
    const auto first = co_await exchange(stream, make_request(bhttp::verb::get, "/one"));
    EXPECT_EQ(first.body(), "1");
    EXPECT_TRUE(first.keep_alive());
    // Same socket: had the server closed it, this exchange would fail.
    const auto second = co_await exchange(stream, make_request(bhttp::verb::post, "/two", "x"));
    EXPECT_EQ(second.body(), "2");
    EXPECT_TRUE(second.keep_alive());
    srv->stop();
  };
  ASSERT_TRUE(run_io(ioc, body()));
  EXPECT_EQ(calls, 2);
}

TEST_F(server_test, drop_closes_the_connection_without_an_answer) {
  int calls = 0;
  auto srv = make_server([&](server_request) -> asio::awaitable<server_reply> {
    ++calls;
    server_reply r;
    r.what = server_reply::action::drop;
    co_return r;
  });
  start(*srv);

  auto body = [&]() -> asio::awaitable<void> {
    auto stream = co_await connect_to(srv->port());
    auto req = make_request(bhttp::verb::post, "/charges", "{}");
    co_await bhttp::async_write(stream, req, asio::use_awaitable);
    const auto [ec, bytes] = co_await read_until_closed(stream);
    EXPECT_TRUE(is_closed_by_peer(ec)) << ec.message();
    EXPECT_EQ(bytes, 0u);
    srv->stop();
  };
  ASSERT_TRUE(run_io(ioc, body()));
  EXPECT_EQ(calls, 1);
}

TEST_F(server_test, respond_and_close_says_connection_close_and_closes) {
  auto srv = make_server([&](server_request) -> asio::awaitable<server_reply> {
    auto r = reply_with(503, "{\"status\":\"busy\"}");
    r.what = server_reply::action::respond_and_close;
    co_return r;
  });
  start(*srv);

  auto body = [&]() -> asio::awaitable<void> {
    auto stream = co_await connect_to(srv->port());
    const auto res = co_await exchange(stream, make_request(bhttp::verb::get, "/x"));
    EXPECT_EQ(res.result_int(), 503u);
    EXPECT_EQ(res.body(), "{\"status\":\"busy\"}");
    EXPECT_EQ(res[bhttp::field::connection], "close");
    const auto [ec, bytes] = co_await read_until_closed(stream);
    EXPECT_TRUE(is_closed_by_peer(ec)) << ec.message();
    EXPECT_EQ(bytes, 0u);
    srv->stop();
  };
  ASSERT_TRUE(run_io(ioc, body()));
}

TEST_F(server_test, a_request_that_asks_to_close_is_answered_then_closed) {
  auto srv = make_server([&](server_request) -> asio::awaitable<server_reply> { co_return reply_with(200, "{}"); });
  start(*srv);

  auto body = [&]() -> asio::awaitable<void> {
    auto stream = co_await connect_to(srv->port());
    auto req = make_request(bhttp::verb::get, "/x");
    req.keep_alive(false);
    const auto res = co_await exchange(stream, req);
    EXPECT_EQ(res.result_int(), 200u);
    EXPECT_FALSE(res.keep_alive());
    const auto [ec, bytes] = co_await read_until_closed(stream);
    EXPECT_TRUE(is_closed_by_peer(ec)) << ec.message();
    srv->stop();
  };
  ASSERT_TRUE(run_io(ioc, body()));
}

TEST_F(server_test, an_oversized_body_is_answered_413_without_reaching_the_handler) {
  int calls = 0;
  server_config config;
  config.max_request_bytes = 1024;
  auto srv = make_server(
      [&](server_request) -> asio::awaitable<server_reply> {
        ++calls;
        co_return reply_with(200, "{}");
      },
      config);
  start(*srv);

  auto body = [&]() -> asio::awaitable<void> {
    {
      auto stream = co_await connect_to(srv->port());
      const auto fits = co_await exchange(stream, make_request(bhttp::verb::post, "/x", std::string(1024, 'a')));
      EXPECT_EQ(fits.result_int(), 200u);
    }
    auto stream = co_await connect_to(srv->port());
    const auto res = co_await exchange(stream, make_request(bhttp::verb::post, "/x", std::string(64 * 1024, 'a')));
    EXPECT_EQ(res.result_int(), 413u);
    EXPECT_EQ(res[bhttp::field::connection], "close");
    const auto [ec, bytes] = co_await read_until_closed(stream);
    EXPECT_TRUE(is_closed_by_peer(ec)) << ec.message();
    srv->stop();
  };
  ASSERT_TRUE(run_io(ioc, body()));
  EXPECT_EQ(calls, 1);
}

TEST_F(server_test, garbage_bytes_are_answered_400_and_closed) {
  int calls = 0;
  auto srv = make_server([&](server_request) -> asio::awaitable<server_reply> {
    ++calls;
    co_return reply_with(200, "{}");
  });
  start(*srv);

  auto body = [&]() -> asio::awaitable<void> {
    auto stream = co_await connect_to(srv->port());
    const std::string garbage = "\x16\x03\x01\x02 not http at all\r\n\r\n";
    co_await asio::async_write(stream, asio::buffer(garbage), asio::use_awaitable);
    beast::flat_buffer buffer;
    beast_response res;
    co_await bhttp::async_read(stream, buffer, res, asio::use_awaitable);
    EXPECT_EQ(res.result_int(), 400u);
    EXPECT_FALSE(res.keep_alive());
    const auto [ec, bytes] = co_await read_until_closed(stream);
    EXPECT_TRUE(is_closed_by_peer(ec)) << ec.message();
    srv->stop();
  };
  ASSERT_TRUE(run_io(ioc, body()));
  EXPECT_EQ(calls, 0);
}

TEST_F(server_test, other_methods_are_answered_405_and_the_connection_stays_usable) {
  auto srv = make_server([&](server_request) -> asio::awaitable<server_reply> { co_return reply_with(200, "ok"); });
  start(*srv);

  auto body = [&]() -> asio::awaitable<void> {
    auto stream = co_await connect_to(srv->port());
    const auto refused = co_await exchange(stream, make_request(bhttp::verb::delete_, "/x"));
    EXPECT_EQ(refused.result_int(), 405u);
    EXPECT_EQ(refused[bhttp::field::allow], "GET, POST");
    const auto ok = co_await exchange(stream, make_request(bhttp::verb::get, "/x"));
    EXPECT_EQ(ok.body(), "ok");
    srv->stop();
  };
  ASSERT_TRUE(run_io(ioc, body()));
}

TEST_F(server_test, expect_100_continue_is_honoured) {
  auto srv = make_server([&](server_request req) -> asio::awaitable<server_reply> {
    co_return reply_with(200, req.body);
  });
  start(*srv);

  auto body = [&]() -> asio::awaitable<void> {
    auto stream = co_await connect_to(srv->port());
    const std::string head =
        "POST /x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n";
    co_await asio::async_write(stream, asio::buffer(head), asio::use_awaitable);
    // The body goes only after the interim answer, as curl does.
    std::string interim;
    co_await asio::async_read_until(stream, asio::dynamic_buffer(interim), "\r\n\r\n", asio::use_awaitable);
    EXPECT_EQ(interim.substr(0, 25), "HTTP/1.1 100 Continue\r\n\r\n");
    const std::string rest = interim.substr(interim.find("\r\n\r\n") + 4);
    co_await asio::async_write(stream, asio::buffer(std::string("hello")), asio::use_awaitable);
    beast::flat_buffer buffer;
    beast::ostream(buffer) << rest;
    beast_response res;
    co_await bhttp::async_read(stream, buffer, res, asio::use_awaitable);
    EXPECT_EQ(res.result_int(), 200u);
    EXPECT_EQ(res.body(), "hello");
    srv->stop();
  };
  ASSERT_TRUE(run_io(ioc, body()));
}

TEST_F(server_test, a_slow_handler_does_not_block_other_connections) {
  gate slow_entered(ioc);
  gate release_slow(ioc);
  auto srv = make_server([&](server_request req) -> asio::awaitable<server_reply> {
    if (req.target == "/slow") {
      slow_entered.open();
      co_await release_slow.wait();  // simulated latency that lasts until the test says so
    }
    co_return reply_with(200, req.target);
  });
  start(*srv);

  std::vector<std::string> completed;
  gate slow_done(ioc);
  auto slow_client = [&]() -> asio::awaitable<void> {
    auto stream = co_await connect_to(srv->port());
    const auto res = co_await exchange(stream, make_request(bhttp::verb::get, "/slow"));
    completed.push_back(res.body());
    slow_done.open();
  };
  auto body = [&]() -> asio::awaitable<void> {
    asio::co_spawn(ioc, slow_client(), asio::detached);
    co_await slow_entered.wait();
    auto stream = co_await connect_to(srv->port());
    const auto res = co_await exchange(stream, make_request(bhttp::verb::get, "/fast"));
    completed.push_back(res.body());
    release_slow.open();
    co_await slow_done.wait();
    srv->stop();
  };
  ASSERT_TRUE(run_io(ioc, body()));
  EXPECT_EQ(completed, (std::vector<std::string>{"/fast", "/slow"}));
}

TEST_F(server_test, stop_ends_run_idle_connections_and_suspended_handlers) {
  gate slow_entered(ioc);
  bool handler_cancelled = false;
  auto srv = make_server([&](server_request req) -> asio::awaitable<server_reply> {
    if (req.target == "/forever") {
      slow_entered.open();
      asio::steady_timer latency(co_await asio::this_coro::executor, std::chrono::hours(1));
      try {
        co_await latency.async_wait(asio::use_awaitable);
      } catch (const boost::system::system_error&) {
        handler_cancelled = true;
        throw;
      }
    }
    co_return reply_with(200, "{}");
  });
  start(*srv);

  std::optional<error_code> slow_result;
  gate slow_done(ioc);
  auto slow_client = [&]() -> asio::awaitable<void> {
    auto stream = co_await connect_to(srv->port());
    auto req = make_request(bhttp::verb::get, "/forever");
    co_await bhttp::async_write(stream, req, asio::use_awaitable);
    beast::flat_buffer buffer;
    beast_response res;
    auto [ec, n] = co_await bhttp::async_read(stream, buffer, res, use_tuple);
    slow_result = ec;
    slow_done.open();
  };
  auto body = [&]() -> asio::awaitable<void> {
    auto idle = co_await connect_to(srv->port());
    const auto res = co_await exchange(idle, make_request(bhttp::verb::get, "/quick"));
    EXPECT_EQ(res.result_int(), 200u);
    asio::co_spawn(ioc, slow_client(), asio::detached);
    co_await slow_entered.wait();

    srv->stop();
    const auto [ec, bytes] = co_await read_until_closed(idle);
    EXPECT_TRUE(is_closed_by_peer(ec)) << ec.message();
    co_await slow_done.wait();
  };
  // Out of work at the end: the handler's hour-long timer did not survive stop().
  ASSERT_TRUE(run_io(ioc, body()));
  EXPECT_TRUE(run_returned);
  EXPECT_TRUE(handler_cancelled);
  ASSERT_TRUE(slow_result.has_value());
  EXPECT_EQ(*slow_result, bhttp::error::end_of_stream) << slow_result->message();
}

TEST_F(server_test, cancelling_run_stops_the_server) {
  auto srv = make_server([&](server_request) -> asio::awaitable<server_reply> { co_return reply_with(200, "{}"); });
  asio::cancellation_signal cancel_run;
  asio::co_spawn(ioc, srv->run(), asio::bind_cancellation_slot(cancel_run.slot(), [&](std::exception_ptr e) {
                   run_returned = true;
                   run_failure = e;
                 }));

  auto body = [&]() -> asio::awaitable<void> {
    auto stream = co_await connect_to(srv->port());
    const auto res = co_await exchange(stream, make_request(bhttp::verb::get, "/x"));
    EXPECT_EQ(res.result_int(), 200u);
    cancel_run.emit(asio::cancellation_type::total);  // what SIGTERM asks of every task
    const auto [ec, bytes] = co_await read_until_closed(stream);
    EXPECT_TRUE(is_closed_by_peer(ec)) << ec.message();
  };
  ASSERT_TRUE(run_io(ioc, body()));
  EXPECT_TRUE(run_returned);
  EXPECT_FALSE(run_failure);
}

TEST_F(server_test, destroying_the_server_ends_its_connections_safely) {
  gate slow_entered(ioc);
  auto srv = make_server([&](server_request) -> asio::awaitable<server_reply> {
    slow_entered.open();
    asio::steady_timer latency(co_await asio::this_coro::executor, std::chrono::hours(1));
    co_await latency.async_wait(asio::use_awaitable);
    co_return reply_with(200, "{}");
  });
  start(*srv);

  auto body = [&]() -> asio::awaitable<void> {
    auto stream = co_await connect_to(srv->port());
    auto req = make_request(bhttp::verb::get, "/x");
    co_await bhttp::async_write(stream, req, asio::use_awaitable);
    co_await slow_entered.wait();
    srv.reset();
    const auto [ec, bytes] = co_await read_until_closed(stream);
    EXPECT_TRUE(is_closed_by_peer(ec)) << ec.message();
    EXPECT_EQ(bytes, 0u);
  };
  ASSERT_TRUE(run_io(ioc, body()));
  EXPECT_TRUE(run_returned);
}

TEST_F(server_test, an_idle_client_is_disconnected_after_idle_timeout) {
  server_config config;
  config.idle_timeout = 100ms;
  auto srv = make_server([&](server_request) -> asio::awaitable<server_reply> { co_return reply_with(200, "{}"); },
                         config);
  start(*srv);

  auto body = [&]() -> asio::awaitable<void> {
    auto stream = co_await connect_to(srv->port());
    const auto [ec, bytes] = co_await read_until_closed(stream);
    EXPECT_TRUE(is_closed_by_peer(ec)) << ec.message();
    EXPECT_EQ(bytes, 0u);
    srv->stop();
  };
  ASSERT_TRUE(run_io(ioc, body()));
}

TEST_F(server_test, the_idle_timeout_runs_from_each_request_and_spares_a_slow_handler) {
  server_config config;
  config.idle_timeout = 150ms;
  auto srv = make_server(
      [&](server_request req) -> asio::awaitable<server_reply> {
        if (req.target == "/slow") {
          asio::steady_timer wait(co_await asio::this_coro::executor, 400ms);
          co_await wait.async_wait(use_tuple);
        }
        co_return reply_with(200, req.target);
      },
      config);
  start(*srv);

  auto body = [&]() -> asio::awaitable<void> {
    auto stream = co_await connect_to(srv->port());
    // Busy for longer than the timeout in all, never silent for as long.
    for (int i = 0; i < 6; ++i) {
      const auto res = co_await exchange(stream, make_request(bhttp::verb::get, "/quick"));
      EXPECT_EQ(res.body(), "/quick");
      asio::steady_timer pause(co_await asio::this_coro::executor, 60ms);
      co_await pause.async_wait(use_tuple);
    }
    const auto slow = co_await exchange(stream, make_request(bhttp::verb::get, "/slow"));
    EXPECT_EQ(slow.body(), "/slow");
    // Then silent: closed about one timeout later.
    const auto silent_from = std::chrono::steady_clock::now();
    const auto [ec, bytes] = co_await read_until_closed(stream);
    EXPECT_TRUE(is_closed_by_peer(ec)) << ec.message();
    EXPECT_EQ(bytes, 0u);
    EXPECT_GE(std::chrono::steady_clock::now() - silent_from, 100ms);
    srv->stop();
  };
  ASSERT_TRUE(run_io(ioc, body()));
}

TEST_F(server_test, create_reports_what_is_wrong) {
  auto ok = [](server_request) -> asio::awaitable<server_reply> { co_return reply_with(200, "{}"); };

  server_config bad_address;
  bad_address.listen_address = "not-an-address";
  auto s1 = server::create(ioc.get_executor(), bad_address, ok);
  ASSERT_FALSE(s1);
  EXPECT_EQ(s1.error().code, errc::invalid_argument);
  EXPECT_NE(s1.error().diagnostic.find("not-an-address"), std::string::npos);

  auto s2 = server::create(ioc.get_executor(), {}, handler{});
  ASSERT_FALSE(s2);
  EXPECT_EQ(s2.error().code, errc::invalid_argument);

  auto first = make_server(ok);
  server_config taken;
  taken.port = first->port();
  auto s3 = server::create(ioc.get_executor(), taken, ok);
  ASSERT_FALSE(s3);
  EXPECT_EQ(s3.error().code, errc::connect_failed);
  EXPECT_NE(s3.error().diagnostic.find(std::to_string(first->port())), std::string::npos) << s3.error().diagnostic;

  server_config missing_cert;
  missing_cert.tls_cert_file = "/nonexistent/cert.pem";
  missing_cert.tls_key_file = "/nonexistent/key.pem";
  auto s4 = server::create(ioc.get_executor(), missing_cert, ok);
  ASSERT_FALSE(s4);
  EXPECT_EQ(s4.error().code, errc::tls_setup_failed);
  EXPECT_NE(s4.error().diagnostic.find("/nonexistent/cert.pem"), std::string::npos) << s4.error().diagnostic;

  server_config half_tls;
  half_tls.tls_cert_file = "/nonexistent/cert.pem";
  auto s5 = server::create(ioc.get_executor(), half_tls, ok);
  ASSERT_FALSE(s5);
  EXPECT_EQ(s5.error().code, errc::tls_setup_failed);
}

// ---- TLS ----

class server_tls_test : public server_test {
 protected:
  server_config tls_config() {
    server_config c;
    c.tls_cert_file = certs.cert_file;
    c.tls_key_file = certs.key_file;
    return c;
  }
  chargerecon::test::tls_fixture certs;
};

TEST_F(server_tls_test, https_round_trip_with_a_client_that_verifies_the_certificate) {
  auto srv = make_server(
      [&](server_request req) -> asio::awaitable<server_reply> { co_return reply_with(200, "tls:" + req.body); },
      tls_config());
  start(*srv);

  asio::ssl::context client_tls(asio::ssl::context::tls_client);
  client_tls.load_verify_file(certs.ca_file);
  client_tls.set_verify_mode(asio::ssl::verify_peer);
  client_tls.set_verify_callback(asio::ssl::host_name_verification("localhost"));

  auto body = [&]() -> asio::awaitable<void> {
    beast::ssl_stream<beast::tcp_stream> stream(co_await connect_to(srv->port()), client_tls);
    co_await stream.async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
    const auto first = co_await exchange(stream, make_request(bhttp::verb::post, "/charges", "one"));
    EXPECT_EQ(first.result_int(), 200u);
    EXPECT_EQ(first.body(), "tls:one");
    const auto second = co_await exchange(stream, make_request(bhttp::verb::post, "/charges", "two"));
    EXPECT_EQ(second.body(), "tls:two");
    srv->stop();
  };
  ASSERT_TRUE(run_io(ioc, body()));
}

TEST_F(server_tls_test, a_client_that_never_handshakes_is_disconnected) {
  auto config = tls_config();
  config.handshake_timeout = 100ms;
  auto srv = make_server([&](server_request) -> asio::awaitable<server_reply> { co_return reply_with(200, "{}"); },
                         config);
  start(*srv);

  auto body = [&]() -> asio::awaitable<void> {
    auto stream = co_await connect_to(srv->port());
    const auto [ec, bytes] = co_await read_until_closed(stream);
    EXPECT_TRUE(is_closed_by_peer(ec)) << ec.message();
    EXPECT_EQ(bytes, 0u);
    srv->stop();
  };
  ASSERT_TRUE(run_io(ioc, body()));
}

TEST_F(server_tls_test, an_idle_client_is_disconnected_after_idle_timeout) {
  auto config = tls_config();
  config.idle_timeout = 100ms;
  auto srv = make_server([&](server_request) -> asio::awaitable<server_reply> { co_return reply_with(200, "{}"); },
                         config);
  start(*srv);

  asio::ssl::context client_tls(asio::ssl::context::tls_client);
  client_tls.load_verify_file(certs.ca_file);
  client_tls.set_verify_mode(asio::ssl::verify_peer);

  auto body = [&]() -> asio::awaitable<void> {
    beast::ssl_stream<beast::tcp_stream> stream(co_await connect_to(srv->port()), client_tls);
    co_await stream.async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
    const auto first = co_await exchange(stream, make_request(bhttp::verb::get, "/one"));
    EXPECT_EQ(first.result_int(), 200u);
    std::array<char, 64> sink;
    auto [ec, n] = co_await stream.async_read_some(asio::buffer(sink), use_tuple);
    EXPECT_TRUE(ec) << "the server should have closed the connection";
    EXPECT_EQ(n, 0u);
    srv->stop();
  };
  ASSERT_TRUE(run_io(ioc, body()));
}

TEST_F(server_tls_test, a_plain_http_client_gets_no_answer) {
  int calls = 0;
  auto srv = make_server(
      [&](server_request) -> asio::awaitable<server_reply> {
        ++calls;
        co_return reply_with(200, "{}");
      },
      tls_config());
  start(*srv);

  auto body = [&]() -> asio::awaitable<void> {
    auto stream = co_await connect_to(srv->port());
    auto req = make_request(bhttp::verb::get, "/x");
    co_await bhttp::async_write(stream, req, asio::use_awaitable);
    const auto [ec, bytes] = co_await read_until_closed(stream);
    EXPECT_TRUE(is_closed_by_peer(ec)) << ec.message();
    srv->stop();
  };
  ASSERT_TRUE(run_io(ioc, body()));
  EXPECT_EQ(calls, 0);
}

}  // namespace
}  // namespace chargerecon::http
