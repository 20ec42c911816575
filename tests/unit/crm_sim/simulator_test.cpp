#include "crm-sim/simulator.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <map>

#include "crm-sim/jwt.hpp"

namespace chargerecon::crm_sim {
namespace {

using namespace std::chrono;
namespace json = boost::json;

const time_point t0 = sys_days{year{2026} / 1 / 15} + hours(12);

http::server_request get(std::string target) {
  http::server_request r;
  r.verb = http::method::get;
  r.target = std::move(target);
  return r;
}

http::server_request post(std::string target, std::string body) {
  http::server_request r;
  r.verb = http::method::post;
  r.target = std::move(target);
  r.body = std::move(body);
  return r;
}

const std::string api = "/crmapi/rest/v2/";

// A JSON string member as std::string, for comparing with computed strings.
std::string text(const json::value& v) { return v.is_string() ? std::string(v.as_string()) : "<not a string>"; }

struct ack {
  std::string number;
  std::string customer;
  std::optional<std::string> reference;
};

class simulator_test : public ::testing::Test {
 protected:
  sim_config config;
  std::unique_ptr<simulator> sim;

  void SetUp() override {
    config.generator.seed = 11;
    config.generator.backlog = 12;
    config.generator.pending_ratio = 0;
  }
  void start() { sim = std::make_unique<simulator>(config, t0); }

  json::object call(const http::server_request& r, time_point now, unsigned expected_http = 200) {
    last = sim->handle(r, now);
    EXPECT_EQ(last.reply.what, http::server_reply::action::respond);
    EXPECT_EQ(last.reply.resp.status, expected_http) << last.reply.resp.body;
    return json::parse(last.reply.resp.body).as_object();
  }

  std::string login(time_point now = t0) {
    const auto answer = call(
        post(api + "authentication/token", R"({"username":"operator","password":"secret","organisation":"demo-org"})"),
        now);
    EXPECT_EQ(answer.at("status").at("code"), "OK");
    return std::string(answer.at("data").at("token").as_string());
  }

  json::object list_answer(const std::string& token, std::string_view status, std::uint64_t offset, std::uint64_t n,
                           time_point now = t0) {
    return call(get(api + "netflix/charges/list?token=" + token + "&charge_status=" + std::string(status) +
                    "&offset=" + std::to_string(offset) + "&number_of_results=" + std::to_string(n)),
                now);
  }

  std::vector<std::string> list(const std::string& token, std::string_view status, std::uint64_t offset,
                                std::uint64_t n, time_point now = t0) {
    const auto answer = list_answer(token, status, offset, n, now);
    EXPECT_EQ(answer.at("status").at("code"), "OK") << json::serialize(answer);
    std::vector<std::string> numbers;
    for (const auto& c : answer.at("data").at("charges_set").as_array()) {
      numbers.emplace_back(c.at("number").as_string());
    }
    return numbers;
  }

  static std::string ack_body(const std::string& token, const std::vector<ack>& items) {
    json::array set;
    for (const auto& a : items) {
      json::object o;
      o["number"] = a.number;
      o["billing_system_customer_identifier"] = a.customer;
      if (a.reference) o["reference_number"] = *a.reference;
      set.push_back(std::move(o));
    }
    json::object body;
    body["token"] = token;
    body["acknowledged_charges_set"] = std::move(set);
    return json::serialize(body);
  }

  // The failed_charges_set of an acknowledge call, by number -> error_code.
  std::map<std::string, std::string> acknowledge(const std::string& token, const std::vector<ack>& items,
                                                 time_point now = t0) {
    const auto answer = call(post(api + "netflix/charges/acknowledge", ack_body(token, items)), now);
    EXPECT_EQ(answer.at("status").at("code"), "OK") << json::serialize(answer);
    std::map<std::string, std::string> failed;
    for (const auto& f : answer.at("data").at("failed_charges_set").as_array()) {
      failed[std::string(f.at("number").as_string())] = std::string(f.at("error_code").as_string());
    }
    return failed;
  }

  const charge& find(std::string_view number) const {
    const auto& all = sim->charges();
    const auto it = std::find_if(all.begin(), all.end(), [&](const charge& c) { return c.number == number; });
    EXPECT_NE(it, all.end()) << number;
    return *it;
  }

  ack ack_of(std::string_view number, std::optional<std::string> reference = std::nullopt) const {
    return {std::string(number), find(number).customer, std::move(reference)};
  }

