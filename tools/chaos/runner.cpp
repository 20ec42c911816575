#include "chaos/runner.hpp"

#include <sys/wait.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "bench/process.hpp"
#include "chaos/schedule.hpp"
#include "config/config.hpp"
#include "config/writer.hpp"
#include "sim-audit/fetch.hpp"
#include "sim-audit/states.hpp"

namespace chargerecon::chaos {
namespace fs = std::filesystem;
namespace {

using clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr auto state_timeout = std::chrono::seconds(120);
constexpr auto poll_period = 10ms;
constexpr unsigned page_size = 20;
constexpr unsigned ack_batch = 20;

// The hostile profile, both sides. Every fault keeps a charge recoverable: none may end in a
// lost or double charge, and none refuses an acknowledgement often enough to kill a charge
// (ack_refuse_first 2 < ack.max_attempts 10).
constexpr std::string_view crm_faults_on =
    R"({"latency":"5ms","jitter":"5ms","fail_5xx":0.05,"drop":0.03,"malformed_json":0.03,"truncate_json":0.03,)"
    R"("token_expiry_every":"1s","ack_refuse_first":2,"ack_apply_then_drop":0.05})";
constexpr std::string_view crm_faults_off =
    R"({"latency":0,"jitter":0,"fail_5xx":0,"drop":0,"malformed_json":0,"truncate_json":0,)"
    R"("token_expiry_every":0,"ack_refuse_first":0,"ack_apply_then_drop":0})";
constexpr std::string_view billing_faults_on =
    R"({"latency":5,"jitter":10,"drop":0.03,"fail_5xx":0.05,"rate_limit":0.03,"apply_then_drop":0.05,)"
    R"("malformed_json":0.03})";
constexpr std::string_view billing_faults_off =
    R"({"latency":0,"jitter":0,"drop":0,"fail_5xx":0,"rate_limit":0,"apply_then_drop":0,"malformed_json":0})";

struct binaries {
  fs::path chargerecond, crm_sim, billing_fake;
};

// A flag, else next to this program, else the build tree.
result<binaries> find_binaries(const chaos_options& o) {
  std::error_code ec;
  const auto self_dir = fs::read_symlink("/proc/self/exe", ec).parent_path();
  const auto pick = [&](const std::optional<fs::path>& flag, std::string_view name,
                        const fs::path& in_build) -> result<fs::path> {
    if (flag) return *flag;
    if (!self_dir.empty() && fs::exists(self_dir / name)) return self_dir / name;
    if (fs::exists(o.build_dir / in_build)) return o.build_dir / in_build;
    return error{errc::invalid_argument, std::string(name) + " not found next to chargerecon-chaos nor in " +
                                             (o.build_dir / in_build).string() + ": give --" + std::string(name)};
  };
  auto daemon = pick(o.chargerecond, "chargerecond", "daemon/chargerecond");
  if (!daemon) return daemon.error();
  auto crm = pick(o.crm_sim, "crm-sim", "tools/crm-sim/crm-sim");
  if (!crm) return crm.error();
  auto billing = pick(o.billing_fake, "billing-fake", "tools/billing-fake/billing-fake");
  if (!billing) return billing.error();
  return binaries{*daemon, *crm, *billing};
}

std::string config_text(const std::string& crm_url, const std::string& billing_url, const fs::path& ledger) {
  config c;
  c.crm.base_url = crm_url + "/crmapi/rest/v2/";
  c.crm.username = "operator";
  c.crm.organisation = "demo-org";
  c.crm.timeout = 5s;
  c.crm.connect_timeout = 2s;
  c.poll.interval = 1s;
  c.poll.page_size = page_size;
  c.billing.url = billing_url + "/bill";
  c.billing.concurrency = 8;
  c.billing.timeout = 5s;
  c.billing.connect_timeout = 2s;
  c.billing.backoff_initial = 50ms;
  c.billing.backoff_max = 1s;
  c.ack.batch_size = ack_batch;
  c.ack.linger = 50ms;
  c.ack.max_attempts = 10;
  c.ack.backoff_initial = 100ms;
  c.ack.backoff_max = 1s;
  c.ledger.path = ledger.string();
  c.log.level = obs::log_level::info;
  c.log.format = obs::log_format::json;
  c.metrics.listen.clear();
  c.shutdown.deadline = 2s;
  return to_yaml(c);
}

void append_line(const fs::path& log, const std::string& text) {
  if (FILE* f = std::fopen(log.c_str(), "a")) {
    std::fprintf(f, "%s\n", text.c_str());
    std::fclose(f);
  }
}

// Exit status of a child that ended on its own, without reaping it (the child object does).
std::optional<int> exited_on_its_own(pid_t pid) {
  siginfo_t info{};
  if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid != pid)
    return std::nullopt;
  return info.si_code == CLD_EXITED ? info.si_status : 128 + info.si_status;
}

double seconds_since(clock::time_point t) { return std::chrono::duration<double>(clock::now() - t).count(); }

class run {
 public:
  run(const chaos_options& o, binaries bin, fs::path work) : o_(o), bin_(std::move(bin)), work_(std::move(work)) {}

