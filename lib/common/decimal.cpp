#include "common/decimal.hpp"

#include <algorithm>
#include <cctype>

namespace chargerecon {
namespace {

struct parsed {
  bool negative = false;
  std::string digits;  // no leading zeros beyond one
  std::size_t scale = 0;
};

std::optional<parsed> parse_json_number(std::string_view s) {
  parsed p;
  std::size_t i = 0;
  if (i < s.size() && s[i] == '-') {
    p.negative = true;
    ++i;
  }
  const std::size_t int_start = i;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  std::string_view int_part = s.substr(int_start, i - int_start);
  if (int_part.empty() || (int_part.size() > 1 && int_part[0] == '0')) return std::nullopt;
  std::string_view frac_part;
  if (i < s.size() && s[i] == '.') {
    const std::size_t f = ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    frac_part = s.substr(f, i - f);
    if (frac_part.empty()) return std::nullopt;
  }
  long exponent = 0;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    bool neg_exp = false;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) neg_exp = s[i++] == '-';
    const std::size_t e = i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      exponent = exponent * 10 + (s[i] - '0');
      if (exponent > 64) return std::nullopt;
      ++i;
    }
    if (i == e) return std::nullopt;
    if (neg_exp) exponent = -exponent;
  }
  if (i != s.size()) return std::nullopt;
  p.digits = std::string(int_part) + std::string(frac_part);
  long scale = static_cast<long>(frac_part.size()) - exponent;
  if (scale < 0) {
    p.digits.append(static_cast<std::size_t>(-scale), '0');
    scale = 0;
  }
  p.scale = static_cast<std::size_t>(scale);
  return p;
}

// Magnitudes as digit strings with equal scale.
int compare_magnitude(const std::string& a, const std::string& b) {
  const auto strip = [](const std::string& x) { return x.substr(std::min(x.find_first_not_of('0'), x.size())); };
  const auto sa = strip(a), sb = strip(b);
  if (sa.size() != sb.size()) return sa.size() < sb.size() ? -1 : 1;
  return sa.compare(sb) < 0 ? -1 : (sa == sb ? 0 : 1);
}

std::string add_magnitudes(const std::string& a, const std::string& b) {
  std::string out;
  int carry = 0;
  for (std::size_t i = 0; i < std::max(a.size(), b.size()) || carry; ++i) {
    int d = carry;
    if (i < a.size()) d += a[a.size() - 1 - i] - '0';
    if (i < b.size()) d += b[b.size() - 1 - i] - '0';
    out += static_cast<char>('0' + d % 10);
    carry = d / 10;
  }
  std::reverse(out.begin(), out.end());
  return out;
}

// a - b with |a| >= |b|.
std::string subtract_magnitudes(const std::string& a, const std::string& b) {
  std::string out;
  int borrow = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    int d = (a[a.size() - 1 - i] - '0') - borrow;
    if (i < b.size()) d -= b[b.size() - 1 - i] - '0';
    borrow = d < 0;
    if (d < 0) d += 10;
    out += static_cast<char>('0' + d);
  }
  std::reverse(out.begin(), out.end());
  return out;
}

}  // namespace

bool decimal_sum::add(std::string_view json_number) {
  auto p = parse_json_number(json_number);
  if (!p) return false;
  // Align scales.
  if (p->scale > scale_) {
    digits_.append(p->scale - scale_, '0');
    scale_ = p->scale;
  } else {
    p->digits.append(scale_ - p->scale, '0');
  }
  if (p->negative == negative_) {
    digits_ = add_magnitudes(digits_, p->digits);
  } else if (compare_magnitude(digits_, p->digits) >= 0) {
    digits_ = subtract_magnitudes(digits_, p->digits);
  } else {
    digits_ = subtract_magnitudes(p->digits, digits_);
    negative_ = p->negative;
  }
  return true;
}

std::string decimal_sum::to_string() const {
  std::string d = digits_;
  if (d.size() <= scale_) d.insert(0, scale_ + 1 - d.size(), '0');
  const auto first = d.find_first_not_of('0');
  const std::size_t keep_from = std::min(first, d.size() - scale_ - 1);
  d = d.substr(keep_from);
  const bool zero = d.find_first_not_of("0") == std::string::npos;
  std::string out = (negative_ && !zero) ? "-" : "";
  out += d.substr(0, d.size() - scale_);
  if (scale_ > 0) out += "." + d.substr(d.size() - scale_);
  return out;
}

}  // namespace chargerecon