  sim_reply last;
};

std::string number(int n) {
  char text[16];
  std::snprintf(text, sizeof text, "I%08d", n);
  return text;
}

std::vector<std::string> numbers(int from, int to) {
  std::vector<std::string> out;
  for (int n = from; n <= to; ++n) out.push_back(number(n));
  return out;
}

// ---- login and tokens ----

TEST_F(simulator_test, login_answers_a_jwt_with_the_claims) {
  start();
  const auto token = login();
  const auto first_dot = token.find('.');
  const auto payload = base64url_decode(token.substr(first_dot + 1, token.rfind('.') - first_dot - 1));
  ASSERT_TRUE(payload);
  const auto claims = json::parse(*payload).as_object();
  EXPECT_EQ(claims.at("usr"), "operator");
  EXPECT_EQ(claims.at("org"), "demo-org");
  EXPECT_TRUE(claims.contains("oun"));
  EXPECT_TRUE(claims.contains("jti"));
  const auto iat = duration_cast<seconds>(t0.time_since_epoch()).count();
  EXPECT_EQ(claims.at("iat").as_int64(), iat);
  EXPECT_EQ(claims.at("exp").as_int64(), iat + 7200);
  EXPECT_EQ(sim->logins(), 1u);
  EXPECT_NE(login(), token);  // jti differs even within the same second
}

TEST_F(simulator_test, exp_as_string_flag_writes_numeric_strings) {
  config.exp_as_string = true;
  start();
  const auto token = login();
  const auto first_dot = token.find('.');
  const auto claims =
      json::parse(*base64url_decode(token.substr(first_dot + 1, token.rfind('.') - first_dot - 1))).as_object();
  EXPECT_EQ(text(claims.at("exp")), std::to_string(duration_cast<seconds>(t0.time_since_epoch()).count() + 7200));
}

TEST_F(simulator_test, organization_spelling_and_unit_are_accepted) {
  start();
  const auto answer = call(post(api + "authentication/token",
                                R"({"username":"operator","password":"secret","organization":"demo-org","unit":"HQ"})"),
                           t0);
  EXPECT_EQ(answer.at("status").at("code"), "OK");
}

TEST_F(simulator_test, wrong_credentials_are_refused_naming_them) {
  start();
  const auto body = R"({"username":"operator","password":"wrong","organisation":"demo-org"})";
  auto answer = call(post(api + "authentication/token", body), t0);
  EXPECT_EQ(answer.at("status").at("code"), "ERROR");
  EXPECT_NE(std::string(answer.at("status").at("message").as_string()).find("Invalid credentials"), std::string::npos);
  EXPECT_EQ(sim->logins(), 0u);

  config.login_refusal_http_401 = true;
  start();
  answer = call(post(api + "authentication/token", body), t0, 401);
  EXPECT_EQ(answer.at("status").at("code"), "ERROR");
}

TEST_F(simulator_test, web_api_key_login_takes_basic_auth_with_an_empty_password) {
  config.web_api_key = "key-123";
  start();
  auto request = post(api + "authentication/web_api_key/token", "");
  request.headers.push_back({"Authorization", "Basic a2V5LTEyMzo="});  // "key-123:"
  auto answer = call(request, t0);
  ASSERT_EQ(answer.at("status").at("code"), "OK");
  const std::string token(answer.at("data").at("token").as_string());
  EXPECT_EQ(list(token, "PROCESSED", 0, 1).size(), 1u);

  request.headers = {{"Authorization", "Basic a2V5LTEyMzpwdw=="}};  // "key-123:pw"
  EXPECT_EQ(call(request, t0).at("status").at("code"), "ERROR");
  request.headers = {{"Authorization", "Basic b3RoZXI6"}};  // "other:"
  EXPECT_EQ(call(request, t0).at("status").at("code"), "ERROR");
  request.headers.clear();
  EXPECT_EQ(call(request, t0).at("status").at("code"), "ERROR");
}

TEST_F(simulator_test, missing_unknown_and_expired_tokens_are_refused) {
  start();
  const auto expect_token_error = [&](const json::object& answer, std::string_view message) {
    EXPECT_EQ(answer.at("status").at("code"), "ERROR");
    EXPECT_EQ(text(answer.at("status").at("message")), message);
  };
  expect_token_error(call(get(api + "netflix/charges/list?charge_status=PROCESSED&offset=0&number_of_results=5"), t0),
                     "Invalid token");
  expect_token_error(list_answer("not.a.token", "PROCESSED", 0, 5), "Invalid token");
  const auto token = login();
  EXPECT_EQ(list(token, "PROCESSED", 0, 5, t0 + hours(2) - seconds(1)).size(), 5u);
  expect_token_error(list_answer(token, "PROCESSED", 0, 5, t0 + hours(2)), "Token expired");
  expect_token_error(call(post(api + "netflix/charges/acknowledge", ack_body(token, {})), t0 + hours(3)),
                     "Token expired");
}

TEST_F(simulator_test, token_expiry_fault_kills_tokens_early_and_401_flag_changes_the_status) {
  config.faults.token_expiry_every = seconds(30);
  config.token_error_http_401 = true;
  start();
  const auto token = login();
  EXPECT_EQ(list(token, "PROCESSED", 0, 5, t0 + seconds(29)).size(), 5u);
  const auto answer =
      call(get(api + "netflix/charges/list?token=" + token + "&charge_status=PROCESSED&offset=0&number_of_results=5"),
           t0 + seconds(30), 401);
  EXPECT_EQ(answer.at("status").at("message"), "Token expired");
  const auto fresh = login(t0 + seconds(31));
  EXPECT_EQ(list(fresh, "PROCESSED", 0, 5, t0 + seconds(40)).size(), 5u);
}

// ---- charges/list ----

TEST_F(simulator_test, list_pages_oldest_first_and_separates_pending) {
  config.generator.pending_ratio = 0.5;
  config.generator.backlog = 40;
  start();
  const auto token = login();
  std::vector<std::string> processed, pending;
  for (const auto& c : sim->charges()) (c.status == charge_status::pending ? pending : processed).push_back(c.number);
  ASSERT_GT(pending.size(), 5u);
  ASSERT_GT(processed.size(), 5u);
  EXPECT_EQ(list(token, "PROCESSED", 0, 50), processed);
  EXPECT_EQ(list(token, "NOT_PROCESSED", 0, 50), pending);
  EXPECT_EQ(list(token, "PROCESSED", 2, 3), std::vector<std::string>(processed.begin() + 2, processed.begin() + 5));
  EXPECT_TRUE(list(token, "PROCESSED", processed.size(), 50).empty());
  const auto pending_answer = list_answer(token, "NOT_PROCESSED", 0, 50);
  for (const auto& c : pending_answer.at("data").at("charges_set").as_array()) {
    EXPECT_EQ(c.at("charge_status"), "PENDING");
  }
}

TEST_F(simulator_test, offset_counts_within_the_list_at_the_moment_of_the_call) {
  start();
  const auto token = login();
  EXPECT_EQ(list(token, "PROCESSED", 0, 5), numbers(1, 5));
  EXPECT_TRUE(acknowledge(token, {ack_of(number(1)), ack_of(number(2))}).empty());
  // Acknowledged charges leave the list: everything behind them moves forward.
  EXPECT_EQ(list(token, "PROCESSED", 0, 5), numbers(3, 7));
  // The naive next page (offset 5) skips I00000006 and I00000007, which moved forward;
  // the RULE's offset (3 charges seen and still unacknowledged) does not.
  EXPECT_EQ(list(token, "PROCESSED", 5, 5), numbers(8, 12));
  EXPECT_EQ(list(token, "PROCESSED", 3, 5), numbers(6, 10));
  EXPECT_TRUE(acknowledge(token, {ack_of(number(4))}).empty());
  EXPECT_EQ(list(token, "PROCESSED", 1, 3), (std::vector<std::string>{number(5), number(6), number(7)}));
}

TEST_F(simulator_test, list_parameters_are_checked) {
  start();
  const auto token = login();
  const auto expect_error = [&](const std::string& query) {
    const auto answer = call(get(api + "netflix/charges/list?token=" + token + query), t0);
    EXPECT_EQ(answer.at("status").at("code"), "ERROR") << query;
  };
  expect_error("&charge_status=PROCESSED&offset=0&number_of_results=51");
  expect_error("&charge_status=PROCESSED&offset=0&number_of_results=0");
  expect_error("&charge_status=PROCESSED&offset=0");
  expect_error("&charge_status=PROCESSED&offset=-1&number_of_results=5");
  expect_error("&charge_status=PROCESSED&number_of_results=5");
  expect_error("&charge_status=APPROVED&offset=0&number_of_results=5");
  expect_error("&offset=0&number_of_results=5");
  EXPECT_EQ(list(token, "PROCESSED", 0, 50).size(), 12u);
}

TEST_F(simulator_test, list_serves_amounts_verbatim_and_honours_fields_set) {
  start();
  const auto token = login();
  call(get(api + "netflix/charges/list?token=" + token +
           "&charge_status=PROCESSED&offset=0&number_of_results=50&fields_set=number,amount"),
       t0);
  const auto& body = last.reply.resp.body;
  for (const auto& c : sim->charges()) {
    EXPECT_NE(body.find(R"({"number":")" + c.number + R"(","amount":)" + c.amount + "}"), std::string::npos)
        << c.amount << " in " << body;
  }
}

TEST_F(simulator_test, pending_charges_resolve_later_and_change_the_lists) {
  config.generator.pending_ratio = 1;
  config.generator.backlog = 4;
  config.generator.pending_resolve_after = seconds(10);
  start();
  const auto token = login();
  EXPECT_EQ(list(token, "NOT_PROCESSED", 0, 50, t0 + seconds(9)), numbers(1, 4));
  EXPECT_TRUE(list(token, "PROCESSED", 0, 50, t0 + seconds(9)).empty());
  // Never acknowledgeable while PENDING.
  const auto failed = acknowledge(token, {ack_of(number(1), "REF-1")}, t0 + seconds(9));
  EXPECT_EQ(failed.at(number(1)), "CHARGE_PENDING");
  EXPECT_FALSE(find(number(1)).acknowledged);

  EXPECT_TRUE(list(token, "NOT_PROCESSED", 0, 50, t0 + seconds(10)).empty());
  const auto answer = list_answer(token, "PROCESSED", 0, 50, t0 + seconds(10));
  const auto& set = answer.at("data").at("charges_set").as_array();
  ASSERT_EQ(set.size(), 4u);
  for (const auto& c : set) {
    const auto status = c.at("charge_status").as_string();
    ASSERT_TRUE(status == "APPROVED" || status == "DECLINED") << status;
    const auto set_on = status == "APPROVED" ? "set_as_approved_on" : "set_as_declined_on";
    EXPECT_EQ(text(c.at(set_on)), format_date(t0 + seconds(10)));
    EXPECT_EQ(c.at("paid_through_date").is_null(), status != "APPROVED");
  }
  EXPECT_TRUE(acknowledge(token, {ack_of(number(1), "REF-1")}, t0 + seconds(11)).empty());
}

TEST_F(simulator_test, arrivals_join_the_end_of_the_list) {
  config.generator.arrival_rate = 1;
  start();
  const auto token = login();
  EXPECT_EQ(list(token, "PROCESSED", 10, 50, t0), numbers(11, 12));
  EXPECT_EQ(list(token, "PROCESSED", 10, 50, t0 + seconds(3)), numbers(11, 15));
}

// ---- charges/acknowledge ----

TEST_F(simulator_test, each_refusal_is_reported_per_item) {
  start();
  const auto token = login();
  ASSERT_TRUE(acknowledge(token, {ack_of(number(1), "REF-1")}).empty());
  auto wrong_customer = ack_of(number(3), "REF-3");
  wrong_customer.customer = "C9999";
  const auto failed = acknowledge(token, {
                                             {"I99999999", "C0001", "REF-X"},  // unknown number
                                             wrong_customer,                   // customer mismatch
                                             ack_of(number(2), "REF-1"),       // reference used by I00000001
                                             ack_of(number(1), "REF-OTHER"),   // already acknowledged, other ref
                                             ack_of(number(4), "REF-4"),       // fine
                                         });
  EXPECT_EQ(failed.size(), 4u);
  EXPECT_EQ(failed.at("I99999999"), "CHARGE_NOT_FOUND");
  EXPECT_EQ(failed.at(number(3)), "CUSTOMER_MISMATCH");
  EXPECT_EQ(failed.at(number(2)), "DUPLICATE_REFERENCE_NUMBER");
  EXPECT_EQ(failed.at(number(1)), "ALREADY_ACKNOWLEDGED");
  EXPECT_FALSE(find(number(2)).acknowledged);
  EXPECT_FALSE(find(number(3)).acknowledged);
  EXPECT_EQ(find(number(1)).reference_number, "REF-1");
  EXPECT_TRUE(find(number(4)).acknowledged);
  EXPECT_EQ(find(number(3)).ack_refusals, 1u);

  // The answer's entries carry the documented members.
  const auto answer = call(post(api + "netflix/charges/acknowledge", ack_body(token, {{"I99999999", "C1", "R"}})), t0);
  const auto& entry = answer.at("data").at("failed_charges_set").at(0).as_object();
  EXPECT_EQ(entry.at("number"), "I99999999");
  EXPECT_EQ(entry.at("reference_number"), "R");
  EXPECT_TRUE(entry.at("error_description").is_string());
}

TEST_F(simulator_test, re_acknowledging_with_the_same_reference_is_success) {
  start();
  const auto token = login();
  ASSERT_TRUE(acknowledge(token, {ack_of(number(5), "REF-5")}).empty());
  EXPECT_TRUE(acknowledge(token, {ack_of(number(5), "REF-5")}).empty());
  EXPECT_TRUE(acknowledge(token, {ack_of(number(5), "REF-5"), ack_of(number(5), "REF-5")}).empty());
  EXPECT_EQ(find(number(5)).ack_attempts, 4u);
  EXPECT_EQ(find(number(5)).ack_refusals, 0u);
  // Without references both times, it is the same too.
  ASSERT_TRUE(acknowledge(token, {ack_of(number(6))}).empty());
  EXPECT_TRUE(acknowledge(token, {ack_of(number(6))}).empty());
  EXPECT_EQ(acknowledge(token, {ack_of(number(6), "REF-6")}).at(number(6)), "ALREADY_ACKNOWLEDGED");
}

TEST_F(simulator_test, ack_refuse_first_refuses_each_charge_k_times) {
  config.faults.ack_refuse_first = 2;
  config.faults.ack_refuse_code = "BUSY";
  start();
  const auto token = login();
  EXPECT_EQ(acknowledge(token, {ack_of(number(1), "R1")}).at(number(1)), "BUSY");
  EXPECT_EQ(acknowledge(token, {ack_of(number(1), "R1"), ack_of(number(2), "R2")}).size(), 2u);
  const auto third = acknowledge(token, {ack_of(number(1), "R1"), ack_of(number(2), "R2")});
  EXPECT_EQ(third.size(), 1u);
  EXPECT_EQ(third.at(number(2)), "BUSY");
  EXPECT_TRUE(find(number(1)).acknowledged);
  EXPECT_EQ(find(number(1)).ack_refusals, 2u);
  EXPECT_TRUE(acknowledge(token, {ack_of(number(2), "R2")}).empty());
}

TEST_F(simulator_test, batches_over_fifty_are_refused_whole) {
  config.generator.backlog = 60;
  start();
  const auto token = login();
  std::vector<ack> items;
  for (int n = 1; n <= 51; ++n) items.push_back(ack_of(number(n)));
  auto answer = call(post(api + "netflix/charges/acknowledge", ack_body(token, items)), t0);
  EXPECT_EQ(answer.at("status").at("code"), "ERROR");
  EXPECT_FALSE(find(number(1)).acknowledged);
  items.pop_back();
  EXPECT_TRUE(acknowledge(token, items).empty());
  EXPECT_EQ(list(token, "PROCESSED", 0, 50), numbers(51, 60));
}

TEST_F(simulator_test, malformed_acknowledge_requests_are_refused_without_applying) {
  start();
  const auto token = login();
  const auto expect_error = [&](const std::string& body) {
    const auto answer = call(post(api + "netflix/charges/acknowledge", body), t0);
    EXPECT_EQ(answer.at("status").at("code"), "ERROR") << body;
  };
  const auto customer = find(number(1)).customer;
  expect_error("not json");
  expect_error(R"({"token":")" + token + R"("})");
  expect_error(R"({"token":")" + token + R"(","acknowledged_charges_set":{}})");
  expect_error(R"({"token":")" + token + R"(","acknowledged_charges_set":[{"number":"I00000001",)" +
               R"("billing_system_customer_identifier":")" + customer + R"("},{"number":2}]})");
  expect_error(R"({"token":")" + token + R"(","acknowledged_charges_set":[{"number":"I00000001"}]})");
  EXPECT_FALSE(find(number(1)).acknowledged);
}

// ---- the other netflix methods ----

TEST_F(simulator_test, promotions_and_subscriptions) {
  start();
  const auto token = login();
  auto answer = call(get(api + "netflix/promotions/list?token=" + token), t0);
  ASSERT_EQ(answer.at("status").at("code"), "OK");
  ASSERT_FALSE(answer.at("data").as_array().empty());
  EXPECT_TRUE(answer.at("data").at(0).at("code").is_string());

  answer =
      call(get(api + "netflix/subscriptions/show?token=" + token + "&billing_system_customer_identifier=C0003"), t0);
  ASSERT_EQ(answer.at("status").at("code"), "OK");
  const auto& s = answer.at("data").at(0).as_object();
  EXPECT_EQ(s.at("netflix_sate"), "ACTIVE");
  EXPECT_EQ(s.at("life_cycle_state"), "EFFECTIVE");
  EXPECT_TRUE(s.at("subscription_number").is_string());
  EXPECT_TRUE(s.at("promotions_set").is_array());
  EXPECT_TRUE(s.at("prices_set").at(0).at("FormattedPrice").is_string());
  const std::string netflix_id(s.at("netflix_customer_identifier").as_string());
  answer =
      call(get(api + "netflix/subscriptions/show?token=" + token + "&netflix_customer_identifier=" + netflix_id), t0);
  EXPECT_EQ(answer.at("data").at(0).at("billing_system_customer_identifier"), "C0003");

  const auto post_json = [&](std::string_view method, std::string body) {
    return call(post(api + std::string(method), std::move(body)), t0);
  };
  answer = post_json("netflix/subscriptions/suspend",
                     R"({"token":")" + token + R"(","billing_system_customer_identifier":"C0003"})");
  EXPECT_EQ(answer.at("status").at("code"), "OK");
  EXPECT_TRUE(answer.at("data").as_object().empty());
  answer =
      call(get(api + "netflix/subscriptions/show?token=" + token + "&billing_system_customer_identifier=C0003"), t0);
  EXPECT_EQ(answer.at("data").at(0).at("netflix_sate"), "SUSPENDED");
  answer = post_json("netflix/subscriptions/unsuspend",
                     R"({"token":")" + token + R"(","billing_system_customer_identifier":"C0003"})");
  EXPECT_EQ(answer.at("status").at("code"), "OK");
  answer = post_json("netflix/subscriptions/suspend",
                     R"({"token":")" + token + R"(","billing_system_customer_identifier":"NOBODY"})");
  EXPECT_EQ(answer.at("status").at("code"), "ERROR");

  answer =
      post_json("netflix/subscriptions/create",
                R"({"token":")" + token +
                    R"(","billing_system_customer_identifier":"NEW-1","channel":"WEB","validity_duration":86400})");
  ASSERT_EQ(answer.at("status").at("code"), "OK");
  EXPECT_FALSE(answer.at("data").at("netflix_token").as_string().empty());
  EXPECT_TRUE(answer.at("data").at("sign_up_url").as_string().starts_with("https://"));
  answer = post_json(
      "netflix/subscriptions/create",
      R"({"token":")" + token + R"(","billing_system_customer_identifier":"NEW-2","validity_duration":86401})");
  EXPECT_EQ(answer.at("status").at("code"), "ERROR");
  answer = post_json("netflix/subscriptions/create", R"({"token":")" + token + R"(","channel":"WEB"})");
  EXPECT_EQ(answer.at("status").at("code"), "ERROR");
}

