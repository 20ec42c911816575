#include "chargereconctl/crm_session.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <exception>
#include <optional>
#include <unordered_set>

#include "crm/client.hpp"
#include "crm/http_transport.hpp"
#include "engine/crm_settings.hpp"
#include "engine/pass_cursor.hpp"
#include "http/client.hpp"

namespace chargerecon::ctl {

namespace asio = boost::asio;

struct crm_session::impl {
  asio::io_context io{1};
  std::unique_ptr<http::client> http;
  std::unique_ptr<crm::client> client;

  // Runs one awaitable to completion. An exception escaping the client is a bug: it becomes
  // an error here so the command can still say what it was doing.
  template <class T, class F>
  result<T> run(std::string_view what, F&& make) {
    std::optional<result<T>> out;
    std::exception_ptr failure;
    asio::co_spawn(
        io, [&]() -> asio::awaitable<void> { out.emplace(co_await make()); },
        [&](std::exception_ptr e) { failure = e; });
    io.restart();
    io.run();
    if (failure) {
      std::string text = "unexpected failure";
      try {
        std::rethrow_exception(failure);
      } catch (const std::exception& e) {
        text = e.what();
      } catch (...) {
      }
      return error{errc::connection_lost, std::string(what) + ": " + text};
    }
    if (!out) return error{errc::connection_lost, std::string(what) + ": the call ended without an answer"};
    return std::move(*out);
  }
};

crm_session::crm_session(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
crm_session::~crm_session() {
  if (impl_ && impl_->http) impl_->http->close_idle();
}

result<std::unique_ptr<crm_session>> crm_session::create(const config& cfg, const secrets& sec, obs::event_log log) {
  auto p = std::make_unique<impl>();
  http::client_config hc = engine::crm_http_settings(cfg.crm);
  hc.max_connections = 1;
  hc.user_agent = "chargereconctl/0.1";
  auto http = http::client::create(p->io.get_executor(), hc);
  if (!http) return http.error();
  p->http = std::move(*http);

  crm::credentials creds = engine::crm_credentials(cfg.crm, sec);
  crm::client_config cc = engine::crm_client_settings(cfg.crm);
  // A person is waiting: fewer, shorter retries than the daemon's.
  cc.retry.max_attempts = 3;
  cc.retry.backoff_initial = std::chrono::milliseconds(300);
  cc.retry.backoff_max = std::chrono::seconds(3);
  p->client = std::make_unique<crm::client>(crm::make_http_transport(*p->http), std::move(creds), cc, std::move(log));
  return std::unique_ptr<crm_session>(new crm_session(std::move(p)));
}

result<std::vector<crm::promotion>> crm_session::promotions() {
  return impl_->run<std::vector<crm::promotion>>(crm::method::list_promotions,
                                                 [&] { return impl_->client->list_promotions(); });
}

result<std::vector<crm::subscription>> crm_session::show_subscription(crm::subscription_query query) {
  return impl_->run<std::vector<crm::subscription>>(crm::method::show_subscription,
                                                    [&] { return impl_->client->show_subscription(std::move(query)); });
}

result<crm::subscription_signup> crm_session::create_subscription(crm::subscription_create_request request) {
  return impl_->run<crm::subscription_signup>(crm::method::create_subscription,
                                              [&] { return impl_->client->create_subscription(std::move(request)); });
}

result<void> crm_session::suspend(std::string customer, bool suspended) {
  return impl_->run<void>(suspended ? crm::method::suspend : crm::method::unsuspend, [&] {
    return suspended ? impl_->client->suspend(std::move(customer)) : impl_->client->unsuspend(std::move(customer));
  });
}

result<crm::device_result> crm_session::devices(bool registering, crm::group_identifier group,
                                                std::vector<std::string> esns) {
  return impl_->run<crm::device_result>(
      registering ? crm::method::register_devices : crm::method::unregister_devices, [&] {
        return registering ? impl_->client->register_devices(std::move(group), std::move(esns))
                           : impl_->client->unregister_devices(std::move(group), std::move(esns));
      });
}

result<crm_listing> crm_session::list_all(crm::list_status status, unsigned page_size) {
  crm_listing out;
  engine::pass_cursor cursor(page_size);
  // A page may repeat charges of the previous one (the list moved): each is kept once.
  std::unordered_set<std::string> kept;
  while (!cursor.finished()) {
    const auto offset = cursor.next_offset();
    auto page = impl_->run<crm::charges_page>(crm::method::list_charges,
                                              [&] { return impl_->client->list_charges(status, offset, page_size); });
    if (!page) return page.error();
    std::vector<std::string> identities;
    identities.reserve(page->entries);
    for (auto& c : page->charges) {
      identities.push_back(c.number);
      if (kept.insert(c.number).second) out.charges.push_back(std::move(c));
    }
    for (auto& m : page->malformed) {
      identities.push_back(m.number ? *m.number : "raw:" + m.raw_json);
      if (kept.insert(identities.back()).second) out.malformed.push_back(std::move(m));
    }
    cursor.on_page(identities);
  }
  out.complete = !cursor.stalled();
  out.pages = cursor.pages();
  return out;
}

}  // namespace chargerecon::ctl
