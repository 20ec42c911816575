#include "engine/crm_settings.hpp"

#include "engine/ack_window.hpp"

namespace chargerecon::engine {

http::client_config crm_http_settings(const crm_config& c) {
  http::client_config h;
  h.base_url = c.base_url;
  h.allow_plain_http = c.allow_plain_http;
  h.ca_file = c.ca_file;
  h.connect_timeout = c.connect_timeout;
  h.request_timeout = c.timeout;
  h.max_response_bytes = c.max_response_size;
  // Listing and acknowledging overlap (ack_calls_at_once calls out, one list call), and a
  // login may run beside them: a list call that waited for a connection would slow every pass.
  h.max_connections = ack_calls_at_once + 2;
  return h;
}

crm::credentials crm_credentials(const crm_config& c, const secrets& s) {
  crm::credentials creds;
  creds.username = c.username;
  creds.password = std::string(s.crm_password.reveal());
  creds.organisation = c.organisation;
  creds.unit = c.unit;
  creds.web_api_key = std::string(s.crm_web_api_key.reveal());
  return creds;
}

crm::client_config crm_client_settings(const crm_config& c) {
  crm::client_config cc;
  cc.token_lifetime = std::chrono::duration_cast<std::chrono::seconds>(c.token_lifetime);
  // A short configured lifetime (tests, odd servers) must still leave time between refreshes.
  if (cc.refresh_margin >= cc.token_lifetime) cc.refresh_margin = cc.token_lifetime / 10;
  return cc;
}

}  // namespace chargerecon::engine
