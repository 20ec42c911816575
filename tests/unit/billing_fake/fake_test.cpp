#include "billing-fake/fake.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace chargerecon::billing_fake {
namespace {

using http::server_reply;

std::string charge_body(std::string_view number, std::string_view customer = "C0001", std::string_view amount = "0.1") {
  return R"({"number":")" + std::string(number) + R"(","billing_system_customer_identifier":")" +
         std::string(customer) + R"(","amount":)" + std::string(amount) + R"(,"currency":"EUR","charge_status":"APPROVED"})";
}

http::server_request post(std::string_view key, std::string body, std::string target = "/bill") {
  http::server_request r;
  r.verb = http::method::post;
  r.target = std::move(target);
  r.body = std::move(body);
  if (!key.empty()) r.headers.push_back({"Idempotency-Key", std::string(key)});
  return r;
}

http::server_request get_state() {
  http::server_request r;
  r.target = "/state";
  return r;
}

std::string reference_of(const fake_reply& r) {
  return std::string(boost::json::parse(r.reply.resp.body).as_object().at("reference_number").as_string());
}

std::string error_of(const fake_reply& r) {
  return std::string(boost::json::parse(r.reply.resp.body).as_object().at("error").as_string());
}

TEST(billing_fake, first_post_bills_and_records_the_charge) {
  fake f({});
  const auto body = charge_body("I0001", "C0001", "12.50");
  const auto r = f.handle(post("I0001", body));
  EXPECT_EQ(r.reply.what, server_reply::action::respond);
  EXPECT_EQ(r.reply.resp.status, 201u);
  EXPECT_EQ(reference_of(r), "B-000001");
  ASSERT_EQ(f.records().size(), 1u);
  const auto& rec = f.records()[0];
  EXPECT_EQ(rec.reference_number, "B-000001");
  EXPECT_EQ(rec.number, "I0001");
  EXPECT_EQ(rec.customer, "C0001");
  EXPECT_EQ(rec.amount, "12.50");
  EXPECT_EQ(rec.currency, "EUR");
  EXPECT_EQ(rec.raw_body, body);
}

TEST(billing_fake, the_same_key_twice_is_one_record_and_a_409_with_the_first_reference) {
  fake f({});
  ASSERT_EQ(f.handle(post("I0001", charge_body("I0001"))).reply.resp.status, 201u);
  ASSERT_EQ(f.handle(post("I0002", charge_body("I0002"))).reply.resp.status, 201u);
  const auto again = f.handle(post("I0001", charge_body("I0001", "C0001", "99")));
  EXPECT_EQ(again.reply.resp.status, 409u);
  EXPECT_EQ(reference_of(again), "B-000001");
  EXPECT_EQ(f.records().size(), 2u);
  EXPECT_EQ(f.records()[0].amount, "0.1");  // the first post's charge stays
  EXPECT_EQ(f.posts_for("I0001"), 2u);
  EXPECT_EQ(f.posts_for("I0002"), 1u);
  EXPECT_EQ(f.posts_total(), 3u);
}

TEST(billing_fake, amount_text_is_stored_verbatim) {
  fake f({});
  const std::vector<std::string> amounts = {"0.1", "10.50", "1E+2", "-0.000", "12345678901234567890.123456789"};
  for (std::size_t i = 0; i < amounts.size(); ++i) {
    const auto key = "I" + std::to_string(i);
    // Whitespace around the number belongs to the JSON, not to the amount.
    auto body = R"({"number":")" + key + R"(", "amount" :  )" + amounts[i] + R"(  , "currency":"EUR"})";
    ASSERT_EQ(f.handle(post(key, body)).reply.resp.status, 201u) << amounts[i];
    EXPECT_EQ(f.records().back().amount, amounts[i]);
  }
  const auto state = boost::json::parse(f.handle(get_state()).reply.resp.body).as_object();
  EXPECT_EQ(state.at("records").as_array().at(2).as_object().at("amount").as_string(), "1E+2");
}

TEST(billing_fake, a_quoted_amount_is_refused) {
  fake f({});
  const auto r = f.handle(post("I1", R"({"number":"I1","amount":"0.1"})"));
  EXPECT_EQ(r.reply.resp.status, 422u);
  EXPECT_NE(error_of(r).find("amount"), std::string::npos);
  EXPECT_TRUE(f.records().empty());
}