  result<chaos_report> go() {
    const auto started = clock::now();
    report_.seed = o_.seed;
    report_.kills_requested = o_.kills;
    if (auto r = start_simulators(); !r) return r.error();
    if (auto r = write_config(); !r) return r.error();

    const auto schedule = make_kill_schedule({o_.kills, o_.charges, page_size, ack_batch, 500ms, o_.seed});
    const auto chaos_started = clock::now();
    for (std::size_t i = 0; i < schedule.size(); ++i) {
      if (auto r = one_life(i, schedule[i]); !r) return r.error();
      if ((i + 1) % 10 == 0 || i + 1 == schedule.size())
        std::fprintf(stderr, "chaos: %zu/%zu kills, %.0f s\n", i + 1, schedule.size(), seconds_since(chaos_started));
    }
    report_.chaos_s = seconds_since(chaos_started);

    if (auto r = sim_audit::post_json(crm_url_, "sim/faults", std::string(crm_faults_off), state_timeout); !r)
      return r.error();
    if (auto r = sim_audit::post_json(billing_url_, "faults", std::string(billing_faults_off), state_timeout); !r)
      return r.error();
    std::fprintf(stderr, "chaos: faults off; draining with chargerecond --once\n");
    drain();
    if (auto r = audit(); !r) return r.error();
    report_.wall_s = seconds_since(started);
    crm_->stop(10s);
    billing_->stop(10s);
    return std::move(report_);
  }

 private:
  result<void> start_simulators() {
    const auto credentials = work_ / "credentials";
    fs::create_directory(credentials);
    fs::permissions(credentials, fs::perms::owner_all);
    const auto secret = fs::perms::owner_read | fs::perms::owner_write;
    if (auto r = bench::write_file(credentials / "crm-password", "secret\n", secret); !r) return r.error();
    if (auto r =
            bench::write_file(credentials / "billing-token", "chaos-token-" + std::to_string(o_.seed) + "\n", secret);
        !r)
      return r.error();
    credentials_ = credentials;

    const auto seed = std::to_string(o_.seed);
    auto crm = bench::child::spawn(
        {bin_.crm_sim.string(), "--port", "0", "--port-file", (work_ / "crm.port").string(), "--quiet", "--seed", seed,
         "--backlog", std::to_string(o_.charges), "--customers", std::to_string(o_.customers), "--pending-ratio",
         std::to_string(o_.pending_ratio), "--pending-resolve-after", "24h"},
        work_ / "crm-sim.log");
    if (!crm) return crm.error();
    crm_ = std::move(*crm);
    std::vector<std::string> billing_args{bin_.billing_fake.string(),
                                          "--port",
                                          "0",
                                          "--port-file",
                                          (work_ / "billing.port").string(),
                                          "--quiet",
                                          "--seed",
                                          seed,
                                          "--token-file",
                                          (credentials / "billing-token").string()};
    if (!o_.held_customers.empty()) {
      billing_args.push_back("--reject-customers");
      billing_args.push_back(o_.held_customers);
    }
    auto billing = bench::child::spawn(billing_args, work_ / "billing-fake.log");
    if (!billing) return billing.error();
    billing_ = std::move(*billing);
    auto crm_port = bench::wait_for_port(work_ / "crm.port", work_ / "crm-sim.log", "crm-sim");
    if (!crm_port) return crm_port.error();
    auto billing_port = bench::wait_for_port(work_ / "billing.port", work_ / "billing-fake.log", "billing-fake");
    if (!billing_port) return billing_port.error();
    crm_url_ = "http://127.0.0.1:" + *crm_port;
    billing_url_ = "http://127.0.0.1:" + *billing_port;
    if (auto r = sim_audit::post_json(crm_url_, "sim/faults", std::string(crm_faults_on), state_timeout); !r)
      return r.error();
    if (auto r = sim_audit::post_json(billing_url_, "faults", std::string(billing_faults_on), state_timeout); !r)
      return r.error();
    return {};
  }

