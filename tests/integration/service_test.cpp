// chargerecond as a service: the systemd notify protocol played by the test (READY only after
// the first login, STATUS with the backlog, watchdog pings from the loop, STOPPING on SIGTERM),
// SIGHUP with a valid and an invalid file, the metrics endpoint scraped and checked against
// the ledger, crm-sim and billing-fake, and every log event of a faulty run matched against the
// README's table, with no secret in any line.
#include <gtest/gtest.h>

#include <csignal>
#include <map>
#include <thread>

#include "support/crm_sim_fixture.hpp"
#include "support/daemon_fixture.hpp"
#include "support/service_fixture.hpp"

namespace chargerecon::test {
namespace {

using namespace std::chrono_literals;

bool binaries_present() {
  return !daemon_fixture::program().empty() && !crm_sim::program().empty() && !billing_fake::program().empty();
}

#define SKIP_WITHOUT_BINARIES() \
  if (!binaries_present()) GTEST_SKIP() << "chargerecond, crm-sim or billing-fake is not part of this build"

std::string joined(const std::vector<std::string>& messages) {
  std::string out;
  for (const auto& m : messages) out += "[" + m + "] ";
  return out;
}

// Index of the first datagram holding `line` (or starting with it when `prefix`), or npos.
std::size_t first_index(const std::vector<std::string>& messages, std::string_view line, bool prefix = false,
                        std::size_t from = 0) {
  for (std::size_t i = from; i < messages.size(); ++i) {
    if (prefix ? messages[i].starts_with(line) : notify_has(messages[i], line)) return i;
  }
  return std::string::npos;
}

std::size_t count_of(const std::vector<std::string>& messages, std::string_view line, std::size_t from = 0) {
  std::size_t n = 0;
  for (std::size_t i = from; i < messages.size(); ++i) n += notify_has(messages[i], line) ? 1 : 0;
  return n;
}

// Receives until a datagram starts with `prefix`.
bool receive_until_prefix(notify_socket& ns, std::string_view prefix, std::vector<std::string>& seen,
                          std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    auto m =
        ns.receive(std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now()));
    if (!m) return false;
    seen.push_back(*m);
    if (m->starts_with(prefix)) return true;
  }
  return false;
}

std::string charge_json(const std::string& number, const std::string& customer, const std::string& status) {
  return R"({"number":")" + number + R"(","billing_system_customer_identifier":")" + customer +
         R"(","received_on":"2026-01-05T10:00:00","amount":0.10,"currency":"EUR","charge_status":")" + status + R"("})";
}

// ---- the notify protocol ------------------------------------------------------------------------

TEST(service_notify, ready_after_the_first_login_then_status_watchdog_and_stopping_in_order) {
  SKIP_WITHOUT_BINARIES();
  // A slow CRM.COM: the login takes a while, during which the loop must already ping.
  crm_sim sim({"--backlog", "30", "--pending-ratio", "0", "--latency", "300ms"});
  billing_fake bill;
  service_settings s;
  s.crm_base_url = sim.base_url();
  s.billing_url = bill.bill_url();
  service_fixture fx(s);
  notify_socket ns(fx.dir() / "notify");
  auto d = fx.start({{"NOTIFY_SOCKET", ns.path().string()}, {"WATCHDOG_USEC", "400000"}});

  std::vector<std::string> seen;
  ASSERT_TRUE(ns.receive_until("READY=1", seen, 30s)) << joined(seen) << d.describe();
  // The log is flushed line by line before READY is sent: the login is already in it.
  EXPECT_FALSE(d.events("crm.login").empty()) << "READY=1 came before the first login\n" << d.describe();
  EXPECT_GE(sim.state().logins, 1u);
  const auto ready_at = seen.size() - 1;
  EXPECT_GE(count_of(seen, "WATCHDOG=1"), 1u) << "the loop pings while the login is slow: " << joined(seen);

  ASSERT_TRUE(receive_until_prefix(ns, "STATUS=backlog:", seen, 15s)) << joined(seen) << d.describe();
  EXPECT_NE(seen.back().find("seen="), std::string::npos) << seen.back();
  EXPECT_NE(seen.back().find("billed="), std::string::npos) << seen.back();

  // Pings keep coming (every WATCHDOG_USEC / 2) from the running loop.
  const auto pings_from = seen.size();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(ns.receive_until("WATCHDOG=1", seen, 5s)) << joined(seen);
  EXPECT_GE(count_of(seen, "WATCHDOG=1", pings_from), 3u);
  EXPECT_EQ(first_index(seen, "STOPPING=1"), std::string::npos) << "STOPPING before SIGTERM: " << joined(seen);

  const auto before_term = seen.size();
  ASSERT_TRUE(d.signal(SIGTERM));
  ASSERT_TRUE(ns.receive_until("STOPPING=1", seen, 15s)) << joined(seen) << d.describe();
  EXPECT_GE(seen.size() - 1, before_term);
  EXPECT_EQ(d.wait(20s), 0) << d.describe();

  // Exactly one READY, before every STATUS line with the backlog.
  EXPECT_EQ(count_of(seen, "READY=1"), 1u) << joined(seen);
  const auto first_backlog = first_index(seen, "STATUS=backlog:", true);
  ASSERT_NE(first_backlog, std::string::npos);
  EXPECT_LT(ready_at, first_backlog);
}

