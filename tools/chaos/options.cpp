#include "chaos/options.hpp"

#include <charconv>
#include <string_view>

namespace chargerecon::chaos {
namespace {

error bad_flag(std::string_view flag, std::string_view why) {
  return error{errc::invalid_argument, "--" + std::string(flag) + ": " + std::string(why)};
}

result<std::uint64_t> whole_number(std::string_view flag, std::string_view text, std::uint64_t min, std::uint64_t max) {
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || v < min || v > max)
    return bad_flag(flag, "'" + quote_peer_text(text, 40) + "' is not a whole number from " + std::to_string(min) +
                              " to " + std::to_string(max));
  return v;
}

}  // namespace

result<chaos_options> parse_options(const std::vector<std::string>& args) {
  chaos_options o;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (!arg.starts_with("--"))
      return error{errc::invalid_argument, "unexpected argument '" + quote_peer_text(arg, 80) + "'"};
    arg.remove_prefix(2);
    std::string_view flag = arg;
    std::optional<std::string> inline_value;
    if (const auto eq = arg.find('='); eq != std::string_view::npos) {
      flag = arg.substr(0, eq);
      inline_value = std::string(arg.substr(eq + 1));
    }
    if (flag == "help" || flag == "keep") {
      if (inline_value) return bad_flag(flag, "takes no value");
      (flag == "help" ? o.help : o.keep) = true;
      continue;
    }
    std::string value;
    if (inline_value)
      value = std::move(*inline_value);
    else if (i + 1 < args.size())
      value = args[++i];
    else
      return bad_flag(flag, "needs a value");

    const auto number = [&](std::uint64_t min, std::uint64_t max) { return whole_number(flag, value, min, max); };
    const auto path = [&](auto& into) -> result<void> {
      if (value.empty()) return bad_flag(flag, "is empty");
      into = std::filesystem::path(value);
      return {};
    };
    result<void> set;
    if (flag == "charges" || flag == "seed" || flag == "kills" || flag == "customers") {
      auto n = flag == "charges" ? number(1, 10'000'000)
               : flag == "seed"  ? number(0, UINT64_MAX)
               : flag == "kills" ? number(1, 100'000)
                                 : number(1, 9999);
      if (!n) return n.error();
      (flag == "charges" ? o.charges : flag == "seed" ? o.seed : flag == "kills" ? o.kills : o.customers) = *n;
    } else if (flag == "cycle-deadline" || flag == "stall" || flag == "drain-timeout") {
      auto n = number(1, 86'400);
      if (!n) return n.error();
      (flag == "cycle-deadline" ? o.cycle_deadline
       : flag == "stall"        ? o.stall
                                : o.drain_timeout) = std::chrono::seconds(*n);
    } else if (flag == "pending-ratio") {
      double p = 0;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), p);
      if (value.empty() || ec != std::errc{} || end != value.data() + value.size() || !(p >= 0 && p <= 0.5))
        return bad_flag(flag, "'" + quote_peer_text(value, 40) + "' is not a number from 0 to 0.5");
      o.pending_ratio = p;
    } else if (flag == "held-customers") {
      o.held_customers = value;  // "" for none; billing-fake checks the list's shape
    } else if (flag == "report") {
      set = path(o.report);
    } else if (flag == "chargerecond") {
      set = path(o.chargerecond);
    } else if (flag == "crm-sim") {
      set = path(o.crm_sim);
    } else if (flag == "billing-fake") {
      set = path(o.billing_fake);
    } else if (flag == "build") {
      set = path(o.build_dir);
    } else if (flag == "work-dir") {
      set = path(o.work_dir);
    } else {
      return error{errc::invalid_argument, "unknown flag --" + quote_peer_text(flag, 80)};
    }
    if (!set) return set.error();
  }
  if (o.stall >= o.cycle_deadline) return bad_flag("stall", "must be shorter than --cycle-deadline");
  return o;
}

std::string usage_text() {
  return R"(usage: chargerecon-chaos [--charges N] [--seed S] [--kills K] [--report FILE.json] [flags]

Runs chargerecond (continuous mode) against crm-sim and billing-fake with a hostile fault profile
on both, kills it with SIGKILL K times at seeded moments (during startup, listing, billing and
acknowledging) and restarts it each time; then turns the faults off, drains the backlog with
chargerecond --once, and checks the simulators' states and the ledger against each other
(sim-audit's rules, drained, no charge dead). Prints the figures: charges, kills survived,
restarts, faults injected by kind, wall time, discrepancies.

  --charges N            crm-sim's backlog (default 2000)
  --seed S               seed of the charges, the simulators' faults and the kill schedule (default 1)
  --kills K              SIGKILLs (default 50)
  --report FILE          also write the figures as JSON to FILE
  --held-customers LIST  billing-fake refuses these customers: their charges end held
                         (default C0007,C0013; "" for none)
  --customers N          customers the charges belong to (default 50)
  --pending-ratio P      share of charges that stay PENDING (default 0.05; at most 0.5)
  --cycle-deadline SEC   the longest one life of the daemon waits for its kill moment (default 60)
  --stall SEC            a kill moment whose counter stands still this long comes early (default 3)
  --drain-timeout SEC    limit of the final chargerecond --once (default 1800)
  --chargerecond PATH    the binaries (default: next to chargerecon-chaos, else the build tree
  --crm-sim PATH         given by --build, else the one chargerecon-chaos was built in)
  --billing-fake PATH
  --build DIR
  --work-dir DIR         where configs, ledger and logs go (default: a new directory in $TMPDIR)
  --keep                 keep the work directory when the run passes (it is always kept otherwise)
  --help                 this text

exit status: 0 no discrepancy, 1 discrepancies or a run that could not finish, 2 usage error
)";
}

}  // namespace chargerecon::chaos