  result<void> write_config() {
    config_ = work_ / "chargerecon.yaml";
    return bench::write_file(config_, config_text(crm_url_, billing_url_, work_ / "ledger.db"),
                             fs::perms::owner_read | fs::perms::owner_write);
  }

  result<bench::child> spawn_daemon(bool once, const std::string& banner) {
    append_line(work_ / "chargerecond.log", banner);
    std::vector<std::string> argv{bin_.chargerecond.string(), "--config", config_.string()};
    if (once) argv.push_back("--once");
    return bench::child::spawn(argv, work_ / "chargerecond.log", {"CREDENTIALS_DIRECTORY=" + credentials_.string()});
  }

  // The counter a kill moment watches.
  result<std::uint64_t> counter(kill_phase phase) {
    if (phase == kill_phase::billing) {
      auto body = sim_audit::fetch_state(billing_url_, "stats", state_timeout);
      if (!body) return body.error();
      auto stats = parse_billing_stats(*body);
      if (!stats) return stats.error();
      return stats->call("posts");
    }
    auto body = sim_audit::fetch_state(crm_url_, "sim/stats", state_timeout);
    if (!body) return body.error();
    auto stats = parse_crm_stats(*body);
    if (!stats) return stats.error();
    return stats->call(phase == kill_phase::listing ? "charges/list" : "charges/acknowledge");
  }

  // One life of the daemon: start it, wait for its kill moment, SIGKILL it.
  result<void> one_life(std::size_t index, const kill_moment& moment) {
    const auto phase = std::string(to_string(moment.phase));
    std::optional<std::uint64_t> base;
    if (moment.phase != kill_phase::startup) {
      auto c = counter(moment.phase);
      if (!c) return c.error();
      base = *c;
    }
    auto daemon = spawn_daemon(false, "=== chaos: life " + std::to_string(index + 1) + ", to be killed in " + phase);
    if (!daemon) return daemon.error();
    if (index > 0) ++report_.restarts;
    const auto born = clock::now();
    auto last_change = born;
    std::uint64_t last_seen = base.value_or(0);
    bool reached = false;
    for (;;) {
      if (const auto status = exited_on_its_own(daemon->pid())) {
        daemon->wait(10s);
        report_.discrepancies.push_back({"daemon_exited", "",
                                         "life " + std::to_string(index + 1) + ": chargerecond exited with status " +
                                             std::to_string(*status) + " before its kill (see chargerecond.log)"});
        return {};
      }
      const auto now = clock::now();
      if (moment.phase == kill_phase::startup) {
        if (now - born >= moment.delay) {
          reached = true;
          break;
        }
      } else {
        auto c = counter(moment.phase);
        if (!c) return c.error();
        if (*c - *base >= moment.count) {
          reached = true;
          break;
        }
        if (*c != last_seen) {
          last_seen = *c;
          last_change = now;
        }
        if (now - last_change >= o_.stall || now - born >= o_.cycle_deadline) break;
      }
      std::this_thread::sleep_for(moment.phase == kill_phase::startup ? 1ms : poll_period);
    }
    ::kill(daemon->pid(), SIGKILL);
    const auto ended = daemon->wait(60s);
    if (ended.status != 128 + SIGKILL) {
      report_.discrepancies.push_back({"daemon_exited", "",
                                       "life " + std::to_string(index + 1) + ": chargerecond exited with status " +
                                           std::to_string(ended.status) + " as it was being killed"});
      return {};
    }
    ++report_.kills;
    // Where it landed: its phase, or "idle" when the phase's counter stood still (nothing
    // left of that kind of work, or the daemon waiting out a backoff) and it was killed anyway.
    ++report_.kills_by_phase[reached ? phase : "idle"];
    if (!reached) ++report_.kills_early;
    append_line(work_ / "chargerecond.log", "=== chaos: life " + std::to_string(index + 1) + " killed " +
                                                (reached ? "in " + phase : "idle, waiting for " + phase) + " after " +
                                                std::to_string(static_cast<long long>(seconds_since(born) * 1000)) +
                                                " ms");
    return {};
  }

