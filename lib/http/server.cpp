#include "http/server.hpp"

#include "http/response_text.hpp"

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
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/rfc7230.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <array>
#include <exception>
#include <list>
#include <memory>
#include <optional>
#include <stdexcept>
#include <utility>

#include "http/string_body.hpp"

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

// Beast's HTTP parser feeding a server_request directly: no Beast message in between, so each
// header is copied once, and the request's fields are what the handler receives.
class request_reader final : public bhttp::basic_parser<true> {
 public:
  server_request request;
  bhttp::verb verb = bhttp::verb::unknown;
  unsigned version = 11;

  // As Beast's message would answer them: the first Expect and Connection fields count.
  std::string_view expect() const { return first_value("Expect").value_or(std::string_view{}); }
  bool keep_alive() const {
    const auto connection = first_value("Connection");
    if (version < 11) return connection && bhttp::token_list{*connection}.exists("keep-alive");
    return !connection || !bhttp::token_list{*connection}.exists("close");
  }

 private:
  std::optional<std::string_view> first_value(std::string_view name) const {
    for (const auto& h : request.headers)
      if (beast::iequals(h.name, name)) return std::string_view(h.value);
    return std::nullopt;
  }

  void on_request_impl(bhttp::verb method, beast::string_view, beast::string_view target, int v,
                       error_code& ec) override {
    verb = method;
    request.target.assign(target.data(), target.size());
    version = static_cast<unsigned>(v);
    ec = {};
  }
  void on_response_impl(int, beast::string_view, int, error_code& ec) override { ec = {}; }
  void on_field_impl(bhttp::field, beast::string_view name_string, beast::string_view value,
                     error_code& ec) override {
    ec = {};
    auto& headers = request.headers;
    if (headers.empty()) headers.reserve(8);
    const std::string_view name_text(name_string.data(), name_string.size());
    const auto kept = trim_field_value(std::string_view(value.data(), value.size()));
    // Beast's message keeps a repeated name next to its first: the order handlers used to see.
    auto at = headers.end();
    for (auto it = headers.begin(); it != headers.end(); ++it)
      if (beast::iequals(it->name, name_text)) at = std::next(it);
    headers.insert(at, {std::string(name_text), std::string(kept)});
  }
  void on_header_impl(error_code& ec) override { ec = {}; }
  void on_body_init_impl(const boost::optional<std::uint64_t>& content_length, error_code& ec) override {
    detail::reserve_body(request.body, content_length, ec);
  }
  std::size_t on_body_impl(beast::string_view body, error_code& ec) override {
    return detail::append_body(request.body, body, ec);
  }
  void on_chunk_header_impl(std::uint64_t, beast::string_view, error_code& ec) override { ec = {}; }
  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view body, error_code& ec) override {
    return detail::append_body(request.body, body, ec);
  }
  void on_finish_impl(error_code& ec) override { ec = {}; }
};

std::optional<beast::flat_buffer::mutable_buffers_type> prepare(beast::flat_buffer& buffer, std::size_t n) {
  try {
    return buffer.prepare(n);
  } catch (const std::length_error&) {
    return std::nullopt;
  }
}

// What Beast's async_read_header (whole_message false) or async_read (true) do, without their
// composed-operation layers and the extra trip through the executor each of them makes: parse
// what the buffer holds, read when the parser needs more, until the header or the message is done.
template <class Stream>
asio::awaitable<error_code> read_request(Stream& stream, beast::flat_buffer& buffer, request_reader& parser,
                                         bool whole_message) {
  parser.eager(whole_message);
  const auto done = [&] { return whole_message ? parser.is_done() : parser.is_header_done(); };
  while (!done()) {
    error_code ec;
    bool parse_first = buffer.size() != 0;
    for (;;) {
      if (parse_first) {
        const auto used = parser.put(buffer.data(), ec);
        buffer.consume(used);
        if (ec != bhttp::error::need_more) break;
      }
      parse_first = true;
      const auto size = beast::read_size(buffer, 65536);
      if (size == 0) co_return error_code(bhttp::error::buffer_overflow);
      const auto space = prepare(buffer, size);
      if (!space) co_return error_code(bhttp::error::buffer_overflow);
      auto [read_ec, n] = co_await stream.async_read_some(*space, use_tuple);
      buffer.commit(n);
      if (read_ec == asio::error::eof) {
        if (!parser.got_some()) co_return error_code(bhttp::error::end_of_stream);
        error_code eof_ec;
        parser.put_eof(eof_ec);
        co_return eof_ec;
      }
      if (read_ec) co_return read_ec;
    }
    if (ec) co_return ec;
  }
  co_return error_code{};
}

