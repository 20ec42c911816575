#include "bench/runner.hpp"

#include <fcntl.h>
#include <poll.h>
#include <simdjson.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "bench/process.hpp"
#include "config/config.hpp"
#include "config/writer.hpp"
#include "sim-audit/fetch.hpp"
#include "sim-audit/states.hpp"

namespace chargerecon::bench {
namespace fs = std::filesystem;
namespace {

constexpr auto state_timeout = std::chrono::seconds(120);

error bad_flag(std::string_view flag, std::string_view why) {
  return error{errc::invalid_argument, std::string(flag) + ": " + std::string(why)};
}

std::optional<std::uint64_t> parse_count(std::string_view text) {
  std::uint64_t v = 0;
  const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || p != text.data() + text.size()) return std::nullopt;
  return v;
}

struct binaries {
  fs::path chargerecond, crm_sim, billing_fake, sim_audit, baseline;
};

result<binaries> find_binaries(const fs::path& build) {
  binaries b{build / "daemon/chargerecond", build / "tools/crm-sim/crm-sim", build / "tools/billing-fake/billing-fake",
             build / "tools/sim-audit/sim-audit", build / "tools/bench/chargerecon-baseline"};
  for (const auto& p : {b.chargerecond, b.crm_sim, b.billing_fake, b.sim_audit, b.baseline})
    if (!fs::exists(p))
      return error{errc::invalid_argument, p.string() +
                                               " is missing: build the chargerecond, crm-sim, billing-fake, "
                                               "sim-audit and chargerecon-baseline targets"};
  return b;
}

std::string ms_text(double ms) { return std::to_string(static_cast<long long>(ms)) + "ms"; }

// The simulators of one run, stopped (SIGTERM) when this goes out of scope.
struct simulators {
  child crm;
  child billing;
  std::string crm_url;
  std::string billing_url;  // root; posts go to /bill
};

result<simulators> start_simulators(const binaries& bin, const bench_options& o, std::uint64_t charges,
                                    double latency_ms, const fs::path& dir) {
  std::vector<std::string> crm_args{bin.crm_sim.string(),
                                    "--port",
                                    "0",
                                    "--port-file",
                                    (dir / "crm.port").string(),
                                    "--quiet",
                                    "--backlog",
                                    std::to_string(charges),
                                    "--pending-ratio",
                                    "0",
                                    "--seed",
                                    std::to_string(o.seed),
                                    "--latency",
                                    ms_text(latency_ms)};
  auto crm = child::spawn(crm_args, dir / "crm-sim.log");
  if (!crm) return crm.error();
  std::vector<std::string> bill_args{bin.billing_fake.string(),
                                     "--port",
                                     "0",
                                     "--port-file",
                                     (dir / "billing.port").string(),
                                     "--quiet",
                                     "--seed",
                                     std::to_string(o.seed),
                                     "--latency",
                                     ms_text(latency_ms)};
  if (!o.reject_customers.empty()) {
    bill_args.push_back("--reject-customers");
    bill_args.push_back(o.reject_customers);
  }
  auto bill = child::spawn(bill_args, dir / "billing-fake.log");
  if (!bill) return bill.error();
  auto crm_port = wait_for_port(dir / "crm.port", dir / "crm-sim.log", "crm-sim");
  if (!crm_port) return crm_port.error();
  auto bill_port = wait_for_port(dir / "billing.port", dir / "billing-fake.log", "billing-fake");
  if (!bill_port) return bill_port.error();
  return simulators{std::move(*crm), std::move(*bill), "http://127.0.0.1:" + *crm_port,
                    "http://127.0.0.1:" + *bill_port};
}

// The backlog as crm-sim holds it before the run: what a reconciler has to do.
result<workload> read_workload(const simulators& sims, const bench_options& o) {
  auto body = sim_audit::fetch_state(sims.crm_url + "/", "sim/state", state_timeout);
  if (!body) return body.error();
  auto state = sim_audit::parse_crm_state(*body);
  if (!state) return state.error();
  std::set<std::string, std::less<>> rejected;
  std::stringstream list(o.reject_customers);
  for (std::string c; std::getline(list, c, ',');)
    if (!c.empty()) rejected.insert(c);
  workload w;
  std::uint64_t held = 0;
  for (const auto& c : state->charges) {
    if (!c.status || *c.status == "PENDING") continue;
    ++w.charges;
    if (*c.status == "APPROVED") {
      ++w.posts;
      if (rejected.contains(c.customer)) ++held;
    }
  }
  w.acknowledged = w.charges - held;
  return w;
}

// Every call crm-sim counted (its "calls" object: method -> count), and billing-fake's posts.
result<std::pair<std::uint64_t, std::uint64_t>> read_counters(const simulators& sims) {
  auto crm_body = sim_audit::fetch_state(sims.crm_url + "/", "sim/state", state_timeout);
  if (!crm_body) return crm_body.error();
  simdjson::ondemand::parser parser;
  simdjson::padded_string padded(*crm_body);
  std::uint64_t calls = 0;
  auto doc = parser.iterate(padded);
  simdjson::ondemand::object calls_obj;
  if (doc["calls"].get_object().get(calls_obj) != simdjson::SUCCESS)
    return error{errc::malformed_answer, "crm-sim /sim/state: no \"calls\" object"};
  for (auto field : calls_obj) {
    std::uint64_t n = 0;
    if (field.value().get_uint64().get(n) != simdjson::SUCCESS)
      return error{errc::malformed_answer, "crm-sim /sim/state: a \"calls\" count is not a number"};
    calls += n;
  }
  auto bill_body = sim_audit::fetch_state(sims.billing_url + "/", "state", state_timeout);
  if (!bill_body) return bill_body.error();
  auto bill_state = sim_audit::parse_billing_state(*bill_body);
  if (!bill_state) return bill_state.error();
  return std::pair{calls, bill_state->posts_total};
}

std::string engine_config_text(const simulators& sims, const fs::path& ledger, std::size_t concurrency) {
  config c;
  c.crm.base_url = sims.crm_url + "/crmapi/rest/v2/";
  c.crm.username = "operator";
  c.crm.organisation = "demo-org";
  c.poll.interval = std::chrono::seconds(1);
  c.poll.page_size = 50;
  c.billing.url = sims.billing_url + "/bill";
  c.billing.concurrency = static_cast<unsigned>(concurrency);  // --concurrency is at most 256
  c.ack.batch_size = 50;
  c.ledger.path = ledger.string();
  c.log.level = obs::log_level::info;
  c.log.format = obs::log_format::json;
  c.metrics.listen.clear();
  return to_yaml(c);
}

// The median of a few 4 KiB write + fdatasync rounds in `dir`, in ms.
double probe_fsync_ms(const fs::path& dir) {
  const auto file = dir / "fsync-probe";
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return 0;
  std::vector<double> samples;
  const std::string block(4096, 'x');
  for (int i = 0; i < 21; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    if (::pwrite(fd, block.data(), block.size(), static_cast<off_t>(i) * 4096) < 0 || ::fdatasync(fd) != 0) break;
    samples.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  ::close(fd);
  fs::remove(file);
  if (samples.empty()) return 0;
  std::nth_element(samples.begin(), samples.begin() + samples.size() / 2, samples.end());
  return samples[samples.size() / 2];
}

// From spawn to READY=1: chargerecond (not --once) on the ledger a run left, with NOTIFY_SOCKET
// naming a datagram socket of ours, as systemd would; then SIGTERM. nullopt when READY did not
// come within 60 s.
std::optional<double> time_to_ready(const std::vector<std::string>& argv, const fs::path& dir,
                                    const std::vector<std::string>& env) {
  const auto socket_path = dir / "notify.sock";
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const auto text = socket_path.string();
  if (text.size() >= sizeof addr.sun_path) {
    ::close(fd);
    return std::nullopt;
  }
  std::copy(text.begin(), text.end(), addr.sun_path);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return std::nullopt;
  }
  auto child_env = env;
  child_env.push_back("NOTIFY_SOCKET=" + text);
  const auto started = std::chrono::steady_clock::now();
  auto proc = child::spawn(argv, dir / "chargerecond-ready.log", child_env);
  std::optional<double> ready;
  while (proc && !ready && std::chrono::steady_clock::now() - started < std::chrono::seconds(60)) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[4096];
    const auto n = ::recv(fd, buf, sizeof buf - 1, 0);
    if (n <= 0) continue;
    const std::string_view message(buf, static_cast<std::size_t>(n));
    if (message.find("READY=1") != std::string_view::npos)
      ready = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  }
  if (proc) proc->stop(std::chrono::seconds(30));
  ::close(fd);
  return ready;
}

