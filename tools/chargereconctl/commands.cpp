#include "chargereconctl/commands.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <fstream>
#include <istream>
#include <map>
#include <memory>
#include <ostream>
#include <unordered_set>

#include "chargereconctl/crm_session.hpp"
#include "chargereconctl/reports.hpp"
#include "ledger/sqlite_ledger.hpp"

namespace chargerecon::ctl {
namespace {

using namespace std::chrono;
namespace json = boost::json;
using ledger::charge_record;
using ledger::charge_state;

// Reads of the whole ledger go page by page so memory stays bounded by what a command keeps.
constexpr std::size_t scan_page = 1000;

// ---- set-up -------------------------------------------------------------------------------

bool is_crm_command(command_id id) {
  switch (id) {
    case command_id::promotions:
    case command_id::subscription_show:
    case command_id::subscription_create:
    case command_id::subscription_suspend:
    case command_id::subscription_unsuspend:
    case command_id::devices_register:
    case command_id::devices_unregister:
      return true;
    default:
      return false;
  }
}

int fail(context& ctx, int status, std::string_view what) {
  ctx.err << "chargereconctl: " << what << "\n";
  return status;
}

// What every command starts from: the configuration when it needs one, the ledger's path and
// the rules the ledger applies.
struct setup {
  std::optional<config> cfg;
  std::string ledger_path;
  std::vector<std::string> bill_statuses{"APPROVED"};
};

// nullopt after printing the problems (exit 78).
std::optional<setup> load_setup(const invocation& inv, context& ctx, bool needs_crm) {
  setup s;
  const bool needs_config = needs_crm || inv.global.config_given || !inv.global.ledger_path;
  if (needs_config) {
    auto loaded = load_config(inv.global.config_path);
    if (!loaded) {
      for (const auto& p : loaded.error().problems) ctx.err << "chargereconctl: " << p.to_string() << "\n";
      ctx.err << "chargereconctl: fix the configuration, or name another with --config FILE"
              << (needs_crm ? "" : " (or the ledger alone with --ledger PATH)") << "\n";
      return std::nullopt;
    }
    s.cfg = std::move(*loaded);
    s.ledger_path = s.cfg->ledger.path;
    s.bill_statuses.clear();
    for (auto st : s.cfg->billing.bill_statuses) s.bill_statuses.emplace_back(to_string(st));
  }
  if (inv.global.ledger_path) s.ledger_path = *inv.global.ledger_path;
  return s;
}

obs::event_log make_log(const invocation& inv) {
  return obs::make_stderr_log(obs::log_format::text, inv.global.verbose ? obs::log_level::info : obs::log_level::warn,
                              "chargereconctl");
}

std::string ledger_hint(const error& e, const std::string& path) {
  const auto& c = e.code;
  if (c == errc::ledger_open_failed)
    return "; check --ledger or ledger.path (" + path + "), and run as the service's user or root";
  if (c == errc::ledger_write_failed)
    return "; if chargerecond held a long write, try again; check the disk and the file's permissions";
  if (c == errc::ledger_schema_too_new) return "; use the chargereconctl of the chargerecond that wrote it";
  if (c == errc::ledger_integrity) return "; stop chargerecond and restore the ledger from a backup";
  return "";
}

result<std::unique_ptr<ledger::sqlite_ledger>> open_ledger(const setup& s, const invocation& inv, bool write) {
  ledger::sqlite_ledger_options o;
  o.path = s.ledger_path;
  o.mode = write ? ledger::open_mode::shared : ledger::open_mode::read_only;
  o.policy.bill_statuses = s.bill_statuses;
  if (s.cfg) {
    o.policy.ack_max_attempts = static_cast<int>(s.cfg->ack.max_attempts);
    o.policy.ack_backoff = {s.cfg->ack.backoff_initial, s.cfg->ack.backoff_max};
  }
  // The daemon checks the file at every start; a read-only look need not wait for a full scan.
  o.check_integrity = write;
  return ledger::sqlite_ledger::open(std::move(o), make_log(inv));
}

// Every charge matching `filter` (its limit and offset ignored), oldest first, one page at a
// time. Each page starts after the last id of the one before (keyset paging): a short index
// range however deep into a million-charge ledger, and it stays right while the daemon moves
// charges between states (an offset would shift under a state filter).
result<void> for_each_charge(ledger::ledger& store, ledger::charge_filter filter,
                             const std::function<void(charge_record&)>& fn) {
  filter.limit = scan_page;
  filter.offset = 0;
  while (true) {
    auto page = store.list(filter);
    if (!page) return page.error();
    if (page->empty()) return {};
    filter.after_id = page->back().id;
    const bool last = page->size() < scan_page;
    for (auto& c : *page) fn(c);
    if (last) return {};
  }
}

// ---- rendering ----------------------------------------------------------------------------

json::value opt(const std::optional<std::string>& v) { return v ? json::value(*v) : json::value(nullptr); }
json::value opt(const std::optional<ledger::timestamp>& t) {
  return t ? json::value(ledger::format_timestamp(*t)) : json::value(nullptr);
}

json::object charge_json(const charge_record& c, bool with_raw) {
  json::object o;
  o["number"] = c.number;
  o["customer"] = c.customer;
  o["status"] = c.status;
  o["amount"] = c.amount;  // a string: the exact text CRM.COM sent
  o["currency"] = c.currency;
  o["state"] = ledger::to_string(c.state);
  o["billing_reference"] = opt(c.billing_reference);
  o["bill_attempts"] = c.bill_attempts;
  o["ack_attempts"] = c.ack_attempts;
  o["next_try"] = opt(c.next_try);
  o["last_error"] = c.last_error;
  o["first_seen"] = ledger::format_timestamp(c.first_seen);
  o["updated_at"] = ledger::format_timestamp(c.updated_at);
  o["billed_at"] = opt(c.billed_at);
  o["acknowledged_at"] = opt(c.acknowledged_at);
  if (with_raw) o["raw_json"] = c.raw_json;
  return o;
}

json::object totals_json(const money_totals& t) {
  json::object o;
  for (const auto& [currency, sum] : t.by_currency) o[currency] = sum;
  return o;
}

std::string totals_text(const money_totals& t) {
  if (t.by_currency.empty()) return "none";
  std::string out;
  for (const auto& [currency, sum] : t.by_currency) {
    if (!out.empty()) out += ", ";
    out += (currency.empty() ? std::string("(no currency)") : currency) + " " + sum;
  }
  if (t.unreadable) out += " (" + std::to_string(t.unreadable) + " unreadable amounts left out)";
  return out;
}

void print_json(context& ctx, const json::value& v) { ctx.out << json::serialize(v) << "\n"; }

// Left-aligned columns, two spaces apart.
void print_table(context& ctx, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width;
  for (const auto& r : rows)
    for (std::size_t i = 0; i < r.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], r[i].size());
    }
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 2, ' ');
    }
    ctx.out << line << "\n";
  }
}

