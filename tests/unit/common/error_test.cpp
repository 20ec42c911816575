#include "common/error.hpp"

#include <gtest/gtest.h>

namespace chargerecon {
namespace {

TEST(error, codes_compare_and_name_their_category) {
  const boost::system::error_code ec = errc::malformed_answer;
  EXPECT_EQ(ec, make_error_code(errc::malformed_answer));
  EXPECT_STREQ(ec.category().name(), "chargerecon");
  EXPECT_EQ(ec.message(), "malformed answer");
}

TEST(error, to_string_puts_the_diagnostic_first) {
  const error e{errc::malformed_answer, "charges/list: data.charges_set[3].amount is a string"};
  EXPECT_EQ(e.to_string(), "charges/list: data.charges_set[3].amount is a string (malformed answer)");
}

TEST(error, result_value_throws_with_the_diagnostic) {
  result<int> r = error{errc::crm_login_refused, "login refused"};
  try {
    (void)r.value();
    FAIL() << "value() of an error did not throw";
  } catch (const boost::system::system_error& e) {
    EXPECT_EQ(e.code(), make_error_code(errc::crm_login_refused));
    EXPECT_NE(std::string(e.what()).find("login refused"), std::string::npos);
  }
}

TEST(quote_peer_text, escapes_control_bytes_and_invalid_utf8) {
  EXPECT_EQ(quote_peer_text("ok \xC3\xA9"), "ok \xC3\xA9");
  EXPECT_EQ(quote_peer_text("a\nb"), "a\\x0Ab");
  EXPECT_EQ(quote_peer_text("\xFF\xC3"), "\\xFF\\xC3");
  EXPECT_EQ(quote_peer_text("back\\slash"), "back\\\\slash");
}

TEST(quote_peer_text, truncates_long_text_and_says_how_much_was_cut) {
  const std::string long_text(1000, 'x');
  const auto q = quote_peer_text(long_text, 10);
  EXPECT_EQ(q, std::string(10, 'x') + "...[990 more bytes]");
}

}  // namespace
}  // namespace chargerecon
