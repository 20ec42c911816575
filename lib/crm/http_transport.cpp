#include "crm/http_transport.hpp"

#include "http/client.hpp"

namespace chargerecon::crm {

transport make_http_transport(http::client& http) {
  return [&http](http::request req) { return http.send(std::move(req)); };
}

}  // namespace chargerecon::crm
