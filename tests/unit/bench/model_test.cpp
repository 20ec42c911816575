#include "bench/model.hpp"

#include <gtest/gtest.h>

namespace chargerecon::bench {
namespace {

TEST(compute_bound, billing_waves_bound_a_backlog_at_twenty_ms) {
  // 10,000 charges, 7,700 to post, 150 of them held: 201 lists, 197 acks, 241 waves of 32.
  const workload w{10000, 7700, 9850};
  const auto b = compute_bound(w, network{0.020, 0.020, 32, 50, 50});
  EXPECT_EQ(b.list_calls, 201u);
  EXPECT_EQ(b.ack_calls, 197u);
  EXPECT_EQ(b.post_waves, 241u);
  EXPECT_DOUBLE_EQ(b.list_chain_s, 0.020 * 202);
  EXPECT_DOUBLE_EQ(b.bill_chain_s, 0.020 * 3 + 0.020 * 241);
  EXPECT_DOUBLE_EQ(b.ack_chain_s, 0.020 * 199);
  EXPECT_DOUBLE_EQ(b.seconds, b.bill_chain_s);
  EXPECT_EQ(b.limited_by, "billing");
  ASSERT_TRUE(b.charges_per_second);
  EXPECT_DOUBLE_EQ(*b.charges_per_second, 10000 / b.seconds);
}

TEST(compute_bound, listing_bounds_when_billing_is_wide) {
  const auto b = compute_bound(workload{10000, 7700, 9850}, network{0.020, 0.020, 256, 50, 50});
  EXPECT_EQ(b.post_waves, 31u);
  EXPECT_EQ(b.limited_by, "listing");
  EXPECT_DOUBLE_EQ(b.seconds, 0.020 * 202);
}

TEST(compute_bound, a_full_last_page_needs_one_more_list_to_see_the_end) {
  EXPECT_EQ(compute_bound(workload{100, 0, 100}, network{0.01, 0.01, 1, 50, 50}).list_calls, 3u);
  EXPECT_EQ(compute_bound(workload{99, 0, 99}, network{0.01, 0.01, 1, 50, 50}).list_calls, 2u);
  EXPECT_EQ(compute_bound(workload{0, 0, 0}, network{0.01, 0.01, 1, 50, 50}).list_calls, 1u);
}

TEST(compute_bound, nothing_to_post_or_acknowledge_leaves_only_the_listing) {
  const auto b = compute_bound(workload{10, 0, 0}, network{0.01, 0.01, 4, 50, 50});
  EXPECT_EQ(b.bill_chain_s, 0);
  EXPECT_EQ(b.ack_chain_s, 0);
  EXPECT_EQ(b.limited_by, "listing");
}

TEST(compute_bound, zero_latency_imposes_no_bound) {
  const auto b = compute_bound(workload{10000, 7700, 9850}, network{0, 0, 32, 50, 50});
  EXPECT_EQ(b.seconds, 0);
  EXPECT_EQ(b.limited_by, "none");
  EXPECT_FALSE(b.charges_per_second);
}

TEST(compute_bound, zero_sizes_count_as_one) {
  const auto b = compute_bound(workload{3, 3, 3}, network{0.001, 0.001, 0, 0, 0});
  EXPECT_EQ(b.list_calls, 4u);
  EXPECT_EQ(b.ack_calls, 3u);
  EXPECT_EQ(b.post_waves, 3u);
}

TEST(derive, figures_per_charge_and_per_thousand) {
  measurement m;
  m.charges = 2000;
  m.wall_s = 0.5;
  m.cpu_user_s = 0.3;
  m.cpu_system_s = 0.1;
  m.max_rss_kib = 20480;
  m.crm_calls = 82;
  m.billing_posts = 1540;
  const auto d = derive(m);
  EXPECT_DOUBLE_EQ(d.charges_per_second, 4000);
  EXPECT_DOUBLE_EQ(d.cpu_s_per_1000, 0.2);
  EXPECT_DOUBLE_EQ(d.max_rss_mib, 20);
  EXPECT_DOUBLE_EQ(d.crm_calls_per_charge, 0.041);
  EXPECT_DOUBLE_EQ(d.posts_per_charge, 0.77);
}

TEST(derive, an_empty_run_gives_zeros_not_infinities) {
  const auto d = derive(measurement{});
  EXPECT_EQ(d.charges_per_second, 0);
  EXPECT_EQ(d.cpu_s_per_1000, 0);
  EXPECT_EQ(d.crm_calls_per_charge, 0);
}

TEST(ratio, missing_or_zero_denominator_has_no_ratio) {
  EXPECT_DOUBLE_EQ(*ratio(3.0, 2.0), 1.5);
  EXPECT_FALSE(ratio(3.0, 0.0));
  EXPECT_FALSE(ratio(std::nullopt, 2.0));
  EXPECT_FALSE(ratio(3.0, std::nullopt));
}

}  // namespace
}  // namespace chargerecon::bench
