#include "support/process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>

extern char** environ;

namespace chargerecon::test {
namespace {

constexpr std::chrono::milliseconds poll_interval{5};

[[noreturn]] void fail(const std::string& what, int err) {
  throw std::runtime_error(what + ": " + std::strerror(err));
}

// Closes a descriptor when leaving scope (the spawned child has its own copies).
struct fd_guard {
  int fd = -1;
  ~fd_guard() {
    if (fd >= 0) ::close(fd);
  }
};

int open_output(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail("cannot open " + path.string() + " for a child's output", errno);
  return fd;
}

std::optional<std::string> try_read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return std::move(text).str();
}

std::optional<std::uint16_t> parse_port_file(std::string_view text) {
  // The newline tells that the writer finished (a reader may see a file some other writer
  // fills in place, even though ours rename it into place).
  if (text.empty() || text.back() != '\n') return std::nullopt;
  text.remove_suffix(1);
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value == 0 || value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

// ---- temp_dir ----

temp_dir::temp_dir(std::string_view prefix) {
  const char* tmp = std::getenv("TMPDIR");
  const std::filesystem::path base = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  std::string pattern = (base / (std::string(prefix) + "-XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) fail("mkdtemp " + pattern, errno);
  path_ = pattern;
}

temp_dir::~temp_dir() { remove(); }

temp_dir::temp_dir(temp_dir&& other) noexcept : path_(std::exchange(other.path_, {})) {}

temp_dir& temp_dir::operator=(temp_dir&& other) noexcept {
  if (this != &other) {
    remove();
    path_ = std::exchange(other.path_, {});
  }
  return *this;
}

void temp_dir::remove() noexcept {
  if (path_.empty()) return;
  if (std::getenv("CHARGERECON_KEEP_TEMP") != nullptr) {
    std::cerr << "CHARGERECON_KEEP_TEMP: keeping " << path_.string() << '\n';
    return;
  }
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
  path_.clear();
}

// ---- child_process ----

child_process::child_process(pid_t pid, std::filesystem::path out, std::filesystem::path err)
    : pid_(pid), stdout_file_(std::move(out)), stderr_file_(std::move(err)) {}

child_process child_process::spawn(const std::filesystem::path& program, const std::vector<std::string>& args,
                                   const environment& extra_env, const std::filesystem::path& stdout_file,
                                   const std::filesystem::path& stderr_file) {
  fd_guard out{open_output(stdout_file)};
  fd_guard err{open_output(stderr_file)};

  std::vector<std::string> argv_text;
  argv_text.reserve(args.size() + 1);
  argv_text.push_back(program.string());
  argv_text.insert(argv_text.end(), args.begin(), args.end());

  std::vector<std::string> env_text;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view entry(*e);
    const auto name = entry.substr(0, entry.find('='));
    bool overridden = false;
    for (const auto& [k, v] : extra_env) overridden = overridden || k == name;
    if (!overridden) env_text.emplace_back(entry);
  }
  for (const auto& [k, v] : extra_env) env_text.push_back(k + "=" + v);

  auto pointers = [](std::vector<std::string>& texts) {
    std::vector<char*> p;
    p.reserve(texts.size() + 1);
    for (auto& t : texts) p.push_back(t.data());
    p.push_back(nullptr);
    return p;
  };
  auto argv = pointers(argv_text);
  auto envp = pointers(env_text);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out.fd, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err.fd, STDERR_FILENO);
  // Asio's sockets are not close-on-exec: a child holding our listening socket would keep a
  // port open after the test closed it.
  posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);

  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  sigset_t all;
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, program.c_str(), &actions, &attr, argv.data(), envp.data());
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) fail("cannot start " + program.string(), rc);
  return child_process(pid, stdout_file, stderr_file);
}

child_process::~child_process() { kill_and_reap(); }

child_process::child_process(child_process&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      status_(std::exchange(other.status_, std::nullopt)),
      stdout_file_(std::move(other.stdout_file_)),
      stderr_file_(std::move(other.stderr_file_)) {}

child_process& child_process::operator=(child_process&& other) noexcept {
  if (this != &other) {
    kill_and_reap();
    pid_ = std::exchange(other.pid_, -1);
    status_ = std::exchange(other.status_, std::nullopt);
    stdout_file_ = std::move(other.stdout_file_);
    stderr_file_ = std::move(other.stderr_file_);
  }
  return *this;
}

bool child_process::try_reap(bool block) {
  if (pid_ < 0 || status_) return true;
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
    if (r == pid_) {
      status_ = decode_status(status);
      return true;
    }
    if (r == 0) return false;
    if (errno == EINTR) continue;
    // ECHILD: reaped elsewhere (SIGCHLD ignored); its status is lost.
    status_ = -1;
    return true;
  }
}

void child_process::kill_and_reap() noexcept {
  if (pid_ < 0) return;
  if (!try_reap(false)) {
    ::kill(pid_, SIGKILL);
    try_reap(true);
  }
  pid_ = -1;
}

bool child_process::signal(int sig) {
  if (pid_ < 0 || try_reap(false)) return false;
  return ::kill(pid_, sig) == 0;
}

std::optional<int> child_process::wait(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (try_reap(false)) return status_;
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(poll_interval);
  }
}

bool child_process::running() { return !try_reap(false); }

std::string child_process::output() const {
  auto text = [](const std::filesystem::path& p) { return try_read_file(p).value_or("<unreadable>"); };
  return "--- stdout (" + stdout_file_.string() + ")\n" + text(stdout_file_) + "--- stderr (" +
         stderr_file_.string() + ")\n" + text(stderr_file_);
}

// ---- files ----

namespace {
std::optional<std::uint16_t> poll_port_file(const std::filesystem::path& path, std::chrono::milliseconds timeout,
                                            child_process* child) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (auto text = try_read_file(path)) {
      if (auto port = parse_port_file(*text)) return port;
    }
    if (child != nullptr && !child->running()) return std::nullopt;
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(poll_interval);
  }
}
}  // namespace

std::optional<std::uint16_t> wait_for_port_file(const std::filesystem::path& path, std::chrono::milliseconds timeout) {
  return poll_port_file(path, timeout, nullptr);
}

std::optional<std::uint16_t> wait_for_port_file(const std::filesystem::path& path, std::chrono::milliseconds timeout,
                                                child_process& child) {
  return poll_port_file(path, timeout, &child);
}

std::string read_file(const std::filesystem::path& path) {
  auto text = try_read_file(path);
  if (!text) throw std::runtime_error("cannot read " + path.string());
  return std::move(*text);
}

void write_file(const std::filesystem::path& path, std::string_view text, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) fail("cannot create " + path.string(), errno);
  fd_guard guard{fd};
  if (::fchmod(fd, mode) != 0) fail("cannot set the mode of " + path.string(), errno);
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("cannot write " + path.string(), errno);
    text.remove_prefix(static_cast<std::size_t>(n));
  }
}

}  // namespace chargerecon::test
