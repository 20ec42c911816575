#pragma once
// chargerecond run the way systemd and an operator's monitoring see it, for the service tests:
// a notify socket played by the test (sd_notify's AF_UNIX datagrams), a configuration the test
// controls and can rewrite for SIGHUP, the metrics endpoint fetched and its Prometheus text
// parsed, and the README's table of log events read back.
//
// Blocking and time-bounded, like daemon_fixture (whose daemon_process, log_event and
// billing_fake this reuses). Set-up failures throw std::runtime_error.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "ledger/ledger.hpp"
#include "support/daemon_fixture.hpp"
#include "support/process.hpp"

namespace chargerecon::test {

// ---- systemd's side of sd_notify ---------------------------------------------------------------

// An AF_UNIX SOCK_DGRAM socket bound at `path`, as systemd binds $NOTIFY_SOCKET. Each datagram
// is one sd_notify call: newline-separated assignments ("READY=1", "STATUS=...").
class notify_socket {
 public:
  explicit notify_socket(std::filesystem::path path);
  ~notify_socket();
  notify_socket(const notify_socket&) = delete;
  notify_socket& operator=(const notify_socket&) = delete;

  const std::filesystem::path& path() const { return path_; }

  // The next datagram, or nullopt when none arrives within `timeout`.
  std::optional<std::string> receive(std::chrono::milliseconds timeout);
  // Receives until a datagram holds the assignment `line` (exactly, as one of its lines), or
  // `timeout`. Every datagram received, the matching one included, is appended to `seen`.
  bool receive_until(std::string_view line, std::vector<std::string>& seen, std::chrono::milliseconds timeout);
  // Whatever is queued now, without waiting.
  std::vector<std::string> drain();

 private:
  std::filesystem::path path_;
  int fd_ = -1;
};

// Whether the datagram `message` holds the assignment `line`.
bool notify_has(std::string_view message, std::string_view line);

// ---- the daemon ----------------------------------------------------------------------------------

struct service_settings {
  std::string crm_base_url;
  std::string billing_url;
  std::string crm_password = "secret";       // crm-sim's default
  std::optional<std::string> billing_token;  // written to a file named by billing.token_file
  std::chrono::milliseconds poll_interval{std::chrono::seconds(1)};
  std::chrono::milliseconds crm_timeout{std::chrono::seconds(10)};
  unsigned page_size = 50;
  unsigned ack_max_attempts = 10;
  obs::log_level log_level = obs::log_level::info;
  std::chrono::milliseconds shutdown_deadline{std::chrono::seconds(5)};
  // Appended verbatim (top-level keys) to the written configuration: for what no config can
  // hold, such as an unknown section in an invalid file.
  std::string extra_yaml;
};

class service_fixture {
 public:
  // Writes the configuration (log.format json, metrics on 127.0.0.1:0) and a credentials
  // directory holding crm-password.
  explicit service_fixture(service_settings settings);

  const std::filesystem::path& dir() const { return dir_.path(); }
  std::filesystem::path config_path() const { return dir_ / "chargerecon.yaml"; }
  std::filesystem::path ledger_path() const { return dir_ / "ledger.db"; }
  std::filesystem::path token_path() const { return dir_ / "billing-token"; }

  // The configuration these settings make, and (re)writing it: a reload test edits settings
  // and sends SIGHUP.
  std::string config_text(const service_settings& s) const;
  void write_config(const service_settings& s) const;

  // chargerecond --config, with CREDENTIALS_DIRECTORY and `extra_env` (NOTIFY_SOCKET, ...).
  daemon_process start(const environment& extra_env = {});

  // The ledger opened read-only (safe while the daemon runs): every charge, oldest first.
  std::vector<ledger::charge_record> ledger_charges() const;

 private:
  temp_dir dir_;
  unsigned runs_ = 0;
};

// Polls `done` every 100 ms until it holds (true) or `timeout` passes (false).
template <class F>
bool eventually(F done, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

// The port of the metrics endpoint, from the run's metrics.listening event (waits for it).
std::uint16_t metrics_port(daemon_process& daemon, std::chrono::milliseconds timeout);

// ---- HTTP and Prometheus text --------------------------------------------------------------------

struct http_answer {
  unsigned status = 0;
  std::string body;
};
// GET http://127.0.0.1:port/target, bounded by `timeout`; throws when no answer comes.
http_answer http_get(std::uint16_t port, std::string_view target,
                     std::chrono::milliseconds timeout = std::chrono::seconds(10));

struct metric_sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// Text exposition format 0.0.4, parsed strictly: every sample belongs to a family announced by
// # HELP and # TYPE before it; throws std::runtime_error naming the first bad line.
struct exposition {
  std::vector<metric_sample> samples;
  std::map<std::string, std::string> types;  // family -> counter | gauge | histogram
  std::map<std::string, std::string> help;

  // The sample with exactly these labels, or nullopt.
  std::optional<double> value(std::string_view name, const std::map<std::string, std::string>& labels = {}) const;
  // The sum over every sample of `name` whose labels include `match` (0 when none).
  double sum(std::string_view name, const std::map<std::string, std::string>& match = {}) const;
};
exposition parse_exposition(std::string_view text);

// ---- the README's table of log events --------------------------------------------------------------

struct documented_event {
  std::string level;
  std::set<std::string> fields;  // every field the event carries (ts, level, event aside)
  bool alert = false;            // the table says to alert on it
};
// The rows of the "Log events" table in $CHARGERECON_SOURCE_DIR/README.md, by event name.
std::map<std::string, documented_event> readme_log_events();

// Where `log` departs from the table: one line per event name that is not a row of
// `documented`, or is logged with another level or other fields (ts, level and event aside).
// Empty when every event matches its row.
std::vector<std::string> undocumented_events(const std::vector<log_event>& log,
                                             const std::map<std::string, documented_event>& documented);

}  // namespace chargerecon::test
