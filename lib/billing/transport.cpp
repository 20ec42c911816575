// Kept apart from client.cpp so that code using billing::client with its own transport (the unit
// tests, a fake) does not pull the real HTTP client into its link.
#include "billing/client.hpp"
#include "http/client.hpp"

namespace chargerecon::billing {

transport make_transport(http::client& c) {
  return [&c](http::request req) { return c.send(std::move(req)); };
}

}  // namespace chargerecon::billing
