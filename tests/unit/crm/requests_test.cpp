#include "crm/requests.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/url/parse.hpp>
#include <map>

namespace chargerecon::crm {
namespace {

// The decoded query parameters of a relative target.
std::map<std::string, std::string> query_of(const std::string& target) {
  auto u = boost::urls::parse_relative_ref(target);
  EXPECT_TRUE(u) << target;
  std::map<std::string, std::string> out;
  for (auto p : u->params()) out[std::string(p.key)] = std::string(p.value);
  return out;
}

std::string path_of(const std::string& target) { return target.substr(0, target.find('?')); }

TEST(crm_requests, list_charges_is_a_get_with_every_parameter_in_the_query) {
  auto r = build_list_charges("tok", {list_status::processed, 100, 50, {}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->verb, http::method::get);
  EXPECT_EQ(r->target, "netflix/charges/list?token=tok&number_of_results=50&charge_status=PROCESSED&offset=100");
  EXPECT_TRUE(r->body.empty());
  auto p = build_list_charges("tok", {list_status::not_processed, 0, 1, {}});
  ASSERT_TRUE(p);
  EXPECT_EQ(query_of(p->target).at("charge_status"), "NOT_PROCESSED");
}

TEST(crm_requests, odd_characters_are_percent_encoded_and_round_trip) {
  const std::string odd = "a+b c&d=e/f?g#h%i,j\xC3\xA9";
  auto r = build_show_subscription(odd, {subscription_query::by::billing_system_customer_identifier, odd, {}});
  ASSERT_TRUE(r);
  // '+' must not reach CRM.COM raw: its servlet stack would read it as a space.
  EXPECT_EQ(r->target.find('+'), std::string::npos) << r->target;
  EXPECT_EQ(r->target.find(' '), std::string::npos);
  EXPECT_NE(r->target.find("token=a%2Bb%20c%26d%3De%2Ff%3Fg%23h%25i%2Cj%C3%A9"), std::string::npos) << r->target;
  const auto q = query_of(r->target);
  EXPECT_EQ(q.at("token"), odd);
  EXPECT_EQ(q.at("billing_system_customer_identifier"), odd);
  EXPECT_EQ(path_of(r->target), "netflix/subscriptions/show");

  auto n = build_show_subscription(
      "t", {subscription_query::by::netflix_customer_identifier, "NF-1", {"subscription_number"}});
  ASSERT_TRUE(n);
  EXPECT_EQ(query_of(n->target).at("netflix_customer_identifier"), "NF-1");
  EXPECT_EQ(query_of(n->target).at("fields_set"), "subscription_number");
}

TEST(crm_requests, fields_set_is_comma_separated_and_keeps_what_the_parser_needs) {
  auto r = build_list_charges("t", {list_status::processed, 0, 10, {"number", "amount", "received_on"}});
  ASSERT_TRUE(r);
  EXPECT_NE(r->target.find("&fields_set=number,amount,received_on,billing_system_customer_identifier,currency,"
                           "charge_status"),
            std::string::npos)
      << r->target;
  auto bad = build_list_charges("t", {list_status::processed, 0, 10, {"number,amount"}});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, errc::invalid_argument);
  auto promos = build_list_promotions("t", {"code", "name"});
  ASSERT_TRUE(promos);
  EXPECT_EQ(promos->target, "netflix/promotions/list?token=t&fields_set=code,name");
}

TEST(crm_requests, number_of_results_must_be_1_to_50) {
  EXPECT_TRUE(build_list_charges("t", {list_status::processed, 0, 50, {}}));
  EXPECT_TRUE(build_list_charges("t", {list_status::processed, 0, 1, {}}));
  auto over = build_list_charges("t", {list_status::processed, 0, 51, {}});
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, errc::crm_limit_exceeded);
  EXPECT_EQ(over.error().diagnostic, "netflix/charges/list: number_of_results 51 over the limit of 50");
  auto zero = build_list_charges("t", {list_status::processed, 0, 0, {}});
  ASSERT_FALSE(zero);
  EXPECT_EQ(zero.error().code, errc::invalid_argument);
}

std::vector<ack_item> items(std::size_t n) {
  std::vector<ack_item> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back({"I" + std::to_string(i), "C" + std::to_string(i), std::nullopt});
  return out;
}

TEST(crm_requests, acknowledge_is_a_json_post_with_the_token_beside_the_items) {
  std::vector<ack_item> v{{"I1", "C\"1\"", std::string("B-17")}, {"I2", "C2", std::nullopt}};
  auto r = build_acknowledge("tok\"en", v);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->verb, http::method::post);
  EXPECT_EQ(r->target, "netflix/charges/acknowledge");
  EXPECT_EQ(r->content_type, "application/json");
  const auto body = boost::json::parse(r->body).as_object();
  EXPECT_EQ(body.at("token").as_string(), "tok\"en");
  const auto& set = body.at("acknowledged_charges_set").as_array();
  ASSERT_EQ(set.size(), 2u);
  EXPECT_EQ(set[0].at("number").as_string(), "I1");
  EXPECT_EQ(set[0].at("billing_system_customer_identifier").as_string(), "C\"1\"");
  EXPECT_EQ(set[0].at("reference_number").as_string(), "B-17");
  EXPECT_FALSE(set[1].as_object().contains("reference_number"));
}

