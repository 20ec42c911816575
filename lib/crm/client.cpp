#include "crm/client.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <optional>
#include <random>
#include <variant>

#include "crm/answers.hpp"
#include "crm/jwt.hpp"

namespace chargerecon::crm {

namespace asio = boost::asio;
using std::chrono::milliseconds;

sleeper timer_sleeper() {
  return [](milliseconds delay) -> asio::awaitable<boost::system::error_code> {
    asio::steady_timer timer(co_await asio::this_coro::executor, delay);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    co_return ec;
  };
}

namespace {

// How one attempt ended: a value, or a failure with its class. `final` failures end the call
// whatever the retry policy would say (cancellation, refused credentials, bad arguments).
template <class T>
struct outcome {
  std::optional<T> value;
  failure_class cls = failure_class::permanent;
  error err;
  bool final = false;

  static outcome failed(failure_class c, error e, bool is_final = false) {
    outcome o;
    o.cls = c;
    o.err = std::move(e);
    o.final = is_final;
    return o;
  }
};

bool is_cancelled(const boost::system::error_code& ec) { return ec == asio::error::operation_aborted; }

// Which transport errors prove the request never left us, and which no repetition can cure: a
// certificate refused (untrusted, expired, another host's name) stays refused until a person
// acts, so the call ends at once with the verification's reason rather than after its retries.
failure_class classify_transport_error(const boost::system::error_code& ec) {
  if (ec == errc::resolve_failed || ec == errc::connect_failed || ec == errc::connect_timeout)
    return failure_class::not_sent;
  if (ec == errc::invalid_url || ec == errc::plain_http_refused || ec == errc::tls_setup_failed ||
      ec == errc::tls_handshake_failed)
    return failure_class::permanent;
  return failure_class::transport;
}

bool is_transient_http_status(unsigned status) { return status >= 500 || status == 408 || status == 429; }

// Defence in depth: a diagnostic from a lower layer might echo the request target, whose
// query carries the token.
std::string redact(std::string text, std::string_view secret) {
  if (secret.size() < 4) return text;
  for (auto pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos))
    text.replace(pos, secret.size(), "[token]");
  return text;
}

std::string http_status_diagnostic(std::string_view method_name, const http::response& r) {
  return std::string(method_name) + ": HTTP " + std::to_string(r.status) + ": " + quote_peer_text(r.body, 200);
}

// std::monostate stands for "no value" so that one call template serves every method.
result<void> to_void(result<std::monostate> r) {
  if (!r) return r.error();
  return {};
}

}  // namespace

struct client::impl {
  transport send;
  credentials creds;
  client_config config;
  obs::event_log log;
  client_hooks hooks;

  std::optional<std::string> token;
  std::chrono::system_clock::time_point token_expiry{};
  // Why the next login replaces a token, for crm.token_refreshed; empty for the first login.
  std::string_view refresh_reason;
  unsigned login_refusals = 0;
  std::chrono::system_clock::time_point last_refusal{};

  impl(transport t, credentials c, client_config cfg, obs::event_log l, client_hooks h)
      : send(std::move(t)), creds(std::move(c)), config(cfg), log(std::move(l)), hooks(std::move(h)) {
    if (!hooks.now) hooks.now = [] { return std::chrono::system_clock::now(); };
    if (!hooks.sleep) hooks.sleep = timer_sleeper();
    if (!hooks.random) {
      auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
      hooks.random = [engine] { return std::uniform_real_distribution<double>(0.0, 1.0)(*engine); };
    }
  }

  bool token_fresh() const { return token && !token_needs_refresh(hooks.now(), token_expiry, config.refresh_margin); }