// ---- ledger commands ----------------------------------------------------------------------

int cmd_status(const invocation& inv, context& ctx, ledger::ledger& store, const std::string& path) {
  auto counts = store.counts();
  if (!counts) return fail(ctx, ledger_exit_status(counts.error()), counts.error().to_string());
  auto oldest = store.oldest_unfinished();
  if (!oldest) return fail(ctx, ledger_exit_status(oldest.error()), oldest.error().to_string());
  std::optional<ledger::timestamp> last_activity;
  auto scanned = for_each_charge(store, {}, [&](charge_record& c) {
    if (!last_activity || c.updated_at > *last_activity) last_activity = c.updated_at;
  });
  if (!scanned) return fail(ctx, ledger_exit_status(scanned.error()), scanned.error().to_string());
  const auto now = ctx.now();
  std::int64_t total = 0;
  for (const auto& [state, n] : *counts) total += n;

  if (inv.global.json) {
    json::object o;
    o["ledger"] = path;
    o["total"] = total;
    json::object by_state;
    for (const auto& [state, n] : *counts) by_state[ledger::to_string(state)] = n;
    o["counts"] = std::move(by_state);
    if (*oldest) {
      json::object u;
      u["number"] = (*oldest)->number;
      u["state"] = ledger::to_string((*oldest)->state);
      u["first_seen"] = ledger::format_timestamp((*oldest)->first_seen);
      u["age_seconds"] = duration_cast<seconds>(now - (*oldest)->first_seen).count();
      o["oldest_unfinished"] = std::move(u);
    } else {
      o["oldest_unfinished"] = nullptr;
    }
    o["last_activity"] = opt(last_activity);
    print_json(ctx, o);
    return exit_ok;
  }
  ctx.out << "ledger: " << path << "\n"
          << "charges: " << total << "\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& [state, n] : *counts)
    rows.push_back({"  " + std::string(ledger::to_string(state)), std::to_string(n)});
  print_table(ctx, rows);
  if (*oldest)
    ctx.out << "oldest unfinished: " << (*oldest)->number << " (" << ledger::to_string((*oldest)->state)
            << "), first seen " << ledger::format_timestamp((*oldest)->first_seen) << ", "
            << format_age(duration_cast<milliseconds>(now - (*oldest)->first_seen)) << " ago\n";
  else
    ctx.out << "oldest unfinished: none\n";
  if (last_activity)
    ctx.out << "last activity: " << ledger::format_timestamp(*last_activity) << ", "
            << format_age(duration_cast<milliseconds>(now - *last_activity)) << " ago\n";
  else
    ctx.out << "last activity: none (an empty ledger)\n";
  return exit_ok;
}

