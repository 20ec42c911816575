#include "bench/model.hpp"

#include <algorithm>

namespace chargerecon::bench {
namespace {

std::uint64_t ceil_div(std::uint64_t a, std::uint64_t b) { return (a + b - 1) / b; }

}  // namespace

network_bound compute_bound(const workload& w, const network& n) {
  const std::uint64_t page = std::max<std::size_t>(n.page_size, 1);
  const std::uint64_t batch = std::max<std::size_t>(n.ack_batch, 1);
  const std::uint64_t conc = std::max<std::size_t>(n.concurrency, 1);
  network_bound b;
  b.list_calls = w.charges / page + 1;
  b.ack_calls = ceil_div(w.acknowledged, batch);
  b.post_waves = ceil_div(w.posts, conc);
  const double lc = n.crm_latency_s;
  const double lb = n.billing_latency_s;
  // login + every list, one after the other
  b.list_chain_s = lc * static_cast<double>(1 + b.list_calls);
  // login + first page + the waves of posts + the acknowledgement of the last one billed
  b.bill_chain_s = b.post_waves == 0 ? 0 : 3 * lc + lb * static_cast<double>(b.post_waves);
  // login + first page + every acknowledgement, one after the other
  b.ack_chain_s = b.ack_calls == 0 ? 0 : lc * static_cast<double>(2 + b.ack_calls);
  b.seconds = std::max({b.list_chain_s, b.bill_chain_s, b.ack_chain_s});
  if (b.seconds <= 0) {
    b.limited_by = "none";
    return b;
  }
  if (b.seconds == b.bill_chain_s)
    b.limited_by = "billing";
  else if (b.seconds == b.list_chain_s)
    b.limited_by = "listing";
  else
    b.limited_by = "acknowledging";
  b.charges_per_second = static_cast<double>(w.charges) / b.seconds;
  return b;
}

derived derive(const measurement& m) {
  derived d;
  const auto charges = static_cast<double>(m.charges);
  if (m.wall_s > 0) d.charges_per_second = charges / m.wall_s;
  if (m.charges > 0) {
    d.cpu_s_per_1000 = (m.cpu_user_s + m.cpu_system_s) / charges * 1000.0;
    d.crm_calls_per_charge = static_cast<double>(m.crm_calls) / charges;
    d.posts_per_charge = static_cast<double>(m.billing_posts) / charges;
  }
  d.max_rss_mib = static_cast<double>(m.max_rss_kib) / 1024.0;
  return d;
}

std::optional<double> ratio(std::optional<double> a, std::optional<double> b) {
  if (!a || !b || *b == 0) return std::nullopt;
  return *a / *b;
}

}  // namespace chargerecon::bench
