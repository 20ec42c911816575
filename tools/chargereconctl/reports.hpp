#pragma once
// The judgements behind chargereconctl's reports, free of I/O: what counts as a disagreement
// between the ledger's states (and, with --with-crm, between the ledger and CRM.COM's list),
// the status summary, the export's rows, and exact money totals. Commands gather the inputs
// (ledger reads, a charges/list pass) and print what these return.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/decimal.hpp"
#include "crm/types.hpp"
#include "ledger/ledger.hpp"

namespace chargerecon::ctl {

// ---- reconcile ----------------------------------------------------------------------------

enum class finding_kind {
  not_billed,                // billable, still seen/billing past the threshold
  billed_not_acknowledged,   // billed past the threshold, not acknowledged
  ack_overdue,               // ack_pending (not billable, or released) past the threshold
  billed_without_reference,  // billed, or acknowledged with a billed_at, but no reference
  acknowledged_unbilled,     // billable, acknowledged without a reference, never released
  billed_not_billable,       // a billing reference on a charge whose status is not billable
  held,
  dead,
  crm_unknown,             // listed by CRM.COM, unknown to the ledger
  crm_lists_acknowledged,  // listed by CRM.COM, acknowledged in the ledger before the pass
  crm_left_list,           // unfinished in the ledger, no longer listed by CRM.COM
  crm_malformed,           // a listed element we cannot read
  crm_pass_incomplete,     // the pass stalled: crm_left_list was not judged
};

// Stable names (printed, in JSON, documented in --help).
std::string_view to_string(finding_kind k);

struct finding {
  finding_kind kind = finding_kind::held;
  std::string number;  // empty for crm_pass_incomplete
  std::string customer;
  std::string state;  // the ledger state; empty when the ledger does not know the charge
  std::string status;
  std::string amount;  // exact text; empty when unknown
  std::string currency;
  std::string detail;  // for a person: since when, the last error, what to do
};

struct reconcile_rules {
  std::chrono::milliseconds older_than{std::chrono::hours(1)};
  std::vector<std::string> bill_statuses{"APPROVED"};
};

// The ledger-only checks of one charge. `released`: its audit trail holds a person's release
// (only asked for charges where released_matters() is true, to keep events() reads few).
std::vector<finding> check_charge(const ledger::charge_record& c, ledger::timestamp now, const reconcile_rules& rules,
                                  bool released);
bool released_matters(const ledger::charge_record& c, const reconcile_rules& rules);
// True when an event of the trail is a person's release.
bool has_release(const std::vector<ledger::event_record>& events);

// What a complete (or stalled) pass of charges/list PROCESSED returned.
struct crm_listing {
  std::vector<crm::charge> charges;
  std::vector<crm::malformed_charge> malformed;
  bool complete = true;  // false: the pass stalled (a full page with nothing new)
  std::size_t pages = 0;
};

struct crm_comparison {
  std::vector<finding> findings;
  std::size_t listed = 0;
  std::size_t not_judged_recent = 0;  // listed, unknown, received less than older_than ago
  // crm_left_list needs a list that held still: when the daemon acknowledged charges during
  // the pass, later pages shifted and may have skipped charges that are still listed.
  bool left_list_judged = true;
  std::string not_judged_reason;
};

// The ledger (read after the pass, keyed by number) against the listing. pass_start: when the
// pass began; a change the daemon made to a charge after it is a race with the pass, not a
// disagreement. received_on (CRM.COM's, no zone) is read as UTC. A stalled pass is a finding
// (crm_pass_incomplete); acknowledgements during the pass only leave crm_left_list unjudged.
crm_comparison compare_with_crm(const crm_listing& listing,
                                const std::map<std::string, ledger::charge_record, std::less<>>& ledger_charges,
                                ledger::timestamp pass_start, ledger::timestamp now, const reconcile_rules& rules);

// Exact totals per currency ("" for none), amounts added as their decimal text, never a double.
struct money_totals {
  std::map<std::string, std::string> by_currency;
  std::size_t unreadable = 0;  // amounts that are not a JSON number, left out of the totals
};

class money_tally {
 public:
  void add(std::string_view amount, const std::string& currency);
  money_totals totals() const;

 private:
  std::map<std::string, decimal_sum> sums_;
  std::size_t unreadable_ = 0;
};

// Money at stake in a report: each charge counted once, however many findings it has.
money_totals total_findings(const std::vector<finding>& findings);

// ---- status -------------------------------------------------------------------------------

struct status_summary {
  ledger::state_counts counts;
  std::int64_t total = 0;
  std::optional<ledger::charge_record> oldest_unfinished;
  std::optional<std::chrono::milliseconds> oldest_unfinished_age;
  std::optional<ledger::timestamp> last_activity;  // the newest updated_at of any charge
};

// "3d 4h", "2h 5m", "4m 10s", "12s", "850ms": the largest two units, for people.
std::string format_age(std::chrono::milliseconds age);

// ---- export -------------------------------------------------------------------------------

// One field per RFC 4180: quoted when it holds a comma, a double quote, CR or LF (and when it
// starts or ends with a space, which spreadsheet imports would trim), quotes doubled.
std::string csv_field(std::string_view text);
// Fields joined by commas, ended by CRLF.
std::string csv_row(const std::vector<std::string>& fields);

inline constexpr std::string_view export_columns[] = {
    "number", "customer",          "status",     "amount",    "currency",
    "state",  "billing_reference", "first_seen", "billed_at", "acknowledged_at"};
// The export's fields of one charge, in export_columns' order (absent values empty).
std::vector<std::string> export_fields(const ledger::charge_record& c);
std::string export_csv_header();
std::string export_csv_line(const ledger::charge_record& c);
// One JSON object and "\n"; absent values are null, the amount a string (its exact text).
std::string export_jsonl_line(const ledger::charge_record& c);

}  // namespace chargerecon::ctl