TEST(crm_requests, acknowledge_refuses_more_than_50_items_and_empty_ones) {
  EXPECT_TRUE(build_acknowledge("t", items(50)));
  auto over = build_acknowledge("t", items(51));
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, errc::crm_limit_exceeded);
  EXPECT_EQ(over.error().diagnostic, "netflix/charges/acknowledge: 51 items over the limit of 50");
  EXPECT_EQ(build_acknowledge("t", items(0)).error().code, errc::invalid_argument);
  std::vector<ack_item> no_customer{{"I1", "", std::nullopt}};
  EXPECT_EQ(build_acknowledge("t", no_customer).error().code, errc::invalid_argument);
}

TEST(crm_requests, login_bodies) {
  credentials c{"ops", "s3cr\"t", "ACME", "", ""};
  auto r = build_login(c);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->verb, http::method::post);
  EXPECT_EQ(r->target, "authentication/token");
  const auto body = boost::json::parse(r->body).as_object();
  EXPECT_EQ(body.at("username").as_string(), "ops");
  EXPECT_EQ(body.at("password").as_string(), "s3cr\"t");
  EXPECT_EQ(body.at("organisation").as_string(), "ACME");
  EXPECT_FALSE(body.contains("unit"));
  EXPECT_FALSE(body.contains("token"));

  credentials k{"", "", "", "North", "key-123"};
  auto w = build_login(k);
  ASSERT_TRUE(w);
  EXPECT_EQ(w->target, "authentication/web_api_key/token");
  EXPECT_EQ(http::find_header(w->headers, "authorization"), "Basic a2V5LTEyMzo=");  // "key-123:"
  EXPECT_EQ(boost::json::parse(w->body).at("unit").as_string(), "North");
  EXPECT_EQ(login_method(k), method::login_web_api_key);

  EXPECT_EQ(build_login(credentials{"ops", "", "ACME", "", ""}).error().code, errc::invalid_argument);
}

