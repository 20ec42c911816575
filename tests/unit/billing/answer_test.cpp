#include "billing/answer.hpp"

#include <gtest/gtest.h>

#include <chrono>

namespace chargerecon::billing {
namespace {

using namespace std::chrono_literals;

// 2026-11-27 05:40:00 UTC
const auto now = std::chrono::sys_days{std::chrono::year{2026} / 11 / 27} + 5h + 40min;

answer classify_body(unsigned status, std::string_view body, std::vector<http::header_field> headers = {}) {
  return classify(status, headers, body, now);
}

TEST(billing_answer, created_with_a_reference_is_billed) {
  const auto a = classify_body(201, R"({"reference_number": "B-000001", "number": "I0001"})");
  ASSERT_TRUE(std::holds_alternative<billed>(a));
  EXPECT_EQ(std::get<billed>(a).reference, "B-000001");
  EXPECT_FALSE(std::get<billed>(a).replay);
}

TEST(billing_answer, ok_with_a_reference_is_billed) {
  const auto a = classify_body(200, R"({"reference_number":"R\u00e9f-9"})");
  ASSERT_TRUE(std::holds_alternative<billed>(a));
  EXPECT_EQ(std::get<billed>(a).reference, "R\xC3\xA9" "f-9");  // JSON escapes decoded
}

TEST(billing_answer, conflict_with_the_first_reference_is_an_idempotent_replay) {
  const auto a = classify_body(409, R"({"reference_number": "B-000007"})");
  ASSERT_TRUE(std::holds_alternative<billed>(a));
  EXPECT_EQ(std::get<billed>(a).reference, "B-000007");
  EXPECT_TRUE(std::get<billed>(a).replay);
}

TEST(billing_answer, success_without_a_usable_reference_is_a_protocol_error) {
  for (const std::string_view body : {
           R"({})",
           R"({"reference_number": ""})",
           R"({"reference_number": "   "})",
           R"({"reference_number": null})",
           R"({"reference_number": 17})",
           R"({"reference_number": "a\nb"})",
           R"({"reference_number": "B-1", "reference_number": "B-2"})",
           R"({"reference_number": "B-1"} trailing)",
           R"({"reference_number": "B-1")",
           R"(["B-1"])",
           R"(B-1)",
           "",
       }) {
    for (const unsigned status : {200u, 201u, 204u, 409u}) {
      const auto a = classify_body(status, body);
      ASSERT_TRUE(std::holds_alternative<protocol_error>(a)) << status << " " << body;
      EXPECT_EQ(std::get<protocol_error>(a).status, status);
      EXPECT_NE(std::get<protocol_error>(a).reason.find("reference_number"), std::string::npos)
          << std::get<protocol_error>(a).reason;
    }
  }
}

TEST(billing_answer, over_long_reference_is_a_protocol_error) {
  const auto a = classify_body(201, R"({"reference_number": ")" + std::string(256, 'x') + R"("})");
  EXPECT_TRUE(std::holds_alternative<protocol_error>(a));
  const auto ok = classify_body(201, R"({"reference_number": ")" + std::string(255, 'x') + R"("})");
  EXPECT_TRUE(std::holds_alternative<billed>(ok));
}

TEST(billing_answer, permanent_rejections_carry_billings_error_text_quoted) {
  for (const unsigned status : {400u, 404u, 422u}) {
    const auto a = classify_body(status, R"({"error": "customer C0007 is closed\u0007"})");
    ASSERT_TRUE(std::holds_alternative<rejected>(a)) << status;
    EXPECT_EQ(std::get<rejected>(a).status, status);
    EXPECT_EQ(std::get<rejected>(a).reason, "'customer C0007 is closed\\x07'");
  }
}

TEST(billing_answer, rejection_without_an_error_field_quotes_the_body) {
  const auto a = classify_body(422, "not json\r\n");
  ASSERT_TRUE(std::holds_alternative<rejected>(a));
  EXPECT_EQ(std::get<rejected>(a).reason, "'not json\\x0D\\x0A'");
  const auto empty = classify_body(400, "");
  EXPECT_EQ(std::get<rejected>(empty).reason, "(empty body)");
}

TEST(billing_answer, timeouts_rate_limits_and_server_errors_are_transient) {
  for (const unsigned status : {408u, 429u, 500u, 502u, 503u, 504u, 599u}) {
    const auto a = classify_body(status, R"({"error": "busy"})");
    ASSERT_TRUE(std::holds_alternative<transient>(a)) << status;
    EXPECT_EQ(std::get<transient>(a).status, status);
    EXPECT_FALSE(std::get<transient>(a).retry_after.has_value());
    EXPECT_NE(std::get<transient>(a).reason.find("'busy'"), std::string::npos);
  }
}

TEST(billing_answer, statuses_the_contract_does_not_name_are_transient) {
  // 401/403: a token problem an operator fixes; 3xx: we never follow redirects. Retrying later
  // is right: rejecting would hold charges billing never looked at.
  for (const unsigned status : {100u, 301u, 302u, 401u, 403u, 405u, 410u, 413u, 600u}) {
    const auto a = classify_body(status, "");
    ASSERT_TRUE(std::holds_alternative<transient>(a)) << status;
    EXPECT_NE(std::get<transient>(a).reason.find("does not name"), std::string::npos);
  }
}

TEST(billing_answer, retry_after_in_delta_seconds) {
  const auto a = classify_body(429, "", {{"retry-after", "7"}});
  ASSERT_TRUE(std::holds_alternative<transient>(a));
  EXPECT_EQ(std::get<transient>(a).retry_after, 7s);
  const auto zero = classify_body(503, "", {{"Retry-After", " 0 "}});
  EXPECT_EQ(std::get<transient>(zero).retry_after, 0s);
}

TEST(billing_answer, retry_after_as_an_http_date_in_each_form) {
  EXPECT_EQ(parse_retry_after("Fri, 27 Nov 2026 05:40:30 GMT", now), 30s);   // IMF-fixdate
  EXPECT_EQ(parse_retry_after("Friday, 27-Nov-26 05:41:00 GMT", now), 60s);  // RFC 850
  EXPECT_EQ(parse_retry_after("Fri Nov 27 05:40:05 2026", now), 5s);         // asctime
  EXPECT_EQ(parse_retry_after("Fri Nov  6 05:40:05 2026", now), 0s);         // space-padded day, in the past
  const auto a = classify_body(503, "", {{"Retry-After", "Fri, 27 Nov 2026 05:42:00 GMT"}});
  EXPECT_EQ(std::get<transient>(a).retry_after, 120s);
}

TEST(billing_answer, retry_after_rounds_a_date_up_to_whole_seconds) {
  EXPECT_EQ(parse_retry_after("Fri, 27 Nov 2026 05:40:10 GMT", now - 500ms), 11s);
}

TEST(billing_answer, retry_after_in_the_past_means_now) {
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now), 0s);
}

