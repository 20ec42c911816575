#pragma once
// What integration tests use to run our real binaries (crm-sim, billing-fake, chargerecond):
// a temporary directory, a child process with its output captured in files, and the wait for
// the port a binary reports once it listens.
//
// These helpers throw std::runtime_error on set-up failures (a directory that cannot be made, a
// program that cannot be started): in a test that is a failure with a clear message.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chargerecon::test {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it by the destructor,
// unless the environment variable CHARGERECON_KEEP_TEMP is set (to inspect a failing test's
// files; the path is then printed to stderr).
class temp_dir {
 public:
  explicit temp_dir(std::string_view prefix = "chargerecon");
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  temp_dir(temp_dir&& other) noexcept;
  temp_dir& operator=(temp_dir&& other) noexcept;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::filesystem::path& name) const { return path_ / name; }

 private:
  void remove() noexcept;
  std::filesystem::path path_;
};

using environment = std::vector<std::pair<std::string, std::string>>;

// A child process started with posix_spawn: our environment plus `extra_env` (which overrides
// variables of the same name), stdin from /dev/null, stdout and stderr into the given files,
// no other descriptor of ours inherited, default signal dispositions and an empty signal mask.
class child_process {
 public:
  // `args` excludes argv[0] (the program's path is used). Throws std::runtime_error when the
  // output files cannot be opened or the program cannot be started.
  static child_process spawn(const std::filesystem::path& program, const std::vector<std::string>& args,
                             const environment& extra_env, const std::filesystem::path& stdout_file,
                             const std::filesystem::path& stderr_file);

  // Kills (SIGKILL) and reaps the child if it is still running.
  ~child_process();
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;
  child_process(child_process&& other) noexcept;
  child_process& operator=(child_process&& other) noexcept;

  pid_t pid() const { return pid_; }

  // Sends `sig` unless the child has already been reaped. Returns false if kill() failed.
  bool signal(int sig);

  // Waits up to `timeout` for the child to end: its exit code, or 128 + the signal that ended
  // it (the shell's convention); nullopt if it is still running then. Once the child has been
  // reaped, returns the same status at once.
  std::optional<int> wait(std::chrono::milliseconds timeout);

  bool running();

  const std::filesystem::path& stdout_file() const { return stdout_file_; }
  const std::filesystem::path& stderr_file() const { return stderr_file_; }
  // Both files' text under headings, for a failing assertion's message.
  std::string output() const;

 private:
  child_process(pid_t pid, std::filesystem::path out, std::filesystem::path err);
  bool try_reap(bool block);
  void kill_and_reap() noexcept;

  pid_t pid_ = -1;
  std::optional<int> status_;
  std::filesystem::path stdout_file_;
  std::filesystem::path stderr_file_;
};

// Polls `path` until it holds a port number followed by a newline (binaries write it with
// tmp+rename once they listen), or `timeout` passes (nullopt). The overload taking the child
// stops early, with nullopt, if the child exits first.
std::optional<std::uint16_t> wait_for_port_file(const std::filesystem::path& path, std::chrono::milliseconds timeout);
std::optional<std::uint16_t> wait_for_port_file(const std::filesystem::path& path, std::chrono::milliseconds timeout,
                                                child_process& child);

// Whole-file helpers. read_file throws std::runtime_error if the file cannot be read;
// write_file creates or truncates the file and gives it exactly `mode` (the umask does not
// apply), throwing on failure.
std::string read_file(const std::filesystem::path& path);
void write_file(const std::filesystem::path& path, std::string_view text, mode_t mode = 0644);

}  // namespace chargerecon::test