TEST(billing_fake, customers_on_the_reject_list_are_refused_every_time) {
  fake_config c;
  c.reject_customers = {"C0007", "C0013"};
  fake f(c);
  for (int i = 0; i < 2; ++i) {
    const auto r = f.handle(post("I0007", charge_body("I0007", "C0007")));
    EXPECT_EQ(r.reply.resp.status, 422u);
    EXPECT_NE(error_of(r).find("C0007"), std::string::npos);
  }
  EXPECT_EQ(f.handle(post("I0013", charge_body("I0013", "C0013"))).reply.resp.status, 422u);
  EXPECT_EQ(f.handle(post("I0008", charge_body("I0008", "C0008"))).reply.resp.status, 201u);
  ASSERT_EQ(f.records().size(), 1u);
  EXPECT_EQ(f.records()[0].number, "I0008");
  EXPECT_EQ(f.posts_for("I0007"), 2u);
}

TEST(billing_fake, a_missing_idempotency_key_is_a_400) {
  fake f({});
  const auto r = f.handle(post("", charge_body("I1")));
  EXPECT_EQ(r.reply.resp.status, 400u);
  EXPECT_NE(error_of(r).find("Idempotency-Key"), std::string::npos);
  EXPECT_TRUE(f.records().empty());
  EXPECT_EQ(f.posts_total(), 1u);
}

TEST(billing_fake, a_number_other_than_the_key_is_a_422) {
  fake f({});
  const auto r = f.handle(post("I0002", charge_body("I0001")));
  EXPECT_EQ(r.reply.resp.status, 422u);
  EXPECT_NE(error_of(r).find("Idempotency-Key"), std::string::npos);
  EXPECT_TRUE(f.records().empty());
}

TEST(billing_fake, bodies_that_are_not_a_charge_object_are_a_422) {
  fake f({});
  for (const std::string body : {"", "[]", "not json", R"({"number":"I1"} x)", R"({"amount":1})", R"({"number":1})",
                                 R"({"number":"I1")", R"({"number":"I1","currency":5})"}) {
    EXPECT_EQ(f.handle(post("I1", body)).reply.resp.status, 422u) << body;
  }
  EXPECT_TRUE(f.records().empty());
}

TEST(billing_fake, a_configured_token_is_required) {
  fake_config c;
  c.token = "s3cret";
  fake f(c);
  auto req = post("I1", charge_body("I1"));
  const auto none = f.handle(req);
  EXPECT_EQ(none.reply.resp.status, 401u);
  req.headers.push_back({"Authorization", "Bearer wrong"});
  EXPECT_EQ(f.handle(req).reply.resp.status, 401u);
  req.headers.back().value = "Bearer s3cret";
  EXPECT_EQ(f.handle(req).reply.resp.status, 201u);
  EXPECT_EQ(f.records().size(), 1u);
}

TEST(billing_fake, paths_ending_with_the_configured_path_take_charges) {
  fake f({});
  EXPECT_EQ(f.handle(post("I1", charge_body("I1"), "/billing/v1/bill")).reply.resp.status, 201u);
  EXPECT_EQ(f.handle(post("I2", charge_body("I2"), "/bill/")).reply.resp.status, 201u);
  EXPECT_EQ(f.handle(post("I3", charge_body("I3"), "/bill?x=1")).reply.resp.status, 201u);
  EXPECT_EQ(f.handle(post("I4", charge_body("I4"), "/other")).reply.resp.status, 404u);
  auto get = post("I5", "", "/bill");
  get.verb = http::method::get;
  EXPECT_EQ(f.handle(get).reply.resp.status, 405u);
  EXPECT_EQ(f.records().size(), 3u);
}