int cmd_list(const invocation& inv, context& ctx, ledger::ledger& store) {
  auto filter = inv.filter;
  filter.limit += 1;  // one more tells whether --limit cut the list
  auto page = store.list(filter);
  if (!page) return fail(ctx, ledger_exit_status(page.error()), page.error().to_string());
  const bool truncated = page->size() > inv.filter.limit;
  if (truncated) page->pop_back();
  if (inv.global.json) {
    json::array charges;
    for (const auto& c : *page) charges.push_back(charge_json(c, false));
    json::object o;
    o["count"] = page->size();
    o["truncated"] = truncated;
    o["charges"] = std::move(charges);
    print_json(ctx, o);
  } else {
    std::vector<std::vector<std::string>> rows{
        {"NUMBER", "STATE", "STATUS", "CUSTOMER", "AMOUNT", "CURRENCY", "FIRST_SEEN", "REFERENCE"}};
    for (const auto& c : *page)
      rows.push_back({c.number, std::string(ledger::to_string(c.state)), c.status, c.customer, c.amount, c.currency,
                      ledger::format_timestamp(c.first_seen), c.billing_reference.value_or("-")});
    if (!page->empty())
      print_table(ctx, rows);
    else
      ctx.out << "no charge matches\n";
  }
  if (truncated)
    ctx.err << "chargereconctl: more charges match than --limit " << inv.filter.limit
            << " shows; raise --limit or narrow the filters\n";
  return exit_ok;
}

