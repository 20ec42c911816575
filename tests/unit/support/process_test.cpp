#include "support/process.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>

namespace chargerecon::test {
namespace {

using namespace std::chrono_literals;

// Generous: these bound waits for things that do happen; only the nullopt cases use short ones.
constexpr auto long_wait = 20s;

child_process run_sh(const temp_dir& dir, const std::string& script, std::vector<std::string> args = {},
                     const environment& env = {}) {
  std::vector<std::string> all{"-c", script, "sh"};
  all.insert(all.end(), args.begin(), args.end());
  return child_process::spawn("/bin/sh", all, env, dir / "stdout.txt", dir / "stderr.txt");
}

TEST(child_process, reports_the_exit_code) {
  temp_dir dir;
  auto child = run_sh(dir, "exit 7");
  EXPECT_EQ(child.wait(long_wait), 7);
  EXPECT_FALSE(child.running());
  EXPECT_EQ(child.wait(0ms), 7);  // the status stays known once reaped
}

TEST(child_process, reports_death_by_signal_as_128_plus_the_signal) {
  temp_dir dir;
  auto child = run_sh(dir, "kill -KILL $$");
  EXPECT_EQ(child.wait(long_wait), 128 + SIGKILL);
}

TEST(child_process, signal_reaches_the_child) {
  temp_dir dir;
  auto child = run_sh(dir, "exec sleep 60");
  EXPECT_TRUE(child.running());
  EXPECT_TRUE(child.signal(SIGTERM));
  EXPECT_EQ(child.wait(long_wait), 128 + SIGTERM);
  EXPECT_FALSE(child.signal(SIGTERM));  // reaped: nothing to signal
}

TEST(child_process, a_handler_the_parent_ignores_is_default_in_the_child) {
  // The test process ignores SIGTERM here; the child must not inherit that.
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  struct sigaction previous {};
  ASSERT_EQ(::sigaction(SIGTERM, &ignore, &previous), 0);
  temp_dir dir;
  auto child = run_sh(dir, "exec sleep 60");
  ::sigaction(SIGTERM, &previous, nullptr);
  child.signal(SIGTERM);
  EXPECT_EQ(child.wait(long_wait), 128 + SIGTERM);
}

TEST(child_process, wait_times_out_with_nullopt_while_the_child_runs) {
  temp_dir dir;
  auto child = run_sh(dir, "exec sleep 60");
  EXPECT_EQ(child.wait(50ms), std::nullopt);
  EXPECT_TRUE(child.running());
}

TEST(child_process, captures_stdout_and_stderr_in_files) {
  temp_dir dir;
  auto child = run_sh(dir, "echo hello; echo oops >&2; exit 0");
  ASSERT_EQ(child.wait(long_wait), 0);
  EXPECT_EQ(read_file(child.stdout_file()), "hello\n");
  EXPECT_EQ(read_file(child.stderr_file()), "oops\n");
  const auto both = child.output();
  EXPECT_NE(both.find("hello"), std::string::npos);
  EXPECT_NE(both.find("oops"), std::string::npos);
}

TEST(child_process, passes_arguments_verbatim_and_extra_environment) {
  temp_dir dir;
  ::setenv("CHARGERECON_TEST_INHERITED", "kept", 1);
  ::setenv("CHARGERECON_TEST_OVERRIDDEN", "old", 1);
  auto child = run_sh(dir, R"(printf '%s|%s|%s|%s|%s\n' "$1" "$2" "$EXTRA" "$CHARGERECON_TEST_INHERITED" "$CHARGERECON_TEST_OVERRIDDEN")",
                      {"two words", "$HOME;*"}, {{"EXTRA", "x=y"}, {"CHARGERECON_TEST_OVERRIDDEN", "new"}});
  ::unsetenv("CHARGERECON_TEST_INHERITED");
  ::unsetenv("CHARGERECON_TEST_OVERRIDDEN");
  ASSERT_EQ(child.wait(long_wait), 0) << child.output();
  EXPECT_EQ(read_file(child.stdout_file()), "two words|$HOME;*|x=y|kept|new\n");
}

TEST(child_process, stdin_is_empty) {
  temp_dir dir;
  auto child = run_sh(dir, "cat; echo end");
  ASSERT_EQ(child.wait(long_wait), 0);
  EXPECT_EQ(read_file(child.stdout_file()), "end\n");
}

TEST(child_process, a_missing_program_throws) {
  temp_dir dir;
  EXPECT_THROW(child_process::spawn(dir / "no-such-program", {}, {}, dir / "o", dir / "e"), std::runtime_error);
}

TEST(child_process, the_destructor_kills_and_reaps_a_running_child) {
  temp_dir dir;
  pid_t pid = -1;
  {
    auto child = run_sh(dir, "exec sleep 60");
    pid = child.pid();
    ASSERT_TRUE(child.running());
  }
  // Reaped: the pid no longer names our child (ESRCH), not a zombie waiting for us.
  errno = 0;
  EXPECT_EQ(::kill(pid, 0), -1);
  EXPECT_EQ(errno, ESRCH);
}

TEST(child_process, moving_transfers_ownership) {
  temp_dir dir;
  auto a = run_sh(dir, "exit 3");
  auto b = std::move(a);
  EXPECT_EQ(a.pid(), -1);  // NOLINT(bugprone-use-after-move): the moved-from state is specified
  EXPECT_EQ(b.wait(long_wait), 3);
}

TEST(port_file, waits_for_a_port_written_with_tmp_and_rename) {
  temp_dir dir;
  const auto port_file = dir / "port";
  auto child = run_sh(dir, R"(sleep 0.2; printf '4242\n' > "$1.tmp" && mv "$1.tmp" "$1"; exec sleep 60)",
                      {port_file.string()});
  EXPECT_EQ(wait_for_port_file(port_file, long_wait, child), 4242);
  EXPECT_TRUE(child.running());
}

TEST(port_file, times_out_with_nullopt) {
  temp_dir dir;
  EXPECT_EQ(wait_for_port_file(dir / "never", 50ms), std::nullopt);
}

TEST(port_file, an_unfinished_or_invalid_port_is_not_taken) {
  temp_dir dir;
  write_file(dir / "partial", "4242");
  EXPECT_EQ(wait_for_port_file(dir / "partial", 30ms), std::nullopt);
  write_file(dir / "zero", "0\n");
  EXPECT_EQ(wait_for_port_file(dir / "zero", 30ms), std::nullopt);
  write_file(dir / "big", "70000\n");
  EXPECT_EQ(wait_for_port_file(dir / "big", 30ms), std::nullopt);
  write_file(dir / "junk", "12a\n");
  EXPECT_EQ(wait_for_port_file(dir / "junk", 30ms), std::nullopt);
  write_file(dir / "good", "8080\n");
  EXPECT_EQ(wait_for_port_file(dir / "good", 30ms), 8080);
}

TEST(port_file, gives_up_when_the_child_exits_without_writing_it) {
  temp_dir dir;
  auto child = run_sh(dir, "exit 2");
  EXPECT_EQ(wait_for_port_file(dir / "port", long_wait, child), std::nullopt);
  EXPECT_EQ(child.wait(long_wait), 2);
}

TEST(temp_dir, is_removed_with_its_contents) {
  std::filesystem::path path;
  {
    temp_dir dir("chargerecon-test");
    path = dir.path();
    EXPECT_TRUE(std::filesystem::is_directory(path));
    EXPECT_NE(path.filename().string().find("chargerecon-test-"), std::string::npos);
    std::filesystem::create_directory(dir / "sub");
    write_file(dir / "sub" / "f", "x");
  }
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(temp_dir, is_kept_when_asked) {
  std::filesystem::path path;
  const bool was_set = std::getenv("CHARGERECON_KEEP_TEMP") != nullptr;
  ::setenv("CHARGERECON_KEEP_TEMP", "1", 1);
  {
    temp_dir dir;
    path = dir.path();
  }
  if (!was_set) ::unsetenv("CHARGERECON_KEEP_TEMP");
  EXPECT_TRUE(std::filesystem::is_directory(path));
  std::filesystem::remove_all(path);
}

TEST(files, write_file_sets_the_exact_mode_and_read_file_reads_it_back) {
  temp_dir dir;
  const auto secret = dir / "secret";
  write_file(secret, "s3cr3t\n", 0600);
  struct stat st {};
  ASSERT_EQ(::stat(secret.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(read_file(secret), "s3cr3t\n");

  write_file(secret, "shorter", 0640);  // truncates, and the mode follows
  ASSERT_EQ(::stat(secret.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  EXPECT_EQ(read_file(secret), "shorter");

  // The umask does not narrow the mode asked for.
  const auto old_umask = ::umask(0077);
  write_file(dir / "public", "p", 0644);
  ::umask(old_umask);
  ASSERT_EQ(::stat((dir / "public").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
}

TEST(files, read_file_of_a_missing_file_throws) {
  temp_dir dir;
  EXPECT_THROW(read_file(dir / "missing"), std::runtime_error);
}

}  // namespace
}  // namespace chargerecon::test