std::string devices_body(const std::string& token, const std::vector<std::string>& esns) {
  json::array devices;
  for (const auto& e : esns) devices.push_back(json::object{{"esn", e}});
  json::object body;
  body["token"] = token;
  body["group_identifier"] = json::object{{"name", "lab"}};
  body["devices"] = std::move(devices);
  return json::serialize(body);
}

TEST_F(simulator_test, devices_register_once_and_unregister_once) {
  start();
  const auto token = login();
  const auto devices_call = [&](std::string_view method, const std::vector<std::string>& esns) {
    const auto answer = call(post(api + "netflix/operators/" + std::string(method), devices_body(token, esns)), t0);
    EXPECT_EQ(answer.at("status").at("code"), "OK") << json::serialize(answer);
    std::vector<std::string> failed;
    for (const auto& f : answer.at("data").at("failed_devices_set").as_array())
      failed.emplace_back(f.at("esn").as_string());
    return failed;
  };
  EXPECT_TRUE(devices_call("register_devices", {"NFANDROID1-PRV-001", "NFANDROID1-PRV-002"}).empty());
  EXPECT_EQ(devices_call("register_devices", {"NFANDROID1-PRV-002", "bad esn!", "NFANDROID1-PRV-003"}),
            (std::vector<std::string>{"NFANDROID1-PRV-002", "bad esn!"}));
  EXPECT_EQ(devices_call("unregister_devices", {"NFANDROID1-PRV-001", "NFANDROID1-PRV-009"}),
            (std::vector<std::string>{"NFANDROID1-PRV-009"}));
  EXPECT_EQ(devices_call("unregister_devices", {"NFANDROID1-PRV-001"}),
            (std::vector<std::string>{"NFANDROID1-PRV-001"}));
}

