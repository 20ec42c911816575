#include "engine/service.hpp"

#include <unistd.h>

#include <atomic>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <csignal>
#include <cstdio>

#include "billing/client.hpp"
#include "config/diff.hpp"
#include "config/loader.hpp"
#include "crm/answers.hpp"
#include "crm/client.hpp"
#include "crm/http_transport.hpp"
#include "engine/crm_settings.hpp"
#include "engine/reconciler.hpp"
#include "engine/worker_thread.hpp"
#include "http/client.hpp"
#include "http/server.hpp"
#include "ledger/sqlite_ledger.hpp"
#include "observability/call_metrics.hpp"
#include "observability/health.hpp"
#include "observability/ledger_accounting.hpp"
#include "observability/metrics.hpp"
#include "observability/service_notifier.hpp"

namespace chargerecon::engine {
namespace asio = boost::asio;
namespace {

constexpr int exit_ok = 0;
// A ledger that fails its integrity check: restarting cannot help (systemd's unit lists it in
// RestartPreventExitStatus), a person must restore it. EX_DATAERR.
constexpr int exit_ledger_damaged = 65;
constexpr int exit_unavailable = 69;
constexpr int exit_software = 70;

bool is_integrity_failure(const error& e) { return e.code == make_error_code(errc::ledger_integrity); }

void log_integrity_failure(obs::event_log& log, const std::string& path, const error& e) {
  log.error("ledger.integrity_failed",
            {{"path", path},
             {"error", e.to_string()},
             {"detail", "the ledger is damaged; chargerecond will not run on it (exit 65, not restarted): "
                        "restore it from a backup"}});
}

std::vector<std::string> status_names(const std::vector<crm_charge_status>& statuses) {
  std::vector<std::string> out;
  for (auto s : statuses) out.emplace_back(to_string(s));
  return out;
}

// billing.url names the POST target itself; the HTTP client takes an origin and the billing
// client a path relative to it.
struct split_url {
  std::string origin;  // scheme://host:port/
  std::string target;  // path and query without the leading '/'
};
std::optional<split_url> split_billing_url(const std::string& url) {
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) return std::nullopt;
  boost::urls::url origin(*parsed);
  std::string path(parsed->encoded_path());
  origin.set_encoded_path("/");
  origin.remove_query();
  origin.remove_fragment();
  if (!path.empty() && path.front() == '/') path.erase(0, 1);
  return split_url{std::string(origin.buffer()), path};
}

engine_config make_engine_config(const config& cfg) {
  engine_config e;
  e.list_processed = false;
  for (auto f : cfg.poll.charge_status) {
    if (f == charge_list_filter::processed) e.list_processed = true;
    if (f == charge_list_filter::not_processed) e.list_not_processed = true;
  }
  e.page_size = cfg.poll.page_size;
  e.poll_interval = cfg.poll.interval;
  e.billing_concurrency = cfg.billing.concurrency;
  e.billing_backoff_initial = cfg.billing.backoff_initial;
  e.billing_backoff_max = cfg.billing.backoff_max;
  e.ack_batch_size = cfg.ack.batch_size;
  e.ack_linger = cfg.ack.linger;
  e.ack_done_error_codes = cfg.ack.done_error_codes;
  return e;
}

void print_summary(const run_summary& s, const ledger::state_counts& counts) {
  std::fprintf(stderr,
               "\nchargerecond summary: %llu passes, %llu pages, %llu new charges, %llu billed, %llu held, "
               "%llu acknowledged, %llu acknowledgement refusals, %llu dead, %llu malformed\n",
               static_cast<unsigned long long>(s.passes), static_cast<unsigned long long>(s.pages),
               static_cast<unsigned long long>(s.charges_new), static_cast<unsigned long long>(s.billed),
               static_cast<unsigned long long>(s.held), static_cast<unsigned long long>(s.acknowledged),
               static_cast<unsigned long long>(s.ack_refusals), static_cast<unsigned long long>(s.dead),
               static_cast<unsigned long long>(s.charges_malformed));
  std::fprintf(stderr, "ledger:");
  for (const auto& [state, n] : counts)
    std::fprintf(stderr, " %s=%lld", std::string(ledger::to_string(state)).c_str(), static_cast<long long>(n));
  std::fprintf(stderr, "\n");
}

}  // namespace