TEST(service_notify, no_ready_while_the_login_is_refused_and_readyz_says_why) {
  SKIP_WITHOUT_BINARIES();
  crm_sim sim;
  billing_fake bill;
  service_settings s;
  s.crm_base_url = sim.base_url();
  s.billing_url = bill.bill_url();
  s.crm_password = "not-the-password";
  s.shutdown_deadline = 2s;
  service_fixture fx(s);
  notify_socket ns(fx.dir() / "notify");
  auto d = fx.start({{"NOTIFY_SOCKET", ns.path().string()}, {"WATCHDOG_USEC", "400000"}});
  const auto port = metrics_port(d, 20s);
  ASSERT_TRUE(d.wait_for_event("crm.login_refused", 20s)) << d.describe();

  const auto ready = http_get(port, "/readyz");
  EXPECT_EQ(ready.status, 503u);
  EXPECT_NE(ready.body.find("not logged in to CRM.COM"), std::string::npos) << ready.body;
  EXPECT_EQ(http_get(port, "/healthz").status, 200u);
  // The ledger's gauges are there all the same (from the first refresh, at the start).
  exposition m;
  ASSERT_TRUE(eventually(
      [&] {
        m = parse_exposition(http_get(port, "/metrics").body);
        return m.value("chargerecon_balance_ok").has_value();
      },
      10s));
  EXPECT_EQ(m.value("chargerecon_balance_ok"), 1);
  EXPECT_EQ(m.value("chargerecon_ledger_charges_listed"), 0);
  EXPECT_EQ(m.value("chargerecon_crm_logins_total", {{"result", "ok"}}), 0);
  EXPECT_GE(m.value("chargerecon_crm_logins_total", {{"result", "failed"}}).value_or(0), 1);

  std::vector<std::string> seen;
  EXPECT_TRUE(receive_until_prefix(ns, "STATUS=waiting to log in to CRM.COM; backlog:", seen, 10s)) << joined(seen);
  for (auto& late : ns.drain()) seen.push_back(std::move(late));
  EXPECT_EQ(first_index(seen, "READY=1"), std::string::npos) << joined(seen);
  EXPECT_GE(count_of(seen, "WATCHDOG=1"), 1u) << "the loop pings while it waits to log in: " << joined(seen);

  ASSERT_TRUE(d.signal(SIGTERM));
  ASSERT_TRUE(ns.receive_until("STOPPING=1", seen, 15s)) << joined(seen) << d.describe();
  EXPECT_EQ(d.wait(20s), 0) << d.describe();
  EXPECT_EQ(first_index(seen, "READY=1"), std::string::npos) << joined(seen);
}

// ---- reload ---------------------------------------------------------------------------------------