TEST_F(simulator_test, device_batches_over_a_thousand_are_refused) {
  start();
  const auto token = login();
  std::vector<std::string> esns;
  for (int i = 0; i < 1001; ++i) esns.push_back("ESN-" + std::to_string(i));
  auto answer = call(post(api + "netflix/operators/register_devices", devices_body(token, esns)), t0);
  EXPECT_EQ(answer.at("status").at("code"), "ERROR");
  esns.pop_back();
  answer = call(post(api + "netflix/operators/register_devices", devices_body(token, esns)), t0);
  EXPECT_EQ(answer.at("status").at("code"), "OK");
  EXPECT_TRUE(answer.at("data").at("failed_devices_set").as_array().empty());
  // Without a group identifier: refused.
  answer = call(
      post(api + "netflix/operators/register_devices", R"({"token":")" + token + R"(","devices":[{"esn":"A"}]})"), t0);
  EXPECT_EQ(answer.at("status").at("code"), "ERROR");
}

// ---- routing ----

TEST_F(simulator_test, unknown_methods_and_wrong_verbs_are_http_errors) {
  start();
  call(get(api + "netflix/nothing"), t0, 404);
  call(post(api + "netflix/charges/list", "{}"), t0, 405);
  call(get(api + "netflix/charges/acknowledge"), t0, 405);
  call(get("/elsewhere"), t0, 404);
}

