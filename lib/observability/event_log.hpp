#pragma once
// Structured events: every log line is one event with a stable name ("charge.billed",
// "crm.auth_failed") and typed fields. In text format it reads
//   2026-11-27 05:40:01.123 info  charge.billed number=I0001 reference=B-17
// and in json format it is one object per line:
//   {"ts":"2026-11-27T05:40:01.123Z","level":"info","event":"charge.billed","number":"I0001",...}
// lib/ code receives an event_log; it never reaches for a global logger.
// Secrets never go into fields: there is no field type for them, and callers pass none.

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace spdlog {
class logger;
}

namespace chargerecon::obs {

enum class log_level { trace, debug, info, warn, error, critical, off };
enum class log_format { text, json };

struct field {
  using value_type = std::variant<std::string_view, std::int64_t, std::uint64_t, double, bool>;
  std::string_view key;
  value_type value;

  field(std::string_view k, std::string_view v) : key(k), value(v) {}
  field(std::string_view k, const std::string& v) : key(k), value(std::string_view(v)) {}
  field(std::string_view k, const char* v) : key(k), value(std::string_view(v)) {}
  field(std::string_view k, bool v) : key(k), value(v) {}
  field(std::string_view k, double v) : key(k), value(v) {}
  template <class I>
    requires(std::is_integral_v<I> && !std::is_same_v<I, bool>)
  field(std::string_view k, I v) : key(k) {
    if constexpr (std::is_signed_v<I>) value = static_cast<std::int64_t>(v);
    else value = static_cast<std::uint64_t>(v);
  }
};

class event_log {
 public:
  // Writes through `sink`, rendering events in `format`. The logger's own pattern is set to
  // the bare message: event_log renders timestamp and level itself so both formats agree.
  event_log(std::shared_ptr<spdlog::logger> sink, log_format format);

  // A logger that discards everything (tests that do not look at logs).
  static event_log null();

  void emit(log_level level, std::string_view event, std::initializer_list<field> fields) const;
  void debug(std::string_view event, std::initializer_list<field> fields = {}) const {
    emit(log_level::debug, event, fields);
  }
  void info(std::string_view event, std::initializer_list<field> fields = {}) const {
    emit(log_level::info, event, fields);
  }
  void warn(std::string_view event, std::initializer_list<field> fields = {}) const {
    emit(log_level::warn, event, fields);
  }
  void error(std::string_view event, std::initializer_list<field> fields = {}) const {
    emit(log_level::error, event, fields);
  }

  // Level and format are shared by every copy of this event_log (a config reload changes them
  // for the whole process at once).
  bool enabled(log_level level) const;
  void set_level(log_level level);
  void set_format(log_format format) { format_->store(format); }
  log_format format() const { return format_->load(); }

  // Under systemd, with stderr connected to the journal: send each event to journald as
  // structured fields (see journal_fields) instead of a line on stderr.
  void use_journal(bool on) { journal_->store(on); }
  bool uses_journal() const { return journal_->load(); }

  // Renders without writing (used by emit; public for tests and for the journald sink).
  std::string render(log_level level, std::string_view event, std::initializer_list<field> fields) const;

 private:
  std::shared_ptr<spdlog::logger> sink_;
  std::shared_ptr<std::atomic<log_format>> format_;
  std::shared_ptr<std::atomic<bool>> journal_ = std::make_shared<std::atomic<bool>>(false);
};

// The process logger: stderr, in the given format and level. Text on a terminal by default.
event_log make_stderr_log(log_format format, log_level level, std::string_view name = "chargerecon");

// One event as journald fields: MESSAGE (the text rendering without the timestamp, which the
// journal keeps itself), PRIORITY (syslog's), SYSLOG_IDENTIFIER, CHARGERECON_EVENT, and one
// CHARGERECON_<KEY> per field (key upper-cased, characters outside [A-Z0-9_] made '_'), so that
// `journalctl CHARGERECON_EVENT=charge.held` finds them.
std::vector<std::string> journal_fields(log_level level, std::string_view event, std::initializer_list<field> fields,
                                        std::string_view identifier);

// True when stderr is the stream systemd connected to the journal ($JOURNAL_STREAM names its
// device and inode).
bool stderr_is_journal();

// The configuration's spelling ("info", "json"); parse_* read it back.
std::string_view to_string(log_level level);
std::string_view to_string(log_format format);

// "info" -> log_level::info; false when the name is unknown.
bool parse_log_level(std::string_view name, log_level& out);
bool parse_log_format(std::string_view name, log_format& out);

}  // namespace chargerecon::obs
