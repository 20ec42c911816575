#pragma once
// billing-fake's logic: the reference billing system of ../shared/spec/billing-http.md with an
// Idempotency-Key that it honours, a state endpoint for tests, and seeded faults. No sockets:
// main.cpp puts it behind http::server, and unit_billing_fake drives it directly.
// Not thread-safe: one io_context thread calls it.

#include "common/error.hpp"
#include "http/message.hpp"
#include "http/server.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
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
  double malformed_json = 0;   // handle the charge (record it), then answer 201 with a body that is not JSON
  std::uint64_t seed = 1;
};

// POST /faults: a JSON object with any of "latency", "jitter" (whole ms), "drop", "fail_5xx",
// "rate_limit", "apply_then_drop", "malformed_json" (probabilities), applied to `config` all
// or nothing (the probabilities then add up to at most 1). Customers on the reject list are no
// fault and stay as they are.
// Errors: invalid_argument naming the key (unknown keys included) or the sum.
result<void> apply_fault_settings(fake_config& config, std::string_view json_object_text);

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

  // One request: a charge POST to the configured path, GET /state, GET /stats, POST /faults,
  // or else 404/405.
  fake_reply handle(const http::server_request& request);

  const std::vector<record>& records() const { return records_; }
  // Every POST to the charge path, and those per Idempotency-Key (faulted and refused posts
  // included: a test counts what chargerecon sent, not what billing kept).
  std::uint64_t posts_total() const { return posts_total_; }
  std::uint64_t posts_for(std::string_view key) const;

  // GET /state's body: {"records": [{"reference_number", "number", "customer", "amount" (the
  // exact text, as a JSON string), "currency", "posts"}], "posts_total", "posts_by_key": {...},
  // "replay_conflicts": {key: n}, "reject_customers": [...], and stats_json()'s members}.
  std::string state_json() const;
  // GET /stats's body, the counters alone (cheap to poll): {"posts_total", "record_count",
  // "faults_injected": {"latency", "drop", "fail_5xx", "rate_limit", "apply_then_drop",
  // "malformed_json", "held_refused"}, "replay_conflict_count"}.
  std::string stats_json() const;

  // Posts that replayed a billed key with another charge in the body (number, customer,
  // amount or currency differing from the record): a client reusing a key for something else.
  const std::map<std::string, std::uint64_t, std::less<>>& replay_conflicts() const { return replay_conflicts_; }

 private:
  enum class fault { none, drop, fail_5xx, rate_limit, apply_then_drop, malformed_json };
  boost::json::object stats_object() const;
  fault draw_fault();
  std::chrono::milliseconds draw_delay();
  std::uint64_t next_random();
  // What one Idempotency-Key has seen: every POST counted, and the record once it is billed.
  struct key_state {
    std::uint64_t posts = 0;
    std::size_t record = no_record;  // index in records_
    static constexpr std::size_t no_record = static_cast<std::size_t>(-1);
  };
  struct key_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view key) const noexcept { return std::hash<std::string_view>{}(key); }
  };

  bool is_charge_path(std::string_view path) const;
  bool authorized(const http::server_request& request) const;
  fake_reply charge(const http::server_request& request);
  fake_reply bill(const http::server_request& request, std::string_view key, key_state* seen);

  fake_config config_;
  std::uint64_t rng_state_;
  std::vector<record> records_;
  // Hashed, not ordered: a lookup per POST. GET /state sorts them.
  std::unordered_map<std::string, key_state, key_hash, std::equal_to<>> keys_;
  std::uint64_t posts_total_ = 0;
  std::map<std::string, std::uint64_t, std::less<>> faults_injected_;
  std::map<std::string, std::uint64_t, std::less<>> replay_conflicts_;
};

}  // namespace chargerecon::billing_fake