  void drain() {
    const auto started = clock::now();
    auto daemon = spawn_daemon(true, "=== chaos: faults off, the final --once run");
    if (!daemon) {
      report_.discrepancies.push_back({"drain_failed", "", daemon.error().to_string()});
      return;
    }
    ++report_.restarts;
    const auto ended = daemon->wait(std::chrono::duration_cast<std::chrono::milliseconds>(o_.drain_timeout));
    report_.drain_s = seconds_since(started);
    report_.drain_exit = ended.status;
    if (ended.timed_out)
      report_.discrepancies.push_back({"drain_failed", "",
                                       "chargerecond --once did not finish within " +
                                           std::to_string(o_.drain_timeout.count()) +
                                           " s with the faults off (see chargerecond.log)"});
    else if (ended.status != 0)
      report_.discrepancies.push_back({"drain_failed", "",
                                       "chargerecond --once exited with status " + std::to_string(ended.status) +
                                           " with the faults off (see chargerecond.log)"});
  }

  result<void> audit() {
    auto ledger = sim_audit::load_ledger(work_ / "ledger.db");
    if (!ledger) return ledger.error();
    auto billing_body = sim_audit::fetch_state(billing_url_, "state", state_timeout);
    if (!billing_body) return billing_body.error();
    auto billing = sim_audit::parse_billing_state(*billing_body);
    if (!billing) return billing.error();
    auto crm_body = sim_audit::fetch_state(crm_url_, "sim/state", state_timeout);
    if (!crm_body) return crm_body.error();
    auto crm = sim_audit::parse_crm_state(*crm_body);
    if (!crm) return crm.error();
    sim_audit::audit_options options;
    options.expect_drained = true;
    options.forbid_dead = true;
    report_.audit = sim_audit::audit(*crm, *billing, *ledger, options);
    report_.discrepancies.insert(report_.discrepancies.end(), report_.audit.discrepancies.begin(),
                                 report_.audit.discrepancies.end());

    auto crm_stats = sim_audit::fetch_state(crm_url_, "sim/stats", state_timeout);
    if (!crm_stats) return crm_stats.error();
    auto crm_counters = parse_crm_stats(*crm_stats);
    if (!crm_counters) return crm_counters.error();
    report_.crm = std::move(*crm_counters);
    auto billing_stats = sim_audit::fetch_state(billing_url_, "stats", state_timeout);
    if (!billing_stats) return billing_stats.error();
    auto billing_counters = parse_billing_stats(*billing_stats);
    if (!billing_counters) return billing_counters.error();
    report_.billing = std::move(*billing_counters);
    return {};
  }

  const chaos_options& o_;
  binaries bin_;
  fs::path work_;
  fs::path credentials_;
  fs::path config_;
  std::string crm_url_, billing_url_;
  std::optional<bench::child> crm_, billing_;
  chaos_report report_;
};

}  // namespace

result<chaos_report> run_chaos(const chaos_options& o) {
  auto bin = find_binaries(o);
  if (!bin) return bin.error();
  fs::path work;
  if (o.work_dir) {
    work = *o.work_dir;
    std::error_code ec;
    fs::create_directories(work, ec);
    if (ec) return error{errc::invalid_argument, "cannot create " + work.string() + ": " + ec.message()};
  } else {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/chargerecon-chaos.XXXXXX";
    if (!::mkdtemp(pattern.data())) return error{errc::invalid_argument, "cannot create a directory like " + pattern};
    work = pattern;
  }
  std::fprintf(stderr, "chaos: %llu charges, %llu kills, seed %llu, in %s\n",
               static_cast<unsigned long long>(o.charges), static_cast<unsigned long long>(o.kills),
               static_cast<unsigned long long>(o.seed), work.c_str());
  auto report = run(o, std::move(*bin), work).go();
  if (report && report->passed() && !o.keep && !o.work_dir)
    fs::remove_all(work);
  else
    std::fprintf(stderr, "chaos: configs, ledger and logs kept in %s\n", work.c_str());
  return report;
}

}  // namespace chargerecon::chaos
