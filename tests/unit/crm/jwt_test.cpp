#include "crm/jwt.hpp"

#include <gtest/gtest.h>

namespace chargerecon::crm {
namespace {

std::string base64url(std::string_view s) {
  auto b = base64_encode(s);
  for (auto& c : b) c = c == '+' ? '-' : c == '/' ? '_' : c;
  while (!b.empty() && b.back() == '=') b.pop_back();
  return b;
}

std::string jwt(std::string_view payload) {
  return base64url(R"({"alg":"HS256","typ":"JWT"})") + "." + base64url(payload) + ".c2lnbmF0dXJl";
}

using std::chrono::seconds;
using std::chrono::system_clock;

TEST(crm_jwt, exp_as_number_or_numeric_string) {
  EXPECT_EQ(jwt_expiry(jwt(R"({"usr":"ops","org":"ACME","iat":1795000000,"exp":1795007200})")),
            system_clock::time_point(seconds(1795007200)));
  EXPECT_EQ(jwt_expiry(jwt(R"({"exp":"1795007200","iat":"1795000000"})")),
            system_clock::time_point(seconds(1795007200)));
  EXPECT_EQ(jwt_expiry(jwt(R"({"exp":1795007200.75})")), system_clock::time_point(seconds(1795007200)));
}

TEST(crm_jwt, anything_else_is_nullopt) {
  for (std::string payload : {R"({"iat":1795000000})", R"({"exp":"soon"})", R"({"exp":"-5"})", R"({"exp":""})",
                              R"({"exp":true})", R"({"exp":null})", R"({"exp":-1})", R"({"exp":0})", R"({"exp":1e300})",
                              R"({"exp":{"at":1}})", R"([1795007200])", R"({"exp":17950)", "not json"}) {
    EXPECT_FALSE(jwt_expiry(jwt(payload))) << payload;
  }
  EXPECT_FALSE(jwt_expiry(""));
  EXPECT_FALSE(jwt_expiry("opaque-session-token"));
  EXPECT_FALSE(jwt_expiry("a.b"));
  EXPECT_FALSE(jwt_expiry("eyJhbGciOiJIUzI1NiJ9.!!!.sig"));
}

// Found by fuzzing (tests/fuzz/regressions/jwt/): an exp of 1e10 seconds (year 2286) passed the
// old ten-thousand-year bound, and converting it to system_clock's nanoseconds overflowed.
TEST(crm_jwt, exp_beyond_2200_is_out_of_range) {
  EXPECT_EQ(jwt_expiry(jwt(R"({"exp":7258118400})")), system_clock::time_point(seconds(max_jwt_exp_seconds)));
  for (std::string payload : {R"({"exp":7258118401})", R"({"exp":10000000000})", R"({"exp":"59990000000"})",
                              R"({"exp":5.999E10})", R"({"exp":"999999999999999999"})"}) {
    EXPECT_FALSE(jwt_expiry(jwt(payload))) << payload;
  }
}

TEST(crm_jwt, base64_vectors) {
  // RFC 4648 section 10.
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64url_decode("Zm9vYmE"), "fooba");
  EXPECT_EQ(base64url_decode("Zm9vYmE="), "fooba");
  EXPECT_EQ(base64url_decode("-_8"), std::string("\xFB\xFF"));
  EXPECT_FALSE(base64url_decode("Zm9v+mE"));
  EXPECT_FALSE(base64url_decode("Z"));
}

}  // namespace
}  // namespace chargerecon::crm
