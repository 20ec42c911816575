#pragma once
// billing-fake's logic: the reference billing system of ../shared/spec/billing-http.md with an
// Idempotency-Key that it honours, a state endpoint for tests, and seeded faults. No sockets:
// main.cpp puts it behind http::server, and unit_billing_fake drives it directly.
// Not thread-safe: one io_context thread calls it.

#include "http/message.hpp"
#include "http/server.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace chargerecon::billing_fake {

struct fake_config {
  std::string path = "/bill";  // POSTs to any target whose path ends with this are charges
  std::string token;           // when set, "Authorization: Bearer <token>" is required (else 401)
  std::set<std::string, std::less<>> reject_customers;  // always 422 for these customers
  std::chrono::milliseconds latency{0};  // before every answer to a charge POST
  std::chrono::milliseconds jitter{0};   // plus a uniform extra in [0, jitter]
  // Fault probabilities per charge POST (each in [0, 1], their sum at most 1), drawn from `seed`:
  double drop = 0;             // close the connection, nothing recorded
  double fail_5xx = 0;         // 503, nothing recorded
  double rate_limit = 0;       // 429 with Retry-After: 1, nothing recorded
  double apply_then_drop = 0;  // handle the charge (record it), then close without answering
  std::uint64_t seed = 1;
};

// One billed charge.
struct record {
  std::string reference_number;  // B-000001, B-000002, ... in the order charges were billed
  std::string number;            // the charge number (= its Idempotency-Key)
  std::string customer;          // billing_system_customer_identifier
  std::string amount;            // the amount's JSON number text, exactly as posted
  std::string currency;
  std::string raw_body;          // the POST's body, byte for byte
};

struct fake_reply {
  http::server_reply reply;
  std::chrono::milliseconds delay{0};  // simulated latency before the reply goes out
  std::string outcome;                 // for the log: billed, replay, rejected, dropped, ...
};

class fake {
 public:
  explicit fake(fake_config config);

  // One request: a charge POST to the configured path, GET /state, or else 404/405.
  fake_reply handle(const http::server_request& request);

  const std::vector<record>& records() const { return records_; }
  // Every POST to the charge path, and those per Idempotency-Key (faulted and refused posts
  // included: a test counts what chargerecon sent, not what billing kept).
  std::uint64_t posts_total() const { return posts_total_; }
  std::uint64_t posts_for(std::string_view key) const;

  // GET /state's body: {"records": [{"reference_number", "number", "customer", "amount" (the
  // exact text, as a JSON string), "currency", "posts"}], "posts_total", "posts_by_key": {...}}.
  std::string state_json() const;

 private:
  enum class fault { none, drop, fail_5xx, rate_limit, apply_then_drop };
  fault draw_fault();
  std::chrono::milliseconds draw_delay();
  std::uint64_t next_random();
  bool is_charge_path(std::string_view target) const;
  bool authorized(const http::server_request& request) const;
  fake_reply charge(const http::server_request& request);
  fake_reply bill(const http::server_request& request, std::string_view key);

  fake_config config_;
  std::uint64_t rng_state_;
  std::vector<record> records_;
  std::map<std::string, std::size_t, std::less<>> by_key_;  // Idempotency-Key -> index in records_
  std::map<std::string, std::uint64_t, std::less<>> posts_by_key_;
  std::uint64_t posts_total_ = 0;
};

}  // namespace chargerecon::billing_fake
