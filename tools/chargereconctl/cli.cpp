#include "chargereconctl/cli.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <map>

#include "common/command_line.hpp"
#include "config/loader.hpp"

namespace chargerecon::ctl {
namespace {

using namespace std::chrono;

struct option_spec {
  std::string_view name;  // without the leading "--"
  bool takes_value = false;
};

struct command_spec {
  command_id id;
  std::string_view word;     // "subscription" for every subscription command
  std::string_view subword;  // "show"; empty for a one-word command
  std::size_t positionals = 0;
  std::vector<option_spec> options;
  std::string_view synopsis;
  std::string_view help;
};

const std::vector<option_spec> global_option_specs{
    {"config", true}, {"ledger", true}, {"json", false}, {"verbose", false}, {"help", false},
};

const std::vector<command_spec>& commands() {
  static const std::vector<command_spec> table{
      {command_id::status,
       "status",
       "",
       0,
       {},
       "chargereconctl status [--json]",
       "Counts of charges by state, the oldest unfinished charge and its age, and the ledger's\n"
       "last activity (the newest change to any charge). Reads the ledger read-only: safe while\n"
       "chargerecond runs.\n"},
      {command_id::list,
       "list",
       "",
       0,
       {{"state", true}, {"customer", true}, {"status", true}, {"since", true}, {"until", true}, {"limit", true}},
       "chargereconctl list [--state S] [--customer C] [--status ST] [--since DATE] [--until DATE]\n"
       "                    [--limit N] [--json]",
       "Charges, oldest first, filtered by every option given:\n"
       "  --state S      pending, seen, billing, billed, ack_pending, acknowledged, held, dead\n"
       "  --customer C   billing_system_customer_identifier, exactly\n"
       "  --status ST    CRM.COM's charge_status, exactly (APPROVED, DECLINED, PENDING, ...)\n"
       "  --since DATE   first seen at or after DATE (UTC; a date alone: from its start)\n"
       "  --until DATE   first seen before DATE (UTC; a date alone: to the end of that day)\n"
       "  --limit N      at most N charges (default 100)\n"
       "DATE: 2026-01-31, 2026-01-31T10:00:00 or 2026-01-31T10:00:00Z.\n"},
      {command_id::show,
       "show",
       "",
       1,
       {},
       "chargereconctl show NUMBER [--json]",
       "One charge, as the ledger holds it (the charge object CRM.COM sent included), and its\n"
       "audit trail: every event recorded for it, oldest first, with who acted and why.\n"},
      {command_id::retry,
       "retry",
       "",
       1,
       {{"reason", true}, {"by", true}},
       "chargereconctl retry NUMBER --reason TEXT [--by NAME] [--json]",
       "Re-queues a charge waiting for a person: a held charge goes back to billing (posted again\n"
       "under the same Idempotency-Key, so billing cannot bill it twice), a dead one goes back to\n"
       "waiting for its acknowledgement with its attempts reset. The running daemon picks it up\n"
       "on its next round. Audited with NAME (default $SUDO_USER, else $USER) and TEXT.\n"
       "Refused (exit 1) when the charge is in any other state.\n"},
      {command_id::release,
       "release",
       "",
       1,
       {{"reason", true}, {"by", true}},
       "chargereconctl release NUMBER --reason TEXT [--by NAME] [--json]",
       "Gives up on billing a held charge: it is acknowledged to CRM.COM without a billing\n"
       "reference, never billed. The reason is mandatory and audited with NAME (default\n"
       "$SUDO_USER, else $USER). Refused (exit 1) unless the charge is held.\n"},
      {command_id::export_charges,
       "export",
       "",
       0,
       {{"since", true}, {"until", true}, {"format", true}},
       "chargereconctl export --since DATE --until DATE [--format csv|jsonl]",
       "Every charge first seen in [--since, --until), oldest first, for finance: number,\n"
       "customer, status, amount (CRM.COM's exact text), currency, state, billing_reference,\n"
       "first_seen, billed_at, acknowledged_at (UTC, ISO 8601). csv (default): RFC 4180, a\n"
       "header line, CRLF line ends; jsonl: one JSON object per line, amounts as strings.\n"
       "A summary with exact totals per currency goes to stderr.\n"
       "DATE: 2026-01-31 (a date alone covers its whole day), 2026-01-31T10:00:00[Z].\n"},
      {command_id::reconcile,
       "reconcile",
       "",
       0,
       {{"older-than", true}, {"with-crm", false}},
       "chargereconctl reconcile [--older-than DURATION] [--with-crm] [--json]",
       "Reports every disagreement, one per line, and exits 1 when there is any:\n"
       "  not_billed                billable, not billed DURATION after it was first seen\n"
       "  billed_not_acknowledged   billed more than DURATION ago, still not acknowledged\n"
       "  ack_overdue               not billable (or released), unacknowledged after DURATION\n"
       "  billed_without_reference  billed or acknowledged as billed, but no billing reference\n"
       "  acknowledged_unbilled     billable, acknowledged without a reference, never released\n"
       "  billed_not_billable       has a billing reference, but its status is not billable\n"
       "  held, dead                waiting for a person (retry or release)\n"
       "With --with-crm, also a complete pass of charges/list (PROCESSED; nothing acknowledged):\n"
       "  crm_unknown               CRM.COM lists it, the ledger does not know it (charges that\n"
       "                            CRM.COM received less than DURATION ago are not judged)\n"
       "  crm_lists_acknowledged    CRM.COM still lists a charge the ledger has acknowledged\n"
       "  crm_left_list             the ledger still owes work on it, CRM.COM no longer lists it\n"
       "                            (acknowledged elsewhere, or an answer lost: check it by hand)\n"
       "  crm_malformed             a listed charge we cannot read\n"
       "  crm_pass_incomplete       the pass could not finish; crm_left_list was not judged\n"
       "--older-than: 500ms, 30s, 5m, 1h (default 1h). Amounts at stake are totalled exactly\n"
       "per currency.\n"},
      {command_id::promotions,
       "promotions",
       "",
       0,
       {},
       "chargereconctl promotions [--json]",
       "The netflix promotions CRM.COM offers (promotions/list).\n"},
      {command_id::subscription_show,
       "subscription",
       "show",
       0,
       {{"customer", true}, {"netflix-id", true}},
       "chargereconctl subscription show --customer C | --netflix-id ID [--json]",
       "A customer's netflix subscriptions (subscriptions/show), by billing customer identifier\n"
       "or by netflix customer identifier.\n"},
      {command_id::subscription_create,
       "subscription",
       "create",
       0,
       {{"customer", true},
        {"promotion", true},
        {"channel", true},
        {"validity", true},
        {"first-name", true},
        {"last-name", true},
        {"email", true},
        {"phone", true}},
       "chargereconctl subscription create --customer C [--promotion P] [--channel CH]\n"
       "                    [--validity SECONDS] [--first-name N] [--last-name N] [--email E]\n"
       "                    [--phone P] [--json]",
       "Starts a netflix sign-up for a customer (subscriptions/create) and prints the netflix\n"
       "token and sign-up URL to send the customer to.\n"
       "  --channel CH        WEB, STORE, MOBILE, BROADBAND or OTHER\n"
       "  --validity SECONDS  how long the sign-up token is valid, 1..86400 (or 30m, 1h ...)\n"
       "This call is not idempotent: if it fails after the request was sent (a timeout), check\n"
       "with `subscription show` before repeating it.\n"},
      {command_id::subscription_suspend,
       "subscription",
       "suspend",
       0,
       {{"customer", true}},
       "chargereconctl subscription suspend --customer C [--json]",
       "Suspends a customer's netflix subscription (subscriptions/suspend).\n"},
      {command_id::subscription_unsuspend,
       "subscription",
       "unsuspend",
       0,
       {{"customer", true}},
       "chargereconctl subscription unsuspend --customer C [--json]",
       "Lifts a suspension (subscriptions/unsuspend).\n"},
      {command_id::devices_register,
       "devices",
       "register",
       0,
       {{"group-name", true}, {"group-id", true}, {"group-code", true}, {"file", true}},
       "chargereconctl devices register (--group-name G | --group-id ID | --group-code CODE)\n"
       "                    --file ESNS.txt [--json]",
       "Registers devices with the operator's group (operators/register_devices). The file holds\n"
       "one ESN per line (blank lines and surrounding spaces ignored; \"-\" reads stdin); they\n"
       "are sent 1000 per call. ESNs CRM.COM refused are printed, one per line, and the exit\n"
       "status is 1 when there is any. Repeating the whole command is safe.\n"},
      {command_id::devices_unregister,
       "devices",
       "unregister",
       0,
       {{"group-name", true}, {"group-id", true}, {"group-code", true}, {"file", true}},
       "chargereconctl devices unregister (--group-name G | --group-id ID | --group-code CODE)\n"
       "                    --file ESNS.txt [--json]",
       "Unregisters devices (operators/unregister_devices); otherwise as `devices register`.\n"},
  };
  return table;
}

const command_spec* find_command(command_id id) {
  for (const auto& c : commands())
    if (c.id == id) return &c;
  return nullptr;
}

error usage(std::string text) { return error{errc::invalid_argument, std::move(text)}; }
using cli::flag_error;

std::string quoted(std::string_view text) { return "'" + quote_peer_text(text, 80) + "'"; }

const option_spec* find_option(const std::vector<option_spec>& specs, std::string_view name) {
  for (const auto& s : specs)
    if (s.name == name) return &s;
  return nullptr;
}

std::string upper(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// What the generic pass collects before the command's own rules apply.
struct raw_command {
  const command_spec* spec = nullptr;
  std::vector<std::string> positionals;
  std::map<std::string, std::string, std::less<>> values;  // option -> value ("" for a flag)
};

result<void> apply_global(invocation& inv, std::string_view name, const std::string& value) {
  if (name == "config") {
    inv.global.config_path = value;
    inv.global.config_given = true;
  } else if (name == "ledger") {
    inv.global.ledger_path = value;
  } else if (name == "json") {
    inv.global.json = true;
  } else if (name == "verbose") {
    inv.global.verbose = true;
  } else if (name == "help") {
    inv.help = true;
  }
  return {};
}

std::optional<std::string> value_of(const raw_command& raw, std::string_view name) {
  const auto it = raw.values.find(name);
  if (it == raw.values.end()) return std::nullopt;
  return it->second;
}

result<date_range> parse_range(const raw_command& raw, bool mandatory) {
  date_range r;
  for (const auto name : {std::string_view("since"), std::string_view("until")}) {
    const auto v = value_of(raw, name);
    if (!v) {
      if (mandatory) return flag_error(name, "is mandatory (a date like 2026-01-31, UTC)");
      continue;
    }
    const bool until = name == "until";
    const auto t = parse_date_arg(*v, until);
    if (!t)
      return flag_error(
          name, quoted(*v) + " is not a date: give 2026-01-31, 2026-01-31T10:00:00 or 2026-01-31T10:00:00Z (UTC)");
    (until ? r.until : r.from) = *t;
  }
  if (r.from && r.until && *r.from >= *r.until)
    return usage("--since must be before --until (a date alone as --until covers its whole day)");
  return r;
}

result<std::string> mandatory_text(const raw_command& raw, std::string_view name, std::string_view what) {
  const auto v = value_of(raw, name);
  if (!v) return flag_error(name, std::string("is mandatory: ") + std::string(what));
  return *v;
}

// The command's own rules, on what the generic pass collected.
result<void> convert(invocation& inv, const raw_command& raw, const cli_env& env) {
  const auto number_arg = [&]() -> result<void> {
    if (raw.positionals.empty())
      return usage(std::string(command_name(inv.command)) + " needs the charge NUMBER (see `chargereconctl list`)");
    inv.number = raw.positionals.front();
    return {};
  };
  const auto person = [&]() -> result<void> {
    auto reason = mandatory_text(raw, "reason", "say why, for the audit trail");
    if (!reason) return reason.error();
    inv.reason = std::move(*reason);
    if (auto by = value_of(raw, "by")) {
      inv.by = *by;
    } else {
      inv.by = !env.sudo_user.empty() ? env.sudo_user : env.user;
      if (inv.by.empty()) return flag_error("by", "is needed: neither $SUDO_USER nor $USER is set; give --by NAME");
    }
    return {};
  };
  const auto customer = [&]() -> result<std::string> {
    return mandatory_text(raw, "customer", "the billing_system_customer_identifier");
  };

  switch (inv.command) {
    case command_id::none:
    case command_id::status:
    case command_id::promotions:
      return {};
    case command_id::list: {
      if (auto s = value_of(raw, "state")) {
        const auto state = ledger::parse_charge_state(*s);
        if (!state)
          return flag_error("state", quoted(*s) +
                                         " is not a state: pending, seen, billing, billed, ack_pending, acknowledged, "
                                         "held or dead");
        inv.filter.state = *state;
      }
      if (auto c = value_of(raw, "customer")) inv.filter.customer = *c;
      if (auto s = value_of(raw, "status")) inv.filter.status = *s;
      auto range = parse_range(raw, false);
      if (!range) return range.error();
      inv.filter.first_seen_from = range->from;
      inv.filter.first_seen_until = range->until;
      if (auto l = value_of(raw, "limit"))
        return cli::set(inv.filter.limit, cli::whole_number<std::size_t>("limit", *l, 1, 1'000'000));
      return {};
    }
    case command_id::show:
      return number_arg();
    case command_id::retry:
    case command_id::release: {
      if (auto r = number_arg(); !r) return r;
      return person();
    }
    case command_id::export_charges: {
      auto range = parse_range(raw, true);
      if (!range) return range.error();
      inv.filter.first_seen_from = range->from;
      inv.filter.first_seen_until = range->until;
      if (auto f = value_of(raw, "format")) {
        if (*f == "csv")
          inv.format = export_format::csv;
        else if (*f == "jsonl")
          inv.format = export_format::jsonl;
        else
          return flag_error("format", quoted(*f) + " is not a format: csv or jsonl");
      }
      return {};
    }
    case command_id::reconcile: {
      if (auto d = value_of(raw, "older-than")) {
        const auto parsed = parse_duration(*d);
        if (!parsed || parsed->count() <= 0)
          return flag_error("older-than", quoted(*d) + " is not a duration: a whole number and a unit, like 30m or 1h");
        inv.older_than = *parsed;
      }
      inv.with_crm = raw.values.contains("with-crm");
      return {};
    }
    case command_id::subscription_show: {
      const auto c = value_of(raw, "customer");
      const auto n = value_of(raw, "netflix-id");
      if (c.has_value() == n.has_value())
        return usage("subscription show needs exactly one of --customer C and --netflix-id ID");
      inv.query.key = c ? crm::subscription_query::by::billing_system_customer_identifier
                        : crm::subscription_query::by::netflix_customer_identifier;
      inv.query.value = c ? *c : *n;
      return {};
    }
    case command_id::subscription_create: {
      auto c = customer();
      if (!c) return c.error();
      inv.create.customer = std::move(*c);
      inv.create.promotion_code = value_of(raw, "promotion");
      if (auto ch = value_of(raw, "channel")) {
        static constexpr std::array<std::pair<std::string_view, crm::channel>, 5> channels{{
            {"WEB", crm::channel::web},
            {"STORE", crm::channel::store},
            {"MOBILE", crm::channel::mobile},
            {"BROADBAND", crm::channel::broadband},
            {"OTHER", crm::channel::other},
        }};
        const auto wanted = upper(*ch);
        const auto it =
            std::ranges::find(channels, std::string_view(wanted), &std::pair<std::string_view, crm::channel>::first);
        if (it == channels.end())
          return flag_error("channel", quoted(*ch) + " is not WEB, STORE, MOBILE, BROADBAND or OTHER");
        inv.create.channel = it->second;
      }
      if (auto v = value_of(raw, "validity")) {
        const auto d = cli::parse_duration(*v, seconds(1));
        if (!d || d->count() <= 0 || d->count() % 1000 != 0 || *d > crm::max_validity_duration)
          return flag_error("validity", quoted(*v) + " must be whole seconds from 1 to 86400 (or 30m, 1h ...)");
        inv.create.validity_duration = duration_cast<seconds>(*d);
      }
      inv.create.first_name = value_of(raw, "first-name");
      inv.create.last_name = value_of(raw, "last-name");
      if (auto e = value_of(raw, "email")) inv.create.email = crm::customer_email{std::nullopt, *e, std::nullopt};
      if (auto p = value_of(raw, "phone")) {
        crm::customer_phone phone;
        phone.number = *p;
        inv.create.phone = std::move(phone);
      }
      return {};
    }
    case command_id::subscription_suspend:
    case command_id::subscription_unsuspend: {
      auto c = customer();
      if (!c) return c.error();
      inv.customer = std::move(*c);
      return {};
    }
    case command_id::devices_register:
    case command_id::devices_unregister: {
      int given = 0;
      for (const auto& [flag, key] : {std::pair{"group-name", crm::group_identifier::by::name},
                                      std::pair{"group-id", crm::group_identifier::by::id},
                                      std::pair{"group-code", crm::group_identifier::by::alternative_code}}) {
        if (auto v = value_of(raw, flag)) {
          ++given;
          inv.group = crm::group_identifier{key, *v};
        }
      }
      if (given != 1) return usage("give exactly one of --group-name, --group-id and --group-code");
      auto f = mandatory_text(raw, "file", "a file with one ESN per line (\"-\" for stdin)");
      if (!f) return f.error();
      inv.esn_file = std::move(*f);
      return {};
    }
  }
  return {};
}

}  // namespace

std::string_view command_name(command_id id) {
  switch (id) {
    case command_id::none:
      return "chargereconctl";
    case command_id::status:
      return "status";
    case command_id::list:
      return "list";
    case command_id::show:
      return "show";
    case command_id::retry:
      return "retry";
    case command_id::release:
      return "release";
    case command_id::export_charges:
      return "export";
    case command_id::reconcile:
      return "reconcile";
    case command_id::promotions:
      return "promotions";
    case command_id::subscription_show:
      return "subscription show";
    case command_id::subscription_create:
      return "subscription create";
    case command_id::subscription_suspend:
      return "subscription suspend";
    case command_id::subscription_unsuspend:
      return "subscription unsuspend";
    case command_id::devices_register:
      return "devices register";
    case command_id::devices_unregister:
      return "devices unregister";
  }
  return "?";
}

result<invocation> parse_command_line(const std::vector<std::string>& args, const cli_env& env) {
  invocation inv;
  raw_command raw;
  bool options_ended = false;
  bool help_word = false;  // `chargereconctl help [COMMAND...]`
  std::vector<std::string> words;

  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (options_ended || arg.size() < 2 || !arg.starts_with("--")) {
      if (arg.starts_with("-") && arg.size() > 1 && !options_ended) {
        if (arg == "-h") {
          inv.help = true;
          continue;
        }
        return usage("unknown option " + quoted(arg) + ": options are spelled --name");
      }
      // Words pick the command until it is complete; after that they are its arguments.
      if (!raw.spec) {
        if (words.empty() && arg == "help") {
          help_word = true;
          continue;
        }
        words.push_back(arg);
        const command_spec* exact = nullptr;
        bool prefix = false;
        for (const auto& c : commands()) {
          if (c.word != words.front()) continue;
          if (c.subword.empty() && words.size() == 1) exact = &c;
          if (!c.subword.empty() && words.size() == 1) prefix = true;
          if (!c.subword.empty() && words.size() == 2 && c.subword == words[1]) exact = &c;
        }
        if (exact) {
          raw.spec = exact;
          inv.command = exact->id;
        } else if (!prefix) {
          if (words.size() == 2)
            return usage("'" + words[0] + "' has no subcommand " + quoted(words[1]) + "; see `chargereconctl --help`");
          return usage("unknown command " + quoted(arg) + "; see `chargereconctl --help`");
        }
        continue;
      }
      if (raw.positionals.size() >= raw.spec->positionals)
        return usage("unexpected argument " + quoted(arg) + " for " + std::string(command_name(inv.command)));
      raw.positionals.push_back(arg);
      continue;
    }
    if (arg == "--") {
      options_ended = true;
      continue;
    }
    const auto name = cli::flag_name(arg);
    const option_spec* spec = find_option(global_option_specs, name);
    const bool global = spec != nullptr;
    if (!spec && raw.spec) spec = find_option(raw.spec->options, name);
    if (!spec) {
      if (!raw.spec && !words.empty())
        return usage("'" + words[0] + "' needs a subcommand before its options; see `chargereconctl --help`");
      if (!raw.spec) return usage("unknown option --" + quote_peer_text(name, 40) + " before the command");
      return usage("unknown option --" + quote_peer_text(name, 40) + " for " + std::string(command_name(inv.command)) +
                   "; see `chargereconctl " + std::string(command_name(inv.command)) + " --help`");
    }
    auto given = cli::read_flag(args, i, spec->takes_value ? cli::flag_kind::value_flag : cli::flag_kind::switch_flag);
    if (!given) return given.error();
    const std::string value(given->value.value_or(""));
    if (given->value && value.empty()) return flag_error(name, "needs a non-empty value");
    if (global) {
      if (auto r = apply_global(inv, name, value); !r) return r.error();
      continue;
    }
    if (!raw.values.emplace(std::string(name), value).second) return flag_error(name, "is given twice");
  }

