#include "observability/event_log.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <systemd/sd-journal.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <ctime>

namespace chargerecon::obs {
namespace {

spdlog::level::level_enum to_spdlog(log_level l) {
  switch (l) {
    case log_level::trace: return spdlog::level::trace;
    case log_level::debug: return spdlog::level::debug;
    case log_level::info: return spdlog::level::info;
    case log_level::warn: return spdlog::level::warn;
    case log_level::error: return spdlog::level::err;
    case log_level::critical: return spdlog::level::critical;
    case log_level::off: return spdlog::level::off;
  }
  return spdlog::level::info;
}

std::string utc_timestamp(bool iso) {
  const auto now = std::chrono::system_clock::now();
  const auto secs = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, iso ? "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" : "%04d-%02d-%02d %02d:%02d:%02d.%03d",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

// Text values are quoted when they contain a space, quote, '=' or control character, so a
// line always splits back into key=value pairs.
void append_text_value(std::string& out, std::string_view v) {
  bool needs_quotes = v.empty();
  for (char c : v)
    if (c == ' ' || c == '"' || c == '=' || static_cast<unsigned char>(c) < 0x20) needs_quotes = true;
  if (!needs_quotes) {
    out += v;
    return;
  }
  out += boost::json::serialize(boost::json::string_view(v.data(), v.size()));
}

// "<level> <event> key=value ...": the text format after its timestamp.
std::string render_text_body(log_level level, std::string_view event, std::initializer_list<field> fields) {
  std::string line;
  line += to_string(level);
  line.append(6 - std::min<std::size_t>(5, to_string(level).size()), ' ');
  line += event;
  for (const auto& f : fields) {
    line += ' ';
    line += f.key;
    line += '=';
    std::visit([&](const auto& v) {
      using V = std::decay_t<decltype(v)>;
      if constexpr (std::is_same_v<V, std::string_view>) append_text_value(line, v);
      else if constexpr (std::is_same_v<V, bool>) line += v ? "true" : "false";
      else line += std::to_string(v);
    }, f.value);
  }
  return line;
}

}  // namespace

event_log::event_log(std::shared_ptr<spdlog::logger> sink, log_format format)
    : sink_(std::move(sink)), format_(std::make_shared<std::atomic<log_format>>(format)) {
  sink_->set_pattern("%v");
}

event_log event_log::null() {
  auto logger = std::make_shared<spdlog::logger>("null", std::make_shared<spdlog::sinks::null_sink_mt>());
  logger->set_level(spdlog::level::off);
  return event_log(std::move(logger), log_format::text);
}

bool event_log::enabled(log_level level) const { return sink_->should_log(to_spdlog(level)); }

void event_log::set_level(log_level level) { sink_->set_level(to_spdlog(level)); }

std::string event_log::render(log_level level, std::string_view event, std::initializer_list<field> fields) const {
  if (format() == log_format::json) {
    // A line per billed charge at full speed: the object lives in a stack buffer instead of a
    // dozen heap allocations (the resource takes the heap only for a line that outgrows it).
    unsigned char buffer[4096];
    boost::json::monotonic_resource arena(buffer, sizeof buffer);
    boost::json::object o(&arena);
    o["ts"] = utc_timestamp(true);
    o["level"] = to_string(level);
    o["event"] = event;
    for (const auto& f : fields) {
      auto& slot = o[f.key];
      std::visit([&](const auto& v) {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, std::string_view>) slot = boost::json::string_view(v.data(), v.size());
        else slot = v;
      }, f.value);
    }
    return boost::json::serialize(o);
  }
  return utc_timestamp(false) + " " + render_text_body(level, event, fields);
}

void event_log::emit(log_level level, std::string_view event, std::initializer_list<field> fields) const {
  if (!enabled(level)) return;
  if (uses_journal()) {
    const auto entries = journal_fields(level, event, fields, sink_->name());
    std::vector<iovec> iov;
    iov.reserve(entries.size());
    for (const auto& e : entries) iov.push_back({const_cast<char*>(e.data()), e.size()});
    if (sd_journal_sendv(iov.data(), static_cast<int>(iov.size())) >= 0) return;
    // The journal refused: fall through to stderr, which systemd also collects.
  }
  sink_->log(to_spdlog(level), render(level, event, fields));
}

std::vector<std::string> journal_fields(log_level level, std::string_view event, std::initializer_list<field> fields,
                                        std::string_view identifier) {
  static constexpr int syslog_priority[] = {7, 7, 6, 4, 3, 2, 6};  // trace..off
  std::vector<std::string> out;
  // MESSAGE: the text rendering after its timestamp (the journal stamps entries itself).
  out.push_back("MESSAGE=" + render_text_body(level, event, fields));
  out.push_back("PRIORITY=" + std::to_string(syslog_priority[static_cast<int>(level)]));
  out.push_back("SYSLOG_IDENTIFIER=" + std::string(identifier));
  out.push_back("CHARGERECON_EVENT=" + std::string(event));
  for (const auto& f : fields) {
    std::string key = "CHARGERECON_";
    for (char c : f.key) {
      const auto u = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      key += ((u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || u == '_') ? u : '_';
    }
    std::string value;
    std::visit([&](const auto& v) {
      using V = std::decay_t<decltype(v)>;
      if constexpr (std::is_same_v<V, std::string_view>) value = std::string(v);
      else if constexpr (std::is_same_v<V, bool>) value = v ? "true" : "false";
      else value = std::to_string(v);
    }, f.value);
    out.push_back(key + "=" + value);
  }
  return out;
}

bool stderr_is_journal() {
  const char* stream = std::getenv("JOURNAL_STREAM");
  if (!stream) return false;
  struct stat st {};
  if (fstat(2, &st) != 0) return false;
  unsigned long long dev = 0, ino = 0;
  if (std::sscanf(stream, "%llu:%llu", &dev, &ino) != 2) return false;
  return dev == static_cast<unsigned long long>(st.st_dev) && ino == static_cast<unsigned long long>(st.st_ino);
}

event_log make_stderr_log(log_format format, log_level level, std::string_view name) {
  auto logger = std::make_shared<spdlog::logger>(std::string(name), std::make_shared<spdlog::sinks::stderr_sink_mt>());
  logger->set_level(to_spdlog(level));
  logger->flush_on(spdlog::level::trace);
  return event_log(std::move(logger), format);
}

std::string_view to_string(log_level l) {
  switch (l) {
    case log_level::trace: return "trace";
    case log_level::debug: return "debug";
    case log_level::info: return "info";
    case log_level::warn: return "warn";
    case log_level::error: return "error";
    case log_level::critical: return "critical";
    case log_level::off: return "off";
  }
  return "info";
}

std::string_view to_string(log_format f) { return f == log_format::json ? "json" : "text"; }

bool parse_log_level(std::string_view name, log_level& out) {
  static constexpr std::pair<std::string_view, log_level> names[] = {
      {"trace", log_level::trace}, {"debug", log_level::debug}, {"info", log_level::info},
      {"warn", log_level::warn},   {"error", log_level::error}, {"critical", log_level::critical},
      {"off", log_level::off}};
  for (const auto& [n, l] : names)
    if (n == name) {
      out = l;
      return true;
    }
  return false;
}

bool parse_log_format(std::string_view name, log_format& out) {
  if (name == "text") out = log_format::text;
  else if (name == "json") out = log_format::json;
  else return false;
  return true;
}

}  // namespace chargerecon::obs
