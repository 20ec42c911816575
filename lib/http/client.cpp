// The HTTP/1.1 client: a pool of keep-alive connections, bounded by counted permits.
//
// Threading: a client and its connections live on one executor (the protocol io_context thread);
// send() must be awaited from coroutines running there. Nothing here locks.
//
// Connections: at most max_connections exist at once, counted by permits. A send takes a permit
// (or queues for one, first come first served), then the most recently used idle connection (or opens one), and
// gives both back when done: the connection only when it is clean (keep-alive granted, response
// read completely, no stray bytes), otherwise it is closed.
//
// Cost: billing posts go through here thousands of times a second on one thread, so an exchange
// is one gathered write of a head we format ourselves and the body, then a parser that fills our
// response directly; one timer per client (the watchdog) bounds every connect and exchange.

#include "http/client.hpp"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffer_traits.hpp>
#include <boost/beast/core/buffers_suffix.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <charconv>
#include <cstdint>
#include <fstream>
#include <limits>
#include <list>
#include <optional>
#include <vector>

#include "http/string_body.hpp"

namespace chargerecon::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
using time_point = std::chrono::steady_clock::time_point;

bool is_ip_literal(const std::string& host) {
  error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

// One TCP (and maybe TLS) connection with its read buffer, which may not be shared between
// connections: bytes left over belong to this peer.
struct connection {
  connection(const asio::any_io_executor& executor, ssl::context* tls_context) {
    if (tls_context)
      tls.emplace(executor, *tls_context);
    else
      plain.emplace(executor);
  }

  tcp::socket& tcp_layer() { return tls ? tls->next_layer() : *plain; }

  // No TLS close_notify: the connection is abandoned after an error or at shutdown, and
  // HTTP/1.1 framing, not the TLS close, tells us where each response ends.
  void close() {
    error_code ignored;
    tcp_layer().close(ignored);
  }

  std::optional<tcp::socket> plain;
  std::optional<beast::ssl_stream<tcp::socket>> tls;
  beast::flat_buffer buffer;
  std::string head;  // request line and fields of the request under way; its capacity is kept
};

// Deadlines for every connect and exchange of one client on a single timer, armed for the
// earliest of them: a timer per operation (what beast::tcp_stream does) costs a wait, a cancel
// and a completion on every read and write. A watched operation whose deadline passes has its
// connection closed, which fails what is pending on it; the watch then says it expired.
class watchdog : public std::enable_shared_from_this<watchdog> {
 public:
  explicit watchdog(const asio::any_io_executor& executor) : timer_(executor) {}

  // Watches `conn` until `at` for as long as it lives (in the frame of the operation).
  class watch {
   public:
    watch(watchdog& w, connection& conn, time_point at) : owner_(w), conn_(conn), at_(at) { owner_.link(*this); }
    ~watch() {
      if (linked_) owner_.unlink(*this);
    }
    watch(const watch&) = delete;
    watch& operator=(const watch&) = delete;

    // The deadline passed while watched: the connection was closed.
    bool expired() const { return expired_; }

   private:
    friend class watchdog;
    watchdog& owner_;
    connection& conn_;
    time_point at_;
    watch* prev_ = nullptr;
    watch* next_ = nullptr;
    bool linked_ = false;
    bool expired_ = false;
  };

 private:
  // In deadline order; a new deadline is almost always the latest, so the walk from the tail
  // stops at once.
  void link(watch& w) {
    watch* after = tail_;
    while (after && after->at_ > w.at_) after = after->prev_;
    w.prev_ = after;
    w.next_ = after ? after->next_ : head_;
    (w.next_ ? w.next_->prev_ : tail_) = &w;
    (after ? after->next_ : head_) = &w;
    w.linked_ = true;
    if (!armed_ || w.at_ < armed_at_) arm(w.at_);
  }

  void unlink(watch& w) {
    (w.prev_ ? w.prev_->next_ : head_) = w.next_;
    (w.next_ ? w.next_->prev_ : tail_) = w.prev_;
    w.prev_ = w.next_ = nullptr;
    w.linked_ = false;
    // Nothing watched: no wait may stay pending, or the io_context never runs out of work.
    if (!head_ && armed_) {
      armed_ = false;
      ++generation_;
      timer_.cancel();
    }
  }

  // The handler holds the watchdog: a completion already queued when the client goes away
  // finds it still there (and nothing linked).
  void arm(time_point at) {
    armed_ = true;
    armed_at_ = at;
    timer_.expires_at(at);
    timer_.async_wait(
        [self = shared_from_this(), generation = ++generation_](const error_code& ec) { self->fired(generation, ec); });
  }

  void fired(unsigned generation, const error_code& ec) {
    if (ec || generation != generation_) return;  // superseded by a later arm() or cancelled
    armed_ = false;
    const auto now = std::chrono::steady_clock::now();
    while (head_ && head_->at_ <= now) {
      watch& w = *head_;
      unlink(w);
      w.expired_ = true;
      w.conn_.close();
    }
    if (head_) arm(head_->at_);
  }

  asio::steady_timer timer_;
  watch* head_ = nullptr;
  watch* tail_ = nullptr;
  bool armed_ = false;
  time_point armed_at_{};
  unsigned generation_ = 0;
};

// Reads a response straight into our own type: no Beast fields container, reason string or
// copy of every header afterwards. Limits are basic_parser's (header_limit, body_limit).
class response_parser final : public bhttp::basic_parser<false> {
 public:
  explicit response_parser(response& out) : out_(out) {}

 private:
  void on_request_impl(bhttp::verb, beast::string_view, beast::string_view, int, error_code&) override {}
  void on_response_impl(int code, beast::string_view, int, error_code&) override {
    out_.status = static_cast<unsigned>(code);
  }
  void on_field_impl(bhttp::field, beast::string_view name, beast::string_view value, error_code&) override {
    out_.headers.push_back(header_field{std::string(name), std::string(value)});
  }
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>& length, error_code& ec) override {
    detail::reserve_body(out_.body, length, ec);
  }
  std::size_t on_body_impl(beast::string_view body, error_code& ec) override {
    return detail::append_body(out_.body, body, ec);
  }
  void on_chunk_header_impl(std::uint64_t, beast::string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view body, error_code& ec) override {
    return detail::append_body(out_.body, body, ec);
  }
  void on_finish_impl(error_code&) override {}

  response& out_;
};

