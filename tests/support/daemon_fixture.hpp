#pragma once
// End-to-end runs of chargerecond for integration tests: billing-fake started on port 0, a
// temporary configuration and credentials directory pointing at it and at a crm-sim, the daemon
// started (--once or not) with its stderr (one JSON log object per line) kept per run, and
// sim-audit run over the three states (crm-sim, billing-fake, the ledger).
//
// Everything here is blocking and time-bounded: each wait takes a timeout, and a process still
// running when its fixture dies is killed (SIGKILL) and reaped.
//
// Set-up failures throw std::runtime_error with the program's output in the message: a binary
// missing from the build, billing-fake writing no port file, a /state call that fails.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "ledger/ledger.hpp"
#include "support/process.hpp"

namespace chargerecon::test {

// ---- billing-fake ---------------------------------------------------------------------------

// One record of billing-fake's GET /state.
struct billing_record {
  std::string reference_number;
  std::string number;  // the Idempotency-Key it was billed under: the charge number
  std::string customer;
  std::string amount;  // exact decimal text
  std::string currency;
  std::uint64_t posts = 0;  // POSTs seen under this charge's key (1 + replays + faulted tries)
};

struct billing_state {
  std::vector<billing_record> records;  // in billing order
  std::uint64_t posts_total = 0;
  std::map<std::string, std::uint64_t> posts_by_key;
  std::string json;  // the whole answer

  const billing_record* find(std::string_view number) const;  // the first record for it, or nullptr
  std::size_t records_for(std::string_view number) const;
};

class billing_fake {
 public:
  // CHARGERECON_BILLING_FAKE_PATH (empty when the target does not exist in this build).
  static std::filesystem::path program();

  // billing-fake's own flags (--reject-customers, --latency, --fail-5xx, --seed ...);
  // --port 0, --port-file and --quiet are added.
  explicit billing_fake(std::vector<std::string> flags = {});
  ~billing_fake();  // SIGTERM, then SIGKILL if it lingers
  billing_fake(const billing_fake&) = delete;
  billing_fake& operator=(const billing_fake&) = delete;

  std::uint16_t port() const { return port_; }
  std::string origin() const;    // "http://127.0.0.1:PORT"
  std::string bill_url() const;  // origin() + "/bill": billing.url
  billing_state state() const;   // GET /state, parsed
  std::string output() const;

 private:
  temp_dir dir_;
  std::unique_ptr<child_process> child_;
  std::uint16_t port_ = 0;
};

// ---- chargerecond's log -----------------------------------------------------------------------

// One JSON log line of chargerecond. Field values are kept as text: strings unquoted, numbers
// and booleans as JSON writes them.
struct log_event {
  std::string level;
  std::string event;
  std::map<std::string, std::string> fields;
  std::string line;  // as written

  std::string field(std::string_view key) const;  // "" when absent
};

// ---- a chargerecond process -------------------------------------------------------------------

class daemon_process {
 public:
  daemon_process(child_process child, std::string label);

  // Sends `sig`; false if the process has already ended.
  bool signal(int sig) { return child_.signal(sig); }
  // Exit status (or 128 + signal), nullopt while it runs past `timeout`.
  std::optional<int> wait(std::chrono::milliseconds timeout) { return child_.wait(timeout); }
  bool running() { return child_.running(); }
  pid_t pid() const { return child_.pid(); }

  // Every JSON line written to stderr so far (other lines, such as the exit summary, are
  // skipped; see stderr_text()).
  std::vector<log_event> log() const;
  std::vector<log_event> events(std::string_view name) const;
  // Polls stderr until an event named `name` appears (true), the process ends, or `timeout`.
  bool wait_for_event(std::string_view name, std::chrono::milliseconds timeout) {
    return wait_for_events(name, 1, timeout);
  }
  // The same, until at least `count` such events have appeared.
  bool wait_for_events(std::string_view name, std::size_t count, std::chrono::milliseconds timeout);

  std::string stderr_text() const;
  // The label, the exit status if known, and the tail of stderr: for failure messages.
  std::string describe();

