// The HTTP/1.1 client: a pool of keep-alive connections, bounded by counted permits.
//
// Threading: a client and its connections live on one executor (the protocol io_context thread);
// send() must be awaited from coroutines running there. Nothing here locks.
//
// Connections: at most max_connections exist at once, counted by permits. A send takes a permit
// (or queues for one, first come first served), then the most recently used idle connection (or opens one), and
// gives both back when done: the connection only when it is clean (keep-alive granted, response
// read completely, no stray bytes), otherwise it is closed.

#include "http/client.hpp"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <cstdint>
#include <fstream>
#include <limits>
#include <list>
#include <optional>
#include <vector>

namespace chargerecon::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

using wire_request = bhttp::request<bhttp::string_body>;

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

  beast::tcp_stream& tcp_layer() { return tls ? tls->next_layer() : *plain; }

  // No TLS close_notify: the connection is abandoned after an error or at shutdown, and
  // HTTP/1.1 framing, not the TLS close, tells us where each response ends.
  void close() { tcp_layer().close(); }

  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;
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
  auto check_value = [](std::string_view what, std::string_view value) -> result<void> {
    for (unsigned char c : value)
      if (c == '\r' || c == '\n' || c == '\0')
        return error{errc::invalid_request, std::string(what) + " holds CR, LF or NUL"};
    return {};
  };
  if (auto r = check_value("Content-Type", req.content_type); !r) return r;
  for (const auto& h : req.headers) {
    if (h.name.empty() ||
        !std::all_of(h.name.begin(), h.name.end(), [](char c) { return is_token_char(static_cast<unsigned char>(c)); }))
      return error{errc::invalid_request, "header name '" + quote_peer_text(h.name) + "' is not an HTTP token"};
    // These frame the message on the wire; the client owns them.
    for (std::string_view reserved : {"Host", "Content-Length", "Transfer-Encoding", "Connection"})
      if (std::equal(h.name.begin(), h.name.end(), reserved.begin(), reserved.end(), [](char a, char b) {
            return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
          }))
        return error{errc::invalid_request, "header " + h.name + " is set by the HTTP client itself"};
    // Values may be secrets (Authorization): the diagnostic names the header, never the value.
    if (auto r = check_value("header " + h.name, h.value); !r) return r;
  }
  return {};
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
        available_permits(max_connections) {
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

  wire_request build(request& req) const {
    wire_request m;
    m.version(11);
    m.method(req.verb == method::post ? bhttp::verb::post : bhttp::verb::get);
    std::string_view relative = req.target;
    // The base path already ends with '/': "/a/" + "/b" would address "/a//b".
    if (!relative.empty() && relative.front() == '/') relative.remove_prefix(1);
    m.target(url.path + std::string(relative));
    m.set(bhttp::field::host, host_header);
    m.set(bhttp::field::user_agent, config.user_agent);
    for (auto& h : req.headers) m.set(h.name, h.value);
    if (!req.content_type.empty()) m.set(bhttp::field::content_type, req.content_type);
    m.body() = std::move(req.body);
    m.prepare_payload();
    return m;
  }

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
  // checked when it returns and bounds connect and handshake through the stream's expiry.
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
    conn->tcp_layer().expires_at(deadline);
    auto [connect_ec, endpoint] = co_await conn->tcp_layer().async_connect(endpoints, use_tuple);
    if (connect_ec) co_return connect_error(connect_ec, "connecting to");
    error_code ignored;  // Nagle only delays; the exchange works either way
    conn->tcp_layer().socket().set_option(tcp::no_delay(true), ignored);

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
      if (handshake_ec) co_return handshake_error(handshake_ec, *conn);
    }
    conn->tcp_layer().expires_never();
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

  // One request and its response on `stream`, all within request_timeout.
  template <class Stream>
  asio::awaitable<exchange_outcome> exchange(Stream& stream, connection& conn, const wire_request& message) {
    exchange_outcome out;
    conn.tcp_layer().expires_after(config.request_timeout);

    auto [write_ec, written] = co_await bhttp::async_write(stream, message, use_tuple);
    if (write_ec) {
      out.value = exchange_error(write_ec, "sending the request to");
      out.nothing_received = is_peer_close(write_ec);
      co_return out;
    }

    // The cap counts header and body bytes; the header limit is the whole cap, the body gets
    // what the header left over.
    const std::uint64_t cap = config.max_response_bytes;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.header_limit(
        static_cast<std::uint32_t>(std::min<std::uint64_t>(cap, std::numeric_limits<std::uint32_t>::max())));
    parser.body_limit(cap);

    auto [header_ec, header_bytes] = co_await bhttp::async_read_header(stream, conn.buffer, parser, use_tuple);
    if (header_ec) {
      out.value = exchange_error(header_ec, "reading the response from");
      out.nothing_received = is_peer_close(header_ec) && !parser.got_some() && conn.buffer.size() == 0;
      co_return out;
    }
    const std::uint64_t body_room = cap - std::min<std::uint64_t>(header_bytes, cap);
    if (const auto length = parser.content_length(); length && *length > body_room) {
      out.value = exchange_error(bhttp::error::body_limit, "reading the response from");
      co_return out;
    }
    parser.body_limit(body_room);

    auto [body_ec, body_bytes] = co_await bhttp::async_read(stream, conn.buffer, parser, use_tuple);
    if (body_ec) {
      out.value = exchange_error(body_ec, "reading the response from");
      co_return out;
    }

    auto& message_in = parser.get();
    out.reusable = message_in.keep_alive() && !parser.need_eof() && conn.buffer.size() == 0;
    response r;
    r.status = message_in.result_int();
    r.headers.reserve(static_cast<std::size_t>(std::distance(message_in.begin(), message_in.end())));
    for (const auto& field : message_in)
      r.headers.push_back(header_field{std::string(field.name_string()), std::string(field.value())});
    r.body = std::move(message_in.body());
    out.value = std::move(r);
    conn.tcp_layer().expires_never();
    co_return out;
  }

  asio::awaitable<result<response>> send(request req) {
    if (auto valid = validate(req); !valid) co_return valid.error();
    const wire_request message = build(req);

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
        outcome = co_await exchange(*conn.tls, conn, message);
      else
        outcome = co_await exchange(*conn.plain, conn, message);

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

asio::awaitable<result<response>> client::send(request req) {
  try {
    co_return co_await impl_->send(std::move(req));
  } catch (const boost::system::system_error& e) {
    // Once the coroutine's cancellation state is cancelled, Asio throws operation_aborted from
    // the next co_await even between operations; callers get it as an error like any other.
    co_return error{e.code(), "HTTP exchange with " + impl_->peer + " aborted"};
  }
}

void client::close_idle() {
  for (auto& conn : impl_->idle) conn->close();
  impl_->idle.clear();
}

const base_url& client::url() const { return impl_->url; }

}  // namespace chargerecon::http
