#include "engine/ack_window.hpp"

#include <gtest/gtest.h>

namespace chargerecon::engine {
namespace {

TEST(ack_window, holds_up_to_its_number_of_calls) {
  ack_window w(2);
  EXPECT_TRUE(w.has_room());
  w.open({"I1"});
  EXPECT_TRUE(w.has_room());
  w.open({"I2"});
  EXPECT_FALSE(w.has_room());
  EXPECT_EQ(w.calls(), 2u);
  w.close({"I1"});
  EXPECT_TRUE(w.has_room());
  EXPECT_EQ(w.calls(), 1u);
}

TEST(ack_window, zero_calls_means_one) {
  ack_window w(0);
  EXPECT_EQ(w.max_calls(), 1u);
  EXPECT_TRUE(w.has_room());
  w.open({"I1"});
  EXPECT_FALSE(w.has_room());
}

TEST(ack_window, a_charge_in_a_call_out_is_left_out_until_its_call_closes) {
  ack_window w(4);
  w.open({"I1", "I2"});
  EXPECT_TRUE(w.carries("I1"));
  EXPECT_TRUE(w.carries("I2"));
  EXPECT_FALSE(w.carries("I3"));
  EXPECT_EQ(w.excluded(), 2u);
  w.close({"I1", "I2"});
  EXPECT_FALSE(w.carries("I1"));
  EXPECT_FALSE(w.carries("I2"));
  EXPECT_EQ(w.excluded(), 0u);
}

TEST(ack_window, a_call_closing_during_a_query_stays_left_out_of_that_query) {
  // The query may have read the ledger before the call's answer was committed, and returns
  // the charge as still ready: taking it would acknowledge it a second time.
  ack_window w(4);
  w.open({"I1"});
  w.query_started();
  w.close({"I1"});
  EXPECT_TRUE(w.carries("I1"));
  EXPECT_EQ(w.excluded(), 1u);
  w.query_ended();
  EXPECT_FALSE(w.carries("I1"));
  EXPECT_EQ(w.excluded(), 0u);
}

TEST(ack_window, a_call_closing_before_the_query_starts_is_free_for_it) {
  ack_window w(4);
  w.open({"I1"});
  w.close({"I1"});
  w.query_started();
  EXPECT_FALSE(w.carries("I1"));
  w.query_ended();
}

TEST(ack_window, the_charges_of_a_batch_taken_during_a_query_stay_carried_after_it) {
  ack_window w(4);
  w.query_started();
  w.open({"I5"});
  w.query_ended();
  EXPECT_TRUE(w.carries("I5"));
  EXPECT_EQ(w.calls(), 1u);
}

}  // namespace
}  // namespace chargerecon::engine
