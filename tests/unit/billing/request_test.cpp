#include "billing/request.hpp"

#include <gtest/gtest.h>

namespace chargerecon::billing {
namespace {

// The charge exactly as charges/list delivered it: odd spacing, field order and number texts
// that a float round trip would change ("0.1", "1E+2", "10.50").
const std::string raw_charge =
    R"({"number":"I00002706", "billing_system_customer_identifier":"C0001","amount":0.1,)"
    R"( "currency":"EUR","local_currency_amount":10.50,"x":1E+2})";

TEST(billing_request, body_is_the_raw_charge_byte_for_byte) {
  const auto req = make_post({}, "I00002706", raw_charge);
  ASSERT_TRUE(req) << req.error().to_string();
  EXPECT_EQ(req->verb, http::method::post);
  EXPECT_EQ(req->body, raw_charge);
  EXPECT_NE(req->body.find(R"("amount":0.1,)"), std::string::npos);
  EXPECT_EQ(req->content_type, "application/json");
}

TEST(billing_request, idempotency_key_is_the_charge_number) {
  const auto req = make_post({"bill", ""}, "I00002706", raw_charge);
  ASSERT_TRUE(req);
  EXPECT_EQ(req->target, "bill");
  ASSERT_EQ(req->headers.size(), 1u);
  EXPECT_EQ(req->headers[0].name, "Idempotency-Key");
  EXPECT_EQ(req->headers[0].value, "I00002706");
}

TEST(billing_request, no_authorization_without_a_token) {
  const auto req = make_post({}, "I1", "{}");
  ASSERT_TRUE(req);
  EXPECT_FALSE(http::find_header(req->headers, "Authorization").has_value());
}

TEST(billing_request, bearer_token_when_configured) {
  const auto req = make_post({"", "s3cret-token"}, "I1", "{}");
  ASSERT_TRUE(req);
  EXPECT_EQ(http::find_header(req->headers, "Authorization"), "Bearer s3cret-token");
  EXPECT_EQ(http::find_header(req->headers, "Idempotency-Key"), "I1");
}

TEST(billing_request, a_number_that_cannot_be_a_header_is_refused) {
  for (const std::string_view number : {std::string_view(""), std::string_view("I1\r\nX-Evil: 1"),
                                        std::string_view("I1\n"), std::string_view(" I1"), std::string_view("I1\0", 3)}) {
    const auto req = make_post({}, number, "{}");
    ASSERT_FALSE(req) << number;
    EXPECT_EQ(req.error().code, make_error_code(errc::invalid_argument));
    EXPECT_EQ(req.error().diagnostic.find('\n'), std::string::npos);
  }
}

TEST(billing_request, a_broken_token_is_refused_without_showing_it) {
  const auto req = make_post({"", "xyzzy\r\n42"}, "I1", "{}");
  ASSERT_FALSE(req);
  EXPECT_EQ(req.error().code, make_error_code(errc::invalid_argument));
  EXPECT_EQ(req.error().diagnostic.find("xyzzy"), std::string::npos);
}

}  // namespace
}  // namespace chargerecon::billing