struct exchange_outcome {
  result<response> value = error{};
  // The peer closed or reset the connection before a single byte of a response arrived.
  bool nothing_received = false;
  bool reusable = false;
};

bool is_token_char(unsigned char c) {
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

// A header or target with CR/LF would let text from a peer (a token, an id) inject headers.
result<void> validate(const request& req) {
  for (unsigned char c : req.target)
    if (c <= 0x20 || c >= 0x7F || c == '#')
      return error{errc::invalid_request, "request target '" + quote_peer_text(req.target) +
                                              "' holds a character that is not allowed unescaped"};
  auto holds_line_break = [](std::string_view value) {
    return value.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
  };
  if (holds_line_break(req.content_type)) return error{errc::invalid_request, "Content-Type holds CR, LF or NUL"};
  for (const auto& h : req.headers) {
    if (h.name.empty() ||
        !std::all_of(h.name.begin(), h.name.end(), [](char c) { return is_token_char(static_cast<unsigned char>(c)); }))
      return error{errc::invalid_request, "header name '" + quote_peer_text(h.name) + "' is not an HTTP token"};
    // These frame the message on the wire; the client owns them.
    for (std::string_view reserved : {"Host", "Content-Length", "Transfer-Encoding", "Connection"})
      if (iequals(h.name, reserved))
        return error{errc::invalid_request, "header " + h.name + " is set by the HTTP client itself"};
    // Values may be secrets (Authorization): the diagnostic names the header, never the value.
    if (holds_line_break(h.value)) return error{errc::invalid_request, "header " + h.name + " holds CR, LF or NUL"};
  }
  return {};
}

// The request line and fields of `req` into `out`, byte for byte what Beast's serializer wrote
// from the message we used to build: Host and User-Agent first, then the caller's headers,
// Content-Type, and Content-Length on a POST or any request with a body; a field set again under
// the same name (any case) replaces the earlier one, in the later place. `req` passed validate():
// it sets neither Host nor Content-Length.
void format_head(std::string& out, std::string_view path, const request& req, std::string_view host,
                 std::string_view user_agent) {
  using namespace std::string_view_literals;
  std::string_view relative = req.target;
  // The base path already ends with '/': "/a/" + "/b" would address "/a//b".
  if (!relative.empty() && relative.front() == '/') relative.remove_prefix(1);
  std::array<char, 24> length_text{};
  std::string_view length;
  if (req.verb == method::post || !req.body.empty()) {
    const auto printed = std::to_chars(length_text.data(), length_text.data() + length_text.size(), req.body.size());
    length = std::string_view(length_text.data(), static_cast<std::size_t>(printed.ptr - length_text.data()));
  }

  const auto& fields = req.headers;
  // Whether a field named `name` is set again by the caller's headers from `from` on, or by the
  // Content-Type that follows them.
  const auto set_again = [&](std::size_t from, std::string_view name) {
    for (std::size_t later = from; later < fields.size(); ++later)
      if (iequals(fields[later].name, name)) return true;
    return !req.content_type.empty() && iequals("Content-Type"sv, name);
  };
  // The same pieces twice: once to size the head, once to copy them into place (an append per
  // piece, with its capacity check, costs more than the whole copy).
  const auto pieces = [&](auto&& write) {
    const auto put = [&write](std::string_view name, std::string_view value) {
      write(name);
      write(": "sv);
      write(trim_field_value(value));  // as Beast's fields container stores it
      write("\r\n"sv);
    };
    write(req.verb == method::post ? "POST "sv : "GET "sv);
    write(path);
    write(relative);
    write(" HTTP/1.1\r\n"sv);
    put("Host"sv, host);
    if (!set_again(0, "User-Agent"sv)) put("User-Agent"sv, user_agent);
    for (std::size_t i = 0; i < fields.size(); ++i)
      if (!set_again(i + 1, fields[i].name)) put(fields[i].name, fields[i].value);
    if (!req.content_type.empty()) put("Content-Type"sv, req.content_type);
    if (!length.empty()) put("Content-Length"sv, length);
    write("\r\n"sv);
  };
  std::size_t size = 0;
  pieces([&size](std::string_view piece) { size += piece.size(); });
  out.resize(size);
  char* at = out.data();
  pieces([&at](std::string_view piece) { at = std::copy(piece.begin(), piece.end(), at); });
}

// Parses what `buffer` already holds, as Beast's read does before reading more: a response
// that arrived whole is then complete without another read, and without the trip through the
// scheduler that even a read with nothing to read makes.
void parse_buffered(bhttp::basic_parser<false>& parser, beast::flat_buffer& buffer, error_code& ec) {
  while (!parser.is_done() && buffer.size() > 0) {
    const auto used = parser.put(buffer.data(), ec);
    buffer.consume(used);
    if (ec || used == 0) break;
  }
  if (ec == bhttp::error::need_more) ec = {};
}

bool is_peer_close(const error_code& ec) {
  return ec == bhttp::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == asio::error::connection_aborted || ec == ssl::error::stream_truncated;
}

}  // namespace

