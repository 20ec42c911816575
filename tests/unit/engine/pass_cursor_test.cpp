#include "engine/pass_cursor.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>

namespace chargerecon::engine {
namespace {

std::vector<std::string> numbers(int from, int count) {
  std::vector<std::string> out;
  for (int i = from; i < from + count; ++i) out.push_back("I" + std::to_string(i));
  return out;
}

// Model of CRM.COM's list: the unacknowledged charges, oldest first; acknowledging removes a
// charge and shifts the rest forward.
struct fake_list {
  std::deque<std::string> charges;
  explicit fake_list(int n) {
    for (int i = 1; i <= n; ++i) charges.push_back("I" + std::to_string(i));
  }
  std::vector<std::string> page(std::size_t offset, std::size_t n) const {
    std::vector<std::string> out;
    for (std::size_t i = offset; i < std::min(charges.size(), offset + n); ++i) out.push_back(charges[i]);
    return out;
  }
  void acknowledge(const std::string& number) { charges.erase(std::find(charges.begin(), charges.end(), number)); }
};

TEST(pass_cursor, starts_at_zero_and_advances_by_unacknowledged_charges) {
  pass_cursor c(3);
  EXPECT_EQ(c.next_offset(), 0u);
  c.on_page(numbers(1, 3));
  EXPECT_FALSE(c.finished());
  EXPECT_EQ(c.next_offset(), 3u);
}

TEST(pass_cursor, acknowledged_charges_leave_the_count) {
  pass_cursor c(3);
  c.on_page(numbers(1, 3));
  c.on_ack_sent("I1");
  c.on_ack_sent("I2");
  // Two left the list: the third is now at position 0, so the next unseen one is at 1.
  EXPECT_EQ(c.next_offset(), 1u);
}

TEST(pass_cursor, a_refused_acknowledgement_counts_again) {
  pass_cursor c(3);
  c.on_page(numbers(1, 3));
  c.on_ack_sent("I2");
  c.on_ack_refused("I2");
  EXPECT_EQ(c.next_offset(), 3u);
}

TEST(pass_cursor, refusals_for_charges_of_other_passes_do_not_count) {
  pass_cursor c(3);
  c.on_page(numbers(1, 3));
  c.on_ack_refused("I99");
  EXPECT_EQ(c.next_offset(), 3u);
}

TEST(pass_cursor, a_short_page_ends_the_pass) {
  pass_cursor c(50);
  c.on_page(numbers(1, 49));
  EXPECT_TRUE(c.finished());
  EXPECT_FALSE(c.stalled());
}

TEST(pass_cursor, an_empty_page_ends_the_pass) {
  pass_cursor c(50);
  c.on_page({});
  EXPECT_TRUE(c.finished());
}

TEST(pass_cursor, repeated_charges_are_counted_once) {
  pass_cursor c(3);
  c.on_page(numbers(1, 3));
  c.on_ack_sent("I1");  // answer lost: CRM.COM did not apply it after all
  // The server still lists I1..I3 at 0..2, so offset 2 gives I3 again plus two new ones.
  EXPECT_EQ(c.next_offset(), 2u);
  c.on_page({"I3", "I4", "I5"});
  EXPECT_EQ(c.seen(), 5u);
  EXPECT_EQ(c.next_offset(), 4u);
}

TEST(pass_cursor, a_full_page_with_nothing_new_stalls_instead_of_looping) {
  pass_cursor c(2);
  c.on_page({"I1", "I2"});
  c.on_page({"I1", "I2"});
  EXPECT_TRUE(c.finished());
  EXPECT_TRUE(c.stalled());
}

// Found by the chaos run: while a backlog drains, an acknowledgement sent after a page is often
// still on its way when the next list call reaches CRM.COM, which then lists those charges
// again. A full page of them is not a stall: the pass must go on, or a daemon waits a whole
// poll.interval before it looks at the rest of the backlog.
TEST(pass_cursor, a_full_page_repeated_because_acknowledgements_were_in_flight_goes_on) {
  fake_list server(50);
  pass_cursor c(10);
  c.on_page(server.page(0, 10));
  for (const auto& n : numbers(1, 10)) c.on_ack_sent(n);  // sent, not applied yet
  EXPECT_EQ(c.next_offset(), 0u);
  c.on_page(server.page(c.next_offset(), 10), true);  // I1..I10 again: the acknowledgement is late
  EXPECT_FALSE(c.finished());
  EXPECT_FALSE(c.stalled());
  for (const auto& n : numbers(1, 10)) server.acknowledge(n);  // now CRM.COM applies it
  std::vector<std::string> seen;
  while (!c.finished()) {
    const auto p = server.page(c.next_offset(), c.page_size());
    c.on_page(p);
    seen.insert(seen.end(), p.begin(), p.end());
  }
  EXPECT_FALSE(c.stalled());
  EXPECT_EQ(seen, numbers(11, 40));  // the rest of the backlog, in this pass
}

// A client that acknowledges some of every page (the rest held) must still see every charge
// exactly once per pass, in order, without skipping.
TEST(pass_cursor, sees_every_charge_while_acknowledging_some_of_every_page) {
  fake_list server(137);
  pass_cursor c(10);
  std::vector<std::string> seen;
  while (!c.finished()) {
    const auto p = server.page(c.next_offset(), c.page_size());
    c.on_page(p);
    for (const auto& n : p) {
      seen.push_back(n);
      // Every third charge is held (never acknowledged); the others are acknowledged at once.
      if (std::stoi(n.substr(1)) % 3 != 0) {
        c.on_ack_sent(n);
        server.acknowledge(n);
      }
    }
  }
  ASSERT_EQ(seen.size(), 137u);
  for (int i = 1; i <= 137; ++i) EXPECT_EQ(seen[static_cast<std::size_t>(i - 1)], "I" + std::to_string(i));
  EXPECT_EQ(server.charges.size(), 45u);  // the held ones
}

TEST(pass_cursor, forgets_charges_whose_acknowledgement_was_applied) {
  pass_cursor c(3);
  c.on_page(numbers(1, 3));
  c.on_ack_sent("I1");
  c.on_ack_applied("I1", /*list_call_in_flight=*/false);
  // Gone from the list for good: the pass need not remember it, and the offset is unchanged.
  EXPECT_EQ(c.seen(), 2u);
  EXPECT_EQ(c.next_offset(), 2u);
}

TEST(pass_cursor, a_list_call_in_flight_may_still_return_an_applied_charge) {
  pass_cursor c(3);
  c.on_page(numbers(1, 3));
  c.on_ack_sent("I1");
  // The call at offset 2 left before CRM.COM applied the acknowledgement of I1, so its page
  // is I3, I4, I5 or, as here, still I1 first; I1 is recognised, not counted again.
  c.on_ack_applied("I1", /*list_call_in_flight=*/true);
  c.on_page({"I3", "I4", "I5"});
  EXPECT_EQ(c.next_offset(), 4u);  // I2..I5
  EXPECT_EQ(c.seen(), 4u);         // I1 forgotten after that page
}

TEST(pass_cursor, an_applied_charge_seen_again_by_the_call_in_flight_is_not_counted) {
  pass_cursor c(3);
  c.on_page(numbers(1, 3));
  c.on_ack_sent("I3");
  c.on_ack_applied("I3", /*list_call_in_flight=*/true);
  c.on_page({"I3", "I4", "I5"});
  EXPECT_EQ(c.next_offset(), 4u);  // I1, I2, I4, I5: I3 has left the list
}

TEST(pass_cursor, an_acknowledgement_that_did_not_stick_counts_the_charge_again) {
  pass_cursor c(3);
  c.on_page(numbers(1, 3));
  c.on_ack_sent("I1");
  c.on_ack_applied("I1", false);
  // CRM.COM said it took it, yet lists it again: it is in the list, so it counts.
  c.on_page({"I1", "I4", "I5"});
  EXPECT_EQ(c.next_offset(), 5u);
}


TEST(pass_cursor, a_page_of_new_charges_is_not_taken_for_repeats_when_it_forgets_as_many) {
  // Acknowledgements answered during the call are forgotten after its page: seen() then stays
  // where it was although the page brought a full page of new charges. Taking that for a page
  // of repeats made the engine wait for acknowledgement answers before every such page.
  pass_cursor c(3);
  c.on_page(numbers(1, 3));
  for (const auto& n : numbers(1, 3)) c.on_ack_sent(n);
  for (const auto& n : numbers(1, 3)) c.on_ack_applied(n, true);
  const auto seen_before = c.seen();
  c.on_page(numbers(4, 3));
  EXPECT_EQ(c.seen(), seen_before);
  EXPECT_EQ(c.last_page_new(), 3u);
  EXPECT_FALSE(c.finished());
  EXPECT_EQ(c.next_offset(), 3u);
}

TEST(pass_cursor, a_page_of_repeats_brings_nothing_new) {
  pass_cursor c(3);
  c.on_page(numbers(1, 3));
  c.on_ack_sent("I1");
  c.on_page(numbers(1, 3), true);  // the acknowledgement was not applied yet
  EXPECT_EQ(c.last_page_new(), 0u);
  EXPECT_FALSE(c.finished());
}

}  // namespace
}  // namespace chargerecon::engine