int cmd_show(const invocation& inv, context& ctx, ledger::ledger& store, const std::string& path) {
  auto c = store.get(inv.number);
  if (!c) {
    if (c.error().code == errc::ledger_unknown_charge)
      return fail(ctx, exit_problems,
                  "no charge " + quote_peer_text(inv.number, 60) + " in the ledger " + path +
                      " (`chargereconctl list` shows what it holds)");
    return fail(ctx, ledger_exit_status(c.error()), c.error().to_string());
  }
  auto events = store.events(inv.number);
  if (!events) return fail(ctx, ledger_exit_status(events.error()), events.error().to_string());
  const auto state_name = [](const std::optional<charge_state>& s) {
    return s ? std::string(ledger::to_string(*s)) : std::string();
  };
  if (inv.global.json) {
    json::array trail;
    for (const auto& e : *events) {
      json::object o;
      o["id"] = e.id;
      o["at"] = ledger::format_timestamp(e.at);
      o["actor"] = e.actor;
      o["kind"] = e.kind;
      o["from"] = e.from ? json::value(ledger::to_string(*e.from)) : json::value(nullptr);
      o["to"] = e.to ? json::value(ledger::to_string(*e.to)) : json::value(nullptr);
      o["reason"] = e.reason;
      o["detail"] = e.detail_json;  // the ledger's JSON object, as text
      trail.push_back(std::move(o));
    }
    json::object o;
    o["charge"] = charge_json(*c, true);
    o["events"] = std::move(trail);
    print_json(ctx, o);
    return exit_ok;
  }
  const auto opt_time = [](const std::optional<ledger::timestamp>& t) {
    return t ? ledger::format_timestamp(*t) : std::string("-");
  };
  print_table(ctx, {
                       {"number", c->number},
                       {"customer", c->customer},
                       {"status", c->status},
                       {"amount", c->amount + " " + c->currency},
                       {"state", std::string(ledger::to_string(c->state))},
                       {"billing reference", c->billing_reference.value_or("-")},
                       {"bill attempts", std::to_string(c->bill_attempts)},
                       {"ack attempts", std::to_string(c->ack_attempts)},
                       {"next try", opt_time(c->next_try)},
                       {"last error", c->last_error.empty() ? "-" : quote_peer_text(c->last_error, 400)},
                       {"first seen", ledger::format_timestamp(c->first_seen)},
                       {"updated", ledger::format_timestamp(c->updated_at)},
                       {"billed", opt_time(c->billed_at)},
                       {"acknowledged", opt_time(c->acknowledged_at)},
                       {"as received", quote_peer_text(c->raw_json, 2000)},
                   });
  ctx.out << "\naudit trail:\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& e : *events) {
    std::string move;
    if (e.from || e.to) move = (e.from ? state_name(e.from) : std::string("new")) + " -> " + state_name(e.to);
    std::string note;
    if (!e.reason.empty()) note = "reason: " + quote_peer_text(e.reason, 400);
    if (e.detail_json != "{}" && !e.detail_json.empty())
      note += (note.empty() ? "" : "  ") + quote_peer_text(e.detail_json, 400);
    rows.push_back({"  " + ledger::format_timestamp(e.at), e.actor, e.kind, move, note});
  }
  if (rows.empty())
    ctx.out << "  (no events)\n";
  else
    print_table(ctx, rows);
  return exit_ok;
}

int cmd_person(const invocation& inv, context& ctx, ledger::ledger& store, const std::string& path) {
  const bool retry = inv.command == command_id::retry;
  auto before = store.get(inv.number);
  if (!before) {
    if (before.error().code == errc::ledger_unknown_charge)
      return fail(ctx, exit_problems, "no charge " + quote_peer_text(inv.number, 60) + " in the ledger " + path);
    return fail(ctx, ledger_exit_status(before.error()), before.error().to_string());
  }
  const auto now = ctx.now();
  auto after =
      retry ? store.retry(inv.number, inv.by, inv.reason, now) : store.release(inv.number, inv.by, inv.reason, now);
  if (!after) {
    if (after.error().code == errc::ledger_bad_transition) {
      const std::string state(ledger::to_string(before->state));
      return fail(ctx, exit_problems,
                  std::string(retry ? "retry" : "release") + " refused: " + inv.number + " is " + state + "; " +
                      (retry ? "only held and dead charges can be retried"
                             : "only held charges can be released (a dead one is retried instead)") +
                      " (" + after.error().diagnostic + ")");
    }
    return fail(ctx, ledger_exit_status(after.error()), after.error().to_string() + ledger_hint(after.error(), path));
  }
  if (inv.global.json) {
    json::object o;
    o["number"] = after->number;
    o["action"] = retry ? "retry" : "release";
    o["from"] = ledger::to_string(before->state);
    o["to"] = ledger::to_string(after->state);
    o["by"] = inv.by;
    o["reason"] = inv.reason;
    print_json(ctx, o);
  } else {
    ctx.out << after->number << ": " << ledger::to_string(before->state) << " -> " << ledger::to_string(after->state)
            << " (" << (retry ? "retried" : "released") << " by " << inv.by << ")\n";
  }
  return exit_ok;
}