struct client::impl {
  impl(asio::any_io_executor ex, client_config cfg, base_url u)
      : executor(std::move(ex)),
        config(std::move(cfg)),
        url(std::move(u)),
        // A zero cap would deadlock every send; one connection is the least that works.
        max_connections(std::max<std::size_t>(config.max_connections, 1)),
        available_permits(max_connections),
        dog(std::make_shared<watchdog>(executor)) {
    const bool default_port = url.port == (url.tls ? "443" : "80");
    const bool ipv6 = url.host.find(':') != std::string::npos;
    host_header = ipv6 ? "[" + url.host + "]" : url.host;
    if (!default_port) host_header += ":" + url.port;
    peer = (ipv6 ? "[" + url.host + "]" : url.host) + ":" + url.port;
  }

  asio::any_io_executor executor;
  client_config config;
  base_url url;
  std::size_t max_connections;
  std::optional<ssl::context> tls_context;
  std::string host_header;
  std::string peer;                               // host:port, for diagnostics
  std::vector<std::unique_ptr<connection>> idle;  // most recently used at the back

  // Permits are counted by hand rather than with an experimental::channel: Boost 1.81's channel
  // loses buffer space when a waiting receive is cancelled, which would leak a permit per
  // cancelled waiter. A waiter sleeps on its own timer; release() hands the permit over
  // directly (granted = true) and wakes it, so a permit is never in two places.
  struct permit_waiter {
    explicit permit_waiter(const asio::any_io_executor& ex) : wake(ex, asio::steady_timer::time_point::max()) {}
    asio::steady_timer wake;
    bool granted = false;
  };
  std::size_t available_permits;
  std::list<permit_waiter*> waiters;  // in arrival order; each lives in its send()'s frame
  std::shared_ptr<watchdog> dog;      // shared with its timer's handler

