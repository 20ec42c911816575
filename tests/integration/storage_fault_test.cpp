// chargerecond when its ledger cannot be written: the real daemon against crm-sim and
// billing-fake, with the ledger's disk made full (ENOSPC) or read-only (EROFS) in the middle of
// a run, or before it starts, and with a ledger that fails its integrity check, at start or
// when the engine's own reads find damaged pages mid-run.
//
// The faults come from support/fault_shim/ledger_fault_shim.c, preloaded into chargerecond: the
// ledger's own system calls fail as they would on a full or read-only file system, as root too
// (that file says why this method). What a user relies on, and each test checks:
//   - while it cannot write, the daemon keeps running and says so: ledger.write_failed events,
//     chargerecon_ledger_errors_total, /readyz 503 naming the ledger, a systemd STATUS line;
//   - it stops billing and acknowledging: no post leaves for a charge the ledger has not
//     committed as `billing`, no acknowledgement for one it has not committed as billed (with
//     that reference) or as waiting for one; and nothing new reaches either peer;
//   - once the disk takes writes again, the same process drains everything: sim-audit finds the
//     three states in exact agreement;
//   - a ledger it cannot write at start, or one that fails its integrity check, stops it with a
//     clear message and a documented exit status (65 for a damaged ledger, which the systemd
//     unit does not restart); damage found mid-run too, and nothing more reaches either peer.

#include <algorithm>
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <map>
#include <stdexcept>
#include <thread>

#include <sqlite3.h>

#include "ledger/charge_state.hpp"
#include "support/crm_sim_fixture.hpp"
#include "support/daemon_fixture.hpp"
#include "support/ledger_faults.hpp"
#include "support/service_fixture.hpp"

namespace chargerecon::test {
namespace {

using namespace std::chrono_literals;
using ledger::charge_state;

constexpr int exit_ledger_damaged = 65;
constexpr int exit_unavailable = 69;

std::vector<std::string> sim_flags(std::size_t backlog, std::uint64_t seed) {
  return {"--backlog", std::to_string(backlog), "--seed", std::to_string(seed), "--pending-resolve-after", "10h",
          "--quiet"};
}

daemon_settings settings_for(const crm_sim& crm, const billing_fake& billing) {
  daemon_settings s;
  s.crm_base_url = crm.base_url();
  s.billing_url = billing.bill_url();
  s.log_level = obs::log_level::debug;  // charge.billed (debug) marks the runs' progress
  return s;
}

bool acknowledgeable(charge_state s) {
  return s == charge_state::billed || s == charge_state::ack_pending || s == charge_state::acknowledged;
}

// The durability order, read from the peers first and the ledger second (the ledger only moves
// forward, so anything a peer saw must already be committed): every charge billing-fake billed
// is at least `billing` in the ledger; every charge crm-sim has acknowledged is committed as
// billed with the same reference, or as not billable, in the ledger.
std::vector<std::string> order_problems(const sim_state& crm, const billing_state& billing,
                                        const std::vector<ledger::charge_record>& ledger_now) {
  std::map<std::string, ledger::charge_record> ledger;
  for (const auto& c : ledger_now) ledger.emplace(c.number, c);
  std::vector<std::string> p;
  for (const auto& r : billing.records) {
    const auto it = ledger.find(r.number);
    if (it == ledger.end())
      p.push_back(r.number + ": billed, unknown to the ledger");
    else if (it->second.state == charge_state::seen || it->second.state == charge_state::pending)
      p.push_back(r.number + ": billed while the ledger has it " + std::string(ledger::to_string(it->second.state)));
  }
  for (const auto& c : crm.charges) {
    if (!c.acknowledged) continue;
    const auto it = ledger.find(c.number);
    if (it == ledger.end()) {
      p.push_back(c.number + ": acknowledged, unknown to the ledger");
      continue;
    }
    const auto& rec = it->second;
    if (!acknowledgeable(rec.state))
      p.push_back(c.number + ": acknowledged while the ledger has it " + std::string(ledger::to_string(rec.state)));
    if (c.reference_number != rec.billing_reference)
      p.push_back(c.number + ": acknowledged with reference '" + c.reference_number.value_or("<none>") +
                  "', the ledger has '" + rec.billing_reference.value_or("<none>") + "'");
  }
  return p;
}

std::string listed(const std::vector<std::string>& problems) {
  std::string out = std::to_string(problems.size()) + " problem(s):\n";
  for (std::size_t i = 0; i < problems.size() && i < 20; ++i) out += "  " + problems[i] + "\n";
  return out;
}

// The STATUS= lines systemd got so far.
std::vector<std::string> statuses(notify_socket& ns) {
  std::vector<std::string> out;
  for (const auto& m : ns.drain())
    if (m.starts_with("STATUS=")) out.push_back(m);
  return out;
}

bool any_contains(const std::vector<std::string>& lines, std::string_view text) {
  for (const auto& l : lines)
    if (l.find(text) != std::string::npos) return true;
  return false;
}

// What has reached the peers so far.
struct peer_traffic {
  std::uint64_t billing_posts = 0;
  std::uint64_t acknowledge_calls = 0;
};

peer_traffic traffic_of(const sim_state& crm, const billing_state& billing) {
  return {billing.posts_total, crm.calls_to("charges/acknowledge")};
}

// While the ledger is faulty nothing may leave for either peer: no billing post and no
// acknowledgement between `before` and `after`.
void expect_no_post_and_no_ack(const peer_traffic& before, const peer_traffic& after) {
  EXPECT_EQ(after.billing_posts, before.billing_posts) << "billing posts while the ledger is faulty";
  EXPECT_EQ(after.acknowledge_calls, before.acknowledge_calls) << "acknowledgements while the ledger is faulty";
}

daemon_settings with_deadline(daemon_settings s, std::chrono::milliseconds shutdown_deadline) {
  s.shutdown_deadline = shutdown_deadline;
  return s;
}

struct fault_run {
  crm_sim crm;
  billing_fake billing;
  daemon_fixture daemon;
  ledger_faults faults;
  notify_socket notify;