 private:
  child_process child_;
  std::string label_;
};

// ---- the daemon's environment -------------------------------------------------------------------

// Overrides of the configuration the fixture writes. Defaults keep a test fast (short poll
// interval and backoffs) while staying within etc/chargerecon.yaml's allowed ranges.
struct daemon_settings {
  std::string crm_base_url;  // crm_sim::base_url()
  std::string billing_url;   // billing_fake::bill_url()
  std::vector<charge_list_filter> charge_status{charge_list_filter::processed};
  unsigned page_size = 50;
  std::chrono::milliseconds poll_interval{std::chrono::seconds(1)};
  std::chrono::milliseconds crm_timeout{std::chrono::seconds(10)};
  unsigned billing_concurrency = 8;
  std::chrono::milliseconds billing_timeout{std::chrono::seconds(10)};
  std::vector<crm_charge_status> bill_statuses{crm_charge_status::approved};
  std::chrono::milliseconds billing_backoff_initial{50};
  std::chrono::milliseconds billing_backoff_max{std::chrono::seconds(1)};
  unsigned ack_batch_size = 50;
  std::chrono::milliseconds ack_linger{20};
  unsigned ack_max_attempts = 10;
  std::chrono::milliseconds ack_backoff_initial{100};  // the allowed minimum
  std::chrono::milliseconds ack_backoff_max{std::chrono::seconds(1)};
  obs::log_level log_level = obs::log_level::info;
  std::chrono::milliseconds shutdown_deadline{std::chrono::seconds(10)};
};

// The configuration `s` stands for, with its ledger at `ledger`: JSON logs (which daemon_process
// reads) and the metrics endpoint on a free loopback port. What daemon_fixture writes, and what
// service_fixture starts from.
config config_for(const daemon_settings& s, const std::filesystem::path& ledger);

// How a --once run ended.
struct once_result {
  std::optional<int> exit_status;  // nullopt: still running at the timeout (then killed)
  std::vector<log_event> log;
  std::string stderr_text;
  std::string describe() const;  // exit status and the tail of stderr
};

struct audit_result {
  int exit_status = -1;
  std::string output;  // sim-audit's report (stdout and stderr)
};

class daemon_fixture {
 public:
  // CHARGERECON_CHARGERECOND_PATH and CHARGERECON_SIM_AUDIT_PATH (empty when absent).
  static std::filesystem::path program();
  static std::filesystem::path audit_program();

  // Writes the configuration and the credentials directory (0700, crm-password 0600 holding
  // crm-sim's default password). The ledger lives in the fixture's temporary directory.
  explicit daemon_fixture(daemon_settings settings);

  const daemon_settings& settings() const { return settings_; }
  const std::filesystem::path& dir() const { return dir_.path(); }
  std::filesystem::path config_path() const { return dir_ / "chargerecon.yaml"; }
  std::filesystem::path ledger_path() const { return dir_ / "ledger.db"; }
  std::filesystem::path credentials_dir() const { return dir_ / "credentials"; }

  // Variables every later start() and run_once() adds to the daemon's environment (a fault
  // shim's LD_PRELOAD, NOTIFY_SOCKET); give each name once.
  void add_environment(const environment& env) { extra_env_.insert(extra_env_.end(), env.begin(), env.end()); }

  // Starts chargerecond --config (and --once when `once`); its stderr goes to a file of its
  // own (run-N.stderr), kept until the fixture ends.
  daemon_process start(bool once = false);
  // chargerecond --once, waited for up to `timeout`; past it, SIGTERM, then SIGKILL.
  once_result run_once(std::chrono::milliseconds timeout);

  // sim-audit over crm-sim, billing-fake and this ledger; fails (throws) only when sim-audit
  // cannot be started or does not finish within `timeout`.
  audit_result audit(const std::string& crm_origin, const std::string& billing_origin, bool expect_drained,
                     std::chrono::milliseconds timeout = std::chrono::seconds(60));

  // The ledger opened read-only (safe while a daemon runs): every charge, oldest first.
  std::vector<ledger::charge_record> ledger_charges() const;
  std::vector<ledger::event_record> ledger_events(std::string_view number) const;

 private:
  void write_config() const;

  temp_dir dir_;
  daemon_settings settings_;
  environment extra_env_;
  unsigned runs_ = 0;
};

}  // namespace chargerecon::test
