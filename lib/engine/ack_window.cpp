#include "engine/ack_window.hpp"

namespace chargerecon::engine {

void ack_window::open(const std::vector<std::string>& numbers) {
  ++calls_;
  carried_.insert(numbers.begin(), numbers.end());
}

void ack_window::close(const std::vector<std::string>& numbers) {
  if (calls_ > 0) --calls_;
  for (const auto& n : numbers) {
    carried_.erase(n);
    if (queries_ > 0) released_during_query_.insert(n);
  }
}

void ack_window::query_ended() {
  if (queries_ > 0) --queries_;
  if (queries_ == 0) released_during_query_.clear();
}

}  // namespace chargerecon::engine
