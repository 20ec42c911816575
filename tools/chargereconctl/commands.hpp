#pragma once
// chargereconctl's commands: each reads what it needs (configuration, secrets, the ledger,
// CRM.COM), applies the rules of reports.hpp and prints text or JSON. Every path ends in an
// exit status from cli.hpp and, on failure, one line on `err` saying what failed and what to do.

#include <functional>
#include <iosfwd>
#include <string>

#include "chargereconctl/cli.hpp"
#include "config/loader.hpp"
#include "ledger/timestamp.hpp"

namespace chargerecon::ctl {

struct context {
  std::ostream& out;
  std::ostream& err;
  std::istream& in;                        // `devices ... --file -`
  std::function<ledger::timestamp()> now;  // the ledger's clock for retry/release, ages, thresholds
  secret_env secrets;                      // where relative secret names are looked up
};

// Runs a parsed invocation (help included). Never throws for expected failures; the caller
// maps an escaping exception to exit_software.
int run(const invocation& inv, context& ctx);

// The exit status for a failed CRM.COM call: 78 credentials refused, 64 an argument the method
// cannot take, 1 CRM.COM answered and refused the call (a status other than OK, an HTTP 4xx),
// 69 otherwise (unreachable, timeouts, garbled answers, retries exhausted on those).
int crm_exit_status(const error& e);

// The exit status for a failed ledger operation: 1 unknown charge or a refused transition,
// 64 invalid_argument, 69 otherwise (cannot open, read or write it).
int ledger_exit_status(const error& e);

}  // namespace chargerecon::ctl
