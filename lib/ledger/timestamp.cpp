#include "ledger/timestamp.hpp"

#include <algorithm>

namespace chargerecon::ledger {

using namespace std::chrono;

timestamp to_timestamp(system_clock::time_point t) noexcept { return floor<milliseconds>(t); }

std::string format_timestamp(timestamp t) {
  static const timestamp lowest = sys_days{year{0} / January / 1};
  static const timestamp highest =
      sys_days{year{9999} / December / 31} + hours(23) + minutes(59) + seconds(59) + milliseconds(999);
  t = std::clamp(t, lowest, highest);
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss hms{t - day};
  // By hand rather than snprintf: the ledger formats a time for every row it writes, and
  // printf's format parsing was 6% of the ledger thread's instructions in a 0 ms drain.
  std::string out(24, '0');
  const auto put = [&out](std::size_t pos, std::size_t width, unsigned value) {
    for (std::size_t i = pos + width; i > pos; --i, value /= 10) out[i - 1] = static_cast<char>('0' + value % 10);
  };
  put(0, 4, static_cast<unsigned>(static_cast<int>(ymd.year())));
  out[4] = '-';
  put(5, 2, static_cast<unsigned>(ymd.month()));
  out[7] = '-';
  put(8, 2, static_cast<unsigned>(ymd.day()));
  out[10] = 'T';
  put(11, 2, static_cast<unsigned>(hms.hours().count()));
  out[13] = ':';
  put(14, 2, static_cast<unsigned>(hms.minutes().count()));
  out[16] = ':';
  put(17, 2, static_cast<unsigned>(hms.seconds().count()));
  out[19] = '.';
  put(20, 3, static_cast<unsigned>(hms.subseconds().count()));
  out[23] = 'Z';
  return out;
}

std::optional<timestamp> parse_timestamp(std::string_view text) noexcept {
  // Fixed width: 4-2-2T2:2:2.3Z, 24 characters.
  constexpr std::string_view shape = "dddd-dd-ddTdd:dd:dd.dddZ";
  if (text.size() != shape.size()) return std::nullopt;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    const char c = text[i];
    if (shape[i] == 'd' ? (c < '0' || c > '9') : c != shape[i]) return std::nullopt;
  }
  const auto num = [&](std::size_t pos, std::size_t len) {
    int v = 0;
    for (std::size_t i = pos; i < pos + len; ++i) v = v * 10 + (text[i] - '0');
    return v;
  };
  const year_month_day ymd{year{num(0, 4)}, month{static_cast<unsigned>(num(5, 2))},
                           day{static_cast<unsigned>(num(8, 2))}};
  const int h = num(11, 2), m = num(14, 2), s = num(17, 2), ms = num(20, 3);
  if (!ymd.ok() || h > 23 || m > 59 || s > 59) return std::nullopt;
  return sys_days{ymd} + hours(h) + minutes(m) + seconds(s) + milliseconds(ms);
}

}  // namespace chargerecon::ledger
