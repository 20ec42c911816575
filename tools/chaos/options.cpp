#include "chaos/options.hpp"

#include <string_view>

#include "common/command_line.hpp"

namespace chargerecon::chaos {

result<chaos_options> parse_options(const std::vector<std::string>& args) {
  chaos_options o;
  const auto kinds =
      cli::known_flags({"help", "keep"}, {"charges", "seed", "kills", "customers", "cycle-deadline", "stall",
                                          "drain-timeout", "pending-ratio", "held-customers", "report", "chargerecond",
                                          "crm-sim", "billing-fake", "build", "work-dir"});
  const auto apply = [&](const cli::flag& f) -> result<void> {
    const std::string_view flag = f.name;
    const std::string value(f.value.value_or(""));
    const auto number = [&](std::uint64_t min, std::uint64_t max) { return cli::whole_number(flag, value, min, max); };
    const auto path = [&](auto& into) -> result<void> {
      if (value.empty()) return cli::flag_error(flag, "is empty");
      into = std::filesystem::path(value);
      return {};
    };
    if (flag == "help" || flag == "keep") {
      (flag == "help" ? o.help : o.keep) = true;
    } else if (flag == "charges" || flag == "seed" || flag == "kills" || flag == "customers") {
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
      return cli::set(o.pending_ratio, cli::number(flag, value, 0, 0.5));
    } else if (flag == "held-customers") {
      o.held_customers = value;  // "" for none; billing-fake checks the list's shape
    } else if (flag == "report") {
      return path(o.report);
    } else if (flag == "chargerecond") {
      return path(o.chargerecond);
    } else if (flag == "crm-sim") {
      return path(o.crm_sim);
    } else if (flag == "billing-fake") {
      return path(o.billing_fake);
    } else if (flag == "build") {
      return path(o.build_dir);
    } else {  // work-dir, the last of kinds' value flags
      return path(o.work_dir);
    }
    return {};
  };
  if (auto read = cli::read_flags(args, kinds, apply); !read) return read.error();
  if (o.stall >= o.cycle_deadline) return cli::flag_error("stall", "must be shorter than --cycle-deadline");
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
