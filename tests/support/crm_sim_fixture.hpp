#pragma once
// The real crm-sim binary for integration tests: started on port 0 with the flags a test gives,
// its port read from the port file, its test endpoints (/sim/state, /sim/charges, /sim/faults, /sim/amend)
// reachable as plain function calls, and stopped by the destructor.
//
// The /sim/ calls are blocking: each runs one exchange on a private io_context. They may be
// called from inside a test coroutine too (crm-sim is another process, so nothing waits on the
// caller's io_context), but that io_context stalls for the exchange's duration.
//
// Set-up failures throw std::runtime_error with crm-sim's output in the message: the binary is
// missing, it exits or writes no port file within the start timeout, a /sim/ call fails.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "support/process.hpp"

namespace chargerecon::test {

// One charge as GET /sim/state reports it, acknowledged or not.
struct sim_charge {
  std::string number;
  std::string customer;
  // charge_status ("APPROVED", ...); for a charge posted through /sim/charges, its posted
  // charge_status when that is a string, else nullopt.
  std::optional<std::string> status;
  // The exact decimal text crm-sim serves (generated charges), or the posted amount member's
  // JSON text (posted charges: "0.1", or "\"0.1\"" for a string); nullopt when absent.
  std::optional<std::string> amount;
  std::string currency;
  bool acknowledged = false;
  std::optional<std::string> reference_number;
  unsigned ack_attempts = 0;
  unsigned ack_refusals = 0;
  bool raw = false;  // posted through /sim/charges, served byte for byte
};

struct sim_state {
  std::vector<sim_charge> charges;  // in crm-sim's order: oldest first, the order charges/list uses
  std::uint64_t logins = 0;         // tokens issued (both login methods)
  // Calls per method, counted before faults apply: "authentication/token", "charges/list",
  // "charges/acknowledge", "operators/register_devices", ... (the "netflix/" module dropped).
  std::map<std::string, std::uint64_t> calls;
  std::uint64_t registered_devices = 0;
  std::string json;  // the whole answer, for what the fields above leave out

  std::uint64_t calls_to(std::string_view method) const;  // 0 when never called
  const sim_charge* find(std::string_view number) const;  // nullptr when absent
};

struct crm_sim_start {
  std::vector<std::string> flags;  // crm-sim's own flags; --port and --port-file are added
  // When flags serve HTTPS (--tls-cert/--tls-key): the CA the fixture's own /sim/ calls trust.
  // The base URL then names "localhost", which the test certificates cover.
  std::string ca_file;
  std::chrono::milliseconds start_timeout{std::chrono::seconds(30)};
};

class crm_sim {
 public:
  // CHARGERECON_CRM_SIM_PATH (empty when the crm-sim target does not exist).
  static std::filesystem::path program();

  explicit crm_sim(crm_sim_start start);
  explicit crm_sim(std::vector<std::string> flags = {});
  // Stops crm-sim (SIGTERM, then SIGKILL if it lingers).
  ~crm_sim();
  crm_sim(const crm_sim&) = delete;
  crm_sim& operator=(const crm_sim&) = delete;

  std::uint16_t port() const { return port_; }
  bool tls() const { return tls_; }
  // "http://127.0.0.1:PORT" or "https://localhost:PORT".
  std::string origin() const;
  // The CRM.COM API root a client takes as its base URL: origin() + "/crmapi/rest/v2/".
  std::string base_url() const;

  // GET /sim/state, parsed.
  sim_state state() const;
  // POST /sim/charges: `json_array` is a JSON array of charge objects (or anything else: they
  // are served verbatim). Returns how many crm-sim appended.
  std::size_t post_charges(std::string_view json_array) const;
  // POST /sim/faults: a JSON object keyed by the fault flags' names with '_' ({"fail_5xx":0.2}).
  // Returns the settings now in force, as JSON text.
  std::string post_faults(std::string_view json_object) const;
  // POST /sim/amend: {"number": ..., and any of "billing_system_customer_identifier",
  // "amount" (a JSON number), "currency"}: a generated charge changes under the client.
  // Returns the charge as charges/list now serves it.
  std::string amend(std::string_view json_object) const;

  // SIGTERM and wait: crm-sim's exit status (0 when it stopped cleanly), nullopt if it is still
  // running after `timeout`.
  std::optional<int> stop(std::chrono::milliseconds timeout = std::chrono::seconds(10));

  // crm-sim's stdout and stderr (its call log), for failure messages.
  std::string output() const;
  const std::filesystem::path& dir() const { return dir_.path(); }

 private:
  // One blocking exchange with a /sim/ endpoint; throws unless crm-sim answers 2xx.
  std::string exchange(bool post, std::string_view target, std::string_view body) const;

  temp_dir dir_;
  std::unique_ptr<child_process> child_;
  std::uint16_t port_ = 0;
  bool tls_ = false;
  std::string ca_file_;
};

}  // namespace chargerecon::test