// ---- faults ----

TEST_F(simulator_test, fault_sequence_replays_by_seed) {
  config.faults.fail_5xx = 0.3;
  config.faults.drop = 0.2;
  config.faults.malformed_json = 0.2;
  const auto run = [&](std::uint64_t seed) {
    config.generator.seed = seed;
    start();
    std::string trace;
    for (int i = 0; i < 60; ++i) {
      const auto r = sim->handle(get(api + "netflix/promotions/list?token=x"), t0);
      trace += r.outcome + "|";
    }
    return trace;
  };
  const auto a = run(5);
  EXPECT_EQ(a, run(5));
  EXPECT_NE(a, run(6));
  EXPECT_NE(a.find("fault:drop"), std::string::npos);
  EXPECT_NE(a.find("fault:50"), std::string::npos);
  EXPECT_NE(a.find("fault:malformed_json"), std::string::npos);
}

TEST_F(simulator_test, faults_hit_netflix_methods_but_spare_the_rest) {
  config.faults.malformed_json = 1;
  config.faults.latency = milliseconds(5);
  start();
  // Login: no garbage (only latency, 5xx and drop apply to it).
  const auto token = login();
  EXPECT_EQ(last.delay, milliseconds(5));
  auto r = sim->handle(
      get(api + "netflix/charges/list?token=" + token + "&charge_status=PROCESSED&offset=0&number_of_results=5"), t0);
  EXPECT_EQ(r.reply.resp.status, 200u);
  EXPECT_THROW(json::parse(r.reply.resp.body), std::exception) << r.reply.resp.body;
  // The test endpoints are never faulted nor delayed.
  r = sim->handle(get("/sim/state"), t0);
  EXPECT_EQ(r.delay, milliseconds(0));
  EXPECT_NO_THROW(json::parse(r.reply.resp.body));
}