int cmd_export(const invocation& inv, context& ctx, ledger::ledger& store) {
  if (inv.global.json) return fail(ctx, exit_usage, "export writes csv or jsonl, not --json: use --format jsonl");
  ledger::charge_filter filter;
  filter.first_seen_from = inv.filter.first_seen_from;
  filter.first_seen_until = inv.filter.first_seen_until;
  if (inv.format == export_format::csv) ctx.out << export_csv_header();
  std::size_t count = 0;
  money_tally tally;
  auto scanned = for_each_charge(store, filter, [&](charge_record& c) {
    ctx.out << (inv.format == export_format::csv ? export_csv_line(c) : export_jsonl_line(c));
    tally.add(c.amount, c.currency);
    ++count;
  });
  ctx.out.flush();
  if (!scanned)
    return fail(ctx, ledger_exit_status(scanned.error()),
                scanned.error().to_string() + " (the export is incomplete; run it again)");
  if (!ctx.out) return fail(ctx, exit_unavailable, "writing the export failed (disk full, or the reader went away)");
  ctx.err << "exported " << count << " charges first seen in [" << ledger::format_timestamp(*filter.first_seen_from)
          << ", " << ledger::format_timestamp(*filter.first_seen_until) << "); totals: " << totals_text(tally.totals())
          << "\n";
  return exit_ok;
}

// ---- CRM.COM ------------------------------------------------------------------------------

// The session, or nullopt after printing why (exit status in `status`).
std::unique_ptr<crm_session> open_crm(const invocation& inv, context& ctx, const setup& s, int& status) {
  auto sec = load_secrets(*s.cfg, ctx.secrets);
  if (!sec) {
    status = fail(ctx, exit_config,
                  inv.global.config_path + ": " + sec.error().diagnostic +
                      "; outside systemd, set CREDENTIALS_DIRECTORY to the directory holding crm-password "
                      "(or crm-web-api-key)");
    return nullptr;
  }
  auto session = crm_session::create(*s.cfg, *sec, make_log(inv));
  if (!session) {
    status = fail(ctx, exit_config,
                  inv.global.config_path + ": " + session.error().to_string() + "; check crm.base_url and crm.ca_file");
    return nullptr;
  }
  return std::move(*session);
}

int crm_failed(context& ctx, const error& e) {
  const int status = crm_exit_status(e);
  std::string hint;
  if (status == exit_config)
    hint = "; check crm.username, crm.organisation and the password (or Web API key) file";
  else if (status == exit_problems)
    hint = "; CRM.COM's answer is quoted above: check the arguments";
  else if (status == exit_unavailable)
    hint = "; check crm.base_url and the network, then try again";
  return fail(ctx, status, e.to_string() + hint);
}

int cmd_promotions(const invocation& inv, context& ctx, crm_session& crm) {
  auto promos = crm.promotions();
  if (!promos) return crm_failed(ctx, promos.error());
  if (inv.global.json) {
    json::array a;
    for (const auto& p : *promos) {
      json::object o;
      o["code"] = p.code;
      o["name"] = opt(p.name);
      o["description"] = opt(p.description);
      o["effective_from"] = opt(p.effective_from);
      o["expires_on"] = opt(p.expires_on);
      a.push_back(std::move(o));
    }
    print_json(ctx, a);
    return exit_ok;
  }
  std::vector<std::vector<std::string>> rows{{"CODE", "NAME", "EFFECTIVE_FROM", "EXPIRES_ON"}};
  for (const auto& p : *promos)
    rows.push_back({p.code, p.name.value_or("-"), p.effective_from.value_or("-"), p.expires_on.value_or("-")});
  print_table(ctx, rows);
  return exit_ok;
}

int cmd_subscription_show(const invocation& inv, context& ctx, crm_session& crm) {
  auto subs = crm.show_subscription(inv.query);
  if (!subs) return crm_failed(ctx, subs.error());
  if (inv.global.json) {
    json::array a;
    for (const auto& s : *subs) {
      json::object o;
      o["subscription_number"] = s.subscription_number;
      o["netflix_state"] = opt(s.netflix_state);
      o["life_cycle_state"] = s.life_cycle ? json::value(crm::to_wire(*s.life_cycle)) : json::value(nullptr);
      // CRM.COM's own JSON, as text: its shapes are undocumented and its numbers must not change.
      o["promotions_set"] = opt(s.promotions_set);
      o["prices_set"] = opt(s.prices_set);
      a.push_back(std::move(o));
    }
    print_json(ctx, a);
    return exit_ok;
  }
  if (subs->empty()) ctx.out << "no subscription\n";
  for (const auto& s : *subs) {
    ctx.out << "subscription " << s.subscription_number << "\n";
    print_table(ctx, {
                         {"  netflix state", s.netflix_state.value_or("-")},
                         {"  life cycle", s.life_cycle ? std::string(crm::to_wire(*s.life_cycle)) : "-"},
                         {"  promotions", s.promotions_set.value_or("-")},
                         {"  prices", s.prices_set.value_or("-")},
                     });
  }
  return exit_ok;
}

