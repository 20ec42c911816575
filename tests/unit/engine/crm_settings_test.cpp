#include "engine/crm_settings.hpp"

#include <gtest/gtest.h>

namespace chargerecon::engine {
namespace {

TEST(crm_settings, carry_the_configured_endpoint_timeouts_and_caps) {
  crm_config c;
  c.base_url = "https://crm.example.net/crmapi/rest/v2/";
  c.ca_file = "/etc/ssl/crm.pem";
  c.timeout = std::chrono::seconds(12);
  c.connect_timeout = std::chrono::seconds(3);
  c.max_response_size = 1 << 20;
  const auto h = crm_http_settings(c);
  EXPECT_EQ(h.base_url, c.base_url);
  EXPECT_EQ(h.ca_file, c.ca_file);
  EXPECT_FALSE(h.allow_plain_http);
  EXPECT_EQ(h.request_timeout, std::chrono::seconds(12));
  EXPECT_EQ(h.connect_timeout, std::chrono::seconds(3));
  EXPECT_EQ(h.max_response_bytes, std::size_t{1} << 20);
}

TEST(crm_settings, credentials_come_from_config_and_secret_files) {
  crm_config c;
  c.username = "operator";
  c.organisation = "demo-org";
  c.unit = "north";
  secrets s;
  s.crm_password = secret("hunter2");
  const auto creds = crm_credentials(c, s);
  EXPECT_EQ(creds.username, "operator");
  EXPECT_EQ(creds.password, "hunter2");
  EXPECT_EQ(creds.organisation, "demo-org");
  EXPECT_EQ(creds.unit, "north");
  EXPECT_TRUE(creds.web_api_key.empty());
}

TEST(crm_settings, a_short_token_lifetime_keeps_time_between_refreshes) {
  crm_config c;
  c.token_lifetime = std::chrono::minutes(2);
  const auto cc = crm_client_settings(c);
  EXPECT_EQ(cc.token_lifetime, std::chrono::minutes(2));
  EXPECT_LT(cc.refresh_margin, cc.token_lifetime);
  EXPECT_GT(cc.refresh_margin, std::chrono::seconds(0));
}

}  // namespace
}  // namespace chargerecon::engine