TEST(billing_answer, retry_after_is_capped) {
  EXPECT_EQ(parse_retry_after("86400", now), default_max_retry_after);
  EXPECT_EQ(parse_retry_after("99999999999999999999999999", now), default_max_retry_after);
  EXPECT_EQ(parse_retry_after("Sat, 27 Nov 2027 05:40:00 GMT", now), default_max_retry_after);
  EXPECT_EQ(parse_retry_after("100", now, 60s), 60s);
  const auto a = classify(429, {{"Retry-After", "3600"}}, "", now, 90s);
  EXPECT_EQ(std::get<transient>(a).retry_after, 90s);
}

TEST(billing_answer, unusable_retry_after_is_ignored) {
  for (const std::string_view v : {"", "soon", "-5", "1.5", "+5", "7 seconds", "Fri, 27 Nov 2026 05:40:30 UTC",
                                   "Fri, 31 Nov 2026 05:40:30 GMT", "Fri, 27 Foo 2026 05:40:30 GMT",
                                   "Xyz, 27 Nov 2026 05:40:30 GMT", "Fri, 27 Nov 2026 25:40:30 GMT"}) {
    EXPECT_FALSE(parse_retry_after(v, now).has_value()) << v;
  }
  const auto a = classify_body(503, "", {{"Retry-After", "whenever"}});
  ASSERT_TRUE(std::holds_alternative<transient>(a));
  EXPECT_FALSE(std::get<transient>(a).retry_after.has_value());
}

TEST(billing_answer, hostile_bodies_are_quoted_and_cut_in_reasons) {
  const std::string body = "\x1b[31m" + std::string(5000, 'A');
  const auto a = classify_body(500, body);
  const auto& reason = std::get<transient>(a).reason;
  EXPECT_EQ(reason.find('\x1b'), std::string::npos);
  EXPECT_LT(reason.size(), 400u);
  EXPECT_NE(reason.find("more bytes]"), std::string::npos);
}

}  // namespace
}  // namespace chargerecon::billing
