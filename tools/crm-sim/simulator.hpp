#pragma once
// crm-sim's state and rules: CRM.COM's netflix methods as /work/shared/spec/crm-netflix-api.md
// describes them, plus the test endpoints under /sim/. Pure: no sockets, no clock. The caller
// passes each request with the time it arrived and acts on the reply (waits `delay`, then
// answers or drops the connection). Not thread-safe: one caller at a time (crm-sim runs it on
// its single io_context thread).
//
// Fault choices made here, where the brief leaves room:
// - fail_5xx, drop and malformed_json answer without doing the call (nothing changes);
//   truncate_json does the call and cuts its real answer in half, so a client cannot tell
//   whether an acknowledgement it sent was applied.
// - Token errors, bad parameters and over-limit batches are HTTP 200 with status.code "ERROR"
//   (CRM.COM's way), unless a --*-http-401 flag asks for 401 on token and login errors.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "crm-sim/charge.hpp"
#include "crm-sim/faults.hpp"
#include "crm-sim/generator.hpp"
#include "http/server.hpp"

namespace chargerecon::crm_sim {

struct sim_config {
  std::string username = "operator";
  std::string password = "secret";
  std::string organisation = "demo-org";
  std::string web_api_key;  // empty: authentication/web_api_key/token refuses every key
  std::chrono::milliseconds token_lifetime = std::chrono::hours(2);
  bool exp_as_string = false;           // JWT iat/exp as numeric strings
  bool login_refusal_http_401 = false;  // wrong credentials: HTTP 401 instead of 200 + ERROR
  bool token_error_http_401 = false;    // invalid/expired token: HTTP 401 instead of 200 + ERROR
  generator_config generator;
  fault_config faults;
};

inline constexpr std::size_t max_charges_per_call = 50;
inline constexpr std::size_t max_devices_per_call = 1000;
inline constexpr std::int64_t max_validity_duration_seconds = 86400;

struct sim_reply {
  http::server_reply reply;
  std::chrono::milliseconds delay{0};  // wait this long before answering (or dropping)
  // For the call log: the method ("netflix/charges/list", "sim/state"), what came of it
  // ("OK", "ERROR", "fault:drop", ...) and how many charges/items/devices it carried.
  std::string method;
  std::string outcome;
  std::size_t count = 0;
};

class simulator {
 public:
  // `start` is when the backlog ends and arrivals begin.
  simulator(sim_config config, time_point start);
  ~simulator();
  simulator(const simulator&) = delete;
  simulator& operator=(const simulator&) = delete;

  sim_reply handle(const http::server_request& request, time_point now);

  // Brings arrivals and PENDING resolutions up to `now` (handle() does it on every call).
  void advance(time_point now);

  // For tests and /sim/state.
  const std::vector<charge>& charges() const;
  fault_config& faults();
  std::size_t logins() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace chargerecon::crm_sim