  // One login exchange, behind the refusal backoff.
  asio::awaitable<outcome<std::string>> login_once() {
    const auto method_name = login_method(creds);
    if (login_refusals > 0) {
      const auto allowed_at = last_refusal + login_refusal_delay(config.login_backoff, login_refusals);
      const auto now = hooks.now();
      if (now < allowed_at) {
        const auto wait = std::chrono::ceil<milliseconds>(allowed_at - now);
        log.info("crm.login_delayed", {{"method", method_name},
                                       {"consecutive_refusals", login_refusals},
                                       {"delay_ms", static_cast<std::int64_t>(wait.count())}});
        if (auto ec = co_await hooks.sleep(wait))
          co_return outcome<std::string>::failed(failure_class::permanent,
                                                 error{ec, std::string(method_name) + ": cancelled"}, true);
      }
    }
    auto req = build_login(creds);
    if (!req) co_return outcome<std::string>::failed(failure_class::permanent, req.error(), true);
    auto resp = co_await send(std::move(*req));
    if (!resp) {
      const auto& ec = resp.error().code;
      co_return outcome<std::string>::failed(classify_transport_error(ec), resp.error(), is_cancelled(ec));
    }
    if (resp->status >= 200 && resp->status < 300) {
      auto parsed = parse_login(resp->body, method_name);
      if (parsed) {
        accept_token(std::move(*parsed), method_name);
        co_return outcome<std::string>{*token, {}, {}, false};
      }
      if (parsed.error().code == errc::malformed_answer)
        co_return outcome<std::string>::failed(failure_class::malformed, parsed.error());
      co_return refused(method_name, resp->status, parsed.error().diagnostic);
    }
    if (is_transient_http_status(resp->status))
      co_return outcome<std::string>::failed(failure_class::http_transient,
                                             error{errc::crm_http_status, http_status_diagnostic(method_name, *resp)});
    co_return refused(method_name, resp->status, http_status_diagnostic(method_name, *resp));
  }

  outcome<std::string> refused(std::string_view method_name, unsigned http_status, std::string diagnostic) {
    ++login_refusals;
    last_refusal = hooks.now();
    const auto next = login_refusal_delay(config.login_backoff, login_refusals);
    log.error("crm.login_refused", {{"method", method_name},
                                    {"http_status", http_status},
                                 {"consecutive_refusals", login_refusals},
                                 {"next_login_in_ms", static_cast<std::int64_t>(next.count())},
                                 {"error", diagnostic}});
    return outcome<std::string>::failed(failure_class::permanent, error{errc::crm_login_refused, std::move(diagnostic)},
                                        true);
  }

  void accept_token(std::string fresh, std::string_view method_name) {
    const auto now = hooks.now();
    const auto exp = jwt_expiry(fresh);
    // An exp already inside the margin (server clock behind ours) would make every call log
    // in again: fall back to the configured lifetime then.
    const bool use_exp = exp && *exp > now + config.refresh_margin;
    token_expiry = use_exp ? *exp : now + config.token_lifetime;
    token = std::move(fresh);
    login_refusals = 0;
    const auto expires_in = std::chrono::duration_cast<std::chrono::seconds>(token_expiry - now);
    log.info("crm.login", {{"method", method_name},
                           {"expiry_source", use_exp ? "exp" : "lifetime"},
                           {"expires_in_s", static_cast<std::int64_t>(expires_in.count())}});
    if (!refresh_reason.empty()) log.info("crm.token_refreshed", {{"reason", refresh_reason}});
    refresh_reason = {};
  }

  asio::awaitable<outcome<std::string>> ensure_token() {
    if (token_fresh()) co_return outcome<std::string>{*token, {}, {}, false};
    if (token) refresh_reason = "expiry";
    co_return co_await login_once();
  }

  // Maps one exchange's answer to an outcome.
  template <class T, class Parse>
  outcome<T> judge(std::string_view method_name, const http::response& r, const Parse& parse) {
    if (r.status >= 200 && r.status < 300) {
      result<T> parsed = parse(r.body);
      if (parsed) return outcome<T>{std::move(*parsed), {}, {}, false};
      if (parsed.error().code == errc::malformed_answer)
        return outcome<T>::failed(failure_class::malformed, parsed.error());
      if (parsed.error().code == errc::crm_status_not_ok)
        return outcome<T>::failed(classify_failed_answer(r.status, r.body) == failure_kind::token_invalid
                                      ? failure_class::token
                                      : failure_class::status_not_ok,
                                  parsed.error());
      return outcome<T>::failed(failure_class::permanent, parsed.error());
    }
    error e{errc::crm_http_status, http_status_diagnostic(method_name, r)};
    if (classify_failed_answer(r.status, r.body) == failure_kind::token_invalid)
      return outcome<T>::failed(failure_class::token, std::move(e));
    if (is_transient_http_status(r.status)) return outcome<T>::failed(failure_class::http_transient, std::move(e));
    return outcome<T>::failed(failure_class::permanent, std::move(e));
  }

