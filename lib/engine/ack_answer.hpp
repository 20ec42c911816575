#pragma once
// What one charges/acknowledge answer means for the ledger, free of I/O: which charges of the
// request are now acknowledged, which were refused (to retry with backoff), and which refusals
// name charges the request never sent (CRM.COM's mistake: logged, otherwise ignored).

#include "crm/types.hpp"
#include "ledger/ledger.hpp"

#include <string>
#include <vector>

namespace chargerecon::engine {

struct ack_answer {
  ledger::ack_report report;                   // for ledger::record_ack_result
  std::vector<crm::ack_refusal> unknown;       // refusals for numbers not in the request
  std::vector<crm::ack_refusal> refusals;      // the refusals that count (for logs and metrics)
};

// `sent`: the charge numbers of the request (distinct). A refusal whose error_code is in
// `done_error_codes` means "already acknowledged" and counts as done. A number refused twice in
// one answer counts once.
ack_answer classify_ack_answer(const std::vector<std::string>& sent, const std::vector<crm::ack_refusal>& failed,
                               const std::vector<std::string>& done_error_codes);

}  // namespace chargerecon::engine
