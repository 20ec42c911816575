#pragma once
// The command-line pieces every chargerecon tool repeats: reading `--flag value`,
// `--flag=value` and `--switch` arguments, and turning flag values into numbers, probabilities
// and durations, each refusal in one shape: "--flag: why".

#include <chrono>
#include <concepts>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace chargerecon::cli {

enum class flag_kind { switch_flag, value_flag };

// What a tool knows of a flag name (without "--"): nullopt for a name it does not know.
using flag_kinds = std::function<std::optional<flag_kind>(std::string_view name)>;

// The kinds of a tool that names its switches and its value flags; any other name is unknown.
flag_kinds known_flags(std::vector<std::string_view> switches, std::vector<std::string_view> value_flags);

// One flag as given. Views into the arguments it was read from.
struct flag {
  std::string_view name;                  // without "--"
  std::optional<std::string_view> value;  // a value flag's value; nullopt for a switch
};

// invalid_argument "--<name>: <why>".
error flag_error(std::string_view name, std::string_view why);

// The name of the flag `arg` ("--name" or "--name=value"): "name".
std::string_view flag_name(std::string_view arg);

// The flag at args[i] (which starts with "--"), with its value for a value flag: the text after
// '=', else args[i + 1] (and i moves past it). Errors: invalid_argument naming the flag when a
// value flag has no value left or a switch is given one ("--quiet=yes").
result<flag> read_flag(const std::vector<std::string>& args, std::size_t& i, flag_kind kind);

// As above, the kind from `kinds`; an unknown flag is refused as such.
result<flag> read_flag(const std::vector<std::string>& args, std::size_t& i, const flag_kinds& kinds);

// Reads every argument as a flag and hands each to `apply` as it is read, in order (so a tool
// that knows its flags only in `apply` still refuses an unknown one before what follows it).
// Errors: as read_flag, an argument that is no flag, or the first of `apply`'s.
result<void> read_flags(const std::vector<std::string>& args, const flag_kinds& kinds,
                        const std::function<result<void>(const flag&)>& apply);

// "5ms", "2s", "10m" (or "10min"), "2h"; a bare number is in `bare_unit`. At most ten years.
// Errors: invalid_argument naming the text.
result<std::chrono::milliseconds> parse_duration(std::string_view text, std::chrono::milliseconds bare_unit);

// The flag values, each refused as "--<flag>: '<text>' is not ...".
// A whole number from min to max, digits only.
result<std::uint64_t> whole_number(std::string_view flag, std::string_view text, std::uint64_t min, std::uint64_t max);
template <std::unsigned_integral T>
result<T> whole_number(std::string_view flag, std::string_view text, T min, T max) {
  auto n = whole_number(flag, text, static_cast<std::uint64_t>(min), static_cast<std::uint64_t>(max));
  if (!n) return n.error();
  return static_cast<T>(*n);
}
// `into` = the parsed value, else its refusal passed on: `return cli::set(o.port, whole_number(...))`.
template <class T, class U>
result<void> set(T& into, result<U> parsed) {
  if (!parsed) return parsed.error();
  into = std::move(*parsed);
  return {};
}
// A decimal number from min to max ("0.25", "1e-3"); never NaN.
result<double> number(std::string_view flag, std::string_view text, double min, double max);
// A number from 0 to 1.
result<double> probability(std::string_view flag, std::string_view text);
// parse_duration's spellings.
result<std::chrono::milliseconds> duration(std::string_view flag, std::string_view text,
                                           std::chrono::milliseconds bare_unit);

}  // namespace chargerecon::cli