  void release_permit() {
    if (waiters.empty()) {
      ++available_permits;
      return;
    }
    permit_waiter* next = waiters.front();
    waiters.pop_front();
    next->granted = true;
    next->wake.cancel();
  }

  // A permit and, while an exchange runs, its connection. Whatever way send() ends (return,
  // error, cancellation exception), the permit goes back and a connection still held is closed.
  struct lease {
    explicit lease(impl& o) : owner(o) {}
    lease(const lease&) = delete;
    lease& operator=(const lease&) = delete;
    ~lease() {
      if (conn) conn->close();
      owner.release_permit();
    }
    impl& owner;
    std::unique_ptr<connection> conn;
  };

  error connect_error(const error_code& ec, std::string_view during) const {
    if (ec == asio::error::operation_aborted) return error{ec, std::string(during) + " " + peer + " cancelled"};
    if (ec == beast::error::timeout)
      return error{errc::connect_timeout, std::string(during) + " " + peer + " took longer than the connect timeout (" +
                                              std::to_string(config.connect_timeout.count()) + " ms)"};
    return error{errc::connect_failed, std::string(during) + " " + peer + " failed: " + ec.message()};
  }

  error handshake_error(const error_code& ec, connection& conn) const {
    if (ec == asio::error::operation_aborted || ec == beast::error::timeout)
      return connect_error(ec, "TLS handshake with");
    const long verify = SSL_get_verify_result(conn.tls->native_handle());
    std::string why;
    if (verify == X509_V_ERR_HOSTNAME_MISMATCH || verify == X509_V_ERR_IP_ADDRESS_MISMATCH) {
      why = "the server's certificate does not carry the name '" + url.host + "' (host name mismatch)";
    } else if (verify != X509_V_OK) {
      why = std::string("the server's certificate was not trusted: ") + X509_verify_cert_error_string(verify) +
            (config.ca_file.empty() ? " (trusting the system's CA store)" : " (trusting only " + config.ca_file + ")");
    } else if (ec.category() != asio::error::get_ssl_category()) {
      // The connection dropped mid-handshake (EOF, reset, truncated): as transient as a failed
      // connect, and retried like one.
      return error{errc::connect_failed, "TLS handshake with " + peer + " failed: " + ec.message()};
    } else {
      why = ec.message();
    }
    // Refused certificates and TLS the two ends cannot agree on: repeating the handshake gets
    // the same answer, so callers do not retry this code.
    return error{errc::tls_handshake_failed, "TLS handshake with " + peer + " failed: " + why};
  }

