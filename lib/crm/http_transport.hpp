#pragma once
// Wires crm::client to the real HTTP layer: each exchange goes through http::client::send,
// which prefixes the base URL's path (".../crmapi/rest/v2/") to the client's relative targets.

#include "crm/client.hpp"

namespace chargerecon::http {
class client;
}

namespace chargerecon::crm {

// `http` must outlive every client call made through the returned transport.
transport make_http_transport(http::client& http);

}  // namespace chargerecon::crm