  // The error a call ends with once the policy gives up.
  error final_error(std::string_view method_name, const attempt_state& st, failure_class cls, const error& last) const {
    if (cls == failure_class::token)
      return error{errc::crm_token_rejected,
                   std::string(method_name) + ": token refused again after a new login: " + last.diagnostic};
    const bool retryable = cls != failure_class::permanent && (st.idempotent || cls == failure_class::not_sent);
    if (retryable && st.attempt >= config.retry.max_attempts)
      return error{errc::crm_retries_exhausted, std::string(method_name) + ": gave up after " +
                                                    std::to_string(st.attempt) + " attempts: " + last.to_string()};
    return last;
  }

  // Applies the retry policy. Returns the error to end the call with, or nullopt to go on.
  asio::awaitable<std::optional<error>> after_failure(std::string_view method_name, attempt_state& st,
                                                      failure_class cls, error err, bool is_final) {
    if (token) err.diagnostic = redact(std::move(err.diagnostic), *token);
    if (is_final) {
      if (!is_cancelled(err.code))
        log.error("crm.call_failed", {{"method", method_name},
                                      {"attempts", st.attempt},
                                      {"failure", to_string(cls)},
                                      {"error", err.to_string()}});
      co_return std::optional<error>(std::move(err));
    }
    const auto d = decide_retry(config.retry, st, cls, hooks.random);
    switch (d.action) {
      case retry_action::retry: {
        log.warn("crm.call_retry", {{"method", method_name},
                                    {"attempt", st.attempt},
                                    {"failure", to_string(cls)},
                                    {"delay_ms", static_cast<std::int64_t>(d.delay.count())},
                                    {"error", err.to_string()}});
        if (auto ec = co_await hooks.sleep(d.delay))
          co_return std::optional<error>(error{ec, std::string(method_name) + ": cancelled during backoff"});
        ++st.attempt;
        co_return std::nullopt;
      }
      case retry_action::relogin_and_repeat:
        log.warn("crm.token_rejected", {{"method", method_name}, {"attempt", st.attempt}, {"error", err.to_string()}});
        token.reset();
        refresh_reason = "auth_failure";
        st.relogged_in = true;
        co_return std::nullopt;
      case retry_action::give_up:
        break;
    }
    auto final = final_error(method_name, st, cls, err);
    log.error(
        "crm.call_failed",
        {{"method", method_name}, {"attempts", st.attempt}, {"failure", to_string(cls)}, {"error", final.to_string()}});
    co_return std::optional<error>(std::move(final));
  }

  // One method call: fresh token, exchange, judge, and the retry policy around them.
  // `build` makes the request for a token; `parse` reads a 2xx body.
  template <class T, class Build, class Parse>
  asio::awaitable<result<T>> call(std::string_view method_name, bool idempotent, Build build, Parse parse) {
    // Argument and limit errors surface before any login or exchange.
    if (auto probe = build(std::string_view{}); !probe) co_return probe.error();
    attempt_state st;
    st.idempotent = idempotent;
    for (;;) {
      outcome<T> o;
      auto tok = co_await ensure_token();
      // A failed login means the call itself never left: even a non-idempotent call may go on.
      st.idempotent = idempotent || !tok.value;
      if (!tok.value) {
        o = outcome<T>::failed(tok.cls, std::move(tok.err), tok.final);
      } else {
        auto req = build(std::string_view(*tok.value));
        if (!req) co_return req.error();
        auto resp = co_await send(std::move(*req));
        if (!resp)
          o = outcome<T>::failed(classify_transport_error(resp.error().code), resp.error(),
                                 is_cancelled(resp.error().code));
        else
          o = judge<T>(method_name, *resp, parse);
      }
      if (o.value) co_return std::move(*o.value);
      if (auto end = co_await after_failure(method_name, st, o.cls, std::move(o.err), o.final))
        co_return std::move(*end);
    }
  }

  asio::awaitable<result<void>> login() {
    const auto method_name = login_method(creds);
    if (token) refresh_reason = "requested";
    attempt_state st;
    for (;;) {
      auto o = co_await login_once();
      if (o.value) co_return result<void>{};
      if (auto end = co_await after_failure(method_name, st, o.cls, std::move(o.err), o.final))
        co_return std::move(*end);
    }
  }

