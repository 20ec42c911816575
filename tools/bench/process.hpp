#pragma once
// Child processes for the benchmark: spawned with their output in a log file, reaped with
// wait4 so that each one's own CPU time and peak RSS are measured (not the simulators').

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace chargerecon::bench {

struct exit_info {
  int status = -1;  // exit status, or 128 + signal when killed
  double wall_s = 0;
  double cpu_user_s = 0;
  double cpu_system_s = 0;
  std::uint64_t max_rss_kib = 0;  // peak VmHWM, sampled every 10 ms
  bool timed_out = false;
};

class child {
 public:
  // Starts argv[0] with argv, its stdout and stderr appended to `log`, and `env` ("NAME=value")
  // added to ours. Errors: invalid_argument naming the program when it cannot be started.
  static result<child> spawn(const std::vector<std::string>& argv, const std::filesystem::path& log,
                             const std::vector<std::string>& env = {});

  child(child&& other) noexcept;
  child& operator=(child&& other) noexcept;
  child(const child&) = delete;
  child& operator=(const child&) = delete;
  // Sends SIGTERM and reaps it if still running.
  ~child();

  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }

  // Blocks until it exits, or sends SIGKILL once `timeout` has passed since spawn (timed_out).
  exit_info wait(std::chrono::milliseconds timeout);

  // SIGTERM, then wait (SIGKILL after `grace`).
  exit_info stop(std::chrono::milliseconds grace);

 private:
  child(pid_t pid, std::chrono::steady_clock::time_point started) : pid_(pid), started_(started) {}
  pid_t pid_ = -1;
  std::chrono::steady_clock::time_point started_;
};

// SIGTERM, SIGINT and SIGHUP to this process first send SIGTERM to every child it has running,
// then end it as the signal would have: the simulators and the daemon do not outlive a tool
// stopped by a service manager or `kill` (Ctrl-C reaches them anyway, through the terminal's
// process group). Call once, early in main().
void stop_children_on_signals();

// The port a simulator wrote to `file` once listening (its --port-file), waiting up to 30 s.
// Errors: connect_failed naming `name` and its `log` when it did not listen in time.
result<std::string> wait_for_port(const std::filesystem::path& file, const std::filesystem::path& log,
                                  std::string_view name);

// Writes `text` to `p` (replacing it), then gives it `perms`.
// Errors: invalid_argument naming the path.
result<void> write_file(const std::filesystem::path& p, const std::string& text, std::filesystem::perms perms);

}  // namespace chargerecon::bench