  // The billing latency is slow enough that a fault lands in the middle of billing.
  fault_run(std::size_t backlog, std::uint64_t seed, std::chrono::milliseconds shutdown_deadline = 10s,
            std::string billing_latency = "10ms")
      : crm(sim_flags(backlog, seed)),
        billing({"--latency", billing_latency}),
        daemon(with_deadline(settings_for(crm, billing), shutdown_deadline)),
        faults(daemon.ledger_path(), daemon.dir() / "fault"),
        notify(daemon.dir() / "notify.sock") {
    daemon.add_environment(faults.preload_env());
    daemon.add_environment({{"NOTIFY_SOCKET", notify.path().string()}});
  }

  std::string describe(daemon_process& p) {
    return p.describe() + "\n--- crm-sim\n" + crm.output() + "\n--- billing-fake\n" + billing.output();
  }

  // Starts the daemon, and sets `fault` once it has billed part of the backlog: mid-run.
  daemon_process start_and_fault_mid_run(bool once, storage_fault fault) {
    auto p = daemon.start(once);
    if (!p.wait_for_events("charge.billed", 150, 90s))
      throw std::runtime_error("the daemon did not bill 150 charges in time:\n" + describe(p));
    faults.set(fault);
    return p;
  }

  // The end every run must reach: sim-audit finds the three states in exact agreement, and
  // the durability order holds.
  void expect_drained_in_agreement() {
    const auto audit = daemon.audit(crm.origin(), billing.origin(), true);
    EXPECT_EQ(audit.exit_status, 0) << audit.output;
    EXPECT_EQ(listed(order_problems(crm.state(), billing.state(), daemon.ledger_charges())), listed({}));
  }
};

// What a daemon that cannot write must show, and must not do, while the fault holds. Returns
// once checked; the fault is still set.
void expect_stalled_and_loud(fault_run& run, daemon_process& p, std::uint16_t metrics, std::string_view error_text) {
  ASSERT_TRUE(p.wait_for_events("ledger.write_failed", 3, 60s)) << run.describe(p);
  bool error_named = false;
  for (const auto& e : p.events("ledger.write_failed")) {
    EXPECT_EQ(e.level, "error");
    EXPECT_FALSE(e.field("operation").empty()) << e.line;
    error_named = error_named || e.field("error").find(error_text) != std::string::npos;
  }
  EXPECT_TRUE(error_named) << "no ledger.write_failed names '" << error_text << "'\n" << run.describe(p);

  // Not ready, and why; the readiness is weighed every 5 s.
  http_answer ready;
  EXPECT_TRUE(eventually(
      [&] {
        ready = http_get(metrics, "/readyz");
        return ready.status == 503;
      },
      20s))
      << ready.status << " " << ready.body;
  EXPECT_NE(ready.body.find("ledger"), std::string::npos) << ready.body;
  const auto scraped = parse_exposition(http_get(metrics, "/metrics").body);
  EXPECT_GT(scraped.sum("chargerecon_ledger_errors_total"), 0);
  // systemd's STATUS says so too (sent at the same refresh as the readiness).
  EXPECT_TRUE(eventually([&] { return any_contains(statuses(run.notify), "ledger writes failing"); }, 15s));

  // Work in flight when the fault struck has ended by now (posts take 10 ms); from here on
  // nothing may reach either peer until the disk takes writes again.
  const auto crm_before = run.crm.state();
  const auto billing_before = run.billing.state();
  const auto failures_before = p.events("ledger.write_failed").size();
  EXPECT_EQ(listed(order_problems(crm_before, billing_before, run.daemon.ledger_charges())), listed({}));
  std::this_thread::sleep_for(3s);
  const auto crm_after = run.crm.state();
  const auto billing_after = run.billing.state();
  // It retries at a steady pace (about once a second per stalled task), not in a tight loop;
  // the bound is far above that pace and far below what a loop without a pause would log.
  const auto failures_during = p.events("ledger.write_failed").size() - failures_before;
  EXPECT_GT(failures_during, 0u) << "no retry while the fault held";
  EXPECT_LT(failures_during, 60u) << "ledger writes retried without a pause";
  expect_no_post_and_no_ack(traffic_of(crm_before, billing_before), traffic_of(crm_after, billing_after));
  EXPECT_EQ(listed(order_problems(crm_after, billing_after, run.daemon.ledger_charges())), listed({}));
  EXPECT_TRUE(p.running()) << run.describe(p);
}

// ---- a full disk in the middle of a run -------------------------------------------------------

TEST(storage_faults, a_full_disk_mid_run_stops_billing_and_acknowledging_loudly_and_drains_once_space_returns) {
  fault_run run(1500, 501);
  auto p = run.start_and_fault_mid_run(true, storage_fault::disk_full);
  const auto metrics = metrics_port(p, 30s);

  expect_stalled_and_loud(run, p, metrics, "full");
  if (HasFatalFailure()) return;

  // Space returns: the same --once run resumes, drains and exits 0.
  run.faults.set(storage_fault::none);
  const auto status = p.wait(180s);
  ASSERT_EQ(status, 0) << run.describe(p);
  run.expect_drained_in_agreement();
  // What it said about it is in the README's table of events, with the fields it lists.
  EXPECT_EQ(listed(undocumented_events(p.log(), readme_log_events())), listed({}));
}

// ---- a file system gone read-only in the middle of a run ------------------------------------------

TEST(storage_faults, a_read_only_ledger_mid_run_stops_the_daemon_acknowledging_until_it_is_writable_again) {
  fault_run run(1500, 502);
  auto p = run.start_and_fault_mid_run(false, storage_fault::read_only);
  const auto metrics = metrics_port(p, 30s);

  // SQLite reports EROFS on a write as a disk I/O error.
  expect_stalled_and_loud(run, p, metrics, "I/O error");
  if (HasFatalFailure()) return;

  // Writable again: the same process drains everything, and is ready once more.
  run.faults.set(storage_fault::none);
  const auto drained = [&] {
    for (const auto& c : run.daemon.ledger_charges())
      if (ledger::is_unfinished(c.state)) return false;
    for (const auto& c : run.crm.state().charges)
      if (c.status != "PENDING" && !c.acknowledged) return false;
    return true;
  };
  ASSERT_TRUE(eventually(drained, 180s)) << run.describe(p);
  http_answer ready;
  EXPECT_TRUE(eventually(
      [&] {
        ready = http_get(metrics, "/readyz");
        return ready.status == 200;
      },
      30s))
      << ready.status << " " << ready.body;
  EXPECT_TRUE(eventually([&] { return any_contains(statuses(run.notify), "STATUS=backlog:"); }, 15s));
  p.signal(SIGTERM);
  ASSERT_EQ(p.wait(30s), 0) << run.describe(p);
  run.expect_drained_in_agreement();
  EXPECT_EQ(listed(undocumented_events(p.log(), readme_log_events())), listed({}));
}

// ---- SIGTERM while the disk is full -----------------------------------------------------------------

TEST(storage_faults, sigterm_while_the_disk_is_full_stops_by_the_deadline_and_the_next_start_finishes_the_work) {
  fault_run run(1500, 505, 2s);
  auto p = run.start_and_fault_mid_run(false, storage_fault::disk_full);
  ASSERT_TRUE(p.wait_for_events("ledger.write_failed", 3, 60s)) << run.describe(p);

  // Answers it could not commit are held in memory: the stop waits for them up to
  // shutdown.deadline, then leaves them to the next start, and exits 0 as after any SIGTERM.
  p.signal(SIGTERM);
  ASSERT_EQ(p.wait(30s), 0) << run.describe(p);
  EXPECT_FALSE(p.events("engine.stopped").empty()) << run.describe(p);
  EXPECT_TRUE(p.events("engine.bug").empty()) << run.describe(p);

  // Space returns: the next start re-posts what was left `billing` under the same key and
  // re-acknowledges what was left billed, and everything agrees.
  run.faults.set(storage_fault::none);
  // systemd reads every notification at once; this socket queues 10 (net.unix.max_dgram_qlen)
  // and then blocks the sender: make room for the next run's.
  run.notify.drain();
  const auto next = run.daemon.run_once(180s);
  ASSERT_EQ(next.exit_status, 0) << next.describe();
  run.expect_drained_in_agreement();
}

// ---- a ledger that cannot be written at start -------------------------------------------------------

TEST(storage_faults, a_ledger_on_a_read_only_file_system_at_start_is_refused_with_exit_69_naming_it) {
  crm_sim crm(sim_flags(200, 503));
  billing_fake billing;
  daemon_fixture d(settings_for(crm, billing));
  ledger_faults faults(d.ledger_path(), d.dir() / "fault");
  d.add_environment(faults.preload_env());

  // Before the ledger exists, and after a run made it.
  for (const bool exists : {false, true}) {
    SCOPED_TRACE(exists ? "existing ledger" : "no ledger yet");
    if (exists) {
      const auto first = d.run_once(120s);
      ASSERT_EQ(first.exit_status, 0) << first.describe();
    }
    faults.set(storage_fault::read_only);
    const auto refused = d.run_once(60s);
    ASSERT_EQ(refused.exit_status, exit_unavailable) << refused.describe();
    bool named = false;
    for (const auto& e : refused.log)
      if (e.event == "ledger.open_failed" && e.level == "error" && e.field("path") == d.ledger_path().string() &&
          e.field("error").find("Read-only file system") != std::string::npos)
        named = true;
    EXPECT_TRUE(named) << refused.describe();
    EXPECT_EQ(listed(undocumented_events(refused.log, readme_log_events())), listed({}));
    faults.set(storage_fault::none);
  }
  // Nothing was lost by the refusals: the peers and the ledger agree, drained.
  const auto audit = d.audit(crm.origin(), billing.origin(), true);
  EXPECT_EQ(audit.exit_status, 0) << audit.output;
}

// ---- a damaged ledger ------------------------------------------------------------------------------

TEST(storage_faults, a_ledger_failing_its_integrity_check_stops_the_daemon_with_exit_65_which_systemd_does_not_restart) {
  crm_sim crm(sim_flags(600, 504));
  billing_fake billing;
  daemon_fixture d(settings_for(crm, billing));
  const auto first = d.run_once(120s);
  ASSERT_EQ(first.exit_status, 0) << first.describe();

  // A clean stop checkpoints the WAL into the file. Keep its header page (still a SQLite
  // file), scribble over the b-tree pages behind it.
  const auto size = std::filesystem::file_size(d.ledger_path());
  ASSERT_GT(size, 8u * 4096u);
  ASSERT_FALSE(std::filesystem::exists(d.ledger_path().string() + "-wal") &&
               std::filesystem::file_size(d.ledger_path().string() + "-wal") > 0);
  {
    std::fstream f(d.ledger_path(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(4096);
    for (std::uintmax_t i = 4096; i < size; ++i) f.put(static_cast<char>((i * 131 + 7) & 0xff));
  }

  const auto damaged = d.run_once(60s);
  ASSERT_EQ(damaged.exit_status, exit_ledger_damaged) << damaged.describe();
  std::vector<log_event> integrity;
  for (const auto& e : damaged.log)
    if (e.event == "ledger.integrity_failed") integrity.push_back(e);
  ASSERT_EQ(integrity.size(), 1u) << damaged.describe();
  EXPECT_EQ(integrity[0].level, "error");
  EXPECT_EQ(integrity[0].field("path"), d.ledger_path().string());
  EXPECT_NE(integrity[0].field("error").find("quick_check"), std::string::npos) << integrity[0].line;
  EXPECT_NE(integrity[0].field("detail").find("backup"), std::string::npos) << integrity[0].line;
  // It stopped before anything else: no login, no pass.
  for (const auto& e : damaged.log) EXPECT_NE(e.event, "engine.started") << e.line;
  EXPECT_EQ(listed(undocumented_events(damaged.log, readme_log_events())), listed({}));

  // The unit keeps systemd from restarting it every RestartSec on a ledger no restart can fix.
  const auto unit = read_file(std::filesystem::path(CHARGERECON_SOURCE_DIR) / "systemd" / "chargerecon.service");
  const auto at = unit.find("\nRestartPreventExitStatus=");
  ASSERT_NE(at, std::string::npos) << "systemd/chargerecon.service has no RestartPreventExitStatus=";
  const auto line = unit.substr(at + 1, unit.find('\n', at + 1) - at - 1);
  EXPECT_NE((" " + line.substr(line.find('=') + 1) + " ").find(" 65 "), std::string::npos) << line;
}

// Damage the start-up open does not read (the file's last pages): the daemon logs in and sends
// READY, and quick_check, which runs after READY, finds it. Until the check passes nothing is
// billed or acknowledged, so the new charges waiting in CRM.COM reach neither peer.
TEST(storage_faults, damage_found_by_the_check_after_ready_stops_the_daemon_before_it_bills_anything) {
  crm_sim crm(sim_flags(600, 505));
  billing_fake billing;
  daemon_fixture d(settings_for(crm, billing));
  const auto first = d.run_once(120s);
  ASSERT_EQ(first.exit_status, 0) << first.describe();
  const auto before = traffic_of(crm.state(), billing.state());

  ASSERT_EQ(crm.post_charges(R"([{"number":"AFTER-1","billing_system_customer_identifier":"C0001",)"
                             R"("amount":12.5,"currency":"EUR","charge_status":"APPROVED"},)"
                             R"({"number":"AFTER-2","billing_system_customer_identifier":"C0002",)"
                             R"("amount":0.5,"currency":"EUR","charge_status":"DECLINED"}])"),
            2u);
  const auto size = std::filesystem::file_size(d.ledger_path());
  ASSERT_GT(size, 16u * 4096u);
  {
    std::fstream f(d.ledger_path(), std::ios::in | std::ios::out | std::ios::binary);
    for (std::uintmax_t i = size - 2 * 4096; i < size; ++i) {
      f.seekp(static_cast<std::streamoff>(i));
      f.put(static_cast<char>((i * 131 + 7) & 0xff));
    }
  }

  const auto damaged = d.run_once(60s);
  ASSERT_EQ(damaged.exit_status, exit_ledger_damaged) << damaged.describe();
  std::size_t integrity_failed = 0;
  for (const auto& e : damaged.log) {
    integrity_failed += e.event == "ledger.integrity_failed" ? 1 : 0;
    EXPECT_NE(e.event, "engine.started") << e.line;
  }
  EXPECT_EQ(integrity_failed, 1u) << damaged.describe();
  // The after-READY path, not the open's: it had logged in.
  EXPECT_TRUE(std::ranges::any_of(damaged.log, [](const log_event& e) { return e.event == "crm.login"; }))
      << damaged.describe();
  const auto crm_after = crm.state();
  expect_no_post_and_no_ack(before, traffic_of(crm_after, billing.state()));
  EXPECT_FALSE(crm_after.find("AFTER-1")->acknowledged);
  EXPECT_FALSE(crm_after.find("AFTER-2")->acknowledged);
  EXPECT_EQ(listed(undocumented_events(damaged.log, readme_log_events())), listed({}));
}

// ---- damage found in the middle of a run --------------------------------------------------------

// Makes the running daemon fetch its ledger's pages from the file again, as if none were cached:
// a checkpoint that empties the WAL rewrites the WAL index's header, and every connection on the
// file drops its page cache at its next transaction. Nothing in the ledger changes.
void empty_the_wal_under_the_daemon(const std::filesystem::path& ledger) {
  sqlite3* db = nullptr;
  sqlite3_stmt* checkpoint = nullptr;
  // A statement, not sqlite3_wal_checkpoint_v2() on the bare connection: that one does nothing
  // before the connection has read the file and found it in WAL mode. Its row: busy, frames in
  // the WAL, frames checkpointed; busy 0 once the WAL is emptied.
  const bool emptied = sqlite3_open_v2(ledger.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK &&
                       sqlite3_busy_timeout(db, 10'000) == SQLITE_OK &&
                       sqlite3_prepare_v2(db, "PRAGMA wal_checkpoint(TRUNCATE)", -1, &checkpoint, nullptr) == SQLITE_OK &&
                       sqlite3_step(checkpoint) == SQLITE_ROW && sqlite3_column_int(checkpoint, 0) == 0;
  const std::string message = sqlite3_errmsg(db);
  sqlite3_finalize(checkpoint);
  sqlite3_close(db);
  if (!emptied) throw std::runtime_error("checkpoint of " + ledger.string() + " did not empty the WAL: " + message);
}

// The ledger's pages read back damaged while the daemon bills (the file itself stays intact, so
// the test can read it afterwards): the engine's own reads and writes find the damage, at the
// first page they fetch once the page cache is gone. The daemon stops with exit 65, naming the
// file, and sends nothing more to either peer.
TEST(storage_faults, damage_found_mid_run_by_the_engines_own_reads_stops_the_daemon_with_exit_65_and_nothing_more_leaves) {
  // Posts answered in 300 ms: the daemon is still draining those in flight when the test has
  // seen the damage found (it looks every 20 ms), so anything it started afterwards would show.
  fault_run run(1500, 506, 10s, "300ms");
  auto p = run.start_and_fault_mid_run(false, storage_fault::corrupt_reads);
  empty_the_wal_under_the_daemon(run.daemon.ledger_path());
  ASSERT_TRUE(p.wait_for_event("engine.fatal", 20s)) << run.describe(p);
  // Both peers count a call when it arrives: what was in flight is counted already.
  const auto at_discovery = traffic_of(run.crm.state(), run.billing.state());

  const auto status = p.wait(30s);
  ASSERT_EQ(status, exit_ledger_damaged) << run.describe(p);
  const auto crm_after = run.crm.state();
  const auto billing_after = run.billing.state();
  expect_no_post_and_no_ack(at_discovery, traffic_of(crm_after, billing_after));

  const auto integrity = p.events("ledger.integrity_failed");
  ASSERT_EQ(integrity.size(), 1u) << run.describe(p);
  EXPECT_EQ(integrity[0].level, "error");
  EXPECT_EQ(integrity[0].field("path"), run.daemon.ledger_path().string());
  EXPECT_NE(integrity[0].field("error").find("malformed"), std::string::npos) << integrity[0].line;
  EXPECT_NE(integrity[0].field("detail").find("backup"), std::string::npos) << integrity[0].line;
  // Mid-run: it had billed, and stopped with work left.
  EXPECT_GE(billing_after.records.size(), 150u);
  EXPECT_TRUE(std::ranges::any_of(crm_after.charges, [](const sim_charge& c) { return !c.acknowledged; }))
      << "the whole backlog was acknowledged: the damage was not found mid-run";
  // What did leave kept the durability order (the file itself was never damaged).
  run.faults.set(storage_fault::none);
  EXPECT_EQ(listed(order_problems(crm_after, billing_after, run.daemon.ledger_charges())), listed({}));
  EXPECT_EQ(listed(undocumented_events(p.log(), readme_log_events())), listed({}));
}

}  // namespace
}  // namespace chargerecon::test
