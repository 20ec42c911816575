#include "common/command_line.hpp"

#include <algorithm>
#include <charconv>

namespace chargerecon::cli {
namespace {

// Command lines are typed by people and pasted from scripts: long enough to recognise, short
// enough for one line of a usage error.
constexpr std::size_t quoted_max = 80;

std::string quoted(std::string_view text) { return "'" + quote_peer_text(text, quoted_max) + "'"; }

// "0.5", "100000": the shortest text that reads back as `v`.
std::string shortest(double v) {
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc{} ? std::string(buf, end) : std::to_string(v);
}

template <class T>
bool parse_all(std::string_view text, T& into) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), into);
  return !text.empty() && ec == std::errc{} && end == text.data() + text.size();
}

}  // namespace

flag_kinds known_flags(std::vector<std::string_view> switches, std::vector<std::string_view> value_flags) {
  return [switches = std::move(switches), value_flags = std::move(value_flags)](std::string_view name) {
    std::optional<flag_kind> kind;
    if (std::ranges::find(switches, name) != switches.end()) kind = flag_kind::switch_flag;
    if (std::ranges::find(value_flags, name) != value_flags.end()) kind = flag_kind::value_flag;
    return kind;
  };
}

error flag_error(std::string_view name, std::string_view why) {
  return error{errc::invalid_argument, "--" + std::string(name) + ": " + std::string(why)};
}

std::string_view flag_name(std::string_view arg) {
  if (arg.starts_with("--")) arg.remove_prefix(2);
  return arg.substr(0, arg.find('='));
}

result<flag> read_flag(const std::vector<std::string>& args, std::size_t& i, flag_kind kind) {
  std::string_view arg = args[i];
  arg.remove_prefix(2);
  flag f{flag_name(arg), std::nullopt};
  std::optional<std::string_view> inline_value;
  if (f.name.size() < arg.size()) inline_value = arg.substr(f.name.size() + 1);
  if (kind == flag_kind::switch_flag) {
    if (inline_value) return flag_error(f.name, "takes no value");
    return f;
  }
  if (inline_value)
    f.value = inline_value;
  else if (i + 1 < args.size())
    f.value = args[++i];
  else
    return flag_error(f.name, "needs a value");
  return f;
}

result<flag> read_flag(const std::vector<std::string>& args, std::size_t& i, const flag_kinds& kinds) {
  const auto name = flag_name(args[i]);
  const auto kind = kinds(name);
  if (!kind) return error{errc::invalid_argument, "unknown flag --" + quote_peer_text(name, quoted_max)};
  return read_flag(args, i, *kind);
}

result<void> read_flags(const std::vector<std::string>& args, const flag_kinds& kinds,
                        const std::function<result<void>(const flag&)>& apply) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (!args[i].starts_with("--")) return error{errc::invalid_argument, "unexpected argument " + quoted(args[i])};
    auto f = read_flag(args, i, kinds);
    if (!f) return f.error();
    if (auto applied = apply(*f); !applied) return applied.error();
  }
  return {};
}

result<std::chrono::milliseconds> parse_duration(std::string_view text, std::chrono::milliseconds bare_unit) {
  using namespace std::chrono;
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  const std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
  const auto unit_scale = [&]() -> milliseconds {
    if (unit.empty()) return bare_unit;
    if (unit == "ms") return milliseconds(1);
    if (unit == "s") return seconds(1);
    if (unit == "m" || unit == "min") return minutes(1);
    if (unit == "h") return hours(1);
    return milliseconds(0);
  };
  const milliseconds scale = ec == std::errc{} && end != text.data() ? unit_scale() : milliseconds(0);
  if (scale.count() <= 0)
    return error{errc::invalid_argument, quoted(text) + " is not a duration like 250ms, 2s, 5m or 1h"};
  // Ten years is beyond any setting and keeps the product far from overflow.
  if (n > static_cast<std::uint64_t>(duration_cast<milliseconds>(hours(24 * 3660)).count() / scale.count()))
    return error{errc::invalid_argument, quoted(text) + " is longer than ten years"};
  return milliseconds(static_cast<std::int64_t>(n) * scale.count());
}

result<std::uint64_t> whole_number(std::string_view flag, std::string_view text, std::uint64_t min, std::uint64_t max) {
  std::uint64_t v = 0;
  if (!parse_all(text, v) || v < min || v > max)
    return flag_error(
        flag, quoted(text) + " is not a whole number from " + std::to_string(min) + " to " + std::to_string(max));
  return v;
}

result<double> number(std::string_view flag, std::string_view text, double min, double max) {
  double v = 0;
  if (!parse_all(text, v) || !(v >= min && v <= max))
    return flag_error(flag, quoted(text) + " is not a number from " + shortest(min) + " to " + shortest(max));
  return v;
}

result<double> probability(std::string_view flag, std::string_view text) {
  double v = 0;
  if (!parse_all(text, v) || !(v >= 0 && v <= 1))
    return flag_error(flag, quoted(text) + " is not a probability from 0 to 1");
  return v;
}

result<std::chrono::milliseconds> duration(std::string_view flag, std::string_view text,
                                           std::chrono::milliseconds bare_unit) {
  auto d = parse_duration(text, bare_unit);
  if (!d) return flag_error(flag, d.error().diagnostic);
  return d;
}

}  // namespace chargerecon::cli