  if (help_word) inv.help = true;
  // `subscription --help`: the overview names the subcommands.
  if (inv.help) return inv;
  if (!raw.spec && !words.empty()) return usage("'" + words[0] + "' needs a subcommand; see `chargereconctl --help`");
  if (inv.command == command_id::none) return usage("no command given");
  if (raw.positionals.size() < raw.spec->positionals)
    return usage(std::string(command_name(inv.command)) + " needs the charge NUMBER (see `chargereconctl list`)");
  if (auto r = convert(inv, raw, env); !r) return r.error();
  return inv;
}

command_id command_named(const std::vector<std::string>& args) {
  std::vector<std::string> words;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto& a = args[i];
    if (a == "--config" || a == "--ledger") ++i;  // their value is no command word
    if (a.starts_with("-")) continue;
    words.push_back(a);
    if (words.size() == 2) break;
  }
  for (const auto& c : commands()) {
    if (words.empty() || c.word != words[0]) continue;
    if (c.subword.empty() || (words.size() == 2 && c.subword == words[1])) return c.id;
  }
  return command_id::none;
}

std::string usage_line(command_id id) {
  if (const auto* c = find_command(id)) return "usage: " + std::string(c->synopsis) + "\n";
  std::string out = "usage: chargereconctl [--config FILE] [--ledger PATH] [--json] [--verbose] COMMAND ...\n";
  out += "commands: status, list, show, retry, release, export, reconcile, promotions,\n";
  out += "          subscription show|create|suspend|unsuspend, devices register|unregister\n";
  out += "`chargereconctl COMMAND --help` describes one.\n";
  return out;
}

