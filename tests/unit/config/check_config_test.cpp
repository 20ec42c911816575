// `chargerecond --check-config FILE`: what an operator runs before a restart. Runs the real
// binary; skipped when the build has no chargerecond target or it is not built.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "support/process.hpp"

namespace chargerecon {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::string_view password = "pa55-w0rd-never-printed";

struct outcome {
  int status = -1;
  std::string out;
  std::string err;
};

class check_config_test : public ::testing::Test {
 protected:
  void SetUp() override {
#ifdef CHARGERECON_CHARGERECOND_PATH
    binary_ = CHARGERECON_CHARGERECOND_PATH;
    if (!std::filesystem::exists(binary_)) GTEST_SKIP() << binary_ << " is not built";
#else
    GTEST_SKIP() << "this build has no chargerecond";
#endif
    credentials_ = dir_ / "credentials";
    std::filesystem::create_directory(credentials_);
  }

  outcome run(const std::vector<std::string>& args, const test::environment& env = {}) {
    const auto out_file = dir_ / ("out" + std::to_string(runs_));
    const auto err_file = dir_ / ("err" + std::to_string(runs_));
    ++runs_;
    auto child = test::child_process::spawn(binary_, args, env, out_file, err_file);
    // A bound on a hang, not a timing assertion: --check-config does no network I/O.
    const auto status = child.wait(60s);
    outcome o;
    o.status = status.value_or(-1);
    o.out = test::read_file(out_file);
    o.err = test::read_file(err_file);
    return o;
  }

  test::environment with_credentials() const { return {{"CREDENTIALS_DIRECTORY", credentials_.string()}}; }

  std::string write_config(const std::string& text) {
    const auto path = dir_ / "chargerecon.yaml";
    test::write_file(path, text, 0644);
    return path.string();
  }

  static std::string valid_config() {
    return "crm:\n"
           "  base_url: https://crm.example.net/crmapi/rest/v2/\n"
           "  username: chargerecon\n"
           "  organisation: ACME\n"
           "billing:\n"
           "  url: https://billing.example.net/charges\n"
           "ledger:\n"
           "  path: /var/lib/chargerecon/ledger.db\n";
  }

  std::filesystem::path binary_;
  test::temp_dir dir_{"config-check"};
  std::filesystem::path credentials_;
  int runs_ = 0;
};

TEST_F(check_config_test, a_valid_configuration_exits_0) {
  test::write_file(credentials_ / "crm-password", password, 0600);
  const auto path = write_config(valid_config());
  const auto o = run({"--check-config", path}, with_credentials());
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out, path + ": configuration OK\n");
  EXPECT_EQ(o.err, "");
}

TEST_F(check_config_test, every_problem_is_printed_and_exits_78) {
  test::write_file(credentials_ / "crm-password", password, 0600);
  const auto path = write_config(valid_config() +
                                 "poll:\n"
                                 "  page_size: 80\n"
                                 "  intervall: 5s\n");
  const auto o = run({"--check-config", path}, with_credentials());
  EXPECT_EQ(o.status, 78);
  EXPECT_EQ(o.err, path + ":10: poll.page_size: 80 is out of range 1..50\n" + path +
                       ":11: poll.intervall: unknown key; did you mean 'interval'?\n");
  EXPECT_EQ(o.out, "");
}

TEST_F(check_config_test, a_secret_readable_by_others_exits_78_without_its_content) {
  test::write_file(credentials_ / "crm-password", password, 0644);
  const auto path = write_config(valid_config());
  const auto o = run({"--check-config", path}, with_credentials());
  EXPECT_EQ(o.status, 78);
  EXPECT_EQ(o.err, path + ": crm.password_file: " + (credentials_ / "crm-password").string() +
                       ": group or others have access (mode 0644); allow the owner only (chmod 600)\n");
  EXPECT_THAT(o.err + o.out, Not(HasSubstr(password)));
}

TEST_F(check_config_test, a_missing_secret_exits_78) {
  const auto path = write_config(valid_config());
  const auto o = run({"--check-config", path}, {{"CREDENTIALS_DIRECTORY", ""}});
  EXPECT_EQ(o.status, 78);
  EXPECT_THAT(o.err, HasSubstr("crm.password_file is not set and $CREDENTIALS_DIRECTORY is not set"));
}

TEST_F(check_config_test, a_missing_configuration_file_exits_78) {
  const auto path = (dir_ / "absent.yaml").string();
  const auto o = run({"--check-config", path});
  EXPECT_EQ(o.status, 78);
  EXPECT_EQ(o.err, path + ": cannot open: No such file or directory\n");
}

TEST_F(check_config_test, the_example_configuration_checks_out_with_its_demo_credential) {
  test::write_file(credentials_ / "crm-password", password, 0600);
  const std::string example = std::string(CHARGERECON_SOURCE_DIR) + "/etc/chargerecon.yaml";
  const auto o = run({"--check-config", example}, with_credentials());
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out, example + ": configuration OK\n");
}

TEST_F(check_config_test, usage_errors_exit_64) {
  auto o = run({"--check-config"});
  EXPECT_EQ(o.status, 64);
  EXPECT_THAT(o.err, HasSubstr("--check-config needs a FILE"));
  EXPECT_THAT(o.err, HasSubstr("usage: chargerecond"));

  o = run({"--frobnicate"});
  EXPECT_EQ(o.status, 64);
  EXPECT_THAT(o.err, HasSubstr("unknown argument '--frobnicate'"));

  o = run({"--config", "a.yaml", "--check-config", "b.yaml"});
  EXPECT_EQ(o.status, 64);
}

TEST_F(check_config_test, help_and_version_exit_0) {
  auto o = run({"--help"});
  EXPECT_EQ(o.status, 0);
  EXPECT_THAT(o.out, HasSubstr("--check-config FILE"));
  EXPECT_THAT(o.out, HasSubstr("crm-password"));

  o = run({"--version"});
  EXPECT_EQ(o.status, 0);
  EXPECT_THAT(o.out, ::testing::StartsWith("chargerecond "));
}

TEST_F(check_config_test, without_check_config_a_bad_configuration_still_exits_78) {
  const auto path = write_config("poll: [1]\n");
  const auto o = run({"--config", path}, with_credentials());
  EXPECT_EQ(o.status, 78);
  EXPECT_THAT(o.err, HasSubstr(path + ":1: poll: expected a mapping of poll settings, got a list"));
}

}  // namespace
}  // namespace chargerecon
