#pragma once
// The acknowledgement calls in flight at once, free of I/O.
//
// One call at a time put every acknowledgement in series behind the one before (its call, then
// its answer's commit): at 20 ms per call, acknowledging became the longest chain of a drain.
// Up to max_calls() calls may now be out together. A charge belongs to at most one of them
// from the moment its batch is taken until the ledger has committed its answer (or the call
// failed): the ledger keeps listing it as ready to acknowledge until then, and the next batch
// leaves it out instead of sending it twice.
//
// One more case: a query for ready charges that was already running when a call's answer was
// committed may have read the ledger before that commit, and return the charge as still ready.
// So a charge released while such a query is out stays left out of that query's batch.

#include <cstddef>
#include <string>
#include <unordered_set>
#include <vector>

namespace chargerecon::engine {

// How many acknowledgement calls the engine keeps out at once (CRM.COM's HTTP client needs as
// many connections, plus one for listing and one for a login).
inline constexpr std::size_t ack_calls_at_once = 4;

class ack_window {
 public:
  explicit ack_window(std::size_t max_calls) : max_calls_(max_calls == 0 ? 1 : max_calls) {}

  std::size_t max_calls() const { return max_calls_; }
  std::size_t calls() const { return calls_; }
  bool has_room() const { return calls_ < max_calls_; }
  // How many charges a query for ready ones may find that carries() leaves out: it asks for
  // that many more.
  std::size_t excluded() const { return carried_.size() + released_during_query_.size(); }

  // Whether `number` must be left out of the next batch.
  bool carries(const std::string& number) const {
    return carried_.contains(number) || released_during_query_.contains(number);
  }

  // A call takes these charges (none of them carried: filter with carries()).
  void open(const std::vector<std::string>& numbers);
  // Its answer is committed, or it failed: the charges are free to be taken again (the ledger
  // lists again as ready any that were not acknowledged), except by a query already out.
  void close(const std::vector<std::string>& numbers);

  // A query for ready charges starts, and its batch has been taken (open()) or dropped.
  void query_started() { ++queries_; }
  void query_ended();

 private:
  std::size_t max_calls_;
  std::size_t calls_ = 0;
  std::size_t queries_ = 0;
  std::unordered_set<std::string> carried_;
  std::unordered_set<std::string> released_during_query_;
};

}  // namespace chargerecon::engine
