#include "crm-sim/options.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace chargerecon::crm_sim {
namespace {

using namespace std::chrono;

TEST(crm_sim_options, defaults_match_the_documentation) {
  const auto o = parse_options({}).value();
  EXPECT_EQ(o.server.listen_address, "127.0.0.1");
  EXPECT_EQ(o.server.port, 0);
  EXPECT_EQ(o.sim.username, "operator");
  EXPECT_EQ(o.sim.password, "secret");
  EXPECT_EQ(o.sim.organisation, "demo-org");
  EXPECT_EQ(o.sim.token_lifetime, hours(2));
  EXPECT_EQ(o.sim.generator.pending_resolve_after, seconds(10));
  EXPECT_EQ(o.sim.faults.ack_refuse_code, "TEMPORARY_FAILURE");
  EXPECT_FALSE(o.quiet);
}

TEST(crm_sim_options, parses_both_value_spellings) {
  const auto o = parse_options({"--port=8080",
                                "--seed",
                                "99",
                                "--backlog",
                                "120",
                                "--arrival-rate=2.5",
                                "--latency",
                                "5ms",
                                "--jitter=2ms",
                                "--fail-5xx",
                                "0.1",
                                "--token-expiry-every",
                                "30",
                                "--ack-refuse-first",
                                "2",
                                "--exp-as-string",
                                "--quiet",
                                "--organisation",
                                "acme",
                                "--tls-cert",
                                "c.pem",
                                "--tls-key",
                                "k.pem",
                                "--port-file",
                                "/tmp/p"})
                     .value();
  EXPECT_EQ(o.server.port, 8080);
  EXPECT_EQ(o.sim.generator.seed, 99u);
  EXPECT_EQ(o.sim.generator.backlog, 120u);
  EXPECT_EQ(o.sim.generator.arrival_rate, 2.5);
  EXPECT_EQ(o.sim.faults.latency, milliseconds(5));
  EXPECT_EQ(o.sim.faults.jitter, milliseconds(2));
  EXPECT_EQ(o.sim.faults.fail_5xx, 0.1);
  EXPECT_EQ(o.sim.faults.token_expiry_every, seconds(30));
  EXPECT_EQ(o.sim.faults.ack_refuse_first, 2u);
  EXPECT_TRUE(o.sim.exp_as_string);
  EXPECT_TRUE(o.quiet);
  EXPECT_EQ(o.sim.organisation, "acme");
  EXPECT_EQ(o.server.tls_cert_file, "c.pem");
  EXPECT_EQ(o.port_file, "/tmp/p");
}

TEST(crm_sim_options, bad_flags_name_the_flag) {
  const auto expect_refused = [](std::vector<std::string> args, std::string_view names) {
    auto o = parse_options(args);
    ASSERT_FALSE(o) << args[0];
    EXPECT_NE(o.error().diagnostic.find(names), std::string::npos) << o.error().diagnostic;
  };
  expect_refused({"--no-such-flag"}, "no-such-flag");
  expect_refused({"--port", "70000"}, "--port");
  expect_refused({"--fail-5xx", "1.5"}, "--fail-5xx");
  expect_refused({"--drop", "often"}, "--drop");
  expect_refused({"--latency", "5 parsecs"}, "--latency");
  expect_refused({"--seed"}, "--seed");
  expect_refused({"--quiet=yes"}, "--quiet");
  expect_refused({"stray"}, "stray");
  expect_refused({"--tls-cert", "c.pem"}, "--tls-key");
}

TEST(crm_sim_options, help_lists_every_flag) {
  const auto help = usage_text();
  for (const char* flag : {"--listen",
                           "--port",
                           "--port-file",
                           "--tls-cert",
                           "--tls-key",
                           "--quiet",
                           "--help",
                           "--username",
                           "--password-file",
                           "--organisation",
                           "--web-api-key",
                           "--token-lifetime",
                           "--exp-as-string",
                           "--login-refusal-http-401",
                           "--token-error-http-401",
                           "--seed",
                           "--backlog",
                           "--arrival-rate",
                           "--pending-ratio",
                           "--pending-resolve-after",
                           "--latency",
                           "--jitter",
                           "--fail-5xx",
                           "--drop",
                           "--malformed-json",
                           "--truncate-json",
                           "--token-expiry-every",
                           "--ack-refuse-first",
                           "--ack-refuse-code",
                           "--ack-apply-then-drop"}) {
    EXPECT_NE(help.find(flag), std::string::npos) << flag;
  }
}

TEST(crm_sim_options, password_file_gives_its_first_line) {
  const std::string path = testing::TempDir() + "crm_sim_password";
  {
    std::ofstream out(path);
    out << "hunter2\r\nignored\n";
  }
  EXPECT_EQ(read_password_file(path).value(), "hunter2");
  std::remove(path.c_str());
  auto missing = read_password_file(path);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, make_error_code(errc::secret_unreadable));
}

}  // namespace
}  // namespace chargerecon::crm_sim