std::string help_text(command_id id) {
  if (const auto* c = find_command(id)) {
    return "usage: " + std::string(c->synopsis) + "\n\n" + std::string(c->help) +
           "\nglobal options: --config FILE, --ledger PATH, --json, --verbose (see chargereconctl --help)\n";
  }
  std::string out =
      "usage: chargereconctl [GLOBAL OPTIONS] COMMAND [ARGUMENTS] [OPTIONS]\n"
      "\n"
      "The operator's tool for chargerecon: the ledger (read safely while chargerecond runs) and\n"
      "CRM.COM's netflix calls.\n"
      "\n"
      "ledger commands:\n";
  for (const auto& c : commands()) {
    if (c.id == command_id::promotions) out += "\nCRM.COM commands:\n";
    out += "  " + std::string(c.synopsis) + "\n";
  }
  out +=
      "\n"
      "global options:\n"
      "  --config FILE  chargerecond's configuration (default /etc/chargerecon/chargerecon.yaml):\n"
      "                 ledger.path, billing.bill_statuses and the crm section. Secret files named\n"
      "                 there are read as the daemon reads them: set CREDENTIALS_DIRECTORY to\n"
      "                 the directory holding crm-password (or crm-web-api-key) when they are\n"
      "                 not given as absolute paths.\n"
      "  --ledger PATH  the ledger file, instead of ledger.path. With --ledger and no --config,\n"
      "                 ledger commands read no configuration (bill_statuses: APPROVED).\n"
      "  --json         one JSON document on stdout instead of text, for scripts\n"
      "  --verbose      the CRM.COM client's info events (logins) on stderr as well\n"
      "  --help         help; `chargereconctl COMMAND --help` for a command\n"
      "\n"
      "Reading commands open the ledger read-only; retry and release write short transactions\n"
      "next to the running daemon; neither takes the daemon's lock.\n"
      "\n"
      "exit status: 0 ok; 1 reconcile found disagreements, or an operation was refused (retry or\n"
      "release in the wrong state, an unknown charge, ESNs refused, CRM.COM refusing a call);\n"
      "64 usage error; 69 the ledger or CRM.COM could not be used (missing file, unreachable,\n"
      "busy); 70 internal error; 78 configuration error (unreadable or invalid configuration,\n"
      "missing secret, CRM.COM refusing the credentials).\n";
  return out;
}