TEST_F(simulator_test, drop_and_5xx_do_nothing_truncate_does_the_call) {
  start();
  const auto token = login();
  sim->faults().drop = 1;
  auto r = sim->handle(post(api + "netflix/charges/acknowledge", ack_body(token, {ack_of(number(1))})), t0);
  EXPECT_EQ(r.reply.what, http::server_reply::action::drop);
  EXPECT_FALSE(find(number(1)).acknowledged);

  sim->faults().drop = 0;
  sim->faults().fail_5xx = 1;
  r = sim->handle(post(api + "netflix/charges/acknowledge", ack_body(token, {ack_of(number(1))})), t0);
  EXPECT_GE(r.reply.resp.status, 500u);
  EXPECT_FALSE(find(number(1)).acknowledged);

  sim->faults().fail_5xx = 0;
  sim->faults().truncate_json = 1;
  r = sim->handle(post(api + "netflix/charges/acknowledge", ack_body(token, {ack_of(number(1))})), t0);
  EXPECT_EQ(r.reply.resp.status, 200u);
  EXPECT_THROW(json::parse(r.reply.resp.body), std::exception);
  EXPECT_TRUE(find(number(1)).acknowledged);
}

TEST_F(simulator_test, ack_apply_then_drop_applies_and_answers_nothing) {
  config.faults.ack_apply_then_drop = 1;
  start();
  const auto token = login();
  EXPECT_EQ(list(token, "PROCESSED", 0, 1).size(), 1u);  // other methods are unaffected
  const auto r = sim->handle(post(api + "netflix/charges/acknowledge", ack_body(token, {ack_of(number(1), "R1")})), t0);
  EXPECT_EQ(r.reply.what, http::server_reply::action::drop);
  EXPECT_TRUE(find(number(1)).acknowledged);
}

// ---- /sim/ ----

TEST_F(simulator_test, sim_state_reports_charges_logins_and_calls) {
  start();
  const auto token = login();
  ASSERT_TRUE(acknowledge(token, {ack_of(number(2), "REF-2")}).empty());
  (void)list(token, "PROCESSED", 0, 5);
  const auto state = call(get("/sim/state"), t0);
  const auto& charges = state.at("charges").as_array();
  ASSERT_EQ(charges.size(), 12u);
  const auto& second = charges.at(1).as_object();
  EXPECT_EQ(text(second.at("number")), number(2));
  EXPECT_EQ(second.at("acknowledged"), true);
  EXPECT_EQ(second.at("reference_number"), "REF-2");
  EXPECT_EQ(second.at("ack_attempts").to_number<int>(), 1);
  EXPECT_EQ(second.at("ack_refusals").to_number<int>(), 0);
  EXPECT_EQ(text(second.at("amount")), find(number(2)).amount);  // the exact text, as a string
  EXPECT_TRUE(charges.at(0).at("reference_number").is_null());
  EXPECT_EQ(state.at("logins").to_number<int>(), 1);
  EXPECT_EQ(state.at("calls").at("charges/list").to_number<int>(), 1);
  EXPECT_EQ(state.at("calls").at("charges/acknowledge").to_number<int>(), 1);
  EXPECT_EQ(state.at("calls").at("authentication/token").to_number<int>(), 1);
}

