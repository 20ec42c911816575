#include <gtest/gtest.h>

#include <optional>
#include <ostream>

#include "http/client.hpp"

namespace chargerecon::http {
namespace {

struct accepted_case {
  const char* url;
  bool allow_plain_http;
  bool tls;
  const char* host;
  const char* port;
  const char* path;
};

std::ostream& operator<<(std::ostream& os, const accepted_case& c) {
  return os << c.url << (c.allow_plain_http ? " (plain http allowed)" : "");
}

class base_url_accepted : public ::testing::TestWithParam<accepted_case> {};

TEST_P(base_url_accepted, parses_to_host_port_and_a_slash_terminated_path) {
  const auto& c = GetParam();
  const auto parsed = parse_base_url(c.url, c.allow_plain_http);
  ASSERT_TRUE(parsed) << parsed.error().to_string();
  EXPECT_EQ(parsed->tls, c.tls);
  EXPECT_EQ(parsed->host, c.host);
  EXPECT_EQ(parsed->port, c.port);
  EXPECT_EQ(parsed->path, c.path);
}

INSTANTIATE_TEST_SUITE_P(
    policy, base_url_accepted,
    ::testing::Values(accepted_case{"https://crm.example.com/crmapi/rest/v2/", false, true, "crm.example.com", "443",
                                    "/crmapi/rest/v2/"},
                      accepted_case{"https://crm.example.com/crmapi/rest/v2", false, true, "crm.example.com", "443",
                                    "/crmapi/rest/v2/"},
                      accepted_case{"https://crm.example.com", false, true, "crm.example.com", "443", "/"},
                      accepted_case{"https://crm.example.com/", false, true, "crm.example.com", "443", "/"},
                      accepted_case{"https://CRM.Example.COM:8443/api", false, true, "crm.example.com", "8443",
                                    "/api/"},
                      accepted_case{"HTTPS://crm.example.com/", false, true, "crm.example.com", "443", "/"},
                      accepted_case{"https://10.1.2.3:444/x/", false, true, "10.1.2.3", "444", "/x/"},
                      accepted_case{"https://[2001:db8::1]/", false, true, "2001:db8::1", "443", "/"},
                      accepted_case{"https://[2001:db8::1]:8443/v2", false, true, "2001:db8::1", "8443", "/v2/"},
                      accepted_case{"https://crm.example.com:/", false, true, "crm.example.com", "443", "/"},
                      accepted_case{"https://crm.example.com/a%20b", false, true, "crm.example.com", "443", "/a%20b/"},
                      // Plain http to loopback: the simulators and tests.
                      accepted_case{"http://127.0.0.1:8080/", false, false, "127.0.0.1", "8080", "/"},
                      accepted_case{"http://127.45.6.7/", false, false, "127.45.6.7", "80", "/"},
                      accepted_case{"http://localhost:9/billing", false, false, "localhost", "9", "/billing/"},
                      accepted_case{"http://LocalHost/", false, false, "localhost", "80", "/"},
                      accepted_case{"http://[::1]:8080/", false, false, "::1", "8080", "/"},
                      // Plain http elsewhere only when the operator says so.
                      accepted_case{"http://billing.internal:8080/v1", true, false, "billing.internal", "8080", "/v1/"},
                      accepted_case{"http://10.0.0.5/", true, false, "10.0.0.5", "80", "/"}));

struct refused_case {
  const char* url;
  bool allow_plain_http;
  errc expected;
};

std::ostream& operator<<(std::ostream& os, const refused_case& c) {
  return os << c.url << (c.allow_plain_http ? " (plain http allowed)" : "");
}

class base_url_refused : public ::testing::TestWithParam<refused_case> {};

TEST_P(base_url_refused, with_the_documented_code) {
  const auto& c = GetParam();
  const auto parsed = parse_base_url(c.url, c.allow_plain_http);
  ASSERT_FALSE(parsed) << "accepted as host " << parsed->host;
  EXPECT_EQ(parsed.error().code, make_error_code(c.expected)) << parsed.error().to_string();
  EXPECT_FALSE(parsed.error().diagnostic.empty());
}

INSTANTIATE_TEST_SUITE_P(
    policy, base_url_refused,
    ::testing::Values(refused_case{"", false, errc::invalid_url},
                      refused_case{"crm.example.com/api", false, errc::invalid_url},
                      refused_case{"/crmapi/rest/v2/", false, errc::invalid_url},
                      refused_case{"ftp://crm.example.com/", false, errc::invalid_url},
                      refused_case{"ws://127.0.0.1/", false, errc::invalid_url},
                      refused_case{"file:///etc/passwd", false, errc::invalid_url},
                      refused_case{"https:crm.example.com", false, errc::invalid_url},
                      refused_case{"https:///path", false, errc::invalid_url},
                      refused_case{"https://user:secret@crm.example.com/", false, errc::invalid_url},
                      refused_case{"https://user@crm.example.com/", false, errc::invalid_url},
                      refused_case{"https://crm.example.com/api?x=1", false, errc::invalid_url},
                      refused_case{"https://crm.example.com/api?", false, errc::invalid_url},
                      refused_case{"https://crm.example.com/api#top", false, errc::invalid_url},
                      refused_case{"https://crm.example.com:0/", false, errc::invalid_url},
                      refused_case{"https://crm.example.com:65536/", false, errc::invalid_url},
                      refused_case{"https://crm.example.com:http/", false, errc::invalid_url},
                      refused_case{"https://cr%6D.example.com/", false, errc::invalid_url},
                      refused_case{"https://[v1.fe]/", false, errc::invalid_url},
                      refused_case{"https://crm example.com/", false, errc::invalid_url},
                      refused_case{"http://crm.example.com/", false, errc::plain_http_refused},
                      refused_case{"http://10.0.0.5:8080/", false, errc::plain_http_refused},
                      refused_case{"http://128.0.0.1/", false, errc::plain_http_refused},
                      refused_case{"http://localhost.example.com/", false, errc::plain_http_refused},
                      refused_case{"http://[::2]/", false, errc::plain_http_refused},
                      // allow_plain_http relaxes the host rule, not the others.
                      refused_case{"http://user:pw@billing.internal/", true, errc::invalid_url},
                      refused_case{"gopher://billing.internal/", true, errc::invalid_url}));

TEST(base_url, a_url_with_credentials_is_not_echoed_in_the_diagnostic) {
  const auto parsed = parse_base_url("https://user:hunter2@crm.example.com/", false);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().diagnostic.find("hunter2"), std::string::npos) << parsed.error().diagnostic;
}

TEST(base_url, a_refused_url_is_named_in_the_diagnostic) {
  const auto parsed = parse_base_url("http://crm.example.com/", false);
  ASSERT_FALSE(parsed);
  EXPECT_NE(parsed.error().diagnostic.find("http://crm.example.com/"), std::string::npos) << parsed.error().diagnostic;
}

TEST(is_loopback_host, names_the_loopback_addresses_and_nothing_else) {
  for (const char* host : {"localhost", "LOCALHOST", "localhost.", "127.0.0.1", "127.255.255.254", "127.0.0.0", "::1",
                           "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1"})
    EXPECT_TRUE(is_loopback_host(host)) << host;
  for (const char* host : {"", "localhost.localdomain", "mylocalhost", "128.0.0.1", "126.255.255.255", "0.0.0.0",
                           "::", "::2", "::ffff:10.0.0.1", "10.0.0.1", "[::1]", "127.0.0.1.nip.io", "example.com"})
    EXPECT_FALSE(is_loopback_host(host)) << host;
}

}  // namespace
}  // namespace chargerecon::http
