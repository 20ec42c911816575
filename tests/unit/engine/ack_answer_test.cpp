#include "engine/ack_answer.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace chargerecon::engine {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

crm::ack_refusal refusal(std::string number, std::string code) { return {std::move(number), "", std::move(code), "why"}; }

std::vector<std::string> refused_numbers(const ack_answer& a) {
  std::vector<std::string> out;
  for (const auto& r : a.report.refused) out.push_back(r.number);
  return out;
}

TEST(classify_ack_answer, everything_sent_is_acknowledged_when_nothing_failed) {
  const auto a = classify_ack_answer({"I1", "I2"}, {}, {});
  EXPECT_THAT(a.report.acknowledged, ElementsAre("I1", "I2"));
  EXPECT_THAT(a.report.refused, IsEmpty());
}

TEST(classify_ack_answer, refused_entries_are_retried_and_the_rest_acknowledged) {
  const auto a = classify_ack_answer({"I1", "I2", "I3"}, {refusal("I2", "TEMPORARY_FAILURE")}, {});
  EXPECT_THAT(a.report.acknowledged, ElementsAre("I1", "I3"));
  EXPECT_THAT(refused_numbers(a), ElementsAre("I2"));
  EXPECT_EQ(a.report.refused[0].error_code, "TEMPORARY_FAILURE");
}

TEST(classify_ack_answer, done_error_codes_count_as_acknowledged) {
  const auto a = classify_ack_answer({"I1", "I2"}, {refusal("I1", "ALREADY_ACKNOWLEDGED"), refusal("I2", "OTHER")},
                                     {"ALREADY_ACKNOWLEDGED"});
  EXPECT_THAT(a.report.acknowledged, ElementsAre("I1"));
  EXPECT_THAT(refused_numbers(a), ElementsAre("I2"));
}

TEST(classify_ack_answer, an_answer_naming_a_charge_not_sent_acknowledges_nothing) {
  // I2 was refused but reported as I9: trusting the rest would record I2 as acknowledged.
  const auto a = classify_ack_answer({"I1", "I2", "I3"}, {refusal("I9", "CHARGE_NOT_FOUND"), refusal("I1", "E")}, {});
  EXPECT_FALSE(a.trusted);
  EXPECT_THAT(a.report.acknowledged, IsEmpty());
  EXPECT_THAT(refused_numbers(a), ElementsAre("I1", "I2", "I3"));
  for (const auto& r : a.report.refused) {
    EXPECT_EQ(r.error_code, untrusted_answer_code);
    EXPECT_EQ(r.description,
              "CRM.COM's answer named charges this request did not send (I9); none of it is trusted, the "
              "acknowledgement is sent again");
  }
  ASSERT_EQ(a.refusals.size(), 3u);
  EXPECT_EQ(a.refusals[1].number, "I2");
  EXPECT_EQ(a.refusals[1].error_code, untrusted_answer_code);
  ASSERT_EQ(a.unknown.size(), 1u);
  EXPECT_EQ(a.unknown[0].number, "I9");
  // Even a "done" code does not make an unknown number trustworthy.
  const auto done = classify_ack_answer({"I1"}, {refusal("I8", "ALREADY_ACKNOWLEDGED")}, {"ALREADY_ACKNOWLEDGED"});
  EXPECT_FALSE(done.trusted);
  EXPECT_THAT(done.report.acknowledged, IsEmpty());
  EXPECT_THAT(refused_numbers(done), ElementsAre("I1"));
}

TEST(classify_ack_answer, a_truthful_answer_is_trusted) {
  EXPECT_TRUE(classify_ack_answer({"I1", "I2"}, {refusal("I2", "E")}, {}).trusted);
  EXPECT_TRUE(classify_ack_answer({"I1"}, {}, {}).trusted);
}

TEST(classify_ack_answer, a_charge_refused_twice_in_one_answer_counts_once) {
  const auto a = classify_ack_answer({"I1"}, {refusal("I1", "A"), refusal("I1", "B")}, {});
  EXPECT_THAT(refused_numbers(a), ElementsAre("I1"));
  EXPECT_THAT(a.report.acknowledged, IsEmpty());
}

}  // namespace
}  // namespace chargerecon::engine