TEST_F(simulator_test, sim_stats_counts_each_kind_of_fault_injected) {
  config.faults.ack_refuse_first = 1;
  config.faults.token_expiry_every = seconds(30);
  start();
  auto token = login();
  // A refusal by ack_refuse_first, then the charge goes through.
  EXPECT_EQ(acknowledge(token, {ack_of(number(1), "R1")}).at(number(1)), "TEMPORARY_FAILURE");
  EXPECT_TRUE(acknowledge(token, {ack_of(number(1), "R1")}).empty());
  // An expired token, 30 s after issue.
  auto expired = list_answer(token, "PROCESSED", 0, 5, t0 + seconds(31));
  EXPECT_EQ(expired.at("status").at("description"), "TOKEN_EXPIRED");
  token = login(t0 + seconds(31));
  call(post("/sim/faults", R"({"fail_5xx":1})"), t0);
  EXPECT_EQ(sim->handle(get(api + "netflix/promotions/list?token=" + token), t0).reply.resp.status / 100, 5u);
  call(post("/sim/faults", R"({"fail_5xx":0,"drop":1,"latency":"3ms"})"), t0);
  EXPECT_EQ(sim->handle(get(api + "netflix/promotions/list?token=" + token), t0).reply.what,
            http::server_reply::action::drop);
  call(post("/sim/faults", R"({"drop":0,"latency":0,"malformed_json":1})"), t0);
  (void)sim->handle(get(api + "netflix/promotions/list?token=" + token), t0);
  call(post("/sim/faults", R"({"malformed_json":0,"truncate_json":1})"), t0);
  (void)sim->handle(get(api + "netflix/promotions/list?token=" + token), t0);
  call(post("/sim/faults", R"({"truncate_json":0,"ack_apply_then_drop":1,"ack_refuse_first":0})"), t0);
  EXPECT_EQ(
      sim->handle(post(api + "netflix/charges/acknowledge", ack_body(token, {ack_of(number(2), "R2")})), t0).reply.what,
      http::server_reply::action::drop);

  const auto stats = call(get("/sim/stats"), t0);
  const auto& faults = stats.at("faults_injected");
  EXPECT_EQ(faults.at("ack_refused").to_number<int>(), 1);
  EXPECT_EQ(faults.at("token_expired").to_number<int>(), 1);
  EXPECT_EQ(faults.at("fail_5xx").to_number<int>(), 1);
  EXPECT_EQ(faults.at("drop").to_number<int>(), 1);
  EXPECT_EQ(faults.at("latency").to_number<int>(), 1);
  EXPECT_EQ(faults.at("malformed_json").to_number<int>(), 1);
  EXPECT_EQ(faults.at("truncate_json").to_number<int>(), 1);
  EXPECT_EQ(faults.at("ack_apply_then_drop").to_number<int>(), 1);
  EXPECT_EQ(stats.at("charge_count").to_number<int>(), 12);
  EXPECT_EQ(stats.at("acknowledged_count").to_number<int>(), 2);
  EXPECT_EQ(stats.at("logins").to_number<int>(), 2);
  EXPECT_FALSE(stats.contains("charges"));  // cheap: no charge list
  // /sim/state carries the same counters beside the charges.
  EXPECT_EQ(call(get("/sim/state"), t0).at("faults_injected"), faults);
  call(post("/sim/stats", "{}"), t0, 405);
}

TEST_F(simulator_test, posted_raw_charges_are_served_verbatim_and_acknowledgeable) {
  start();
  const auto token = login();
  const std::string wrong_amount =
      R"({"number":"X1","billing_system_customer_identifier":"C0042","amount":"12.50","currency":"EUR","charge_status":"APPROVED"})";
  const std::string huge = R"({"number": "X2", "billing_system_customer_identifier": "C0042", "amount": 1e400})";
  const std::string pending =
      R"({"number":"X3","billing_system_customer_identifier":"C0042","charge_status":"PENDING"})";
  auto answer = call(post("/sim/charges", "[" + wrong_amount + "," + huge + ",\n  " + pending + ", 17]"), t0);
  EXPECT_EQ(answer.at("appended").to_number<int>(), 4);

  call(get(api + "netflix/charges/list?token=" + token + "&charge_status=PROCESSED&offset=12&number_of_results=50"),
       t0);
  EXPECT_EQ(last.reply.resp.body.find(R"({"data":{"charges_set":[)" + wrong_amount + "," + huge + ",17]}"), 0u)
      << last.reply.resp.body;
  call(get(api + "netflix/charges/list?token=" + token + "&charge_status=NOT_PROCESSED&offset=0&number_of_results=50"),
       t0);
  EXPECT_NE(last.reply.resp.body.find(pending), std::string::npos);

  EXPECT_TRUE(acknowledge(token, {{"X1", "C0042", "R-X1"}}).empty());
  EXPECT_EQ(acknowledge(token, {{"X3", "C0042", "R-X3"}}).at("X3"), "CHARGE_PENDING");
  const auto state = call(get("/sim/state"), t0);
  const auto& x1 = state.at("charges").at(12).as_object();
  EXPECT_EQ(x1.at("number"), "X1");
  EXPECT_EQ(x1.at("amount"), "\"12.50\"");
  EXPECT_EQ(x1.at("acknowledged"), true);
  EXPECT_EQ(state.at("charges").at(13).at("amount"), "1e400");

  call(post("/sim/charges", "{}"), t0, 400);
}