TEST(billing_fake, state_lists_records_and_posts) {
  fake f({});
  f.handle(post("I1", charge_body("I1", "C1", "0.1")));
  f.handle(post("I1", charge_body("I1", "C1", "0.1")));
  f.handle(post("I2", R"({"number":"I9"})"));
  const auto r = f.handle(get_state());
  EXPECT_EQ(r.reply.resp.status, 200u);
  const auto state = boost::json::parse(r.reply.resp.body).as_object();
  const auto& records = state.at("records").as_array();
  ASSERT_EQ(records.size(), 1u);
  const auto& rec = records.at(0).as_object();
  EXPECT_EQ(rec.at("reference_number").as_string(), "B-000001");
  EXPECT_EQ(rec.at("number").as_string(), "I1");
  EXPECT_EQ(rec.at("customer").as_string(), "C1");
  EXPECT_EQ(rec.at("amount").as_string(), "0.1");
  EXPECT_EQ(rec.at("currency").as_string(), "EUR");
  EXPECT_EQ(rec.at("posts").to_number<std::uint64_t>(), 2u);
  EXPECT_EQ(state.at("posts_total").to_number<std::uint64_t>(), 3u);
  EXPECT_EQ(state.at("posts_by_key").as_object().at("I2").to_number<std::uint64_t>(), 1u);
}

TEST(billing_fake, rate_limit_answers_429_with_retry_after_and_records_nothing) {
  fake_config c;
  c.rate_limit = 1.0;
  fake f(c);
  const auto r = f.handle(post("I1", charge_body("I1")));
  EXPECT_EQ(r.reply.resp.status, 429u);
  EXPECT_EQ(r.reply.resp.header("Retry-After"), "1");
  EXPECT_TRUE(f.records().empty());
  EXPECT_EQ(f.posts_for("I1"), 1u);
}

TEST(billing_fake, fail_5xx_answers_503_and_records_nothing) {
  fake_config c;
  c.fail_5xx = 1.0;
  fake f(c);
  EXPECT_EQ(f.handle(post("I1", charge_body("I1"))).reply.resp.status, 503u);
  EXPECT_TRUE(f.records().empty());
}

TEST(billing_fake, drop_closes_without_recording) {
  fake_config c;
  c.drop = 1.0;
  fake f(c);
  EXPECT_EQ(f.handle(post("I1", charge_body("I1"))).reply.what, server_reply::action::drop);
  EXPECT_TRUE(f.records().empty());
}

TEST(billing_fake, apply_then_drop_records_then_closes_and_the_retry_replays) {
  fake_config c;
  c.apply_then_drop = 1.0;
  fake f(c);
  EXPECT_EQ(f.handle(post("I1", charge_body("I1"))).reply.what, server_reply::action::drop);
  ASSERT_EQ(f.records().size(), 1u);
  EXPECT_EQ(f.handle(post("I1", charge_body("I1"))).reply.what, server_reply::action::drop);
  EXPECT_EQ(f.records().size(), 1u);  // never a second record
}

TEST(billing_fake, malformed_json_records_then_answers_garbage_and_the_retry_replays) {
  fake_config c;
  c.malformed_json = 1.0;
  fake f(c);
  const auto first = f.handle(post("I1", charge_body("I1")));
  EXPECT_EQ(first.reply.resp.status, 201u);
  boost::system::error_code ec;
  (void)boost::json::parse(first.reply.resp.body, ec);
  EXPECT_TRUE(ec) << first.reply.resp.body;  // no reference to read
  ASSERT_EQ(f.records().size(), 1u);
  EXPECT_EQ(f.handle(post("I1", charge_body("I1"))).reply.resp.status, 409u);
  EXPECT_EQ(f.records().size(), 1u);  // never a second record
}

