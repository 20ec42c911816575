#pragma once
// A small HTTP/1.1 server for the simulators (crm-sim, billing-fake) and the metrics
// endpoint: keep-alive, optional TLS, one coroutine per connection, and a handler that can
// also misbehave on purpose (drop the connection, send a truncated body) for fault injection.

#include "common/error.hpp"
#include "http/message.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace chargerecon::http {

struct server_request {
  method verb = method::get;
  std::string target;  // as received: path and query
  std::string body;
  std::vector<header_field> headers;
  std::optional<std::string_view> header(std::string_view name) const { return find_header(headers, name); }
};

struct server_reply {
  enum class action {
    respond,           // send `response` and keep the connection
    respond_and_close, // send `response` with Connection: close
    drop,              // close the connection without sending anything
  };
  action what = action::respond;
  response resp;  // status, body, headers (Content-Type defaults to application/json)
};

// May suspend (simulated latency). Runs on the server's executor; must not throw. stop()
// cancels a handler still suspended (terminal cancellation of its coroutine). The server keeps
// the handler alive until its last connection has ended, which may be after ~server().
using handler = std::function<boost::asio::awaitable<server_reply>(server_request)>;

struct server_config {
  std::string listen_address = "127.0.0.1";
  std::uint16_t port = 0;      // 0: the kernel picks one; port() tells which
  std::string tls_cert_file;   // PEM; TLS when both files are set
  std::string tls_key_file;
  std::size_t max_request_bytes = 8 * 1024 * 1024;  // body; a larger one is answered 413
  // A client that connects and stays silent must not pin a connection forever.
  std::chrono::milliseconds handshake_timeout{std::chrono::seconds(10)};  // TLS handshake
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(60)};  // awaiting and reading a request, writing its answer
};

class server {
 public:
  // Binds and listens at once (so port() is known before run()). listen_address is an IP
  // literal. Errors: invalid_argument (bad address, empty handler), tls_setup_failed,
  // connect_failed (bind/listen).
  static result<std::unique_ptr<server>> create(boost::asio::any_io_executor executor, server_config config,
                                                handler h);
  ~server();

  std::uint16_t port() const;

  // Accepts until cancelled (total, partial or terminal) or stop(), then closes every
  // connection and returns once their coroutines have ended. Call at most once. The returned
  // awaitable keeps what it needs alive by itself.
  boost::asio::awaitable<void> run();
  // Closes the listener and every connection; run() then returns. Idempotent; call it on the
  // executor's thread (the server is single-threaded). ~server() calls it.
  void stop();

 private:
  struct impl;
  explicit server(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace chargerecon::http
