#include "crm-sim/jwt.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace chargerecon::crm_sim {
namespace {

boost::json::object decode_part(const std::string& token, int index) {
  std::size_t begin = 0;
  for (int i = 0; i < index; ++i) begin = token.find('.', begin) + 1;
  const auto end = token.find('.', begin);
  const auto text = base64url_decode(token.substr(begin, end - begin));
  EXPECT_TRUE(text.has_value());
  return boost::json::parse(text.value_or("{}")).as_object();
}

jwt_claims sample_claims() {
  jwt_claims c;
  c.usr = "operator";
  c.org = "demo-org";
  c.oun = "main";
  c.jti = "0123456789abcdef";
  c.iat = 1767225600;
  c.exp = 1767232800;
  return c;
}

TEST(jwt, base64url_round_trips_every_byte_value_without_padding) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  for (std::size_t len = 0; len <= 5; ++len) {
    const auto encoded = base64url_encode(bytes.substr(250, len));
    EXPECT_EQ(encoded.find_first_of("+/="), std::string::npos) << encoded;
    EXPECT_EQ(base64url_decode(encoded), bytes.substr(250, len));
  }
  EXPECT_EQ(base64url_decode(base64url_encode(bytes)), bytes);
  EXPECT_FALSE(base64url_decode("ab$c").has_value());
}

TEST(jwt, basic_credentials_decode_from_the_standard_alphabet) {
  EXPECT_EQ(base64_decode("a2V5LTEyMzo="), "key-123:");
  EXPECT_FALSE(base64_decode("a2V5_").has_value());
}

TEST(jwt, token_is_hs256_with_every_claim_and_numeric_exp) {
  const auto token = make_jwt(sample_claims(), "s3cret", false);
  EXPECT_EQ(std::count(token.begin(), token.end(), '.'), 2);
  const auto header = decode_part(token, 0);
  EXPECT_EQ(header.at("alg"), "HS256");
  EXPECT_EQ(header.at("typ"), "JWT");
  const auto payload = decode_part(token, 1);
  EXPECT_EQ(payload.at("usr"), "operator");
  EXPECT_EQ(payload.at("org"), "demo-org");
  EXPECT_EQ(payload.at("oun"), "main");
  EXPECT_EQ(payload.at("jti"), "0123456789abcdef");
  EXPECT_EQ(payload.at("iat").as_int64(), 1767225600);
  EXPECT_EQ(payload.at("exp").as_int64(), 1767232800);
  EXPECT_TRUE(verify_jwt_signature(token, "s3cret"));
  EXPECT_FALSE(verify_jwt_signature(token, "other"));
}

TEST(jwt, exp_as_string_writes_numeric_strings) {
  const auto token = make_jwt(sample_claims(), "s3cret", true);
  const auto payload = decode_part(token, 1);
  EXPECT_EQ(payload.at("iat"), "1767225600");
  EXPECT_EQ(payload.at("exp"), "1767232800");
  EXPECT_TRUE(verify_jwt_signature(token, "s3cret"));
}

TEST(jwt, signature_is_rfc4231_hmac_sha256) {
  // RFC 4231 test case 2.
  const auto mac = hmac_sha256("Jefe", "what do ya want for nothing?");
  static constexpr unsigned char expected[] = {0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24,
                                               0x26, 0x08, 0x95, 0x75, 0xc7, 0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27,
                                               0x39, 0x83, 0x9d, 0xec, 0x58, 0xb9, 0x64, 0xec, 0x38, 0x43};
  ASSERT_EQ(mac.size(), sizeof expected);
  for (std::size_t i = 0; i < mac.size(); ++i) EXPECT_EQ(static_cast<unsigned char>(mac[i]), expected[i]) << i;
}

TEST(jwt, tampered_payload_fails_verification) {
  auto token = make_jwt(sample_claims(), "s3cret", false);
  auto claims = sample_claims();
  claims.exp += 3600;
  const auto forged = make_jwt(claims, "other", false);
  const auto first_dot = token.find('.');
  const auto second_dot = token.find('.', first_dot + 1);
  const auto forged_payload = forged.substr(forged.find('.') + 1, forged.rfind('.') - forged.find('.') - 1);
  token.replace(first_dot + 1, second_dot - first_dot - 1, forged_payload);
  EXPECT_FALSE(verify_jwt_signature(token, "s3cret"));
}

}  // namespace
}  // namespace chargerecon::crm_sim