enum class which { engine, baseline };

struct run_outcome {
  workload w;
  measurement m;
};

result<run_outcome> run_one(const binaries& bin, const bench_options& o, which who, std::uint64_t charges,
                            double latency_ms, const fs::path& dir) {
  fs::create_directories(dir);
  auto sims = start_simulators(bin, o, charges, latency_ms, dir);
  if (!sims) return sims.error();
  auto w = read_workload(*sims, o);
  if (!w) return w.error();

  const auto credentials = dir / "credentials";
  fs::create_directory(credentials);
  fs::permissions(credentials, fs::perms::owner_all);
  if (auto r = write_file(credentials / "crm-password", "secret\n", fs::perms::owner_read | fs::perms::owner_write); !r)
    return r.error();
  const auto ledger = dir / "ledger.db";
  std::vector<std::string> argv;
  fs::path log;
  if (who == which::engine) {
    const auto config = dir / "chargerecon.yaml";
    if (auto r = write_file(config, engine_config_text(*sims, ledger, o.concurrency),
                            fs::perms::owner_read | fs::perms::owner_write);
        !r)
      return r.error();
    argv = {bin.chargerecond.string(), "--config", config.string(), "--once"};
    log = dir / "chargerecond.log";
  } else {
    argv = {bin.baseline.string(),
            "--crm-url",
            sims->crm_url,
            "--billing-url",
            sims->billing_url + "/bill",
            "--ledger",
            ledger.string(),
            "--password-file",
            (credentials / "crm-password").string()};
    log = dir / "baseline.log";
  }
  const double fsync_ms = probe_fsync_ms(dir);
  const std::vector<std::string> env{"CREDENTIALS_DIRECTORY=" + credentials.string()};
  auto proc = child::spawn(argv, log, env);
  if (!proc) return proc.error();
  const auto ended = proc->wait(std::chrono::seconds(o.timeout_s));

  run_outcome out;
  out.w = *w;
  auto& m = out.m;
  m.charges = w->charges;
  m.wall_s = ended.wall_s;
  m.cpu_user_s = ended.cpu_user_s;
  m.cpu_system_s = ended.cpu_system_s;
  m.max_rss_kib = ended.max_rss_kib;
  m.exit_status = ended.status;
  m.fsync_probe_ms = fsync_ms;
  auto counters = read_counters(*sims);
  if (!counters) return counters.error();
  m.crm_calls = counters->first;
  m.billing_posts = counters->second;

  auto audit = child::spawn({bin.sim_audit.string(), "--crm-url", sims->crm_url, "--billing-url", sims->billing_url,
                             "--ledger", ledger.string(), "--expect-drained"},
                            dir / "sim-audit.log");
  if (!audit) return audit.error();
  const auto audited = audit->wait(std::chrono::minutes(10));
  m.audit_ok = audited.status == 0 && ended.status == 0;
  if (who == which::engine) {
    argv.pop_back();  // --once
    m.ready_ms = time_to_ready(argv, dir, env);
  }
  sims->crm.stop(std::chrono::seconds(10));
  sims->billing.stop(std::chrono::seconds(10));
  return out;
}

}  // namespace

