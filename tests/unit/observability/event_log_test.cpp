#include "observability/event_log.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <boost/json/parse.hpp>
#include <sstream>

#include <sys/stat.h>

namespace chargerecon::obs {
namespace {

struct captured_log {
  std::ostringstream out;
  event_log log;
  explicit captured_log(log_format f)
      : log(std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::ostream_sink_st>(out)), f) {}
};

TEST(event_log, json_lines_carry_the_event_name_and_typed_fields) {
  captured_log c(log_format::json);
  c.log.info("charge.billed", {{"number", "I0001"}, {"attempt", 2}, {"amount", "0.1"}, {"retry", false}});
  const auto line = c.out.str();
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  const auto v = boost::json::parse(line).as_object();
  EXPECT_EQ(v.at("event").as_string(), "charge.billed");
  EXPECT_EQ(v.at("level").as_string(), "info");
  EXPECT_EQ(v.at("number").as_string(), "I0001");
  EXPECT_EQ(v.at("attempt").as_int64(), 2);
  EXPECT_EQ(v.at("amount").as_string(), "0.1");
  EXPECT_EQ(v.at("retry").as_bool(), false);
  EXPECT_TRUE(v.contains("ts"));
}

TEST(event_log, json_escapes_hostile_text) {
  captured_log c(log_format::json);
  c.log.warn("crm.call_failed", {{"message", "bad \"quote\"\nnew line"}});
  const auto v = boost::json::parse(c.out.str()).as_object();
  EXPECT_EQ(v.at("message").as_string(), "bad \"quote\"\nnew line");
}

TEST(event_log, text_lines_are_key_value_pairs_with_quoting_where_needed) {
  captured_log c(log_format::text);
  c.log.error("crm.auth_failed", {{"user", "ops"}, {"reason", "bad credentials"}});
  const auto line = c.out.str();
  EXPECT_NE(line.find(" error "), std::string::npos);
  EXPECT_NE(line.find("crm.auth_failed user=ops reason=\"bad credentials\""), std::string::npos) << line;
}

TEST(event_log, level_filters_events) {
  captured_log c(log_format::text);
  c.log.set_level(log_level::warn);
  c.log.info("poll.pass_done");
  EXPECT_TRUE(c.out.str().empty());
  c.log.warn("poll.pass_slow");
  EXPECT_FALSE(c.out.str().empty());
}

TEST(event_log, copies_share_level_and_format) {
  captured_log c(log_format::text);
  const event_log copy = c.log;  // as handed to a component
  c.log.set_format(log_format::json);
  c.log.set_level(log_level::error);
  copy.warn("dropped");
  copy.error("crm.login_refused");
  const auto v = boost::json::parse(c.out.str()).as_object();
  EXPECT_EQ(v.at("event").as_string(), "crm.login_refused");
}

TEST(event_log, level_and_format_names_parse) {
  log_level l{};
  EXPECT_TRUE(parse_log_level("debug", l));
  EXPECT_EQ(l, log_level::debug);
  EXPECT_FALSE(parse_log_level("verbose", l));
  log_format f{};
  EXPECT_TRUE(parse_log_format("json", f));
  EXPECT_EQ(f, log_format::json);
  EXPECT_FALSE(parse_log_format("xml", f));
}

}  // namespace
}  // namespace chargerecon::obs

namespace chargerecon::obs {
namespace {

TEST(journal_fields, carry_priority_event_and_each_field_under_our_prefix) {
  const auto f = journal_fields(log_level::error, "charge.held",
                                {{"number", "I0001"}, {"http-status", 422}, {"replay", false}}, "chargerecond");
  EXPECT_EQ(f[0], "MESSAGE=error charge.held number=I0001 http-status=422 replay=false");
  EXPECT_EQ(f[1], "PRIORITY=3");
  EXPECT_EQ(f[2], "SYSLOG_IDENTIFIER=chargerecond");
  EXPECT_EQ(f[3], "CHARGERECON_EVENT=charge.held");
  EXPECT_EQ(f[4], "CHARGERECON_NUMBER=I0001");
  EXPECT_EQ(f[5], "CHARGERECON_HTTP_STATUS=422");
  EXPECT_EQ(f[6], "CHARGERECON_REPLAY=false");
}

TEST(journal_fields, info_is_priority_6_and_warn_4) {
  EXPECT_EQ(journal_fields(log_level::info, "x", {}, "c")[1], "PRIORITY=6");
  EXPECT_EQ(journal_fields(log_level::warn, "x", {}, "c")[1], "PRIORITY=4");
}

TEST(stderr_is_journal, only_when_journal_stream_names_stderr) {
  ::unsetenv("JOURNAL_STREAM");
  EXPECT_FALSE(stderr_is_journal());
  ::setenv("JOURNAL_STREAM", "1:1", 1);
  EXPECT_FALSE(stderr_is_journal());
  ::unsetenv("JOURNAL_STREAM");
}

}  // namespace
}  // namespace chargerecon::obs

namespace chargerecon::obs {
namespace {

TEST(stderr_is_journal, true_when_journal_stream_names_our_stderr) {
  struct stat st {};
  ASSERT_EQ(fstat(2, &st), 0);
  const auto value = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
  ::setenv("JOURNAL_STREAM", value.c_str(), 1);
  EXPECT_TRUE(stderr_is_journal());
  ::unsetenv("JOURNAL_STREAM");
}

}  // namespace
}  // namespace chargerecon::obs
