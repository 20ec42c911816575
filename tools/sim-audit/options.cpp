#include "sim-audit/options.hpp"

#include <algorithm>
#include <optional>
#include <string_view>

#include "common/command_line.hpp"
#include "ledger/charge_state.hpp"

namespace chargerecon::sim_audit {
namespace {

result<std::vector<std::string>> parse_statuses(std::string_view text) {
  std::vector<std::string> out;
  while (true) {
    const auto comma = text.find(',');
    const auto item = text.substr(0, comma);
    if (item.empty()) return cli::flag_error("bill-statuses", "an empty status in the list");
    if (std::ranges::find(ledger::processed_statuses, item) == std::end(ledger::processed_statuses))
      return cli::flag_error("bill-statuses", "'" + quote_peer_text(item, 40) +
                                                  "' is not one of APPROVED, DECLINED, BAD_REQUEST, "
                                                  "REJECTED");
    if (std::ranges::find(out, item) == out.end()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace

result<cli_options> parse_options(const std::vector<std::string>& args) {
  cli_options o;
  const auto kinds = cli::known_flags({"help", "json", "expect-drained", "no-dead"},
                                      {"crm-url", "billing-url", "ledger", "bill-statuses", "timeout"});
  const auto apply = [&](const cli::flag& f) -> result<void> {
    const std::string_view flag = f.name;
    if (f.value && f.value->empty()) return cli::flag_error(flag, "needs a value");
    const std::string value(f.value.value_or(""));
    if (flag == "help" || flag == "json" || flag == "expect-drained" || flag == "no-dead") {
      (flag == "help"             ? o.help
       : flag == "json"           ? o.json
       : flag == "expect-drained" ? o.audit.expect_drained
                                  : o.audit.forbid_dead) = true;
    } else if (flag == "crm-url" || flag == "billing-url" || flag == "ledger") {
      (flag == "crm-url" ? o.crm_url : flag == "billing-url" ? o.billing_url : o.ledger_path) = value;
    } else if (flag == "bill-statuses") {
      return cli::set(o.audit.bill_statuses, parse_statuses(value));
    } else {  // timeout, the last of kinds' value flags
      auto seconds = cli::whole_number<unsigned>(flag, value, 1, 3600);
      if (!seconds) return seconds.error();
      o.timeout = std::chrono::seconds(*seconds);
    }
    return {};
  };
  if (auto read = cli::read_flags(args, kinds, apply); !read) return read.error();
  if (o.help) return o;
  if (o.crm_url.empty()) return cli::flag_error("crm-url", "is mandatory");
  if (o.billing_url.empty()) return cli::flag_error("billing-url", "is mandatory");
  if (o.ledger_path.empty()) return cli::flag_error("ledger", "is mandatory");
  return o;
}

std::string usage_text() {
  return "usage: sim-audit --crm-url URL --billing-url URL --ledger PATH [--bill-statuses S,...]\n"
         "                 [--expect-drained] [--no-dead] [--json] [--timeout SECONDS]\n"
         "\n"
         "Checks that crm-sim's state (GET /sim/state), billing-fake's state (GET /state) and a\n"
         "chargerecond ledger (opened read-only) agree exactly: every billed charge billed once\n"
         "with crm-sim's exact amount and acknowledged with its billing reference, the others\n"
         "acknowledged unbilled, PENDING charges untouched, held and dead charges unacknowledged.\n"
         "Run it when no chargerecond is working on these states.\n"
         "\n"
         "options:\n"
         "  --crm-url URL          crm-sim's root, e.g. http://127.0.0.1:18080 (http on loopback only)\n"
         "  --billing-url URL      billing-fake's root, e.g. http://127.0.0.1:18081\n"
         "  --ledger PATH          the ledger file (ledger.path)\n"
         "  --bill-statuses S,...  billing.bill_statuses (default APPROVED)\n"
         "  --expect-drained       the run is over: every processed charge must be acknowledged,\n"
         "                         held or dead, and crm-sim and the ledger must agree on every\n"
         "                         acknowledgement (without it, an acknowledgement whose answer was\n"
         "                         lost in flight is not a discrepancy)\n"
         "  --no-dead              no charge may be dead in the ledger (a run whose acknowledgement\n"
         "                         refusals all end before ack.max_attempts)\n"
         "  --json                 print one JSON object instead of the text report\n"
         "  --timeout SECONDS      per state fetch (default 30)\n"
         "  --help                 this text\n"
         "\n"
         "exit status: 0 exact agreement, 1 discrepancies (listed one per line), 2 usage error,\n"
         "unreachable simulator or unreadable ledger\n";
}

}  // namespace chargerecon::sim_audit