const char* const usage_text =
    "usage: chargerecon-bench [--charges N] [--latency MS,...] [--concurrency C] [--baseline-charges M]\n"
    "                         [--out FILE] [--build DIR] [--seed S] [--reject-customers LIST]\n"
    "                         [--timeout SECONDS] [--keep]\n"
    "\n"
    "For each latency (added to every CRM.COM call and every billing post), runs chargerecond --once\n"
    "and the naive sequential baseline (chargerecon-baseline) on the same seeded backlog, each\n"
    "against fresh crm-sim and billing-fake and a fresh ledger, checks each with sim-audit, and\n"
    "prints charges/s, CPU s per 1,000 charges, peak RSS, CRM.COM calls and billing posts per\n"
    "charge, the network's bound and the ratios to it and to the baseline.\n"
    "\n"
    "  --charges N              backlog for chargerecond (default 10000)\n"
    "  --latency MS,...         latencies in whole ms (default 0,5,20)\n"
    "  --concurrency C          billing.concurrency (default 32)\n"
    "  --repeat R               chargerecond runs per latency (default 1, at most 100), each on\n"
    "                           fresh simulators and a fresh ledger; the table shows the median\n"
    "                           run and the notes list every run's rate\n"
    "  --baseline-charges M     backlog for the baseline (default N); its rate is extrapolated\n"
    "  --out FILE               also write the results as JSON to FILE\n"
    "  --build DIR              the build directory holding the binaries (default: the one this\n"
    "                           program was built in)\n"
    "  --seed S                 crm-sim's and billing-fake's seed (default 1)\n"
    "  --reject-customers LIST  billing-fake refuses these customers: their charges end held\n"
    "                           (default C0007; \"\" for none)\n"
    "  --timeout SECONDS        a reconciler run is killed past this (default 3600)\n"
    "  --keep                   keep the scratch directory (configs, ledgers, logs)\n"
    "exit status: 0 every run drained and passed sim-audit, 1 otherwise, 2 usage error\n";