std::optional<ledger::timestamp> parse_date_arg(std::string_view text, bool end_of_day) {
  if (auto exact = ledger::parse_timestamp(text)) return exact;
  std::string_view rest = text;
  if (rest.ends_with('Z')) rest.remove_suffix(1);
  const auto digits = [](std::string_view s) {
    return !s.empty() && std::ranges::all_of(s, [](char c) { return c >= '0' && c <= '9'; });
  };
  if (rest.size() != 10 && rest.size() != 19) return std::nullopt;
  if (rest.size() == 10 && rest.size() != text.size()) return std::nullopt;  // "2026-01-31Z"
  if (!digits(rest.substr(0, 4)) || rest[4] != '-' || !digits(rest.substr(5, 2)) || rest[7] != '-' ||
      !digits(rest.substr(8, 2)))
    return std::nullopt;
  const auto num = [&](std::size_t pos, std::size_t len) {
    int v = 0;
    for (std::size_t i = pos; i < pos + len; ++i) v = v * 10 + (rest[i] - '0');
    return v;
  };
  const year_month_day ymd{year{num(0, 4)}, month{static_cast<unsigned>(num(5, 2))},
                           day{static_cast<unsigned>(num(8, 2))}};
  if (!ymd.ok()) return std::nullopt;
  const ledger::timestamp midnight{sys_days{ymd}};
  if (rest.size() == 10) return end_of_day ? midnight + days(1) : midnight;
  if (rest[10] != 'T' || !digits(rest.substr(11, 2)) || rest[13] != ':' || !digits(rest.substr(14, 2)) ||
      rest[16] != ':' || !digits(rest.substr(17, 2)))
    return std::nullopt;
  const int h = num(11, 2), m = num(14, 2), s = num(17, 2);
  if (h > 23 || m > 59 || s > 59) return std::nullopt;
  return midnight + hours(h) + minutes(m) + seconds(s);
}

}  // namespace chargerecon::ctl