TEST_F(simulator_test, a_number_posted_twice_is_listed_twice_and_one_acknowledgement_takes_both) {
  start();
  const auto token = login();
  const std::string copy =
      R"({"number":"D1","billing_system_customer_identifier":"C0042","amount":3.50,"currency":"EUR","charge_status":"APPROVED"})";
  const std::string other =
      R"({"number":"D2","billing_system_customer_identifier":"C0042","amount":1,"currency":"EUR","charge_status":"DECLINED"})";
  call(post("/sim/charges", "[" + copy + "," + other + "," + copy + "]"), t0);
  EXPECT_EQ(list(token, "PROCESSED", 12, 50), (std::vector<std::string>{"D1", "D2", "D1"}));
  EXPECT_TRUE(acknowledge(token, {{"D1", "C0042", "R-D1"}}).empty());
  EXPECT_EQ(list(token, "PROCESSED", 12, 50), (std::vector<std::string>{"D2"}));
  const auto state = call(get("/sim/state"), t0);
  EXPECT_EQ(state.at("charges").at(14).at("reference_number"), "R-D1");
}

TEST_F(simulator_test, amend_changes_a_served_charge_and_acknowledgements_follow_its_new_customer) {
  start();
  const auto token = login();
  const auto before = find(number(3));
  const auto served = call(post("/sim/amend", R"({"number":")" + number(3) +
                                                  R"(","amount":123456789.1234500,"currency":"USD",)"
                                                  R"("billing_system_customer_identifier":"C9999"})"),
                           t0);
  EXPECT_EQ(text(served.at("number")), number(3));
  EXPECT_EQ(text(served.at("billing_system_customer_identifier")), "C9999");
  EXPECT_EQ(text(served.at("currency")), "USD");
  EXPECT_NE(last.reply.resp.body.find(R"("amount":123456789.1234500,)"), std::string::npos) << last.reply.resp.body;
  const auto listed = list_answer(token, "PROCESSED", 0, 50);
  EXPECT_NE(json::serialize(listed).find("C9999"), std::string::npos);
  call(get(api + "netflix/charges/list?token=" + token + "&charge_status=PROCESSED&offset=0&number_of_results=50"),
       t0);
  EXPECT_NE(last.reply.resp.body.find(R"("amount":123456789.1234500,)"), std::string::npos);
  // The charge belongs to its new customer now.
  EXPECT_EQ(acknowledge(token, {{number(3), before.customer, "R-3"}}).at(number(3)), "CUSTOMER_MISMATCH");
  EXPECT_TRUE(acknowledge(token, {{number(3), "C9999", "R-3"}}).empty());

  call(post("/sim/amend", R"({"number":"NOPE","amount":1})"), t0, 404);
  call(post("/sim/amend", R"({"number":")" + number(4) + R"(","amount":"1.00"})"), t0, 400);
  call(post("/sim/amend", R"({"number":")" + number(4) + R"(","charge_status":"DECLINED"})"), t0, 400);
  call(post("/sim/amend", "[]"), t0, 400);
  call(post("/sim/charges", R"([{"number":"RAW1","amount":1}])"), t0);
  call(post("/sim/amend", R"({"number":"RAW1","amount":2})"), t0, 409);
  call(get("/sim/amend"), t0, 405);
}

TEST_F(simulator_test, ack_misname_next_refuses_the_first_item_under_a_number_not_sent) {
  start();
  const auto token = login();
  call(post("/sim/faults", R"({"ack_misname_next":1})"), t0);
  const auto failed = acknowledge(token, {ack_of(number(1), "R-1"), ack_of(number(2), "R-2")});
  EXPECT_EQ(failed, (std::map<std::string, std::string>{{"UNSENT-" + number(1), "TEMPORARY_FAILURE"}}));
  EXPECT_FALSE(find(number(1)).acknowledged);
  EXPECT_EQ(find(number(1)).ack_refusals, 1u);
  EXPECT_TRUE(find(number(2)).acknowledged);
  EXPECT_EQ(sim->faults().ack_misname_next, 0u);
  // Counted down: the next answer is truthful.
  EXPECT_TRUE(acknowledge(token, {ack_of(number(1), "R-1")}).empty());
  EXPECT_TRUE(find(number(1)).acknowledged);
}

TEST_F(simulator_test, sim_faults_changes_settings_at_run_time) {
  start();
  auto answer = call(post("/sim/faults", R"({"malformed_json":1,"latency":"7ms"})"), t0);
  EXPECT_EQ(answer.at("latency"), "7ms");
  EXPECT_EQ(sim->faults().malformed_json, 1.0);
  answer = call(post("/sim/faults", R"({"nonsense":1})"), t0, 400);
  EXPECT_NE(std::string(answer.at("error").as_string()).find("nonsense"), std::string::npos);
  const auto r = sim->handle(get(api + "netflix/promotions/list"), t0);
  EXPECT_EQ(r.delay, milliseconds(7));
  EXPECT_EQ(r.outcome, "fault:malformed_json");
}

}  // namespace
}  // namespace chargerecon::crm_sim
