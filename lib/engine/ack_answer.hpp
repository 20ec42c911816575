#pragma once
// What one charges/acknowledge answer means for the ledger, free of I/O: which charges of the
// request are now acknowledged, which were refused (to retry with backoff), and which refusals
// name charges the request never sent.
//
// An answer naming a charge the request did not send is not about this request, or misnames
// one of its charges (a refusal under the wrong number would otherwise read as "accepted").
// Nothing in it says which of our charges CRM.COM took, so it is not trusted: every charge of
// the request counts as refused with untrusted_answer_code, and is sent again after its backoff
// with the same reference (which CRM.COM answers as success if it did apply it), or goes dead
// after ack.max_attempts such answers. Nothing is recorded as acknowledged from it.

#include "crm/types.hpp"
#include "ledger/ledger.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace chargerecon::engine {

// The error_code recorded for the charges of an untrusted answer. Ours, not CRM.COM's: the dot
// keeps it apart from CRM.COM's codes in the ledger, the metrics and the log.
inline constexpr std::string_view untrusted_answer_code = "chargerecon.untrusted_answer";

struct ack_answer {
  ledger::ack_report report;                   // for ledger::record_ack_result
  std::vector<crm::ack_refusal> unknown;       // refusals for numbers not in the request
  std::vector<crm::ack_refusal> refusals;      // the refusals that count (for logs and metrics)
  bool trusted = true;                         // false when `unknown` is not empty (see above)
};

// `sent`: the charge numbers of the request (distinct). A refusal whose error_code is in
// `done_error_codes` means "already acknowledged" and counts as done. A number refused twice in
// one answer counts once.
ack_answer classify_ack_answer(const std::vector<std::string>& sent, const std::vector<crm::ack_refusal>& failed,
                               const std::vector<std::string>& done_error_codes);

}  // namespace chargerecon::engine