  // Resolve, connect and (for https) handshake, all within connect_timeout.
  // The resolver cannot be interrupted (getaddrinfo runs to completion on Asio's resolver
  // thread), so a hung lookup is bounded by the system resolver's own timeouts; the deadline is
  // checked when it returns and bounds connect and handshake through the watchdog.
  asio::awaitable<result<std::unique_ptr<connection>>> open() {
    const auto deadline = std::chrono::steady_clock::now() + config.connect_timeout;
    tcp::resolver resolver(executor);
    auto [resolve_ec, endpoints] = co_await resolver.async_resolve(url.host, url.port, use_tuple);
    if (resolve_ec == asio::error::operation_aborted)
      co_return error{resolve_ec, "resolving " + url.host + " cancelled"};
    if (resolve_ec) co_return error{errc::resolve_failed, "resolving " + url.host + " failed: " + resolve_ec.message()};
    if (std::chrono::steady_clock::now() >= deadline)
      co_return error{errc::connect_timeout, "resolving " + url.host + " took longer than the connect timeout (" +
                                                 std::to_string(config.connect_timeout.count()) + " ms)"};

    auto conn = std::make_unique<connection>(executor, tls_context ? &*tls_context : nullptr);
    const watchdog::watch watched(*dog, *conn, deadline);
    auto [connect_ec, endpoint] = co_await asio::async_connect(conn->tcp_layer(), endpoints, use_tuple);
    if (watched.expired()) co_return connect_error(beast::error::timeout, "connecting to");
    if (connect_ec) co_return connect_error(connect_ec, "connecting to");
    error_code ignored;  // Nagle only delays; the exchange works either way
    conn->tcp_layer().set_option(tcp::no_delay(true), ignored);
    // Asio's own operations work alike; exchange()'s direct write of a request must never block.
    if (!conn->tls) conn->tcp_layer().non_blocking(true, ignored);

    if (conn->tls) {
      // SNI carries host names only (RFC 6066 forbids IP literals there). SSL_ctrl is what
      // the SSL_set_tlsext_host_name macro expands to, minus its old-style cast.
      if (!is_ip_literal(url.host) && SSL_ctrl(conn->tls->native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME,
                                               TLSEXT_NAMETYPE_host_name, url.host.data()) != 1)
        co_return error{errc::tls_setup_failed, "setting the TLS server name " + url.host + " failed"};
      // The chain is checked by OpenSSL against the trusted CAs; the leaf must also name our
      // host. The mismatch is recorded as such so the diagnostic can say which check failed.
      conn->tls->set_verify_callback(
          [verifier = ssl::host_name_verification(url.host)](bool preverified, ssl::verify_context& ctx) mutable {
            if (verifier(preverified, ctx)) return true;
            if (preverified) X509_STORE_CTX_set_error(ctx.native_handle(), X509_V_ERR_HOSTNAME_MISMATCH);
            return false;
          });
      auto [handshake_ec] = co_await conn->tls->async_handshake(ssl::stream_base::client, use_tuple);
      if (watched.expired()) co_return connect_error(beast::error::timeout, "TLS handshake with");
      if (handshake_ec) co_return handshake_error(handshake_ec, *conn);
    }
    co_return conn;
  }

  error exchange_error(const error_code& ec, std::string_view during) const {
    const std::string what = std::string(during) + " " + peer;
    if (ec == asio::error::operation_aborted) return error{ec, what + " cancelled"};
    if (ec == beast::error::timeout)
      return error{errc::request_timeout, what + " took longer than the request timeout (" +
                                              std::to_string(config.request_timeout.count()) + " ms)"};
    if (ec == bhttp::error::body_limit || ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow)
      return error{errc::response_too_large,
                   what + ": response over " + std::to_string(config.max_response_bytes) + " bytes"};
    if (is_peer_close(ec) || ec == bhttp::error::partial_message)
      return error{errc::connection_lost, what + ": the peer closed the connection (" + ec.message() + ")"};
    if (ec.category() == bhttp::make_error_code(bhttp::error::end_of_stream).category())
      return error{errc::http_protocol_error, what + ": not an HTTP/1.1 response (" + ec.message() + ")"};
    return error{errc::connection_lost, what + " failed: " + ec.message()};
  }

