#pragma once
// Ledger time: UTC at millisecond resolution, stored as ISO-8601 text ("2026-11-27T05:40:01.123Z")
// so the file reads well in the sqlite3 shell and sorts by time as plain text. Callers pass
// `now` in; the ledger never reads a clock, so tests move time by hand.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace chargerecon::ledger {

using timestamp = std::chrono::sys_time<std::chrono::milliseconds>;

// A system_clock reading cut to the ledger's resolution.
timestamp to_timestamp(std::chrono::system_clock::time_point t) noexcept;

// "YYYY-MM-DDTHH:MM:SS.mmmZ". Years outside 0000..9999 are clamped to keep the text sortable.
std::string format_timestamp(timestamp t);

// The exact format above, nothing else; nullopt for anything malformed or out of range.
std::optional<timestamp> parse_timestamp(std::string_view text) noexcept;

}  // namespace chargerecon::ledger
