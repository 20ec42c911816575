#pragma once
// The offset RULE of a pass over netflix/charges/list, free of I/O.
//
// CRM.COM's `offset` counts within the list as it is at the moment of the call: unacknowledged
// charges, oldest first. Acknowledged charges leave it and everything behind them moves forward,
// so "offset += 50" after acknowledging skips charges nobody saw. Within one pass the next offset
// is the number of charges seen in this pass that are still unacknowledged.
//
// An acknowledgement whose answer has not come back yet may or may not have been applied. We
// count it as applied: if it was not, the next page repeats charges we already know (the ledger
// recognises them; harmless), whereas counting it as unapplied could skip a charge we never saw.
// A refusal puts the charge back in the count, since CRM.COM then certainly still lists it.

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace chargerecon::engine {

class pass_cursor {
 public:
  explicit pass_cursor(std::size_t page_size) : page_size_(page_size) {}

  // The offset to request next.
  std::size_t next_offset() const { return in_list_.size(); }
  std::size_t page_size() const { return page_size_; }

  // A page answered the request at next_offset(). `identities` holds one entry per array
  // element: the charge number, or for an element without a readable number some stable text
  // of it (its raw JSON), so that it is counted once however often it comes back.
  // `acks_unsettled`: an acknowledgement was in flight while the call ran (sent before it and
  // not answered yet, or sent during it). CRM.COM may have answered the list before applying
  // it, so the page can repeat charges this cursor already counts as gone; a full page of them
  // is then no stall, and the next call (at the same offset, once they are applied) moves on.
  void on_page(const std::vector<std::string>& identities, bool acks_unsettled = false);

  // The pass is over: a short or empty page, or a full page that brought nothing new with no
  // acknowledgement in flight to explain it (a server repeating charges we already counted;
  // ending the pass beats looping forever, and the next pass starts again from offset 0).
  // stalled() tells the two apart for the log.
  bool finished() const { return finished_; }
  bool stalled() const { return stalled_; }

  // An acknowledgement for `number` was sent: from now on it counts as having left the list.
  void on_ack_sent(std::string_view number);
  // CRM.COM refused it: the charge is still listed.
  void on_ack_refused(std::string_view number);
  // CRM.COM answered that it took the acknowledgement: the charge has left the list, so a list
  // call started from now on cannot return it, and the pass can forget it (a pass over a
  // million-charge backlog would otherwise remember every number it saw). Only a list call
  // already in flight (`list_call_in_flight`) may still bring it back; it is forgotten after
  // that call's page (on_page), which still recognises it.
  void on_ack_applied(std::string_view number, bool list_call_in_flight);

  // Whether `number` is counted in next_offset() now (its acknowledgement would move the list
  // under a charges/list call of this pass).
  bool counts(const std::string& number) const { return in_list_.contains(number); }

  std::size_t pages() const { return pages_; }
  std::size_t seen() const { return seen_.size(); }
  // How many charges the last page brought that this pass had not seen. (Not a difference of
  // seen(): the page also forgets charges whose acknowledgement was applied meanwhile.)
  std::size_t last_page_new() const { return last_page_new_; }

 private:
  std::size_t page_size_;
  std::unordered_set<std::string> seen_;        // every identity seen in this pass
  std::unordered_set<std::string> in_list_;     // seen in this pass and still unacknowledged
  std::vector<std::string> forget_after_page_;  // applied while a list call was in flight
  std::size_t pages_ = 0;
  std::size_t last_page_new_ = 0;
  bool finished_ = false;
  bool stalled_ = false;
};

}  // namespace chargerecon::engine