  // One request and its response on `stream`, all within request_timeout. The head is formatted
  // into the connection's own buffer and goes out with the body in one gathered write.
  template <class Stream>
  asio::awaitable<exchange_outcome> exchange(Stream& stream, connection& conn, const request& req) {
    exchange_outcome out;
    const watchdog::watch watched(*dog, conn, std::chrono::steady_clock::now() + config.request_timeout);
    // What the watchdog's close left behind is an abort, or whatever the stream made of it.
    const auto failure = [&watched](const error_code& ec) { return watched.expired() ? beast::error::timeout : ec; };

    format_head(conn.head, url.path, req, host_header, config.user_agent);
    const std::array<asio::const_buffer, 2> wire{asio::buffer(conn.head), asio::buffer(req.body)};
    beast::buffers_suffix<std::array<asio::const_buffer, 2>> unsent(wire);
    error_code write_ec;
    if constexpr (std::is_same_v<Stream, tcp::socket>) {
      // The socket is non-blocking: a request that fits its send buffer (they all do) leaves at
      // once, without an operation through the reactor and the scheduler.
      unsent.consume(stream.write_some(wire, write_ec));
      if (write_ec == asio::error::would_block || write_ec == asio::error::try_again) write_ec = {};
    }
    if (!write_ec && beast::buffer_bytes(unsent) > 0) {
      auto [ec, written] = co_await asio::async_write(stream, unsent, use_tuple);
      write_ec = ec;
    }
    if (write_ec) {
      out.value = exchange_error(failure(write_ec), "sending the request to");
      out.nothing_received = !watched.expired() && is_peer_close(write_ec);
      co_return out;
    }

    // The cap counts header and body bytes; the header limit is the whole cap, the body gets
    // what the header left over.
    const std::uint64_t cap = config.max_response_bytes;
    response answer;
    answer.headers.reserve(8);
    response_parser parser(answer);
    parser.header_limit(
        static_cast<std::uint32_t>(std::min<std::uint64_t>(cap, std::numeric_limits<std::uint32_t>::max())));
    parser.body_limit(cap);

    auto [header_ec, header_bytes] = co_await bhttp::async_read_header(stream, conn.buffer, parser, use_tuple);
    if (header_ec) {
      out.value = exchange_error(failure(header_ec), "reading the response from");
      out.nothing_received =
          !watched.expired() && is_peer_close(header_ec) && !parser.got_some() && conn.buffer.size() == 0;
      co_return out;
    }
    const std::uint64_t body_room = cap - std::min<std::uint64_t>(header_bytes, cap);
    if (const auto length = parser.content_length(); length && *length > body_room) {
      out.value = exchange_error(bhttp::error::body_limit, "reading the response from");
      co_return out;
    }
    parser.body_limit(body_room);

    error_code body_ec;
    parse_buffered(parser, conn.buffer, body_ec);
    if (!body_ec && !parser.is_done()) {
      auto [read_ec, body_bytes] = co_await bhttp::async_read(stream, conn.buffer, parser, use_tuple);
      body_ec = read_ec;
    }
    if (body_ec) {
      out.value = exchange_error(failure(body_ec), "reading the response from");
      co_return out;
    }

    // A watchdog that fired after the last byte arrived closed the connection all the same.
    out.reusable = parser.keep_alive() && !parser.need_eof() && conn.buffer.size() == 0 && !watched.expired();
    out.value = std::move(answer);
    co_return out;
  }

