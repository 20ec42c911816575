#pragma once
// The balance an operator can check at any moment: every charge the ledger recorded from
// charges/list is in exactly one of six outcomes.
//
//   listed = billed + not_billable + held + dead + pending + in_progress
//
//   listed        every charge in the ledger (each distinct charge charges/list returned)
//   billed        billed or acknowledged, holding a billing reference
//   not_billable  ack_pending or acknowledged without a billing reference: a status that is
//                 not billed (billing.bill_statuses), or a held charge a person released
//   held          held (billing refused it; a person retries or releases)
//   dead          dead (acknowledgement refused ack.max_attempts times), with or without a reference
//   pending       pending (PENDING, or a status we do not know)
//   in_progress   seen or billing (committed, not yet billed)
//
// A charge that fits none of them breaks the balance: a state this program does not know, a
// "billed" charge without a reference, an "ack_pending" one with a reference. Each means the
// ledger holds something the engine cannot have written, and a person should look.
//
// The numbers come from the ledger's own count of its charges by state and reference (a small
// table its triggers keep in the same transaction as every change), read on a read-only
// connection of its own, so the engine's connection and thread are not involved.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace chargerecon::obs {

// One group of the ledger's charges: its state's stored name, whether a billing reference is
// set, and how many charges are so.
struct accounting_row {
  std::string state;
  bool has_reference = false;
  std::int64_t count = 0;
};

struct ledger_accounting {
  std::int64_t listed = 0;
  std::int64_t billed = 0;
  std::int64_t not_billable = 0;
  std::int64_t held = 0;
  std::int64_t dead = 0;
  std::int64_t pending = 0;
  std::int64_t in_progress = 0;
  // The groups that fit no outcome, as "state=billed reference=no charges=3".
  std::vector<std::string> unaccounted;

  std::int64_t accounted() const { return billed + not_billable + held + dead + pending + in_progress; }
  bool balanced() const { return listed == accounted() && unaccounted.empty(); }
};

ledger_accounting account(std::span<const accounting_row> rows);

// A read-only connection to the ledger file for the accounting query. Blocking: call it off
// the event loop. Errors: ledger_open_failed (open), ledger_read_failed (query).
class ledger_accounting_reader {
 public:
  static result<std::unique_ptr<ledger_accounting_reader>> open(const std::filesystem::path& ledger_path);
  ~ledger_accounting_reader();
  ledger_accounting_reader(const ledger_accounting_reader&) = delete;
  ledger_accounting_reader& operator=(const ledger_accounting_reader&) = delete;

  result<std::vector<accounting_row>> read();

 private:
  struct impl;
  explicit ledger_accounting_reader(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace chargerecon::obs