int run_service(const config& cfg, const secrets& sec, const service_options& options, obs::event_log& log) {
  asio::io_context io;
  obs::service_notifier notifier;
  obs::registry metrics;

  // --- the ledger ----------------------------------------------------------------------------
  ledger::sqlite_ledger_options lopts;
  lopts.path = cfg.ledger.path;
  lopts.mode = ledger::open_mode::exclusive;
  lopts.policy.bill_statuses = status_names(cfg.billing.bill_statuses);
  lopts.policy.ack_max_attempts = static_cast<int>(cfg.ack.max_attempts);
  lopts.policy.ack_backoff = {cfg.ack.backoff_initial, cfg.ack.backoff_max};
  // PRAGMA quick_check reads every page of the file: seconds for a million charges, so it does
  // not hold up READY; it runs after it, in the background (see check_integrity below).
  lopts.check_integrity = false;
  auto opened = ledger::sqlite_ledger::open(lopts, log);
  if (!opened) {
    if (is_integrity_failure(opened.error())) {
      log_integrity_failure(log, cfg.ledger.path, opened.error());
      return exit_ledger_damaged;
    }
    log.error("ledger.open_failed", {{"path", cfg.ledger.path}, {"error", opened.error().to_string()}});
    return exit_unavailable;
  }
  auto& store = **opened;
  worker_thread ledger_thread;
  // The balance's query runs on a read-only connection and thread of its own: a scan of the
  // whole table every few seconds must not queue behind (or ahead of) the engine's commits.
  auto accounting_reader = obs::ledger_accounting_reader::open(cfg.ledger.path);
  if (!accounting_reader) {
    log.error("ledger.open_failed", {{"path", cfg.ledger.path}, {"error", accounting_reader.error().to_string()}});
    return exit_unavailable;
  }
  worker_thread metrics_thread;

  // --- CRM.COM -------------------------------------------------------------------------------
  auto crm_transport = http::client::create(io.get_executor(), crm_http_settings(cfg.crm));
  if (!crm_transport) {
    log.error("crm.setup_failed", {{"error", crm_transport.error().to_string()}});
    return exit_unavailable;
  }
  crm::credentials creds = crm_credentials(cfg.crm, sec);
  const crm::client_config crm_conf = crm_client_settings(cfg.crm);
  // Logged in means: the last login answered with a token. Logins are seen in passing, as
  // POSTs to authentication/* (password or Web API key), through the metrics decorator.
  bool logged_in = false;
  obs::call_metrics_options crm_calls;
  crm_calls.peer = "crm";
  crm_calls.by_method = true;
  crm_calls.on_answer = [&](const http::request& req, const result<http::response>& r) {
    if (req.verb != http::method::post || !obs::call_method_label(req.target).starts_with("authentication/")) return;
    logged_in = r && r->status < 300 && crm::parse_login(r->body).has_value();
    metrics
        .get_counter("chargerecon_crm_logins_total", "Logins to CRM.COM (token refreshes included), by result",
                     {{"result", logged_in ? "ok" : "failed"}})
        .inc();
  };
  for (const char* outcome : {"ok", "failed"})
    metrics.get_counter("chargerecon_crm_logins_total", "Logins to CRM.COM (token refreshes included), by result",
                        {{"result", outcome}});
  crm::client crm_client(obs::instrument_exchange(crm::make_http_transport(**crm_transport), metrics, crm_calls),
                         std::move(creds), crm_conf, log);

  // --- billing -------------------------------------------------------------------------------
  const auto billing_url = split_billing_url(cfg.billing.url);
  if (!billing_url) {
    log.error("billing.setup_failed", {{"error", "billing.url does not parse"}});
    return exit_unavailable;
  }
  http::client_config bill_http;
  bill_http.base_url = billing_url->origin;
  bill_http.allow_plain_http = cfg.billing.allow_plain_http;
  bill_http.ca_file = cfg.billing.ca_file;
  bill_http.connect_timeout = cfg.billing.connect_timeout;
  bill_http.request_timeout = cfg.billing.timeout;
  bill_http.max_connections = cfg.billing.concurrency;
  auto bill_transport = http::client::create(io.get_executor(), bill_http);
  if (!bill_transport) {
    log.error("billing.setup_failed", {{"error", bill_transport.error().to_string()}});
    return exit_unavailable;
  }
  billing::client_config bill_conf;
  bill_conf.concurrency = cfg.billing.concurrency;
  bill_conf.post_timeout = cfg.billing.timeout;
  bill_conf.backoff = {cfg.billing.backoff_initial, cfg.billing.backoff_max};
  bill_conf.target.target = billing_url->target;
  if (sec.billing_token) bill_conf.target.bearer_token = std::string(sec.billing_token->reveal());
  obs::call_metrics_options bill_calls;
  bill_calls.peer = "billing";
  billing::client bill_client(obs::instrument_exchange(billing::make_transport(**bill_transport), metrics, bill_calls),
                              bill_conf, log);

  reconciler engine(crm_client, bill_client, store, ledger_thread, make_engine_config(cfg), log, &metrics);

  // --- metrics, health -----------------------------------------------------------------------
  // What /readyz weighs, kept current by the gauge refresh below and by the login observer.
  config current = cfg;
  const auto started = std::chrono::system_clock::now();
  bool ledger_ok = true;
  auto& last_pass =
      metrics.get_gauge("chargerecon_last_successful_pass_timestamp_seconds", "When the last pass ended without error");
  const auto readiness_now = [&] {
    obs::readiness_inputs in;
    in.logged_in = logged_in;
    in.ledger_ok = ledger_ok;
    in.now = std::chrono::system_clock::now();
    in.started = started;
    in.poll_interval = current.poll.interval;
    if (const double t = last_pass.value(); t > 0)
      in.last_successful_pass = std::chrono::system_clock::time_point(
          std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::duration<double>(t)));
    return obs::assess_readiness(in);
  };
  std::unique_ptr<http::server> metrics_server;
  if (!cfg.metrics.listen.empty()) {
    auto addr = parse_listen_address(cfg.metrics.listen);
    if (!addr) {
      log.error("metrics.setup_failed", {{"listen", cfg.metrics.listen}, {"error", addr.error().to_string()}});
      return exit_unavailable;
    }
    http::server_config sc;
    sc.listen_address = addr->host;
    sc.port = addr->port;
    const auto serve = [&](http::server_request req) -> asio::awaitable<http::server_reply> {
      http::server_reply reply;
      const auto path = req.target.substr(0, req.target.find('?'));
      if (path == "/metrics") {
        reply.resp.status = 200;
        reply.resp.body = metrics.render();
        reply.resp.headers.push_back({"Content-Type", "text/plain; version=0.0.4"});
      } else if (path == "/healthz") {
        // Served by the event loop itself: an answer means the loop turns. A stalled
        // loop answers nothing, and its watchdog pings stop too.
        reply.resp.status = 200;
        reply.resp.body = "ok\n";
        reply.resp.headers.push_back({"Content-Type", "text/plain"});
      } else if (path == "/readyz") {
        const auto r = readiness_now();
        reply.resp.status = r.ready ? 200 : 503;
        reply.resp.body = r.reason + "\n";
        reply.resp.headers.push_back({"Content-Type", "text/plain"});
      } else {
        reply.resp.status = 404;
        reply.resp.body = "not found\n";
        reply.resp.headers.push_back({"Content-Type", "text/plain"});
      }
      co_return reply;
    };
    auto srv = http::server::create(io.get_executor(), sc, serve);
    if (!srv) {
      log.error("metrics.setup_failed", {{"listen", cfg.metrics.listen}, {"error", srv.error().to_string()}});
      return exit_unavailable;
    }
    metrics_server = std::move(*srv);
    log.info("metrics.listening", {{"address", addr->host}, {"port", metrics_server->port()}});
    asio::co_spawn(io, metrics_server->run(), asio::detached);
  }

  // --- the run -------------------------------------------------------------------------------
  asio::cancellation_signal engine_cancel;
  int exit_status = exit_ok;
  bool stopping = false;
  asio::steady_timer deadline(io);
  asio::signal_set signals(io, SIGTERM, SIGINT, SIGHUP);

  // SIGHUP: re-read the file; apply what can change live, name what needs a restart, and keep
  // running on the old settings when the new file is invalid. RELOADING/READY only once READY
  // was sent: before the first login, a READY would tell systemd we are up when we are not.
  bool ready_sent = false;
  const auto reload = [&] {
    if (ready_sent) notifier.reloading();
    auto loaded = load_config(options.config_path);
    if (!loaded) {
      const auto& problems = loaded.error().problems;
      log.error("config.reload_refused", {{"path", options.config_path},
                                          {"problems", problems.size()},
                                          {"detail", "the new file is invalid; running on the previous settings"}});
      for (const auto& p : problems) log.error("config.problem", {{"problem", p.to_string()}});
      if (ready_sent) notifier.ready();
      return;
    }
    const auto changed = changed_keys(current, *loaded);
    std::string applied, restart;
    for (const auto& key : changed) {
      auto& list = applies_live(key) ? applied : restart;
      list += (list.empty() ? "" : ",") + key;
    }
    current.poll = loaded->poll;
    current.billing.backoff_initial = loaded->billing.backoff_initial;
    current.billing.backoff_max = loaded->billing.backoff_max;
    current.ack.batch_size = loaded->ack.batch_size;
    current.ack.linger = loaded->ack.linger;
    current.ack.done_error_codes = loaded->ack.done_error_codes;
    current.log = loaded->log;
    current.shutdown = loaded->shutdown;
    // Keep the start-up list filters: which lists are polled needs a restart.
    current.poll.charge_status = cfg.poll.charge_status;
    engine.apply(make_engine_config(current));
    log.set_level(current.log.level);
    log.set_format(resolve_log_format(current.log, isatty(STDERR_FILENO) == 1));
    log.info("config.reloaded", {{"path", options.config_path}, {"applied", applied}, {"needs_restart", restart}});
    if (!restart.empty())
      log.warn("config.restart_needed", {{"keys", restart}, {"detail", "these changes apply at the next start"}});
    if (ready_sent) notifier.ready();
  };

  std::atomic<bool> stop_integrity_check{false};  // a signal interrupts the check below
  std::function<void()> on_signal_wait;
  on_signal_wait = [&] {
    signals.async_wait([&](boost::system::error_code ec, int signo) {
      if (ec) return;
      if (signo == SIGHUP) {
        reload();
        on_signal_wait();
        return;
      }
      if (!stopping) {
        stopping = true;
        stop_integrity_check = true;
        notifier.stopping();
        log.info("engine.stopping", {{"signal", signo}, {"deadline_ms", cfg.shutdown.deadline.count()}});
        engine.stop();
        // Not logged in yet: nothing is in flight, and a login may be waiting out its backoff
        // (minutes after refusals); end that wait now rather than at the deadline.
        if (!ready_sent) engine_cancel.emit(asio::cancellation_type::terminal);
        deadline.expires_after(current.shutdown.deadline);
        deadline.async_wait([&](boost::system::error_code e) {
          if (e) return;
          log.warn("engine.deadline_reached",
                   {{"detail", "abandoning work in flight; the ledger keeps it for the next start"}});
          engine_cancel.emit(asio::cancellation_type::terminal);
        });
      } else {
        // A second signal: stop now.
        engine_cancel.emit(asio::cancellation_type::terminal);
      }
      on_signal_wait();
    });
  };
  on_signal_wait();

  // Watchdog pings come from this loop itself: a stalled loop stops them and systemd restarts us.
  asio::steady_timer watchdog(io);
  std::function<void()> ping;
  if (auto interval = notifier.watchdog_ping_interval()) {
    ping = [&, interval = *interval] {
      notifier.watchdog();
      watchdog.expires_after(interval);
      watchdog.async_wait([&](boost::system::error_code ec) {
        if (!ec) ping();
      });
    };
    ping();
  }

  // The balance (observability/ledger_accounting.hpp), exported and checked at every refresh. A
  // break is logged when it starts and when it ends, not every few seconds in between.
  bool balance_broken = false;
  const auto update_balance = [&](const obs::ledger_accounting& a) {
    metrics.get_gauge("chargerecon_ledger_charges_listed", "Charges the ledger recorded from charges/list")
        .set(static_cast<double>(a.listed));
    const std::pair<const char*, std::int64_t> outcomes[] = {{"billed", a.billed},   {"not_billable", a.not_billable},
                                                             {"held", a.held},       {"dead", a.dead},
                                                             {"pending", a.pending}, {"in_progress", a.in_progress}};
    for (const auto& [name, n] : outcomes)
      metrics
          .get_gauge("chargerecon_ledger_charges_by_outcome",
                     "Charges in the ledger by outcome; they add up to chargerecon_ledger_charges_listed",
                     {{"outcome", name}})
          .set(static_cast<double>(n));
    const bool ok = a.balanced();
    metrics
        .get_gauge("chargerecon_balance_ok",
                   "1 while listed = billed + not_billable + held + dead + pending + "
                   "in_progress holds in the ledger, else 0")
        .set(ok ? 1 : 0);
    std::string unaccounted;
    for (const auto& u : a.unaccounted) unaccounted += (unaccounted.empty() ? "" : "; ") + u;
    if (!ok && !balance_broken)
      log.error("ledger.balance_broken", {{"listed", a.listed},
                                          {"accounted", a.accounted()},
                                          {"unaccounted", unaccounted},
                                          {"detail", "charges in no outcome: see chargereconctl reconcile"}});
    else if (ok && balance_broken)
      log.info("ledger.balance_restored", {{"listed", a.listed}});
    balance_broken = !ok;
  };
  std::uint64_t ledger_errors_seen = 0;

  // Backlog gauges, the balance and systemd STATUS, from the ledger every few seconds (on the
  // ledger thread and the metrics thread).
  asio::steady_timer gauges_timer(io);
  // STATUS: the backlog, and before it what is wrong: READY not sent yet (what we wait for),
  // ledger writes failing (the engine retries them; nothing is billed or acknowledged meanwhile).
  std::string backlog_text;
  bool checking_integrity = false;  // set while the engine waits for the ledger's integrity check
  const auto status_line = [&] {
    std::string line = ready_sent ? "" : "waiting to log in to CRM.COM; ";
    if (checking_integrity) line += "checking the ledger's integrity before billing; ";
    if (!ledger_ok) line += "ledger writes failing (disk full or read-only? see ledger.write_failed), retrying; ";
    return line + "backlog:" + backlog_text;
  };
  std::function<void()> refresh_gauges;
  refresh_gauges = [&] {
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          auto counts = co_await ledger_thread.run([&] { return store.counts(); });
          auto oldest = co_await ledger_thread.run([&] { return store.oldest_unfinished(); });
          if (counts) {
            std::string backlog;
            for (const auto& [state, n] : *counts) {
              metrics
                  .get_gauge("chargerecon_ledger_charges", "Charges in the ledger, by state",
                             {{"state", std::string(ledger::to_string(state))}})
                  .set(static_cast<double>(n));
              if (ledger::is_unfinished(state) || state == ledger::charge_state::held ||
                  state == ledger::charge_state::dead)
                backlog += " " + std::string(ledger::to_string(state)) + "=" + std::to_string(n);
            }
            backlog_text = backlog;
          }
          if (oldest) {
            double age = 0;
            if (*oldest)
              age = std::chrono::duration<double>(std::chrono::system_clock::now() - (*oldest)->first_seen).count();
            metrics
                .get_gauge("chargerecon_oldest_unfinished_charge_age_seconds",
                           "Age of the oldest charge the daemon still owes work on (0 when none)")
                .set(age);
          }
          auto rows = co_await metrics_thread.run([&] { return (*accounting_reader)->read(); });
          if (rows)
            update_balance(obs::account(*rows));
          else
            log.error("ledger.accounting_failed", {{"error", rows.error().to_string()}});
          // The ledger is fine while none of its operations failed since the last look.
          const auto errors_now = metrics.counter_sum("chargerecon_ledger_errors_total");
          ledger_ok = counts && oldest && rows && errors_now == ledger_errors_seen;
          ledger_errors_seen = errors_now;
          notifier.status(status_line());
        },
        [&](std::exception_ptr) {
          gauges_timer.expires_after(std::chrono::seconds(5));
          gauges_timer.async_wait([&](boost::system::error_code ec) {
            if (!ec && !stopping) refresh_gauges();
          });
        });
  };

  // The whole file's integrity check (quick_check), on a read-only connection of its own on the
  // metrics thread, after READY: on a large ledger it takes seconds (8.7 s at 1M charges), and
  // systemd, /healthz and the metrics need not wait for it. The engine does wait: a damaged index
  // can make a billed charge look new, so nothing is billed or acknowledged from a ledger that
  // has not passed. A signal interrupts the check.
  enum class integrity { intact, damaged, interrupted };
  const auto check_integrity = [&]() -> asio::awaitable<integrity> {
    checking_integrity = true;
    notifier.status(status_line());
    const auto check_started = std::chrono::steady_clock::now();
    auto checked = co_await metrics_thread.run([&] {
      ledger::sqlite_ledger_options o;
      o.path = cfg.ledger.path;
      o.mode = ledger::open_mode::read_only;
      o.check_integrity = true;
      o.stop_check = &stop_integrity_check;
      return ledger::sqlite_ledger::open(o, obs::event_log::null());
    });
    checking_integrity = false;
    if (checked) {
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - check_started);
      log.info("ledger.integrity_checked", {{"path", cfg.ledger.path}, {"ms", ms.count()}});
      co_return integrity::intact;
    }
    if (stop_integrity_check) co_return integrity::interrupted;
    if (!is_integrity_failure(checked.error())) {
      // The check itself could not run (say, no memory for its connection): the ledger opened
      // for writing, so go on, and say the check was skipped.
      log.warn("ledger.integrity_check_failed", {{"path", cfg.ledger.path}, {"error", checked.error().to_string()}});
      co_return integrity::intact;
    }
    log_integrity_failure(log, cfg.ledger.path, checked.error());
    co_return integrity::damaged;
  };

  run_summary summary;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        co_await asio::this_coro::throw_if_cancelled(false);
        // The ledger's gauges and the balance from the start: a daemon that cannot log in
        // still shows its backlog.
        refresh_gauges();
        // Log in before READY. A refused login is retried with a growing backoff (the client
        // spaces the attempts), never in a tight loop; SIGTERM ends the wait.
        const auto cs = co_await asio::this_coro::cancellation_state;
        asio::steady_timer pause(co_await asio::this_coro::executor);
        while (!stopping && cs.cancelled() == asio::cancellation_type::none) {
          auto r = co_await crm_client.login();
          if (r) {
            logged_in = true;
            break;
          }
          log.error("crm.login_failed", {{"error", r.error().to_string()}});
          pause.expires_after(std::chrono::seconds(1));
          boost::system::error_code ec;
          co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        }
        if (logged_in && !stopping) {
          notifier.ready();
          ready_sent = true;
          notifier.status(status_line());
          const auto checked = co_await check_integrity();
          if (checked == integrity::damaged) exit_status = exit_ledger_damaged;
          if (checked == integrity::intact && !stopping) {
            auto r = co_await engine.run(options.once);
            if (!r) {
              log.error("engine.failed", {{"error", r.error().to_string()}});
              exit_status = exit_software;
              // Damage the engine's own reads or writes found while it ran: the same message,
              // naming the file, as damage found at start.
              if (is_integrity_failure(r.error())) {
                log_integrity_failure(log, cfg.ledger.path, r.error());
                exit_status = exit_ledger_damaged;
              }
            } else {
              summary = *r;
            }
          }
        }
        notifier.stopping();
        stopping = true;  // no more periodic work re-arms itself
        stop_integrity_check = true;
        deadline.cancel();
        signals.cancel();
        watchdog.cancel();
        gauges_timer.cancel();
        if (metrics_server) metrics_server->stop();
        (*crm_transport)->close_idle();
        (*bill_transport)->close_idle();
      },
      asio::bind_cancellation_slot(engine_cancel.slot(), [&](std::exception_ptr e) {
        if (e) {
          log.error("engine.bug", {{"where", "service"}, {"detail", "exception escaped the service task"}});
          exit_status = exit_software;
        }
      }));
  io.run();

  auto counts = store.counts();
  if (counts) print_summary(summary, *counts);
  return exit_status;
}

}  // namespace chargerecon::engine