  // client::send: the handler turns Asio's cancellation exception into an error, in the same
  // coroutine frame (a wrapper coroutine would cost a frame per send).
  asio::awaitable<result<response>> send(request req) {
    try {
      if (auto valid = validate(req); !valid) co_return valid.error();

      if (available_permits > 0) {
        --available_permits;
      } else {
        permit_waiter waiter(executor);
        waiters.push_back(&waiter);
        // Leaves the queue however the wait ends, a cancellation exception included.
        struct dequeue {
          impl& owner;
          permit_waiter& w;
          ~dequeue() {
            if (!w.granted) owner.waiters.remove(&w);
          }
        } on_exit{*this, waiter};
        co_await waiter.wake.async_wait(use_tuple);
        // Only the caller's cancellation ends the wait without a permit. A permit granted in the
        // same turn as the cancellation is kept: the exchange then aborts and hands it back.
        if (!waiter.granted)
          co_return error{asio::error::operation_aborted, "waiting for a free connection to " + peer + " cancelled"};
      }
      lease held(*this);

      for (bool first_try = true;; first_try = false) {
        bool reused = false;
        if (first_try && !idle.empty()) {
          held.conn = std::move(idle.back());
          idle.pop_back();
          reused = true;
        } else {
          auto opened = co_await open();
          if (!opened) co_return std::move(opened).error();
          held.conn = std::move(*opened);
        }

        connection& conn = *held.conn;
        // Not a ?: with two co_awaits: GCC 12 miscompiles co_await inside a conditional operator.
        exchange_outcome outcome;
        if (conn.tls)
          outcome = co_await exchange(*conn.tls, conn, req);
        else
          outcome = co_await exchange(*conn.plain, conn, req);

        // The keep-alive race: a server may close an idle connection just as we start reusing
        // it, and then we see EOF or a reset before any byte of a response. Retrying once on a
        // fresh connection is safe because it is limited to exactly that case (a reused
        // connection, nothing received): the peer closed a connection it considered idle. Our
        // requests are idempotent besides (CRM.COM acknowledgements; billing posts carry an
        // Idempotency-Key), so even a request the peer had started to process is harmless to
        // repeat. Once any response byte arrived we never retry: the caller decides.
        if (!outcome.value && reused && outcome.nothing_received) {
          held.conn->close();
          held.conn.reset();
          continue;
        }
        if (outcome.value && outcome.reusable) idle.push_back(std::move(held.conn));
        co_return std::move(outcome.value);
      }
    } catch (const boost::system::system_error& e) {
      // Once the coroutine's cancellation state is cancelled, Asio throws operation_aborted from
      // the next co_await even between operations; callers get it as an error like any other.
      co_return error{e.code(), "HTTP exchange with " + peer + " aborted"};
    }
  }
};

result<std::unique_ptr<client>> client::create(asio::any_io_executor executor, client_config config) {
  auto url = parse_base_url(config.base_url, config.allow_plain_http);
  if (!url) return url.error();
  auto p = std::make_unique<impl>(std::move(executor), std::move(config), std::move(*url));
  if (p->url.tls) {
    try {
      ssl::context ctx(ssl::context::tls_client);
      ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                      ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
      ctx.set_verify_mode(ssl::verify_peer);
      if (p->config.ca_file.empty()) {
        ctx.set_default_verify_paths();
      } else {
        // Checked first: OpenSSL's own message for a missing file is a bare "no such file".
        if (!std::ifstream(p->config.ca_file))
          return error{errc::tls_setup_failed, "CA file " + p->config.ca_file + " cannot be opened"};
        ctx.load_verify_file(p->config.ca_file);
      }
      p->tls_context.emplace(std::move(ctx));
    } catch (const boost::system::system_error& e) {
      return error{errc::tls_setup_failed, (p->config.ca_file.empty() ? std::string("loading the system's CA store")
                                                                      : "loading CA file " + p->config.ca_file) +
                                               " failed: " + e.code().message()};
    }
  }
  return std::unique_ptr<client>(new client(std::move(p)));
}

client::client(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
client::~client() = default;

asio::awaitable<result<response>> client::send(request req) { return impl_->send(std::move(req)); }

void client::close_idle() {
  for (auto& conn : impl_->idle) conn->close();
  impl_->idle.clear();
}

const base_url& client::url() const { return impl_->url; }

}  // namespace chargerecon::http
