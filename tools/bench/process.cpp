#include "bench/process.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>

extern char** environ;

namespace chargerecon::bench {
namespace {

constexpr auto hwm_sample_period = std::chrono::milliseconds(10);

// "VmHWM:   12345 kB" from /proc/<pid>/status: the peak RSS of the process's current image.
// 0 when it cannot be read (already exited).
std::uint64_t read_vm_hwm_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with("VmHWM:")) continue;
    std::istringstream fields(line.substr(6));
    std::uint64_t kib = 0;
    fields >> kib;
    return kib;
  }
  return 0;
}

// The children running, where a signal handler may read them: lock-free atomics in a fixed
// table (more children than slots are still spawned, just not stopped by a signal).
constexpr std::size_t max_children_tracked = 64;
std::array<std::atomic<pid_t>, max_children_tracked> children_running{};
static_assert(std::atomic<pid_t>::is_always_lock_free);

void track(pid_t pid) {
  for (auto& slot : children_running) {
    pid_t empty = 0;
    if (slot.compare_exchange_strong(empty, pid)) return;
  }
}

void untrack(pid_t pid) {
  for (auto& slot : children_running) {
    pid_t expected = pid;
    if (slot.compare_exchange_strong(expected, 0)) return;
  }
}

// Only async-signal-safe calls: kill, sigaction, raise. errno is put back, as a handler should
// (kill fails with ESRCH for a child that has just exited), though the process ends here.
extern "C" void stop_children_then_die(int signo) {
  const int saved_errno = errno;
  for (auto& slot : children_running) {
    const pid_t pid = slot.load();
    if (pid > 0) ::kill(pid, SIGTERM);
  }
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  ::sigaction(signo, &dfl, nullptr);
  errno = saved_errno;
  ::raise(signo);
}

}  // namespace

void stop_children_on_signals() {
  struct sigaction sa {};
  sa.sa_handler = stop_children_then_die;
  sigemptyset(&sa.sa_mask);
  for (const int signo : {SIGTERM, SIGINT, SIGHUP}) ::sigaction(signo, &sa, nullptr);
}

result<child> child::spawn(const std::vector<std::string>& argv, const std::filesystem::path& log,
                           const std::vector<std::string>& env) {
  if (argv.empty()) return error{errc::invalid_argument, "spawn: no program given"};
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) env_strings.emplace_back(*e);
  env_strings.insert(env_strings.end(), env.begin(), env.end());
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  const auto started = std::chrono::steady_clock::now();
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return error{errc::invalid_argument, "cannot start " + argv[0] + ": " + std::strerror(rc)};
  track(pid);
  return child(pid, started);
}

child::child(child&& other) noexcept : pid_(other.pid_), started_(other.started_) { other.pid_ = -1; }

child& child::operator=(child&& other) noexcept {
  if (this != &other) {
    if (running()) stop(std::chrono::seconds(5));
    pid_ = other.pid_;
    started_ = other.started_;
    other.pid_ = -1;
  }
  return *this;
}

child::~child() {
  if (running()) stop(std::chrono::seconds(5));
}

exit_info child::wait(std::chrono::milliseconds timeout) {
  exit_info info;
  if (!running()) return info;
  // A watchdog kills the child at the deadline; the wait itself blocks in wait4 so that the
  // wall time is not rounded up to a polling period.
  std::mutex m;
  std::condition_variable cv;
  bool done = false;
  std::atomic<bool> killed{false};
  const pid_t pid = pid_;
  const auto deadline = started_ + timeout;
  // It also samples the child's VmHWM: ru_maxrss cannot be used for the peak, because a
  // process keeps across execve the high-water mark of the memory it had before, and a
  // posix_spawn child starts out sharing ours (the benchmark's own, with the simulators'
  // states parsed in it).
  std::uint64_t hwm_kib = 0;
  std::thread watchdog([&] {
    std::unique_lock lock(m);
    for (;;) {
      if (!done) hwm_kib = std::max(hwm_kib, read_vm_hwm_kib(pid));
      const auto next = std::min(deadline, std::chrono::steady_clock::now() + hwm_sample_period);
      if (cv.wait_until(lock, next, [&] { return done; })) return;
      if (std::chrono::steady_clock::now() >= deadline) {
        killed = true;
        ::kill(pid, SIGKILL);
        return;
      }
    }
  });
  int status = 0;
  rusage usage{};
  pid_t r;
  do {
    r = ::wait4(pid, &status, 0, &usage);
  } while (r < 0 && errno == EINTR);
  const auto ended = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(m);
    done = true;
  }
  cv.notify_one();
  watchdog.join();
  untrack(pid);
  pid_ = -1;
  info.wall_s = std::chrono::duration<double>(ended - started_).count();
  info.cpu_user_s = static_cast<double>(usage.ru_utime.tv_sec) + static_cast<double>(usage.ru_utime.tv_usec) / 1e6;
  info.cpu_system_s = static_cast<double>(usage.ru_stime.tv_sec) + static_cast<double>(usage.ru_stime.tv_usec) / 1e6;
  // The last few milliseconds of its life are not sampled; a process that lived shorter than
  // one period has only ru_maxrss, which may overstate it (see above).
  info.max_rss_kib = hwm_kib > 0 ? hwm_kib : static_cast<std::uint64_t>(usage.ru_maxrss);
  info.timed_out = killed;
  if (r == pid) {
    if (WIFEXITED(status))
      info.status = WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
      info.status = 128 + WTERMSIG(status);
  }
  return info;
}

exit_info child::stop(std::chrono::milliseconds grace) {
  if (!running()) return {};
  ::kill(pid_, SIGTERM);
  started_ = std::chrono::steady_clock::now();
  return wait(grace);
}

result<std::string> wait_for_port(const std::filesystem::path& file, const std::filesystem::path& log,
                                  std::string_view name) {
  for (int i = 0; i < 1500; ++i) {
    std::ifstream in(file);
    std::string port;
    if (in && std::getline(in, port) && !port.empty()) return port;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return error{errc::connect_failed, std::string(name) + " did not listen within 30 s (see " + log.string() + ")"};
}

result<void> write_file(const std::filesystem::path& p, const std::string& text, std::filesystem::perms perms) {
  std::ofstream out(p, std::ios::trunc);
  out << text;
  out.close();
  if (!out) return error{errc::invalid_argument, "cannot write " + p.string()};
  std::filesystem::permissions(p, perms);
  return {};
}

}  // namespace chargerecon::bench