  asio::awaitable<result<device_result>> devices(std::string_view method_name, group_identifier group,
                                                 std::vector<std::string> esns) {
    if (esns.empty()) co_return error{errc::invalid_argument, std::string(method_name) + ": devices is empty"};
    device_result merged;
    for (auto slice : split_devices(esns)) {
      auto r = co_await call<device_result>(
          method_name, true, [&](std::string_view tok) { return build_devices(method_name, tok, group, slice); },
          [&](std::string_view body) { return parse_devices(body, method_name); });
      if (!r) co_return r.error();
      merged.failed_esns.insert(merged.failed_esns.end(), r->failed_esns.begin(), r->failed_esns.end());
    }
    co_return merged;
  }
};

client::client(transport send, credentials creds, client_config config, obs::event_log log, client_hooks hooks)
    : impl_(std::make_unique<impl>(std::move(send), std::move(creds), config, std::move(log), std::move(hooks))) {}

client::~client() = default;

bool client::has_fresh_token() const { return impl_->token_fresh(); }

asio::awaitable<result<void>> client::login() { co_return co_await impl_->login(); }

asio::awaitable<result<charges_page>> client::list_charges(list_status status, std::size_t offset,
                                                           unsigned number_of_results,
                                                           std::vector<std::string> fields) {
  const list_charges_params params{status, offset, number_of_results, std::move(fields)};
  co_return co_await impl_->call<charges_page>(
      method::list_charges, true, [&](std::string_view tok) { return build_list_charges(tok, params); },
      [](std::string_view body) { return parse_list_charges(body); });
}

asio::awaitable<result<std::vector<ack_refusal>>> client::acknowledge(std::vector<ack_item> items) {
  if (items.empty()) co_return std::vector<ack_refusal>{};
  co_return co_await impl_->call<std::vector<ack_refusal>>(
      method::acknowledge, true, [&](std::string_view tok) { return build_acknowledge(tok, items); },
      [](std::string_view body) { return parse_acknowledge(body); });
}

asio::awaitable<result<std::vector<promotion>>> client::list_promotions(std::vector<std::string> fields) {
  co_return co_await impl_->call<std::vector<promotion>>(
      method::list_promotions, true, [&](std::string_view tok) { return build_list_promotions(tok, fields); },
      [](std::string_view body) { return parse_list_promotions(body); });
}

asio::awaitable<result<std::vector<subscription>>> client::show_subscription(subscription_query query) {
  co_return co_await impl_->call<std::vector<subscription>>(
      method::show_subscription, true, [&](std::string_view tok) { return build_show_subscription(tok, query); },
      [](std::string_view body) { return parse_show_subscription(body); });
}

asio::awaitable<result<subscription_signup>> client::create_subscription(subscription_create_request request) {
  co_return co_await impl_->call<subscription_signup>(
      method::create_subscription, false, [&](std::string_view tok) { return build_create_subscription(tok, request); },
      [](std::string_view body) { return parse_create_subscription(body); });
}

asio::awaitable<result<void>> client::suspend(std::string customer) {
  auto r = co_await impl_->call<std::monostate>(
      method::suspend, true, [&](std::string_view tok) { return build_suspension(method::suspend, tok, customer); },
      [](std::string_view body) -> result<std::monostate> {
        if (auto p = parse_empty_answer(body, method::suspend); !p) return p.error();
        return std::monostate{};
      });
  co_return to_void(std::move(r));
}

asio::awaitable<result<void>> client::unsuspend(std::string customer) {
  auto r = co_await impl_->call<std::monostate>(
      method::unsuspend, true, [&](std::string_view tok) { return build_suspension(method::unsuspend, tok, customer); },
      [](std::string_view body) -> result<std::monostate> {
        if (auto p = parse_empty_answer(body, method::unsuspend); !p) return p.error();
        return std::monostate{};
      });
  co_return to_void(std::move(r));
}

asio::awaitable<result<device_result>> client::register_devices(group_identifier group, std::vector<std::string> esns) {
  co_return co_await impl_->devices(method::register_devices, std::move(group), std::move(esns));
}

asio::awaitable<result<device_result>> client::unregister_devices(group_identifier group,
                                                                  std::vector<std::string> esns) {
  co_return co_await impl_->devices(method::unregister_devices, std::move(group), std::move(esns));
}

}  // namespace chargerecon::crm
