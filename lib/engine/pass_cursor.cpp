#include "engine/pass_cursor.hpp"

namespace chargerecon::engine {

void pass_cursor::on_page(const std::vector<std::string>& identities, bool acks_unsettled) {
  ++pages_;
  std::size_t added = 0;
  for (const auto& id : identities) {
    if (seen_.insert(id).second) {
      in_list_.insert(id);
      ++added;
    }
  }
  last_page_new_ = added;
  for (const auto& number : forget_after_page_) seen_.erase(number);
  forget_after_page_.clear();
  if (identities.size() < page_size_) {
    finished_ = true;
  } else if (added == 0 && !acks_unsettled) {
    finished_ = true;
    stalled_ = true;
  }
}

void pass_cursor::on_ack_sent(std::string_view number) { in_list_.erase(std::string(number)); }

void pass_cursor::on_ack_refused(std::string_view number) {
  std::string key(number);
  if (seen_.contains(key)) in_list_.insert(std::move(key));
}

void pass_cursor::on_ack_applied(std::string_view number, bool list_call_in_flight) {
  std::string key(number);
  in_list_.erase(key);
  if (list_call_in_flight)
    forget_after_page_.push_back(std::move(key));
  else
    seen_.erase(key);
}

}  // namespace chargerecon::engine