TEST(crm_requests, create_subscription_body_and_validity_limit) {
  subscription_create_request req;
  req.customer = "CUST-1";
  req.promotion_code = "NFX-3M";
  req.channel = channel::broadband;
  req.validity_duration = std::chrono::seconds(86400);
  req.first_name = "Zo\xC3\xAB";
  req.address = customer_address{"HOME",
                                 "Main St",
                                 "7",
                                 3,
                                 std::nullopt,
                                 std::nullopt,
                                 "Nicosia",
                                 std::nullopt,
                                 std::nullopt,
                                 "1010",
                                 country_identifier{country_identifier::by::two_character_code, "CY"}};
  req.email = customer_email{"PERSONAL", "zoe@example.net", std::nullopt};
  req.phone = customer_phone{"MOBILE", "99123456", "357", std::nullopt, std::nullopt};
  auto r = build_create_subscription("tok", req);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->target, "netflix/subscriptions/create");
  const auto body = boost::json::parse(r->body).as_object();
  EXPECT_EQ(body.at("token").as_string(), "tok");
  EXPECT_EQ(body.at("billing_system_customer_identifier").as_string(), "CUST-1");
  EXPECT_EQ(body.at("promotion_code").as_string(), "NFX-3M");
  EXPECT_EQ(body.at("channel").as_string(), "BROADBAND");
  EXPECT_EQ(body.at("validity_duration").as_int64(), 86400);
  EXPECT_EQ(body.at("customer_first_name").as_string(), "Zo\xC3\xAB");
  EXPECT_FALSE(body.contains("customer_last_name"));
  const auto& a = body.at("customer_address").as_object();
  EXPECT_EQ(a.at("type").as_string(), "HOME");
  EXPECT_EQ(a.at("floor").as_int64(), 3);
  EXPECT_EQ(a.at("town_city").as_string(), "Nicosia");
  EXPECT_EQ(a.at("country_identifier").at("two_character_code").as_string(), "CY");
  EXPECT_FALSE(a.contains("district"));
  EXPECT_EQ(body.at("customer_email").at("email_address").as_string(), "zoe@example.net");
  EXPECT_EQ(body.at("customer_phone").at("number").as_string(), "99123456");
  EXPECT_EQ(body.at("customer_phone").at("area_code").as_string(), "357");

  req.validity_duration = std::chrono::seconds(86401);
  EXPECT_EQ(build_create_subscription("tok", req).error().code, errc::crm_limit_exceeded);
  req.validity_duration = std::chrono::seconds(0);
  EXPECT_EQ(build_create_subscription("tok", req).error().code, errc::invalid_argument);
  req.validity_duration.reset();
  req.address->type = "CASTLE";
  EXPECT_EQ(build_create_subscription("tok", req).error().code, errc::invalid_argument);
  req.address->type = "CUSTOM3";
  EXPECT_TRUE(build_create_subscription("tok", req));
  req.customer.clear();
  EXPECT_EQ(build_create_subscription("tok", req).error().code, errc::invalid_argument);
}

TEST(crm_requests, suspension_and_devices) {
  auto s = build_suspension(method::suspend, "tok", "CUST-1");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->target, "netflix/subscriptions/suspend");
  EXPECT_EQ(boost::json::parse(s->body).at("billing_system_customer_identifier").as_string(), "CUST-1");
  EXPECT_EQ(build_suspension(method::unsuspend, "tok", "").error().code, errc::invalid_argument);

  std::vector<std::string> esns(1000);
  for (std::size_t i = 0; i < esns.size(); ++i) esns[i] = "ESN" + std::to_string(i);
  auto d = build_devices(method::register_devices, "tok", {group_identifier::by::alternative_code, "G1"}, esns);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->target, "netflix/operators/register_devices");
  const auto body = boost::json::parse(d->body).as_object();
  EXPECT_EQ(body.at("group_identifier").at("alternative_code").as_string(), "G1");
  ASSERT_EQ(body.at("devices").as_array().size(), 1000u);
  EXPECT_EQ(body.at("devices").as_array()[999].at("esn").as_string(), "ESN999");

  esns.push_back("ESN1000");
  auto over = build_devices(method::unregister_devices, "tok", {group_identifier::by::name, "G"}, esns);
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, errc::crm_limit_exceeded);
}

TEST(crm_requests, devices_split_into_slices_of_1000_in_order) {
  std::vector<std::string> esns(2500);
  for (std::size_t i = 0; i < esns.size(); ++i) esns[i] = std::to_string(i);
  const auto slices = split_devices(esns);
  ASSERT_EQ(slices.size(), 3u);
  EXPECT_EQ(slices[0].size(), 1000u);
  EXPECT_EQ(slices[1].size(), 1000u);
  EXPECT_EQ(slices[2].size(), 500u);
  EXPECT_EQ(slices[1].front(), "1000");
  EXPECT_EQ(slices[2].back(), "2499");
  EXPECT_EQ(split_devices(std::span<const std::string>(esns.data(), 1000)).size(), 1u);
  EXPECT_TRUE(split_devices({}).empty());
}

}  // namespace
}  // namespace chargerecon::crm