int cmd_subscription_create(const invocation& inv, context& ctx, crm_session& crm) {
  auto signup = crm.create_subscription(inv.create);
  if (!signup) {
    const auto& c = signup.error().code;
    if (c == errc::request_timeout || c == errc::connection_lost || c == errc::http_protocol_error)
      return fail(ctx, exit_unavailable,
                  signup.error().to_string() +
                      "; the request may have reached CRM.COM: check with `chargereconctl subscription show "
                      "--customer " +
                      inv.create.customer + "` before repeating it");
    return crm_failed(ctx, signup.error());
  }
  if (inv.global.json) {
    json::object o;
    o["customer"] = inv.create.customer;
    o["token"] = opt(signup->token);
    o["url"] = opt(signup->url);
    o["data"] = signup->raw_data;  // CRM.COM's answer as text (its keys are undocumented)
    print_json(ctx, o);
    return exit_ok;
  }
  ctx.out << "netflix sign-up for " << inv.create.customer << "\n";
  print_table(ctx, {{"  token", signup->token.value_or("-")}, {"  sign-up URL", signup->url.value_or("-")}});
  if (!signup->token && !signup->url) ctx.out << "  answer: " << signup->raw_data << "\n";
  return exit_ok;
}

int cmd_suspend(const invocation& inv, context& ctx, crm_session& crm) {
  const bool suspend = inv.command == command_id::subscription_suspend;
  auto r = crm.suspend(inv.customer, suspend);
  if (!r) return crm_failed(ctx, r.error());
  if (inv.global.json) {
    json::object o;
    o["customer"] = inv.customer;
    o["suspended"] = suspend;
    print_json(ctx, o);
  } else {
    ctx.out << inv.customer << ": " << (suspend ? "suspended" : "unsuspended") << "\n";
  }
  return exit_ok;
}

// One ESN per line; blank lines and surrounding whitespace ignored. nullopt after printing why.
std::optional<std::vector<std::string>> read_esns(const invocation& inv, context& ctx, int& status) {
  std::ifstream file;
  std::istream* in = &ctx.in;
  if (inv.esn_file != "-") {
    file.open(inv.esn_file);
    if (!file) {
      status = fail(ctx, exit_usage, "--file: cannot read " + inv.esn_file);
      return std::nullopt;
    }
    in = &file;
  }
  std::vector<std::string> esns;
  std::string line;
  while (std::getline(*in, line)) {
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos) continue;
    const auto last = line.find_last_not_of(" \t\r");
    esns.push_back(line.substr(first, last - first + 1));
  }
  if (in->bad()) {
    status = fail(ctx, exit_usage, "--file: reading " + inv.esn_file + " failed");
    return std::nullopt;
  }
  if (esns.empty()) {
    status = fail(ctx, exit_usage, "--file: " + inv.esn_file + " holds no ESN (one per line)");
    return std::nullopt;
  }
  return esns;
}

int cmd_devices(const invocation& inv, context& ctx, crm_session& crm) {
  int status = exit_ok;
  auto esns = read_esns(inv, ctx, status);
  if (!esns) return status;
  const bool registering = inv.command == command_id::devices_register;
  const auto sent = esns->size();
  auto r = crm.devices(registering, inv.group, std::move(*esns));
  if (!r) return crm_failed(ctx, r.error());
  if (inv.global.json) {
    json::object o;
    o["action"] = registering ? "register" : "unregister";
    o["sent"] = sent;
    json::array failed;
    for (const auto& e : r->failed_esns) failed.push_back(json::value(e));
    o["failed"] = std::move(failed);
    print_json(ctx, o);
  } else {
    ctx.out << (registering ? "registered " : "unregistered ") << (sent - std::min(sent, r->failed_esns.size()))
            << " of " << sent << " devices\n";
    if (!r->failed_esns.empty()) {
      ctx.out << "refused by CRM.COM (" << r->failed_esns.size() << "):\n";
      for (const auto& e : r->failed_esns) ctx.out << e << "\n";
    }
  }
  return r->failed_esns.empty() ? exit_ok : exit_problems;
}

