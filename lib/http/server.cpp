#include "http/server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <array>
#include <exception>
#include <list>
#include <optional>
#include <utility>

namespace chargerecon::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// After an answer that closes the connection, how long we keep reading (and discarding) what the
// client still sends: closing a socket with unread input makes the kernel send a reset, which
// can destroy our answer (a 413, a 400) before the client has read it.
constexpr std::chrono::seconds linger_time{1};

// A connection's registration, so stop() can reach it. The stream lives in the connection's
// coroutine frame; `stream` points to it while that frame owns an open one.
struct connection {
  asio::cancellation_signal cancel;
  beast::tcp_stream* stream = nullptr;
};

// Shared by run()'s coroutine and every connection coroutine, so none of them depends on the
// server object outliving it.
struct state {
  state(asio::any_io_executor ex, server_config c, handler h)
      : executor(ex), config(std::move(c)), on_request(std::move(h)), acceptor(ex), all_closed(ex) {}

  asio::any_io_executor executor;
  server_config config;
  handler on_request;
  tcp::acceptor acceptor;
  std::uint16_t port = 0;
  std::optional<asio::ssl::context> tls;
  std::list<connection> connections;
  asio::steady_timer all_closed;  // cancelled when the last connection is gone, to wake run()
  bool stopping = false;

  void close_all() {
    stopping = true;
    error_code ignored;
    acceptor.close(ignored);
    for (auto& c : connections) {
      // Closing the socket ends pending reads and writes; the signal reaches a handler that is
      // suspended (simulated latency) and would otherwise hold the connection open.
      if (c.stream != nullptr) c.stream->close();
      c.cancel.emit(asio::cancellation_type::terminal);
    }
  }
};

bool is_http_parse_error(const error_code& ec) {
  return ec.category() == make_error_code(bhttp::error::end_of_stream).category() &&
         ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message;
}

std::optional<method> to_method(bhttp::verb v) {
  switch (v) {
    case bhttp::verb::get:
      return method::get;
    case bhttp::verb::post:
      return method::post;
    default:
      return std::nullopt;
  }
}

server_request to_server_request(bhttp::request<bhttp::string_body>&& msg, method verb) {
  server_request req;
  req.verb = verb;
  req.target = std::string(msg.target());
  req.body = std::move(msg.body());
  req.headers.reserve(static_cast<std::size_t>(std::distance(msg.begin(), msg.end())));
  for (const auto& f : msg) req.headers.push_back({std::string(f.name_string()), std::string(f.value())});
  return req;
}

server_reply plain_reply(unsigned status, std::string_view message, server_reply::action what) {
  server_reply r;
  r.what = what;
  r.resp.status = status;
  r.resp.body = std::string(R"({"error":")") + std::string(message) + "\"}";
  return r;
}

bhttp::response<bhttp::string_body> to_beast_response(server_reply&& reply, unsigned version, bool keep_alive) {
  bhttp::response<bhttp::string_body> res;
  res.version(version);
  // A status outside 100..999 cannot be written: the handler has a bug, and the client gets a 500.
  const unsigned status = reply.resp.status >= 100 && reply.resp.status <= 999 ? reply.resp.status : 500;
  res.result(status);
  for (auto& h : reply.resp.headers) res.insert(h.name, h.value);
  if (res.find(bhttp::field::content_type) == res.end()) res.set(bhttp::field::content_type, "application/json");
  res.body() = std::move(reply.resp.body);
  res.keep_alive(keep_alive);
  res.prepare_payload();
  return res;
}

// Ends a connection after an answer that said Connection: close, without letting a reset
// destroy that answer in flight.
asio::awaitable<void> close_gracefully(beast::tcp_stream& stream) {
  error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  if (ec) co_return;
  stream.expires_after(linger_time);
  std::array<char, 4096> sink;
  for (;;) {
    auto [read_ec, n] = co_await stream.async_read_some(asio::buffer(sink), use_tuple);
    if (read_ec) break;
  }
  stream.close();
}

asio::awaitable<void> close_gracefully(beast::ssl_stream<beast::tcp_stream>& stream) {
  // close_notify, then the peer's, bounded: a client that never answers it costs linger_time.
  beast::get_lowest_layer(stream).expires_after(linger_time);
  co_await stream.async_shutdown(use_tuple);
  beast::get_lowest_layer(stream).close();
}

