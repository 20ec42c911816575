#pragma once
// chargereconctl's command line: a hand-written parser (no dependency) turning argv into one
// typed `invocation`, and every command's help text. Pure: the environment it reads ($SUDO_USER,
// $USER for --by) is passed in, so the rules are unit-tested without a process.
//
// Shape: chargereconctl [GLOBAL OPTIONS] COMMAND [SUBCOMMAND] [ARGUMENTS] [OPTIONS]
// Global options may also follow the command. --flag VALUE and --flag=VALUE both work; "--"
// ends the options (a charge number that starts with "--" can follow it).

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "crm/types.hpp"
#include "ledger/ledger.hpp"

namespace chargerecon::ctl {

// sysexits.h's values, spelled out: scripts depend on them.
inline constexpr int exit_ok = 0;
inline constexpr int exit_problems = 1;      // reconcile found disagreements, or an operation was refused
inline constexpr int exit_usage = 64;        // EX_USAGE
inline constexpr int exit_unavailable = 69;  // EX_UNAVAILABLE: the ledger or CRM.COM could not be used
inline constexpr int exit_software = 70;     // EX_SOFTWARE: a bug (an exception escaped)
inline constexpr int exit_config = 78;       // EX_CONFIG

inline constexpr std::string_view default_config_path = "/etc/chargerecon/chargerecon.yaml";

enum class command_id {
  none,  // no command: `chargereconctl --help` or a bare `chargereconctl`
  status,
  list,
  show,
  retry,
  release,
  export_charges,
  reconcile,
  promotions,
  subscription_show,
  subscription_create,
  subscription_suspend,
  subscription_unsuspend,
  devices_register,
  devices_unregister,
};

// "subscription show", "export", ...
std::string_view command_name(command_id id);

enum class export_format { csv, jsonl };

struct global_options {
  std::string config_path{default_config_path};
  bool config_given = false;               // --config was on the command line
  std::optional<std::string> ledger_path;  // --ledger: overrides ledger.path
  bool json = false;
  bool verbose = false;  // the CRM.COM client's info events (logins) on stderr, not just warnings
};

// A date range from --since / --until: [from, until). A date alone covers its whole day, so
// "--since 2026-01-01 --until 2026-01-31" is all of January; a date and time is an instant.
struct date_range {
  std::optional<ledger::timestamp> from;
  std::optional<ledger::timestamp> until;
};

struct invocation {
  global_options global;
  command_id command = command_id::none;
  bool help = false;

  // list (filter.limit: --limit, default 100), export (the date range only)
  ledger::charge_filter filter;
  // show, retry, release
  std::string number;
  // retry, release
  std::string reason;
  std::string by;
  // export
  export_format format = export_format::csv;
  // reconcile
  std::chrono::milliseconds older_than{std::chrono::hours(1)};
  bool with_crm = false;
  // subscription show
  crm::subscription_query query;
  // subscription create
  crm::subscription_create_request create;
  // subscription suspend / unsuspend
  std::string customer;
  // devices register / unregister
  crm::group_identifier group;
  std::string esn_file;
};

// Where --by's default comes from: the person behind sudo first, then the login user.
struct cli_env {
  std::string sudo_user;  // $SUDO_USER
  std::string user;       // $USER
};

// `args` without the program name. Errors: errc::invalid_argument with a diagnostic naming the
// flag or word and what to do instead; the caller prints it with usage_line() and exits 64.
result<invocation> parse_command_line(const std::vector<std::string>& args, const cli_env& env);

// The command the leading words of `args` name, even when the rest does not parse (for the
// synopsis after a usage error); none when they name no command.
command_id command_named(const std::vector<std::string>& args);

// The one-line synopsis of a command (command_id::none: the list of commands).
std::string usage_line(command_id id);
// The full help of a command (command_id::none: the overview with exit codes).
std::string help_text(command_id id);

// "2026-01-31" (a whole day, UTC), "2026-01-31T10:00:00" or "2026-01-31T10:00:00Z" (UTC), or a
// ledger timestamp "2026-01-31T10:00:00.000Z". `end_of_day` picks the end of a bare date's day
// (the exclusive bound of --until). nullopt for anything else.
std::optional<ledger::timestamp> parse_date_arg(std::string_view text, bool end_of_day);

}  // namespace chargerecon::ctl