TEST(service_reload, sighup_applies_live_keys_names_restart_keys_and_refuses_an_invalid_file) {
  SKIP_WITHOUT_BINARIES();
  crm_sim sim({"--backlog", "10", "--pending-ratio", "0"});
  billing_fake bill;
  service_settings s;
  s.crm_base_url = sim.base_url();
  s.billing_url = bill.bill_url();
  service_fixture fx(s);
  notify_socket ns(fx.dir() / "notify");
  auto d = fx.start({{"NOTIFY_SOCKET", ns.path().string()}});
  std::vector<std::string> seen;
  ASSERT_TRUE(ns.receive_until("READY=1", seen, 30s)) << d.describe();
  ASSERT_TRUE(d.wait_for_event("poll.pass_done", 20s)) << d.describe();
  EXPECT_TRUE(d.events("charge.recorded").empty()) << "charge.recorded is a debug event";

  // A valid file: log.level and poll.interval apply live, crm.timeout needs a restart.
  s.log_level = obs::log_level::debug;
  s.poll_interval = 1500ms;
  s.crm_timeout = 20s;
  fx.write_config(s);
  ASSERT_TRUE(d.signal(SIGHUP));
  ASSERT_TRUE(d.wait_for_event("config.reloaded", 15s)) << d.describe();
  const auto reloaded = d.events("config.reloaded").front();
  EXPECT_NE(reloaded.field("applied").find("log.level"), std::string::npos) << reloaded.line;
  EXPECT_NE(reloaded.field("applied").find("poll.interval"), std::string::npos) << reloaded.line;
  EXPECT_EQ(reloaded.field("applied").find("crm.timeout"), std::string::npos) << reloaded.line;
  EXPECT_NE(reloaded.field("needs_restart").find("crm.timeout"), std::string::npos) << reloaded.line;
  ASSERT_EQ(d.events("config.restart_needed").size(), 1u) << d.describe();
  EXPECT_EQ(d.events("config.restart_needed").front().field("keys"), "crm.timeout");
  ASSERT_TRUE(ns.receive_until("READY=1", seen, 10s)) << joined(seen);
  EXPECT_NE(first_index(seen, "RELOADING=1"), std::string::npos) << joined(seen);

  // An invalid file: two problems, both logged; the daemon keeps the settings it has.
  auto bad = s;
  bad.page_size = 500;
  bad.extra_yaml = "surplus_section:\n  key: 1\n";
  fx.write_config(bad);
  ASSERT_TRUE(d.signal(SIGHUP));
  ASSERT_TRUE(d.wait_for_event("config.reload_refused", 15s)) << d.describe();
  EXPECT_EQ(d.events("config.reload_refused").front().field("problems"), "2") << d.describe();
  const auto problems = d.events("config.problem");
  ASSERT_EQ(problems.size(), 2u) << d.describe();
  std::string all_problems;
  for (const auto& p : problems) all_problems += p.field("problem") + "\n";
  EXPECT_NE(all_problems.find("poll.page_size"), std::string::npos) << all_problems;
  EXPECT_NE(all_problems.find("surplus_section"), std::string::npos) << all_problems;
  EXPECT_EQ(d.events("config.reloaded").size(), 1u);

  // Still reconciling, on the reloaded settings: new charges are billed and acknowledged, and
  // the debug level from the valid reload still holds.
  ASSERT_EQ(
      sim.post_charges("[" + charge_json("R1", "C0001", "APPROVED") + "," + charge_json("R2", "C0002", "APPROVED") +
                       "," + charge_json("R3", "C0003", "DECLINED") + "]"),
      3u);
  ASSERT_TRUE(eventually(
      [&] {
        const auto st = sim.state();
        for (const char* n : {"R1", "R2", "R3"}) {
          const auto* c = st.find(n);
          if (!c || !c->acknowledged) return false;
        }
        return true;
      },
      30s))
      << d.describe();
  const auto billing = bill.state();
  ASSERT_NE(billing.find("R1"), nullptr);
  ASSERT_NE(billing.find("R2"), nullptr);
  EXPECT_EQ(billing.find("R3"), nullptr) << "DECLINED is not billed";
  EXPECT_EQ(sim.state().find("R1")->reference_number, billing.find("R1")->reference_number);
  bool recorded_r1 = false;
  for (const auto& e : d.events("charge.recorded")) recorded_r1 = recorded_r1 || e.field("number") == "R1";
  EXPECT_TRUE(recorded_r1) << "log.level debug from the valid reload still applies";
  EXPECT_TRUE(d.running());

  ASSERT_TRUE(d.signal(SIGTERM));
  EXPECT_EQ(d.wait(20s), 0) << d.describe();
}

// ---- metrics --------------------------------------------------------------------------------------