result<bench_options> parse_options(const std::vector<std::string>& args) {
  bench_options o;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help") {
      o.help = true;
      continue;
    }
    if (arg == "--keep") {
      o.keep = true;
      continue;
    }
    if (i + 1 >= args.size()) return bad_flag(arg, "needs a value, or is unknown");
    const std::string& value = args[++i];
    if (arg == "--charges" || arg == "--baseline-charges" || arg == "--concurrency" || arg == "--seed" ||
        arg == "--timeout" || arg == "--repeat") {
      const auto n = parse_count(value);
      if (!n || *n == 0)
        return bad_flag(arg, "expected a whole number above 0, got '" + quote_peer_text(value, 40) + "'");
      if (arg == "--charges") o.charges = *n;
      if (arg == "--baseline-charges") o.baseline_charges = *n;
      if (arg == "--concurrency") {
        if (*n > 256) return bad_flag(arg, "billing.concurrency is at most 256");
        o.concurrency = *n;
      }
      if (arg == "--seed") o.seed = *n;
      if (arg == "--timeout") o.timeout_s = *n;
      if (arg == "--repeat") {
        if (*n > 100) return bad_flag(arg, "at most 100 runs per latency");
        o.repeat = *n;
      }
    } else if (arg == "--latency") {
      o.latencies_ms.clear();
      std::stringstream list(value);
      for (std::string item; std::getline(list, item, ',');) {
        const auto n = parse_count(item);
        if (!n || *n > 10000)
          return bad_flag(arg, "expected whole milliseconds 0..10000, got '" + quote_peer_text(item, 40) + "'");
        o.latencies_ms.push_back(static_cast<double>(*n));
      }
      if (o.latencies_ms.empty()) return bad_flag(arg, "no latency given");
    } else if (arg == "--out") {
      o.out = value;
    } else if (arg == "--build") {
      o.build_dir = value;
    } else if (arg == "--reject-customers") {
      o.reject_customers = value;
    } else {
      return bad_flag(arg, "unknown flag");
    }
  }
  if (o.baseline_charges && *o.baseline_charges > o.charges)
    return bad_flag("--baseline-charges", "must not exceed --charges");
  return o;
}

result<bench_report> run_bench(const bench_options& o) {
  auto bin = find_binaries(o.build_dir);
  if (!bin) return bin.error();
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/chargerecon-bench.XXXXXX";
  if (!::mkdtemp(pattern.data())) return error{errc::invalid_argument, "cannot create a directory like " + pattern};
  const fs::path work = pattern;

  bench_report report;
  report.seed = o.seed;
  report.reject_customers = o.reject_customers;
  bool all_ok = true;
  const auto baseline_charges = o.baseline_charges.value_or(o.charges);
  for (const double latency : o.latencies_ms) {
    latency_result r;
    r.latency_ms = latency;
    r.concurrency = o.concurrency;
    const auto tag = std::to_string(static_cast<long long>(latency)) + "ms";
    std::fprintf(stderr, "bench: %s: chargerecond --once on %llu charges...\n", tag.c_str(),
                 static_cast<unsigned long long>(o.charges));
    std::optional<run_outcome> engine;
    for (std::uint64_t run = 1; run <= o.repeat; ++run) {
      const auto dir = work / (tag + "-engine" + (o.repeat > 1 ? "-" + std::to_string(run) : std::string()));
      auto one = run_one(*bin, o, which::engine, o.charges, latency, dir);
      if (!one) return one.error();
      std::fprintf(stderr, "bench: %s: chargerecond took %.2f s (exit %d, audit %s)\n", tag.c_str(), one->m.wall_s,
                   one->m.exit_status, one->m.audit_ok ? "ok" : "FAILED");
      r.engine_runs.push_back(one->m);
      if (!engine) engine = std::move(*one);
    }
    std::fprintf(stderr, "bench: %s: baseline on %llu charges...\n", tag.c_str(),
                 static_cast<unsigned long long>(baseline_charges));
    auto baseline = run_one(*bin, o, which::baseline, baseline_charges, latency, work / (tag + "-baseline"));
    if (!baseline) return baseline.error();
    std::fprintf(stderr, "bench: %s: baseline took %.2f s (exit %d, audit %s)\n", tag.c_str(), baseline->m.wall_s,
                 baseline->m.exit_status, baseline->m.audit_ok ? "ok" : "FAILED");
    r.engine_workload = engine->w;  // the same seeded backlog every run
    r.engine = r.engine_runs[median_run(r.engine_runs)];
    r.baseline = baseline->m;
    r.baseline_extrapolated = baseline->w.charges < engine->w.charges;
    r.bound = compute_bound(engine->w, network{latency / 1000.0, latency / 1000.0, o.concurrency, 50, 50});
    all_ok = all_ok && r.baseline.audit_ok;
    for (const auto& m : r.engine_runs) all_ok = all_ok && m.audit_ok;
    report.results.push_back(std::move(r));
  }
  if (all_ok && !o.keep)
    fs::remove_all(work);
  else
    std::fprintf(stderr, "bench: configs, ledgers and logs kept in %s\n", work.c_str());
  return report;
}

}  // namespace chargerecon::bench
