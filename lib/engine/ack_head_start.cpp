#include "engine/ack_head_start.hpp"

#include <algorithm>

namespace chargerecon::engine {

std::chrono::microseconds ack_head_start(std::chrono::steady_clock::duration last_list_call) noexcept {
  using std::chrono::microseconds;
  const auto scaled = std::chrono::duration_cast<microseconds>(last_list_call) / 16;
  return std::clamp(scaled, microseconds(50), microseconds(1000));
}

}  // namespace chargerecon::engine
