#pragma once
// The naive sequential reconciler issue 6 measures chargerecond against: the loop a first
// version would be, with the same clients and the same ledger (sqlite_ledger, WAL,
// synchronous=FULL), one call and one committed transaction at a time:
//
//   offset = 0
//   repeat: list a page of PROCESSED charges at `offset`; record it (one transaction);
//           for each charge to bill, in order: mark it billing, post it, record the answer
//           (three transactions around one post);
//           acknowledge the page's finished charges in one call, record the answer;
//           offset += the page's charges that stay in CRM.COM's list (held, refused,
//           malformed, failed posts)
//   until a page comes back short.
//
// The offset RULE holds trivially: a page is fully acknowledged (or counted in the offset)
// before the next one is listed, so the list never moves under a call.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "crm/requests.hpp"
#include "observability/event_log.hpp"

namespace chargerecon::bench {

struct baseline_config {
  std::string crm_base_url;      // e.g. http://127.0.0.1:18080/crmapi/rest/v2/
  std::string billing_base_url;  // the billing origin, e.g. http://127.0.0.1:18081/
  std::string billing_target = "bill";
  crm::credentials credentials;
  std::filesystem::path ledger_path;
  std::vector<std::string> bill_statuses{"APPROVED"};
};

struct baseline_summary {
  std::uint64_t pages = 0;
  std::uint64_t charges = 0;  // recorded (good elements of charges_set)
  std::uint64_t billed = 0;
  std::uint64_t held = 0;
  std::uint64_t acknowledged = 0;
  std::uint64_t left_in_list = 0;  // held, refused, malformed, failed: the final offset
  std::uint64_t failed_posts = 0;  // billing gave up after its retries: left unfinished
};

// Drains CRM.COM's PROCESSED list once. Errors: the ledger's open and write errors, the CRM
// client's call errors (after its own retries), http client setup errors.
result<baseline_summary> run_baseline(const baseline_config& config, obs::event_log log);

}  // namespace chargerecon::bench