TEST(billing_fake, stats_count_each_kind_of_fault_and_state_names_the_refused_customers) {
  fake_config c;
  c.reject_customers = {"C0007"};
  fake f(c);
  const auto set_faults = [&f](std::string body) {
    http::server_request r;
    r.verb = http::method::post;
    r.target = "/faults";
    r.body = std::move(body);
    return f.handle(r);
  };
  const auto post_one = [&f](std::string_view key, std::string_view customer = "C0001") {
    return f.handle(post(key, charge_body(key, customer)));
  };
  ASSERT_EQ(set_faults(R"({"drop": 1})").reply.resp.status, 200u);
  post_one("I1");
  set_faults(R"({"drop": 0, "fail_5xx": 1, "latency": 2})");
  post_one("I1");
  set_faults(R"({"fail_5xx": 0, "rate_limit": 1, "latency": 0})");
  post_one("I1");
  set_faults(R"({"rate_limit": 0, "apply_then_drop": 1})");
  post_one("I1");
  set_faults(R"({"apply_then_drop": 0, "malformed_json": 1})");
  post_one("I2");
  set_faults(R"({"malformed_json": 0})");
  post_one("I3", "C0007");
  // The same key with another amount: a client reusing a key for another charge.
  f.handle(post("I2", charge_body("I2", "C0001", "0.2")));

  http::server_request stats;
  stats.target = "/stats";
  const auto s = boost::json::parse(f.handle(stats).reply.resp.body).as_object();
  const auto& faults = s.at("faults_injected").as_object();
  for (const auto* kind : {"drop", "fail_5xx", "rate_limit", "apply_then_drop", "malformed_json", "held_refused",
                           "latency"})
    EXPECT_EQ(faults.at(kind).to_number<int>(), 1) << kind;
  EXPECT_EQ(s.at("posts_total").to_number<int>(), 7);
  EXPECT_EQ(s.at("record_count").to_number<int>(), 2);
  EXPECT_EQ(s.at("replay_conflict_count").to_number<int>(), 1);
  EXPECT_FALSE(s.contains("records"));  // cheap: no record list

  const auto state = boost::json::parse(f.handle(get_state()).reply.resp.body).as_object();
  EXPECT_EQ(state.at("reject_customers").as_array(), boost::json::array{"C0007"});
  EXPECT_EQ(state.at("replay_conflicts").as_object().at("I2").to_number<int>(), 1);
  EXPECT_EQ(state.at("faults_injected"), s.at("faults_injected"));
}

TEST(billing_fake, fault_settings_are_applied_all_or_nothing) {
  fake_config c;
  EXPECT_TRUE(apply_fault_settings(c, R"({"drop": 0.25, "jitter": 5})"));
  EXPECT_EQ(c.drop, 0.25);
  EXPECT_EQ(c.jitter, std::chrono::milliseconds(5));
  for (const auto* bad : {R"({"drop": 0.5, "bogus": 1})", R"({"drop": 2})", R"({"fail_5xx": 0.8})", R"([1])",
                          R"({"latency": -1})", "{"}) {
    auto r = apply_fault_settings(c, bad);
    EXPECT_FALSE(r) << bad;
  }
  EXPECT_EQ(c.drop, 0.25);  // untouched by the refused ones
  EXPECT_EQ(c.fail_5xx, 0.0);
}

TEST(billing_fake, faults_follow_the_seed_and_their_probabilities) {
  fake_config c;
  c.fail_5xx = 0.3;
  c.rate_limit = 0.2;
  c.seed = 42;
  const auto run = [&c] {
    fake f(c);
    std::vector<unsigned> statuses;
    for (int i = 0; i < 1000; ++i) {
      const auto key = "I" + std::to_string(i);
      statuses.push_back(f.handle(post(key, charge_body(key))).reply.resp.status);
    }
    return statuses;
  };
  const auto a = run();
  EXPECT_EQ(a, run());  // the same seed replays the same faults
  const auto count = [&a](unsigned s) { return std::count(a.begin(), a.end(), s); };
  // Loose bounds: far outside them the probabilities would not mean what the flags say.
  EXPECT_GT(count(503), 200);
  EXPECT_LT(count(503), 400);
  EXPECT_GT(count(429), 120);
  EXPECT_LT(count(429), 280);
  EXPECT_EQ(count(201) + count(503) + count(429), 1000);
}

TEST(billing_fake, latency_and_jitter_set_the_delay_of_charge_answers_only) {
  using namespace std::chrono_literals;
  fake_config c;
  c.latency = 20ms;
  c.jitter = 10ms;
  fake f(c);
  for (int i = 0; i < 50; ++i) {
    const auto key = "I" + std::to_string(i);
    const auto d = f.handle(post(key, charge_body(key))).delay;
    EXPECT_GE(d, 20ms);
    EXPECT_LE(d, 30ms);
  }
  EXPECT_EQ(f.handle(get_state()).delay, 0ms);
}

}  // namespace
}  // namespace chargerecon::billing_fake
