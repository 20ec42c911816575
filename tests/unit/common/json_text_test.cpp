#include "common/json_text.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace chargerecon {
namespace {

// Clients compare these answers with what Boost.JSON wrote before: the same bytes, escapes
// included.
TEST(json_text, strings_and_objects_are_what_boost_json_writes) {
  const std::vector<std::string> texts = {
      "",
      "B-000001",
      "I00000042",
      "quote \" backslash \\ slash /",
      "controls \b\f\n\r\t \x01 \x1f \x7f",
      std::string("nul \0 inside", 13),
      "utf-8 \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
      std::string(1000, 'x') + "\"" + std::string(600, '\n'),
  };
  for (const auto& text : texts) {
    std::string out = "kept";
    append_json_string(out, text);
    EXPECT_EQ(out, "kept" + boost::json::serialize(boost::json::string_view(text.data(), text.size())));
    for (const auto& other : texts) {
      std::string object;
      append_json_string_object(object, {{"reference_number", text}, {"number", other}, {other, "x"}});
      boost::json::object expected;
      expected["reference_number"] = text;
      expected["number"] = other;
      expected[other] = "x";
      EXPECT_EQ(object, boost::json::serialize(expected));
    }
  }
  std::string empty;
  append_json_string_object(empty, {});
  EXPECT_EQ(empty, "{}");
}

}  // namespace
}  // namespace chargerecon