TEST(service_metrics, scraped_during_and_after_a_run_they_match_the_ledger_and_the_peers) {
  SKIP_WITHOUT_BINARIES();
  constexpr int backlog = 40;
  crm_sim sim({"--backlog", std::to_string(backlog), "--pending-ratio", "0", "--customers", "8", "--seed", "11",
               "--ack-refuse-first", "1"});
  billing_fake bill({"--reject-customers", "C0007"});
  service_settings s;
  s.crm_base_url = sim.base_url();
  s.billing_url = bill.bill_url();
  // One pass lists the whole backlog; billing and acknowledgement retries run from the ledger.
  // A long interval keeps CRM.COM quiet once they are done, so its counts can be compared.
  s.poll_interval = 60s;
  service_fixture fx(s);
  auto d = fx.start();
  const auto port = metrics_port(d, 20s);

  // During the run: well-formed exposition, names by the conventions.
  const auto early = parse_exposition(http_get(port, "/metrics").body);
  EXPECT_EQ(http_get(port, "/healthz").status, 200u);

  // After the run: every charge finished (acknowledged or held) and the gauges refreshed.
  exposition m;
  std::vector<ledger::charge_record> charges;
  const bool settled = eventually(
      [&] {
        charges = fx.ledger_charges();
        if (charges.size() != static_cast<std::size_t>(backlog)) return false;
        for (const auto& c : charges)
          if (c.state != ledger::charge_state::acknowledged && c.state != ledger::charge_state::held) return false;
        m = parse_exposition(http_get(port, "/metrics").body);
        // The state gauges and the balance are refreshed in two steps (the balance on a
        // connection and thread of its own): wait until a scrape shows both up to date.
        return m.value("chargerecon_ledger_charges", {{"state", "acknowledged"}}).value_or(0) +
                       m.value("chargerecon_ledger_charges", {{"state", "held"}}).value_or(0) ==
                   backlog &&
               m.value("chargerecon_ledger_charges_listed").value_or(0) == backlog;
      },
      40s);
  ASSERT_TRUE(settled) << d.describe();

  for (const exposition* e : {&early, static_cast<const exposition*>(&m)}) {
    for (const auto& [name, type] : e->types) {
      EXPECT_TRUE(name.starts_with("chargerecon_")) << name;
      EXPECT_EQ(name.ends_with("_total"), type == "counter") << name << " is a " << type;
      if (type == "histogram") {
        EXPECT_TRUE(name.ends_with("_seconds")) << name;
      }
    }
  }

  std::int64_t with_reference = 0, held = 0, acknowledged = 0, not_billed = 0;
  for (const auto& c : charges) {
    with_reference += c.billing_reference ? 1 : 0;
    held += c.state == ledger::charge_state::held ? 1 : 0;
    acknowledged += c.state == ledger::charge_state::acknowledged ? 1 : 0;
    not_billed += (c.state == ledger::charge_state::acknowledged && !c.billing_reference) ? 1 : 0;
  }
  ASSERT_GT(held, 0) << "C0007 has charges in this backlog";
  ASSERT_GT(with_reference, 0);

  // Counters of this run (a fresh ledger, one process) against the ledger.
  EXPECT_EQ(m.sum("chargerecon_charges_seen_total"), backlog);
  EXPECT_EQ(m.sum("chargerecon_charges_billed_total"), with_reference);
  EXPECT_EQ(m.sum("chargerecon_charges_held_total"), held);
  EXPECT_EQ(m.sum("chargerecon_charges_acknowledged_total"), acknowledged);
  EXPECT_EQ(m.sum("chargerecon_charges_dead_total"), 0);
  // Acknowledgement refusals, by CRM.COM's error code: each charge's first one was refused.
  std::uint64_t refusals = 0;
  for (const auto& c : sim.state().charges) refusals += c.ack_refusals;
  EXPECT_EQ(m.sum("chargerecon_ack_refusals_total"), static_cast<double>(refusals));
  EXPECT_EQ(m.sum("chargerecon_ack_refusals_total", {{"error_code", "TEMPORARY_FAILURE"}}),
            static_cast<double>(refusals));

  // Gauges from the ledger, and the balance.
  EXPECT_EQ(m.value("chargerecon_ledger_charges", {{"state", "acknowledged"}}), acknowledged);
  EXPECT_EQ(m.value("chargerecon_ledger_charges", {{"state", "held"}}), held);
  EXPECT_EQ(m.value("chargerecon_ledger_charges", {{"state", "seen"}}), 0);
  EXPECT_EQ(m.value("chargerecon_oldest_unfinished_charge_age_seconds"), 0);
  EXPECT_EQ(m.value("chargerecon_ledger_charges_listed"), backlog);
  EXPECT_EQ(m.value("chargerecon_ledger_charges_by_outcome", {{"outcome", "billed"}}), with_reference);
  EXPECT_EQ(m.value("chargerecon_ledger_charges_by_outcome", {{"outcome", "not_billable"}}), not_billed);
  EXPECT_EQ(m.value("chargerecon_ledger_charges_by_outcome", {{"outcome", "held"}}), held);
  EXPECT_EQ(m.value("chargerecon_ledger_charges_by_outcome", {{"outcome", "in_progress"}}), 0);
  EXPECT_EQ(m.value("chargerecon_balance_ok"), 1);
  EXPECT_GT(m.value("chargerecon_last_successful_pass_timestamp_seconds").value_or(0), 1.7e9);

  // Latency histograms and errors, against what the peers saw.
  const auto billing = bill.state();
  EXPECT_EQ(m.value("chargerecon_billing_request_duration_seconds_count"), static_cast<double>(billing.posts_total));
  EXPECT_EQ(m.value("chargerecon_billing_request_duration_seconds_bucket", {{"le", "+Inf"}}),
            static_cast<double>(billing.posts_total));
  EXPECT_EQ(m.value("chargerecon_billing_request_errors_total", {{"class", "http_4xx"}}), held)
      << "each held charge was refused once with a 4xx";
  // CRM.COM counts a call when it arrives, we when its answer is read: they agree once no call
  // is in flight.
  sim_state crm_seen;
  std::string disagreement;
  const bool crm_agrees = eventually(
      [&] {
        m = parse_exposition(http_get(port, "/metrics").body);
        crm_seen = sim.state();
        disagreement.clear();
        for (const auto& [label, sim_name] :
             std::vector<std::pair<std::string, std::string>>{{"netflix/charges/list", "charges/list"},
                                                              {"netflix/charges/acknowledge", "charges/acknowledge"},
                                                              {"authentication/token", "authentication/token"}}) {
          const auto count = m.value("chargerecon_crm_request_duration_seconds_count", {{"method", label}});
          if (count != static_cast<double>(crm_seen.calls_to(sim_name)))
            disagreement += label + ": " + (count ? std::to_string(*count) : "absent") + " vs crm-sim " +
                            std::to_string(crm_seen.calls_to(sim_name)) + "\n";
        }
        return disagreement.empty();
      },
      10s);
  EXPECT_TRUE(crm_agrees) << disagreement;
  EXPECT_GT(crm_seen.calls_to("charges/acknowledge"), 0u);
  for (const char* method : {"netflix/charges/list", "netflix/charges/acknowledge", "authentication/token"})
    EXPECT_EQ(m.value("chargerecon_crm_request_duration_seconds_bucket", {{"method", method}, {"le", "+Inf"}}),
              m.value("chargerecon_crm_request_duration_seconds_count", {{"method", method}}))
        << method;
  EXPECT_EQ(m.value("chargerecon_crm_logins_total", {{"result", "ok"}}), static_cast<double>(crm_seen.logins));
  EXPECT_EQ(m.value("chargerecon_crm_logins_total", {{"result", "failed"}}), 0);
  EXPECT_EQ(m.sum("chargerecon_crm_request_errors_total"), 0);

  const auto ready = http_get(port, "/readyz");
  EXPECT_EQ(ready.status, 200u) << ready.body;
  EXPECT_EQ(ready.body, "ready\n");
  EXPECT_EQ(http_get(port, "/nothing-here").status, 404u);

  ASSERT_TRUE(d.signal(SIGTERM));
  EXPECT_EQ(d.wait(20s), 0) << d.describe();
}

