#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <future>

#include "config/loader.hpp"
#include "support/process.hpp"

namespace chargerecon {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::string_view password = "pa55-w0rd-never-printed";

class secrets_test : public ::testing::Test {
 protected:
  test::temp_dir dir{"config-secrets"};
  std::string path(const std::string& name) const { return (dir / name).string(); }

  // Password login, the password file named by `password_file` (empty: the credential).
  static config password_login(const std::string& password_file = "") {
    config c;
    c.crm.base_url = "https://crm.example.net/";
    c.crm.username = "u";
    c.crm.organisation = "o";
    c.crm.password_file = password_file;
    c.billing.url = "https://b.example.net/";
    c.ledger.path = "/l.db";
    return c;
  }
};

TEST_F(secrets_test, reads_the_password_file_and_drops_the_trailing_newline) {
  test::write_file(path("pw"), std::string(password) + "\n", 0600);
  auto s = load_secrets(password_login(path("pw")), {});
  ASSERT_TRUE(s) << s.error().to_string();
  EXPECT_EQ(s->crm_password.reveal(), password);
  EXPECT_TRUE(s->crm_web_api_key.empty());
  EXPECT_FALSE(s->billing_token.has_value());

  test::write_file(path("crlf"), "token\r\n", 0400);
  auto t = read_secret_file(path("crlf"), "billing.token_file");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->reveal(), "token");
}

TEST_F(secrets_test, a_file_others_can_read_is_refused_naming_the_file_not_the_content) {
  for (const mode_t mode : {0644, 0640, 0604, 0610, 0601, 0660}) {
    test::write_file(path("pw"), password, mode);
    auto s = load_secrets(password_login(path("pw")), {});
    ASSERT_FALSE(s) << std::oct << mode;
    EXPECT_EQ(s.error().code, make_error_code(errc::secret_too_open));
    EXPECT_THAT(s.error().diagnostic, HasSubstr("crm.password_file: " + path("pw")));
    EXPECT_THAT(s.error().diagnostic, HasSubstr("chmod 600"));
    EXPECT_THAT(s.error().to_string(), Not(HasSubstr(password)));
  }
}

TEST_F(secrets_test, a_missing_file_is_unreadable) {
  auto s = load_secrets(password_login(path("absent")), {});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, make_error_code(errc::secret_unreadable));
  EXPECT_EQ(s.error().diagnostic, "crm.password_file: " + path("absent") + ": cannot open: No such file or directory");
}

TEST_F(secrets_test, an_empty_file_is_refused) {
  for (const std::string content : {"", "\n", "\r\n\n"}) {
    test::write_file(path("pw"), content, 0600);
    auto s = load_secrets(password_login(path("pw")), {});
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, make_error_code(errc::secret_unreadable));
    EXPECT_EQ(s.error().diagnostic, "crm.password_file: " + path("pw") + ": empty");
  }
}

TEST_F(secrets_test, a_second_line_is_refused_without_showing_either) {
  test::write_file(path("pw"), std::string(password) + "\nsecond-line-secret\n", 0600);
  auto s = read_secret_file(path("pw"), "crm.password_file");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, make_error_code(errc::secret_unreadable));
  EXPECT_THAT(s.error().diagnostic, HasSubstr("holds more than one line"));
  EXPECT_THAT(s.error().diagnostic, Not(HasSubstr(password)));
  EXPECT_THAT(s.error().diagnostic, Not(HasSubstr("second-line-secret")));
}

TEST_F(secrets_test, a_directory_is_not_a_secret_file) {
  ASSERT_EQ(::mkdir(path("d").c_str(), 0700), 0);
  auto s = read_secret_file(path("d"), "crm.password_file");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, make_error_code(errc::secret_unreadable));
  EXPECT_THAT(s.error().diagnostic, HasSubstr("not a regular file"));
}

TEST_F(secrets_test, a_fifo_is_refused_without_waiting_for_a_writer) {
  const auto fifo = path("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto pending = std::async(std::launch::async, [&] { return read_secret_file(fifo, "billing.token_file"); });
  if (pending.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    // Release the reader stuck in open() so the test can end, then fail.
    const int w = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
    if (w >= 0) ::close(w);
    FAIL() << "read_secret_file waited for a writer on a FIFO";
  }
  auto s = pending.get();
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, make_error_code(errc::secret_unreadable));
  EXPECT_EQ(s.error().diagnostic, "billing.token_file: " + fifo + ": not a regular file");
}

TEST_F(secrets_test, a_file_over_64_kib_is_refused_unread) {
  test::write_file(path("big"), std::string(64 * 1024 + 1, 'x'), 0600);
  auto s = read_secret_file(path("big"), "crm.password_file");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, make_error_code(errc::secret_unreadable));
  EXPECT_EQ(s.error().diagnostic, "crm.password_file: " + path("big") + ": larger than 64 KiB, not a secret file");
}

