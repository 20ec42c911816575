#pragma once
// An HTTP/1.1 client for one peer (CRM.COM or billing): keep-alive connections reused from a
// small pool, TLS through OpenSSL with certificate and host-name verification always on,
// timeouts, a response size cap, and no redirects (a 3xx is returned to the caller as is).

#include "common/error.hpp"
#include "http/message.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

namespace chargerecon::http {

struct client_config {
  // scheme://host[:port][/path]; https, or http only for a loopback host (127.0.0.0/8, ::1,
  // "localhost") unless allow_plain_http says otherwise.
  std::string base_url;
  bool allow_plain_http = false;
  std::string ca_file;  // PEM bundle to trust; empty: the system's default store
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(10)};
  std::chrono::milliseconds request_timeout{std::chrono::seconds(30)};  // write + read of one exchange
  std::size_t max_response_bytes = 16 * 1024 * 1024;                   // headers + body
  std::size_t max_connections = 4;                                      // concurrent sends beyond it wait
  std::string user_agent = "chargerecon/0.1";
};

// Parsed and policy-checked base URL (pure: unit-tested without sockets).
struct base_url {
  bool tls = false;
  std::string host;  // without brackets for IPv6
  std::string port;  // always set: 443/80 by default
  std::string path;  // always ends with '/'
};
// Errors: errc::invalid_url (unparsable, userinfo present, unsupported scheme, query/fragment),
// errc::plain_http_refused.
result<base_url> parse_base_url(std::string_view url, bool allow_plain_http);
bool is_loopback_host(std::string_view host);

class client {
 public:
  // Validates the URL and builds the TLS context (CA file read here).
  // Errors: invalid_url, plain_http_refused, tls_setup_failed.
  static result<std::unique_ptr<client>> create(boost::asio::any_io_executor executor, client_config config);
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  // One request/response exchange. Takes an idle kept-alive connection or opens one (waiting
  // when max_connections are busy); a connection the peer closed while idle is reopened once
  // transparently, before anything of this request was written.
  // Errors: resolve_failed, connect_failed, connect_timeout, tls_handshake_failed,
  // request_timeout, response_too_large, connection_lost, http_protocol_error; any HTTP status
  // is a success at this layer, and errc::invalid_request for a target or header the client
  // will not put on the wire. Terminal cancellation through the awaiting coroutine's cancellation
  // slot (what Asio passes by default; an exchange can never promise partial/total's "no side
  // effect") aborts the exchange, closes its connection, and yields boost::asio::error::operation_aborted.
  // `req` is moved into the coroutine frame; nothing must outlive the co_await but *this.
  boost::asio::awaitable<result<response>> send(request req);

  // Closes idle connections (shutdown, tests).
  void close_idle();

  const base_url& url() const;

 private:
  struct impl;
  explicit client(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace chargerecon::http
