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

TEST(classify_ack_answer, refusals_for_charges_not_sent_are_set_aside) {
  const auto a = classify_ack_answer({"I1"}, {refusal("I9", "CHARGE_NOT_FOUND")}, {});
  EXPECT_THAT(a.report.acknowledged, ElementsAre("I1"));
  ASSERT_EQ(a.unknown.size(), 1u);
  EXPECT_EQ(a.unknown[0].number, "I9");
}

TEST(classify_ack_answer, a_charge_refused_twice_in_one_answer_counts_once) {
  const auto a = classify_ack_answer({"I1"}, {refusal("I1", "A"), refusal("I1", "B")}, {});
  EXPECT_THAT(refused_numbers(a), ElementsAre("I1"));
  EXPECT_THAT(a.report.acknowledged, IsEmpty());
}

}  // namespace
}  // namespace chargerecon::engine
