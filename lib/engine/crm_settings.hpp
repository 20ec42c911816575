#pragma once
// The CRM.COM client's settings, from chargerecond's configuration: one translation for the
// daemon and for chargereconctl, so both log in and talk to CRM.COM the same way.

#include "config/config.hpp"
#include "crm/client.hpp"
#include "http/client.hpp"

namespace chargerecon::engine {

http::client_config crm_http_settings(const crm_config& c);
crm::credentials crm_credentials(const crm_config& c, const secrets& s);
crm::client_config crm_client_settings(const crm_config& c);

}  // namespace chargerecon::engine