// An operator alerts on dead charges (refused ack.max_attempts times: a person must look), and
// tells the billed ones (APPROVED, money at stake) from the others by the status label.
TEST(service_metrics, dead_charges_are_counted_by_charge_status) {
  SKIP_WITHOUT_BINARIES();
  constexpr int backlog = 30;
  // CRM.COM refuses every acknowledgement: each processed charge goes dead after 2 attempts.
  crm_sim sim({"--backlog", std::to_string(backlog), "--pending-ratio", "0", "--customers", "8", "--seed", "17",
               "--ack-refuse-first", "1000"});
  billing_fake bill;
  service_settings s;
  s.crm_base_url = sim.base_url();
  s.billing_url = bill.bill_url();
  s.poll_interval = 60s;
  s.ack_max_attempts = 2;
  service_fixture fx(s);
  auto d = fx.start();
  const auto port = metrics_port(d, 20s);

  std::map<std::string, double> dead_by_status;  // from the ledger
  exposition m;
  const bool settled = eventually(
      [&] {
        const auto charges = fx.ledger_charges();
        if (charges.size() != static_cast<std::size_t>(backlog)) return false;
        dead_by_status.clear();
        for (const auto& c : charges) {
          if (c.state != ledger::charge_state::dead) return false;
          dead_by_status[c.status] += 1;
        }
        m = parse_exposition(http_get(port, "/metrics").body);
        return m.sum("chargerecon_charges_dead_total") == backlog;
      },
      40s);
  ASSERT_TRUE(settled) << d.describe();
  ASSERT_GT(dead_by_status.size(), 1u) << "the seed gives a backlog of several statuses";
  for (const auto& [status, n] : dead_by_status)
    EXPECT_EQ(m.value("chargerecon_charges_dead_total", {{"status", status}}), n) << status;
  // Dead is not acknowledged: nothing was counted as such, and CRM.COM still lists them all.
  EXPECT_EQ(m.sum("chargerecon_charges_acknowledged_total"), 0);
  for (const auto& c : sim.state().charges) EXPECT_FALSE(c.acknowledged) << c.number;

  ASSERT_TRUE(d.signal(SIGTERM));
  EXPECT_EQ(d.wait(20s), 0) << d.describe();
}

