#include "answer_checks.hpp"

#include <boost/json/error.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include "fuzz_check.hpp"

namespace chargerecon::fuzz {

void check_answer_error(const error& e, std::string_view method) {
  require(e.code == make_error_code(errc::malformed_answer) || e.code == make_error_code(errc::crm_status_not_ok),
          "an answer is refused only as malformed or as status not OK");
  require(e.diagnostic.starts_with(std::string(method) + ": "), "the diagnostic names the method first");
  require(printable(e.diagnostic), "the diagnostic holds no control character (peer text is quoted)");
}

bool printable(std::string_view text) {
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) return false;
  }
  return true;
}

bool is_valid_json(std::string_view text) {
  boost::json::parse_options options;
  options.max_depth = 4096;  // simdjson's limit is 1024: never stricter than the parser under test
  boost::system::error_code ec;
  (void)boost::json::parse(text, ec, {}, options);
  // Boost.JSON gives up on exponents beyond its integer range ("1e99999999999999999999"),
  // which the JSON grammar allows: such a text cannot be judged here, so it is not held against
  // the parser under test.
  return !ec || ec == boost::json::error::exponent_overflow;
}

std::string ok_answer(std::string_view data_json) {
  return R"({"data":)" + std::string(data_json) + R"(,"status":{"code":"OK","description":"","message":""}})";
}

std::string json_string(std::string_view text) { return boost::json::serialize(boost::json::string(text)); }

}  // namespace chargerecon::fuzz