server_reply plain_reply(unsigned status, std::string_view message, server_reply::action what) {
  server_reply r;
  r.what = what;
  r.resp.status = status;
  r.resp.body = std::string(R"({"error":")") + std::string(message) + "\"}";
  return r;
}

// Closes a connection whose client stays silent (or does not read) past its deadline. One timer
// for the connection's life, re-armed only when it fires: a request moves the deadline with a
// clock read, where Beast's stream timeouts arm and cancel a timer around every read and write.
// Shared with the timer's handler, which may run after the connection is gone.
class idle_watch : public std::enable_shared_from_this<idle_watch> {
 public:
  idle_watch(const asio::any_io_executor& ex, beast::tcp_stream& stream) : timer_(ex), stream_(&stream) {}

  void expires_after(std::chrono::milliseconds d) {
    deadline_ = clock::now() + d;
    if (!armed_ || deadline_ < timer_.expiry()) arm();
  }
  void expires_never() { deadline_ = clock::time_point::max(); }
  // The stream is going away: the timer must not touch it.
  void release() {
    stream_ = nullptr;
    timer_.cancel();
  }

 private:
  using clock = asio::steady_timer::clock_type;

  void arm() {
    armed_ = true;
    timer_.expires_at(deadline_);
    timer_.async_wait([self = shared_from_this(), generation = ++generation_](error_code) { self->on_wait(generation); });
  }
  void on_wait(std::uint64_t generation) {
    if (generation != generation_) return;  // re-armed since
    armed_ = false;
    if (stream_ == nullptr || deadline_ == clock::time_point::max()) return;
    if (deadline_ > clock::now()) {
      arm();
      return;
    }
    stream_->close();  // pending reads and writes end with an error; the connection ends
  }

  asio::steady_timer timer_;
  beast::tcp_stream* stream_;
  clock::time_point deadline_ = clock::time_point::max();
  std::uint64_t generation_ = 0;
  bool armed_ = false;
};

// Releases the watch when the connection's coroutine leaves, however it leaves.
struct watch_guard {
  std::shared_ptr<idle_watch> watch;
  ~watch_guard() { watch->release(); }
};

// Ends a connection after an answer that said Connection: close, without letting a reset
// destroy that answer in flight.
asio::awaitable<void> close_gracefully(tcp::socket&, beast::tcp_stream& lowest) {
  error_code ec;
  lowest.socket().shutdown(tcp::socket::shutdown_send, ec);
  if (ec) co_return;
  lowest.expires_after(linger_time);
  std::array<char, 4096> sink;
  for (;;) {
    auto [read_ec, n] = co_await lowest.async_read_some(asio::buffer(sink), use_tuple);
    if (read_ec) break;
  }
  lowest.close();
}

asio::awaitable<void> close_gracefully(beast::ssl_stream<beast::tcp_stream>& stream, beast::tcp_stream& lowest) {
  // close_notify, then the peer's, bounded: a client that never answers it costs linger_time.
  lowest.expires_after(linger_time);
  co_await stream.async_shutdown(use_tuple);
  lowest.close();
}