// ---- log events -----------------------------------------------------------------------------------

TEST(service_logs, every_event_of_a_faulty_run_is_in_the_readme_table_and_no_secret_is_logged) {
  SKIP_WITHOUT_BINARIES();
  const auto documented = readme_log_events();
  ASSERT_GE(documented.size(), 20u) << "the README's Log events table did not parse";

  const std::string password = "pw-7Hq2xVz9-never-logged";
  const std::string token = "tok-Kp4mW8rT-never-logged";
  temp_dir secrets("svc-secrets");
  write_file(secrets / "password", password + "\n", 0600);
  write_file(secrets / "token", token + "\n", 0600);
  // Faults: refused acknowledgements, expiring tokens, a refused customer, a malformed charge.
  crm_sim sim({"--backlog", "30", "--pending-ratio", "0", "--customers", "6", "--seed", "5", "--ack-refuse-first", "1",
               "--token-expiry-every", "2s", "--password-file", (secrets / "password").string()});
  billing_fake bill({"--reject-customers", "C0003", "--token-file", (secrets / "token").string()});
  service_settings s;
  s.crm_base_url = sim.base_url();
  s.billing_url = bill.bill_url();
  s.crm_password = password;
  s.billing_token = token;
  s.log_level = obs::log_level::debug;
  service_fixture fx(s);
  auto d = fx.start();
  ASSERT_TRUE(d.wait_for_event("ack.batch_done", 30s)) << d.describe();
  ASSERT_EQ(sim.post_charges("[" + charge_json("M1", "C0001", "APPROVED") + R"(,{"number":"M2","amount":true}])"), 2u);
  ASSERT_TRUE(d.wait_for_event("charge.malformed", 20s)) << d.describe();
  // Let a token expire and be replaced.
  ASSERT_TRUE(d.wait_for_events("crm.login", 2, 20s)) << d.describe();
  // A reload that works and one that does not.
  s.poll_interval = 1200ms;
  s.crm_timeout = 15s;
  fx.write_config(s);
  ASSERT_TRUE(d.signal(SIGHUP));
  ASSERT_TRUE(d.wait_for_event("config.reloaded", 15s)) << d.describe();
  auto bad = s;
  bad.extra_yaml = "surplus_section: 1\n";
  fx.write_config(bad);
  ASSERT_TRUE(d.signal(SIGHUP));
  ASSERT_TRUE(d.wait_for_event("config.reload_refused", 15s)) << d.describe();
  ASSERT_TRUE(d.signal(SIGTERM));
  ASSERT_EQ(d.wait(20s), 0) << d.describe();

  const auto log = d.log();
  ASSERT_FALSE(log.empty());
  for (const auto& problem : undocumented_events(log, documented)) ADD_FAILURE() << problem;
  std::set<std::string> names;
  for (const auto& e : log) names.insert(e.event);
  // The run did exercise the faults.
  for (const char* expected : {"charge.billed", "charge.held", "charge.ack_refused", "charge.malformed", "crm.login",
                               "crm.token_rejected", "config.reloaded", "config.restart_needed",
                               "config.reload_refused", "config.problem", "engine.stopping", "metrics.listening"})
    EXPECT_TRUE(names.contains(expected)) << expected << " did not occur";

  const auto out = d.stderr_text() + read_file(fx.dir() / "run-1.stdout");
  EXPECT_EQ(out.find(password), std::string::npos) << "the CRM.COM password is in the output";
  EXPECT_EQ(out.find(token), std::string::npos) << "the billing token is in the output";
  EXPECT_GT(bill.state().records.size(), 0u) << "billing took the token";
}

}  // namespace
}  // namespace chargerecon::test