// Reads requests and answers them until the client leaves, an answer closes the connection,
// or the server stops. Errors end the connection; they are the client's business, not ours.
template <class Stream>
asio::awaitable<void> serve_requests(state& st, Stream& stream, beast::tcp_stream& lowest) {
  beast::flat_buffer buffer;
  for (;;) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.body_limit(static_cast<std::uint64_t>(st.config.max_request_bytes));
    lowest.expires_after(st.config.idle_timeout);

    auto [header_ec, header_n] = co_await bhttp::async_read_header(stream, buffer, parser, use_tuple);
    error_code ec = header_ec;
    if (!ec) {
      // curl and others wait for this before sending a large body.
      const auto expect = parser.get()[bhttp::field::expect];
      if (parser.get().version() >= 11 && beast::iequals(expect, "100-continue")) {
        bhttp::response<bhttp::empty_body> go_on{bhttp::status::continue_, parser.get().version()};
        auto [write_ec, write_n] = co_await bhttp::async_write(stream, go_on, use_tuple);
        ec = write_ec;
      }
    }
    if (!ec) {
      auto [body_ec, body_n] = co_await bhttp::async_read(stream, buffer, parser, use_tuple);
      ec = body_ec;
    }

    std::optional<server_reply> reply;
    unsigned version = 11;
    bool keep_alive = false;
    if (ec) {
      if (st.stopping) co_return;
      if (ec == bhttp::error::body_limit)
        reply = plain_reply(413, "request body too large", server_reply::action::respond_and_close);
      else if (ec == bhttp::error::header_limit)
        reply = plain_reply(431, "request header fields too large", server_reply::action::respond_and_close);
      else if (is_http_parse_error(ec))
        reply = plain_reply(400, "malformed HTTP request", server_reply::action::respond_and_close);
      else
        co_return;  // the client left, timed out, or reset: nobody to answer
      if (parser.is_header_done()) version = parser.get().version();
    } else {
      lowest.expires_never();  // the handler may take its time on purpose
      auto msg = parser.release();
      version = msg.version();
      keep_alive = msg.keep_alive();
      if (const auto verb = to_method(msg.method())) {
        reply = co_await st.on_request(to_server_request(std::move(msg), *verb));
      } else {
        reply = plain_reply(405, "method not allowed", server_reply::action::respond);
        reply->resp.headers.push_back({"Allow", "GET, POST"});
      }
      if (st.stopping) co_return;
    }

    if (reply->what == server_reply::action::drop) co_return;  // the stream's destructor closes the socket
    keep_alive = keep_alive && reply->what == server_reply::action::respond;
    auto res = to_beast_response(std::move(*reply), version, keep_alive);
    lowest.expires_after(st.config.idle_timeout);
    auto [write_ec, write_n] = co_await bhttp::async_write(stream, res, use_tuple);
    if (write_ec || st.stopping) co_return;
    if (!keep_alive) {
      co_await close_gracefully(stream);
      co_return;
    }
  }
}

// Clears a connection's registration when its coroutine leaves, however it leaves.
struct registration {
  connection& entry;
  registration(connection& e, beast::tcp_stream& s) : entry(e) { entry.stream = &s; }
  ~registration() { entry.stream = nullptr; }
  registration(const registration&) = delete;
  registration& operator=(const registration&) = delete;
};

asio::awaitable<void> serve_connection(std::shared_ptr<state> st, connection& entry, tcp::socket socket) {
  // stop() may have come between accepting the socket and this coroutine's first step.
  if (st->stopping) co_return;
  try {
    beast::tcp_stream plain(std::move(socket));
    if (!st->tls) {
      registration reg(entry, plain);
      co_await serve_requests(*st, plain, plain);
      co_return;
    }
    beast::ssl_stream<beast::tcp_stream> secure(std::move(plain), *st->tls);
    auto& lowest = beast::get_lowest_layer(secure);
    registration reg(entry, lowest);
    lowest.expires_after(st->config.handshake_timeout);
    auto [ec] = co_await secure.async_handshake(asio::ssl::stream_base::server, use_tuple);
    if (ec || st->stopping) co_return;
    co_await serve_requests(*st, secure, lowest);
  } catch (...) {
    // A handler's exception (or its cancellation by stop()) ends this connection only; the
    // stream's destructor closes the socket.
  }
}

void spawn_connection(const std::shared_ptr<state>& st, tcp::socket socket) {
  auto& entry = st->connections.emplace_back();
  const auto it = std::prev(st->connections.end());
  auto on_done = [st, it](std::exception_ptr) {
    // Erased on a later turn: the signal in `entry` is bound to the coroutine just completing.
    asio::post(st->executor, [st, it] {
      st->connections.erase(it);
      if (st->connections.empty()) st->all_closed.cancel();
    });
  };
  asio::co_spawn(st->executor, serve_connection(st, entry, std::move(socket)),
                 asio::bind_cancellation_slot(entry.cancel.slot(), std::move(on_done)));
}