TEST_F(secrets_test, a_file_the_daemon_may_not_read_names_the_file_and_the_reason) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads a mode 0000 file: the refusal needs an unprivileged user";
  test::write_file(path("pw"), password, 0000);
  auto s = load_secrets(password_login(path("pw")), {});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, make_error_code(errc::secret_unreadable));
  EXPECT_EQ(s.error().diagnostic, "crm.password_file: " + path("pw") + ": cannot open: Permission denied");
}

TEST_F(secrets_test, a_path_through_a_file_is_unreadable) {
  test::write_file(path("plain"), "x", 0600);
  auto s = read_secret_file(path("plain") + "/pw", "crm.password_file");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, make_error_code(errc::secret_unreadable));
  EXPECT_EQ(s.error().diagnostic, "crm.password_file: " + path("plain") + "/pw: cannot open: Not a directory");
}

TEST_F(secrets_test, absent_names_come_from_the_credentials_directory) {
  test::write_file(path("crm-password"), password, 0400);
  test::write_file(path("billing-token"), "bearer-value\n", 0600);
  auto s = load_secrets(password_login(), secret_env{dir.path().string()});
  ASSERT_TRUE(s) << s.error().to_string();
  EXPECT_EQ(s->crm_password.reveal(), password);
  ASSERT_TRUE(s->billing_token.has_value());
  EXPECT_EQ(s->billing_token->reveal(), "bearer-value");
}

TEST_F(secrets_test, relative_names_are_looked_up_in_the_credentials_directory) {
  test::write_file(path("my-password"), password, 0600);
  auto s = load_secrets(password_login("my-password"), secret_env{dir.path().string()});
  ASSERT_TRUE(s) << s.error().to_string();
  EXPECT_EQ(s->crm_password.reveal(), password);

  auto without = load_secrets(password_login("my-password"), {});
  ASSERT_FALSE(without);
  EXPECT_EQ(without.error().code, make_error_code(errc::config_invalid));
  EXPECT_THAT(without.error().diagnostic, HasSubstr("crm.password_file: the relative name 'my-password'"));
  EXPECT_THAT(without.error().diagnostic, HasSubstr("$CREDENTIALS_DIRECTORY, which is not set"));
}

TEST_F(secrets_test, no_file_and_no_credentials_directory_names_the_credential) {
  auto s = load_secrets(password_login(), {});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, make_error_code(errc::config_invalid));
  EXPECT_EQ(s.error().diagnostic,
            "crm.password_file is not set and $CREDENTIALS_DIRECTORY is not set (systemd: "
            "LoadCredential=crm-password:<file>)");
}

TEST_F(secrets_test, the_credential_of_the_password_login_must_exist) {
  auto s = load_secrets(password_login(), secret_env{dir.path().string()});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, make_error_code(errc::secret_unreadable));
  EXPECT_THAT(s.error().diagnostic, HasSubstr("crm.password_file: " + path("crm-password") + ": cannot open"));
}

TEST_F(secrets_test, the_web_api_key_login_reads_the_key_credential) {
  config c = password_login();
  c.crm.username.clear();
  c.crm.organisation.clear();
  test::write_file(path("crm-web-api-key"), "key-value\n", 0600);
  auto s = load_secrets(c, secret_env{dir.path().string()});
  ASSERT_TRUE(s) << s.error().to_string();
  EXPECT_EQ(s->crm_web_api_key.reveal(), "key-value");
  EXPECT_TRUE(s->crm_password.empty());
}

TEST_F(secrets_test, a_named_billing_token_file_must_exist_an_absent_credential_means_none) {
  test::write_file(path("crm-password"), password, 0600);
  config c = password_login();
  auto none = load_secrets(c, secret_env{dir.path().string()});
  ASSERT_TRUE(none) << none.error().to_string();
  EXPECT_FALSE(none->billing_token.has_value());

  c.billing.token_file = path("token");
  auto named = load_secrets(c, secret_env{dir.path().string()});
  ASSERT_FALSE(named);
  EXPECT_EQ(named.error().code, make_error_code(errc::secret_unreadable));
  EXPECT_THAT(named.error().diagnostic, HasSubstr("billing.token_file: " + path("token")));
}

TEST_F(secrets_test, check_secrets_reports_every_problem) {
  test::write_file(path("pw"), password, 0644);
  config c = password_login(path("pw"));
  c.billing.token_file = path("token");
  const auto found = check_secrets(c, {});
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].code, make_error_code(errc::secret_too_open));
  EXPECT_EQ(found[1].code, make_error_code(errc::secret_unreadable));
  for (const auto& e : found) EXPECT_THAT(e.to_string(), Not(HasSubstr(password)));
}

}  // namespace
}  // namespace chargerecon