// ---- reconcile ----------------------------------------------------------------------------

int cmd_reconcile(const invocation& inv, context& ctx, ledger::ledger& store, const setup& s) {
  reconcile_rules rules;
  rules.older_than = inv.older_than;
  rules.bill_statuses = s.bill_statuses;

  // CRM.COM first: the ledger read afterwards then already holds whatever the daemon recorded
  // while the pass ran, so those changes are not taken for disagreements.
  std::optional<crm_listing> listing;
  ledger::timestamp pass_start{};
  if (inv.with_crm) {
    int status = exit_ok;
    auto crm = open_crm(inv, ctx, s, status);
    if (!crm) return status;
    pass_start = ctx.now();
    auto listed = crm->list_all(crm::list_status::processed, s.cfg->poll.page_size);
    if (!listed) return crm_failed(ctx, listed.error());
    listing = std::move(*listed);
  }
  std::unordered_set<std::string> listed_numbers;
  if (listing)
    for (const auto& c : listing->charges) listed_numbers.insert(c.number);

  std::vector<finding> findings;
  std::vector<std::string> release_candidates;
  std::map<std::string, charge_record, std::less<>> kept;  // what compare_with_crm needs
  std::size_t charges = 0;
  const auto now = ctx.now();
  auto scanned = for_each_charge(store, {}, [&](charge_record& c) {
    ++charges;
    if (released_matters(c, rules)) {
      release_candidates.push_back(c.number);
    } else {
      for (auto& f : check_charge(c, now, rules, false)) findings.push_back(std::move(f));
    }
    if (listing && (c.state != charge_state::acknowledged || listed_numbers.contains(c.number) ||
                    (c.acknowledged_at && *c.acknowledged_at >= pass_start))) {
      c.raw_json.clear();
      kept.emplace(c.number, std::move(c));
    }
  });
  if (!scanned) return fail(ctx, ledger_exit_status(scanned.error()), scanned.error().to_string());
  for (const auto& number : release_candidates) {
    auto c = store.get(number);
    auto events = store.events(number);
    if (!c) return fail(ctx, ledger_exit_status(c.error()), c.error().to_string());
    if (!events) return fail(ctx, ledger_exit_status(events.error()), events.error().to_string());
    for (auto& f : check_charge(*c, now, rules, has_release(*events))) findings.push_back(std::move(f));
  }
  std::optional<crm_comparison> compared;
  if (listing) {
    compared = compare_with_crm(*listing, kept, pass_start, now, rules);
    for (auto& f : compared->findings) findings.push_back(std::move(f));
  }
  const auto at_stake = total_findings(findings);

  if (inv.global.json) {
    json::array a;
    for (const auto& f : findings) {
      json::object o;
      o["kind"] = to_string(f.kind);
      o["number"] = f.number;
      o["customer"] = f.customer;
      o["state"] = f.state;
      o["status"] = f.status;
      o["amount"] = f.amount;
      o["currency"] = f.currency;
      o["detail"] = f.detail;
      a.push_back(std::move(o));
    }
    json::object o;
    o["older_than"] = format_duration(inv.older_than);
    o["charges"] = charges;
    o["disagreements"] = findings.size();
    o["findings"] = std::move(a);
    o["at_stake"] = totals_json(at_stake);
    if (compared) {
      json::object c;
      c["listed"] = compared->listed;
      c["pages"] = listing->pages;
      c["complete"] = listing->complete;
      c["not_judged_recent"] = compared->not_judged_recent;
      c["left_list_judged"] = compared->left_list_judged;
      c["not_judged_reason"] = compared->not_judged_reason;
      o["crm"] = std::move(c);
    } else {
      o["crm"] = nullptr;
    }
    print_json(ctx, o);
  } else {
    for (const auto& f : findings) {
      ctx.out << to_string(f.kind);
      if (!f.number.empty()) ctx.out << " " << f.number;
      if (!f.state.empty()) ctx.out << " state=" << f.state;
      if (!f.status.empty()) ctx.out << " status=" << f.status;
      if (!f.customer.empty()) ctx.out << " customer=" << f.customer;
      if (!f.amount.empty()) ctx.out << " amount=" << f.amount << " " << f.currency;
      ctx.out << ": " << f.detail << "\n";
    }
    ctx.out << findings.size() << " disagreements over " << charges << " charges in the ledger (threshold "
            << format_duration(inv.older_than) << "); at stake: " << totals_text(at_stake) << "\n";
    if (compared) {
      ctx.out << "CRM.COM lists " << compared->listed << " processed charges (" << listing->pages << " pages)";
      if (compared->not_judged_recent)
        ctx.out << "; " << compared->not_judged_recent << " received less than " << format_duration(inv.older_than)
                << " ago, not judged";
      ctx.out << "\n";
      if (!compared->left_list_judged)
        ctx.out << "not judged: charges that left CRM.COM's list (" << compared->not_judged_reason << ")\n";
    }
  }
  return findings.empty() ? exit_ok : exit_problems;
}

}  // namespace

