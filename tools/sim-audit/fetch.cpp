#include "sim-audit/fetch.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <exception>
#include <optional>
#include <string>

#include "http/client.hpp"

namespace chargerecon::sim_audit {

namespace asio = boost::asio;

namespace {

// One exchange on an io_context of its own; the body of a 200 answer.
result<std::string> exchange(std::string_view base_url, http::method verb, std::string_view target, std::string body,
                             std::chrono::milliseconds timeout) {
  const std::string verb_name = verb == http::method::get ? "GET" : "POST";
  asio::io_context io(1);
  http::client_config config;
  config.base_url = std::string(base_url);
  config.connect_timeout = timeout;
  config.request_timeout = timeout;
  // A state of a million charges is a few hundred MiB of JSON: still something to audit.
  config.max_response_bytes = std::size_t{1} << 30;
  config.max_connections = 1;
  config.user_agent = "sim-audit/0.1";
  auto created = http::client::create(io.get_executor(), config);
  if (!created) return created.error();
  auto& client = **created;

  std::optional<result<http::response>> answer;
  http::request req;
  req.verb = verb;
  req.target = std::string(target);
  if (verb != http::method::get) {
    req.body = std::move(body);
    req.content_type = "application/json";
  }
  std::exception_ptr failure;
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { answer = co_await client.send(std::move(req)); },
      [&](std::exception_ptr e) { failure = e; });
  io.run();
  const auto& u = client.url();
  const std::string url = (u.tls ? "https://" : "http://") + u.host + ":" + u.port + u.path + std::string(target);
  if (failure || !answer)
    return error{errc::connection_lost, verb_name + " " + url + ": the exchange ended without an answer"};
  if (!*answer) {
    auto e = answer->error();
    e.diagnostic = verb_name + " " + url + ": " + e.diagnostic;
    return e;
  }
  auto& resp = answer->value();
  if (resp.status != 200)
    return error{errc::http_protocol_error, verb_name + " " + url + " answered HTTP " + std::to_string(resp.status) +
                                                ": " + quote_peer_text(resp.body, 200)};
  return std::move(resp.body);
}

}  // namespace

result<std::string> fetch_state(std::string_view base_url, std::string_view target, std::chrono::milliseconds timeout) {
  return exchange(base_url, http::method::get, target, {}, timeout);
}

result<std::string> post_json(std::string_view base_url, std::string_view target, std::string body,
                              std::chrono::milliseconds timeout) {
  return exchange(base_url, http::method::post, target, std::move(body), timeout);
}

}  // namespace chargerecon::sim_audit