asio::awaitable<void> accept_loop(std::shared_ptr<state> st) {
  // Cancellation of run() of any type means "stop": seen as error codes, not exceptions.
  co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
  co_await asio::this_coro::throw_if_cancelled(false);
  asio::steady_timer pause(st->executor);
  while (!st->stopping) {
    auto [ec, socket] = co_await st->acceptor.async_accept(use_tuple);
    if (st->stopping) break;
    if (ec == asio::error::operation_aborted) break;
    if (ec) {
      // Out of descriptors and the like: wait a little instead of spinning on the failure.
      pause.expires_after(std::chrono::milliseconds(50));
      auto [wait_ec] = co_await pause.async_wait(use_tuple);
      if (wait_ec) break;
      continue;
    }
    spawn_connection(st, std::move(socket));
  }
  st->close_all();
  // The connections are closing already; a second cancellation must not cut this wait short,
  // or run() would return while their coroutines still use the handler.
  co_await asio::this_coro::reset_cancellation_state([](asio::cancellation_type) { return asio::cancellation_type::none; });
  while (!st->connections.empty()) {
    st->all_closed.expires_at(asio::steady_timer::time_point::max());
    co_await st->all_closed.async_wait(use_tuple);
  }
}

}  // namespace

struct server::impl {
  std::shared_ptr<state> st;
};

server::server(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

server::~server() {
  if (impl_) impl_->st->close_all();
}

std::uint16_t server::port() const { return impl_->st->port; }

boost::asio::awaitable<void> server::run() { return accept_loop(impl_->st); }

void server::stop() { impl_->st->close_all(); }

result<std::unique_ptr<server>> server::create(boost::asio::any_io_executor executor, server_config config,
                                               handler h) {
  if (!h) return error{errc::invalid_argument, "server: no request handler"};
  error_code ec;
  const auto address = asio::ip::make_address(config.listen_address, ec);
  if (ec) return error{errc::invalid_argument, "server listen_address '" + config.listen_address + "' is not an IP address"};
  const tcp::endpoint endpoint(address, config.port);
  const auto where = [&] { return config.listen_address + ":" + std::to_string(config.port); };

  std::optional<asio::ssl::context> tls;
  if (!config.tls_cert_file.empty() || !config.tls_key_file.empty()) {
    if (config.tls_cert_file.empty() || config.tls_key_file.empty())
      return error{errc::tls_setup_failed, "server on " + where() + ": TLS needs both tls_cert_file and tls_key_file"};
    tls.emplace(asio::ssl::context::tls_server);
    tls->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                         asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                         asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use,
                     ec);
    if (!ec) {
      tls->use_certificate_chain_file(config.tls_cert_file, ec);
      if (ec)
        return error{errc::tls_setup_failed,
                     "server TLS certificate " + config.tls_cert_file + ": " + ec.message()};
      tls->use_private_key_file(config.tls_key_file, asio::ssl::context::pem, ec);
      if (ec)
        return error{errc::tls_setup_failed, "server TLS key " + config.tls_key_file + ": " + ec.message()};
    }
    if (ec) return error{errc::tls_setup_failed, "server TLS context: " + ec.message()};
  }

  auto st = std::make_shared<state>(executor, std::move(config), std::move(h));
  st->tls = std::move(tls);
  auto& acceptor = st->acceptor;
  if (acceptor.open(endpoint.protocol(), ec); ec)
    return error{errc::connect_failed, "server on " + where() + ": open: " + ec.message()};
  // A restarted simulator or daemon must not wait for the old socket's TIME_WAIT to end.
  if (acceptor.set_option(tcp::acceptor::reuse_address(true), ec); ec)
    return error{errc::connect_failed, "server on " + where() + ": SO_REUSEADDR: " + ec.message()};
  if (acceptor.bind(endpoint, ec); ec)
    return error{errc::connect_failed, "server on " + where() + ": bind: " + ec.message()};
  if (acceptor.listen(asio::socket_base::max_listen_connections, ec); ec)
    return error{errc::connect_failed, "server on " + where() + ": listen: " + ec.message()};
  const auto local = acceptor.local_endpoint(ec);
  if (ec) return error{errc::connect_failed, "server on " + where() + ": local address: " + ec.message()};
  st->port = local.port();

  auto p = std::make_unique<impl>();
  p->st = std::move(st);
  return std::unique_ptr<server>(new server(std::move(p)));
}

}  // namespace chargerecon::http
