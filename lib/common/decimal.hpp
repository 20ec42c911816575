#pragma once
// Exact decimal arithmetic on the text of JSON numbers, for totals in summaries and reports.
// Money never passes through a binary float: "0.1" + "0.7" is "0.8", not 0.7999999999999999.

#include <optional>
#include <string>
#include <string_view>

namespace chargerecon {

class decimal_sum {
 public:
  // Adds a JSON number's text ("-12.30", "1e3", "0.1"); false (and nothing added) when the text
  // is not a JSON number or its exponent is absurd (|exp| > 64).
  bool add(std::string_view json_number);
  // The total in plain notation, trailing fraction zeros kept to the largest scale added
  // ("19.99" + "0.1" -> "20.09"; "10.00" + "5" -> "15.00").
  std::string to_string() const;

 private:
  bool negative_ = false;
  std::string digits_ = "0";  // magnitude, most significant first, scale_ digits after the point
  std::size_t scale_ = 0;
};

}  // namespace chargerecon
