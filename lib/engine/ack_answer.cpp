#include "engine/ack_answer.hpp"

#include <algorithm>
#include <unordered_set>

namespace chargerecon::engine {

namespace {

// Every charge of the request refused: see the header for why.
void distrust(const std::vector<std::string>& sent, ack_answer& out) {
  std::string named;
  for (const auto& u : out.unknown) named += (named.empty() ? "" : ", ") + u.number;
  const std::string description = "CRM.COM's answer named charges this request did not send (" + named +
                                  "); none of it is trusted, the acknowledgement is sent again";
  out.trusted = false;
  out.report = {};
  out.refusals.clear();
  for (const auto& n : sent) {
    out.refusals.push_back({n, "", std::string(untrusted_answer_code), description});
    out.report.refused.push_back({n, std::string(untrusted_answer_code), description});
  }
}

}  // namespace

ack_answer classify_ack_answer(const std::vector<std::string>& sent, const std::vector<crm::ack_refusal>& failed,
                               const std::vector<std::string>& done_error_codes) {
  ack_answer out;
  const std::unordered_set<std::string> in_request(sent.begin(), sent.end());
  std::unordered_set<std::string> refused;
  for (const auto& f : failed) {
    if (!in_request.contains(f.number)) {
      out.unknown.push_back(f);
      continue;
    }
    if (std::find(done_error_codes.begin(), done_error_codes.end(), f.error_code) != done_error_codes.end()) continue;
    if (!refused.insert(f.number).second) continue;
    out.refusals.push_back(f);
    out.report.refused.push_back({f.number, f.error_code, f.error_description});
  }
  if (!out.unknown.empty()) {
    distrust(sent, out);
    return out;
  }
  for (const auto& n : sent)
    if (!refused.contains(n)) out.report.acknowledged.push_back(n);
  return out;
}

}  // namespace chargerecon::engine
