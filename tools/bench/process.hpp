#pragma once
// Child processes for the benchmark: spawned with their output in a log file, reaped with
// wait4 so that each one's own CPU time and peak RSS are measured (not the simulators').

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>
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

}  // namespace chargerecon::bench
