#include "sim-audit/options.hpp"

#include <algorithm>
#include <charconv>
#include <optional>
#include <string_view>

#include "ledger/charge_state.hpp"

namespace chargerecon::sim_audit {
namespace {

error bad(std::string_view flag, std::string_view why) {
  return error{errc::invalid_argument, "--" + std::string(flag) + ": " + std::string(why)};
}

result<std::vector<std::string>> parse_statuses(std::string_view text) {
  std::vector<std::string> out;
  while (true) {
    const auto comma = text.find(',');
    const auto item = text.substr(0, comma);
    if (item.empty()) return bad("bill-statuses", "an empty status in the list");
    if (std::ranges::find(ledger::processed_statuses, item) == std::end(ledger::processed_statuses))
      return bad("bill-statuses", "'" + quote_peer_text(item, 40) +
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
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (!arg.starts_with("--"))
      return error{errc::invalid_argument, "unexpected argument '" + quote_peer_text(arg, 80) + "'"};
    arg.remove_prefix(2);
    std::optional<std::string> inline_value;
    if (const auto eq = arg.find('='); eq != std::string_view::npos) {
      inline_value = std::string(arg.substr(eq + 1));
      arg = arg.substr(0, eq);
    }
    const auto flag_only = [&]() -> result<void> {
      if (inline_value) return bad(arg, "takes no value");
      return {};
    };
    const auto value = [&]() -> result<std::string> {
      if (inline_value) {
        if (inline_value->empty()) return bad(arg, "needs a value");
        return *inline_value;
      }
      if (i + 1 >= args.size() || args[i + 1].empty()) return bad(arg, "needs a value");
      return args[++i];
    };

    if (arg == "help") {
      if (auto r = flag_only(); !r) return r.error();
      o.help = true;
    } else if (arg == "json") {
      if (auto r = flag_only(); !r) return r.error();
      o.json = true;
    } else if (arg == "expect-drained") {
      if (auto r = flag_only(); !r) return r.error();
      o.audit.expect_drained = true;
    } else if (arg == "no-dead") {
      if (auto r = flag_only(); !r) return r.error();
      o.audit.forbid_dead = true;
    } else if (arg == "crm-url" || arg == "billing-url" || arg == "ledger") {
      auto v = value();
      if (!v) return v.error();
      (arg == "crm-url" ? o.crm_url : arg == "billing-url" ? o.billing_url : o.ledger_path) = std::move(*v);
    } else if (arg == "bill-statuses") {
      auto v = value();
      if (!v) return v.error();
      auto statuses = parse_statuses(*v);
      if (!statuses) return statuses.error();
      o.audit.bill_statuses = std::move(*statuses);
    } else if (arg == "timeout") {
      auto v = value();
      if (!v) return v.error();
      unsigned seconds = 0;
      const auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), seconds);
      if (ec != std::errc{} || end != v->data() + v->size() || seconds == 0 || seconds > 3600)
        return bad(arg, "must be a whole number of seconds from 1 to 3600");
      o.timeout = std::chrono::seconds(seconds);
    } else {
      return error{errc::invalid_argument, "unknown flag --" + quote_peer_text(arg, 80)};
    }
  }
  if (o.help) return o;
  if (o.crm_url.empty()) return bad("crm-url", "is mandatory");
  if (o.billing_url.empty()) return bad("billing-url", "is mandatory");
  if (o.ledger_path.empty()) return bad("ledger", "is mandatory");
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