// Sends `head` then `body`, whole. A plain socket takes an answer at once nearly always: try
// that first, and wait only for what it did not take.
asio::awaitable<error_code> write_answer(tcp::socket& socket, const std::string& head, const std::string& body) {
  std::array<asio::const_buffer, 2> parts{asio::buffer(head), asio::buffer(body)};
  error_code ec;
  auto sent = socket.write_some(parts, ec);
  if (!ec && sent == head.size() + body.size()) co_return ec;
  if (ec && ec != asio::error::would_block) co_return ec;
  if (ec) sent = 0;
  if (sent < head.size())
    parts[0] = asio::buffer(head) + sent;
  else
    parts = {asio::const_buffer{}, asio::buffer(body) + (sent - head.size())};
  auto [write_ec, n] = co_await asio::async_write(socket, parts, use_tuple);
  co_return write_ec;
}

asio::awaitable<error_code> write_answer(beast::ssl_stream<beast::tcp_stream>& stream, const std::string& head,
                                         const std::string& body) {
  const std::array<asio::const_buffer, 2> parts{asio::buffer(head), asio::buffer(body)};
  auto [write_ec, n] = co_await asio::async_write(stream, parts, use_tuple);
  co_return write_ec;
}

// Reads requests and answers them until the client leaves, an answer closes the connection,
// or the server stops. Errors end the connection; they are the client's business, not ours.
template <class Stream>
asio::awaitable<void> serve_requests(state& st, Stream& stream, beast::tcp_stream& lowest, idle_watch& watch) {
  beast::flat_buffer buffer;
  std::string head;  // reused: its capacity stays from one answer to the next
  std::string body;
  for (;;) {
    request_reader parser;
    parser.body_limit(static_cast<std::uint64_t>(st.config.max_request_bytes));
    watch.expires_after(st.config.idle_timeout);

    error_code ec = co_await read_request(stream, buffer, parser, false);
    // curl and others wait for this before sending a large body.
    if (!ec && parser.version >= 11 && beast::iequals(parser.expect(), "100-continue")) {
      bhttp::response<bhttp::empty_body> go_on{bhttp::status::continue_, parser.version};
      auto [write_ec, write_n] = co_await bhttp::async_write(stream, go_on, use_tuple);
      ec = write_ec;
    }
    if (!ec) ec = co_await read_request(stream, buffer, parser, true);

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
      if (parser.is_header_done()) version = parser.version;
    } else {
      watch.expires_never();  // the handler may take its time on purpose
      version = parser.version;
      keep_alive = parser.keep_alive();
      if (const auto verb = to_method(parser.verb)) {
        parser.request.verb = *verb;
        reply = co_await st.on_request(std::move(parser.request));
      } else {
        reply = plain_reply(405, "method not allowed", server_reply::action::respond);
        reply->resp.headers.push_back({"Allow", "GET, POST"});
      }
      if (st.stopping) co_return;
    }

    if (reply->what == server_reply::action::drop) co_return;  // the stream's destructor closes the socket
    keep_alive = keep_alive && reply->what == server_reply::action::respond;
    write_response(std::move(reply->resp), version, keep_alive, head, body);
    watch.expires_after(st.config.idle_timeout);
    const auto write_ec = co_await write_answer(stream, head, body);
    if (write_ec || st.stopping) co_return;
    if (!keep_alive) {
      watch.expires_never();  // the linger has its own bound
      co_await close_gracefully(stream, lowest);
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
      const watch_guard watch{std::make_shared<idle_watch>(st->executor, plain)};
      // Answers are written at once when the socket takes them (write_answer).
      error_code blocking_ec;
      plain.socket().non_blocking(true, blocking_ec);
      if (blocking_ec) co_return;
      // Requests and answers go to the socket itself: the watch bounds them, not Beast's stream.
      co_await serve_requests(*st, plain.socket(), plain, *watch.watch);
      co_return;
    }
    beast::ssl_stream<beast::tcp_stream> secure(std::move(plain), *st->tls);
    auto& lowest = beast::get_lowest_layer(secure);
    registration reg(entry, lowest);
    lowest.expires_after(st->config.handshake_timeout);
    auto [ec] = co_await secure.async_handshake(asio::ssl::stream_base::server, use_tuple);
    if (ec || st->stopping) co_return;
    lowest.expires_never();
    const watch_guard watch{std::make_shared<idle_watch>(st->executor, lowest)};
    co_await serve_requests(*st, secure, lowest, *watch.watch);
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
