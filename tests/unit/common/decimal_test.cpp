#include "common/decimal.hpp"

#include <gtest/gtest.h>

#include <initializer_list>

namespace chargerecon {
namespace {

std::string sum(std::initializer_list<std::string_view> values) {
  decimal_sum s;
  for (auto v : values) EXPECT_TRUE(s.add(v)) << v;
  return s.to_string();
}

TEST(decimal_sum, adds_exactly_where_binary_floats_do_not) {
  EXPECT_EQ(sum({"0.1", "0.7"}), "0.8");
  EXPECT_EQ(sum({"0.1", "0.2"}), "0.3");
  EXPECT_EQ(sum({"1234567.89", "0.01"}), "1234567.90");
  EXPECT_EQ(sum({"0.1", "0.1", "0.1", "0.1", "0.1", "0.1", "0.1", "0.1", "0.1", "0.1"}), "1.0");
}

TEST(decimal_sum, keeps_the_largest_scale_added) {
  EXPECT_EQ(sum({"10.00", "5"}), "15.00");
  EXPECT_EQ(sum({"19.99", "0.1"}), "20.09");
  EXPECT_EQ(sum({}), "0");
}

TEST(decimal_sum, handles_signs_and_exponents) {
  EXPECT_EQ(sum({"-0.5", "0.25"}), "-0.25");
  EXPECT_EQ(sum({"1e3", "2.5E-1"}), "1000.25");
  EXPECT_EQ(sum({"5", "-5"}), "0");
  EXPECT_EQ(sum({"-0.00"}), "0.00");
  EXPECT_EQ(sum({"99999999999999999999.99", "0.01"}), "100000000000000000000.00");
}

TEST(decimal_sum, refuses_what_is_not_a_json_number) {
  decimal_sum s;
  for (auto bad : {"", "abc", "01", "1.", ".5", "+1", "1e", "1e999", "1,5", "NaN", " 1"}) EXPECT_FALSE(s.add(bad)) << bad;
  EXPECT_EQ(s.to_string(), "0");
}

}  // namespace
}  // namespace chargerecon