int crm_exit_status(const error& e) {
  const auto& c = e.code;
  if (c == errc::crm_login_refused) return exit_config;
  if (c == errc::invalid_argument || c == errc::crm_limit_exceeded) return exit_usage;
  if (c == errc::crm_status_not_ok || c == errc::crm_http_status) return exit_problems;
  // The client retries answers whose status is not OK before giving up; the last one's text
  // (with its code's message) ends the diagnostic.
  if (c == errc::crm_retries_exhausted &&
      e.diagnostic.find(make_error_code(errc::crm_status_not_ok).message()) != std::string::npos)
    return exit_problems;
  return exit_unavailable;
}

int ledger_exit_status(const error& e) {
  const auto& c = e.code;
  if (c == errc::ledger_unknown_charge || c == errc::ledger_bad_transition) return exit_problems;
  if (c == errc::invalid_argument) return exit_usage;
  return exit_unavailable;
}

int run(const invocation& inv, context& ctx) {
  if (inv.help) {
    ctx.out << help_text(inv.command);
    return exit_ok;
  }
  const bool crm_command = is_crm_command(inv.command);
  const bool needs_crm = crm_command || (inv.command == command_id::reconcile && inv.with_crm);
  auto s = load_setup(inv, ctx, needs_crm);
  if (!s) return exit_config;

  if (crm_command) {
    int status = exit_ok;
    auto crm = open_crm(inv, ctx, *s, status);
    if (!crm) return status;
    switch (inv.command) {
      case command_id::promotions:
        return cmd_promotions(inv, ctx, *crm);
      case command_id::subscription_show:
        return cmd_subscription_show(inv, ctx, *crm);
      case command_id::subscription_create:
        return cmd_subscription_create(inv, ctx, *crm);
      case command_id::subscription_suspend:
      case command_id::subscription_unsuspend:
        return cmd_suspend(inv, ctx, *crm);
      default:
        return cmd_devices(inv, ctx, *crm);
    }
  }

  if (s->ledger_path.empty())
    return fail(ctx, exit_config, "no ledger: set ledger.path in the configuration or give --ledger PATH");
  const bool write = inv.command == command_id::retry || inv.command == command_id::release;
  auto opened = open_ledger(*s, inv, write);
  if (!opened)
    return fail(ctx, ledger_exit_status(opened.error()),
                "cannot open the ledger: " + opened.error().to_string() + ledger_hint(opened.error(), s->ledger_path));
  auto& store = **opened;
  switch (inv.command) {
    case command_id::status:
      return cmd_status(inv, ctx, store, s->ledger_path);
    case command_id::list:
      return cmd_list(inv, ctx, store);
    case command_id::show:
      return cmd_show(inv, ctx, store, s->ledger_path);
    case command_id::retry:
    case command_id::release:
      return cmd_person(inv, ctx, store, s->ledger_path);
    case command_id::export_charges:
      return cmd_export(inv, ctx, store);
    case command_id::reconcile:
      return cmd_reconcile(inv, ctx, store, *s);
    default:
      break;
  }
  ctx.err << usage_line(command_id::none);
  return exit_usage;
}

}  // namespace chargerecon::ctl
