#include "crm/requests.hpp"

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <boost/url/url.hpp>
#include <initializer_list>

#include "crm/jwt.hpp"

namespace chargerecon::crm {
namespace {

error invalid(std::string_view method_name, std::string_view what) {
  return error{errc::invalid_argument, std::string(method_name) + ": " + std::string(what)};
}

error over_limit(std::string_view method_name, std::string_view what) {
  return error{errc::crm_limit_exceeded, std::string(method_name) + ": " + std::string(what)};
}

// Everything but RFC 3986 unreserved characters is percent-encoded.
std::string encode_value(std::string_view v) { return boost::urls::encode(v, boost::urls::unreserved_chars); }

class query_builder {
 public:
  explicit query_builder(std::string_view path) { url_.set_path(path); }
  query_builder& add(std::string_view key, std::string_view value) {
    url_.encoded_params().append({encode_value(key), encode_value(value)});
    return *this;
  }
  // A comma-separated list: each element encoded, the separating commas literal.
  query_builder& add_list(std::string_view key, const std::vector<std::string>& values) {
    std::string joined;
    for (const auto& v : values) {
      if (!joined.empty()) joined += ',';
      joined += encode_value(v);
    }
    url_.encoded_params().append({encode_value(key), joined});
    return *this;
  }
  http::request get() const {
    http::request r;
    r.verb = http::method::get;
    r.target = std::string(url_.buffer());
    return r;
  }

 private:
  boost::urls::url url_;
};

http::request post_json(std::string_view path, const boost::json::object& body) {
  http::request r;
  r.verb = http::method::post;
  r.target = std::string(path);
  r.body = boost::json::serialize(body);
  r.content_type = "application/json";
  return r;
}

result<void> check_fields(std::string_view method_name, const std::vector<std::string>& fields) {
  for (const auto& f : fields)
    if (f.empty() || f.find(',') != std::string::npos)
      return invalid(method_name, "fields_set: a field name is empty or contains a comma");
  return {};
}

bool one_of(std::string_view v, std::initializer_list<std::string_view> allowed) {
  return std::find(allowed.begin(), allowed.end(), v) != allowed.end();
}

bool valid_type(std::string_view v, std::initializer_list<std::string_view> base) {
  return one_of(v, base) || one_of(v, {"CUSTOM1", "CUSTOM2", "CUSTOM3", "CUSTOM4", "CUSTOM5"});
}

std::string_view key_name(country_identifier::by b) {
  switch (b) {
    case country_identifier::by::id:
      return "id";
    case country_identifier::by::name:
      return "name";
    case country_identifier::by::alternative_code:
      return "alternative_code";
    case country_identifier::by::two_character_code:
      return "two_character_code";
    case country_identifier::by::three_character_code:
      return "three_character_code";
  }
  return "id";
}

std::string_view key_name(group_identifier::by b) {
  switch (b) {
    case group_identifier::by::id:
      return "id";
    case group_identifier::by::name:
      return "name";
    case group_identifier::by::alternative_code:
      return "alternative_code";
  }
  return "id";
}

boost::json::object identifier_object(std::string_view key, std::string_view value) {
  boost::json::object o;
  o[key] = value;
  return o;
}

void put_optional(boost::json::object& o, std::string_view key, const std::optional<std::string>& v) {
  if (v) o[key] = *v;
}

}  // namespace

std::string_view login_method(const credentials& c) {
  return c.web_api_key.empty() ? method::login : method::login_web_api_key;
}

result<http::request> build_login(const credentials& c) {
  boost::json::object body;
  if (!c.unit.empty()) body["unit"] = c.unit;
  if (!c.web_api_key.empty()) {
    auto r = post_json(method::login_web_api_key, body);
    // The Web API key is the user name of HTTP Basic auth, with an empty password.
    r.headers.push_back({"Authorization", "Basic " + base64_encode(c.web_api_key + ":")});
    return r;
  }
  if (c.username.empty() || c.password.empty() || c.organisation.empty())
    return invalid(method::login, "credentials need username, password and organisation, or a web_api_key");
  body["username"] = c.username;
  body["password"] = c.password;
  body["organisation"] = c.organisation;
  return post_json(method::login, body);
}

result<http::request> build_list_charges(std::string_view token, const list_charges_params& p) {
  if (p.number_of_results == 0) return invalid(method::list_charges, "number_of_results must be at least 1");
  if (p.number_of_results > max_results_per_page)
    return over_limit(method::list_charges, "number_of_results " + std::to_string(p.number_of_results) +
                                                " over the limit of " + std::to_string(max_results_per_page));
  if (auto r = check_fields(method::list_charges, p.fields); !r) return r.error();
  query_builder q(method::list_charges);
  q.add("token", token)
      .add("number_of_results", std::to_string(p.number_of_results))
      .add("charge_status", to_wire(p.status))
      .add("offset", std::to_string(p.offset));
  if (!p.fields.empty()) {
    auto fields = p.fields;
    for (std::string_view required :
         {"number", "billing_system_customer_identifier", "amount", "currency", "charge_status"})
      if (std::find(fields.begin(), fields.end(), required) == fields.end()) fields.emplace_back(required);
    q.add_list("fields_set", fields);
  }
  return q.get();
}

result<http::request> build_acknowledge(std::string_view token, std::span<const ack_item> items) {
  if (items.empty()) return invalid(method::acknowledge, "acknowledged_charges_set is empty");
  if (items.size() > max_ack_items)
    return over_limit(method::acknowledge,
                      std::to_string(items.size()) + " items over the limit of " + std::to_string(max_ack_items));
  // Fifty items of three fields each: built in one arena rather than a few hundred allocations.
  boost::json::monotonic_resource arena;
  boost::json::array set(&arena);
  set.reserve(items.size());
  for (const auto& item : items) {
    if (item.number.empty()) return invalid(method::acknowledge, "an item has an empty number");
    if (item.customer.empty())
      return invalid(method::acknowledge,
                     "item " + quote_peer_text(item.number, 60) + " has an empty billing_system_customer_identifier");
    // Room for the three fields up front: the object never grows (50 items, every call).
    boost::json::object o(3, &arena);
    o.emplace("number", item.number);
    o.emplace("billing_system_customer_identifier", item.customer);
    if (item.reference_number) o.emplace("reference_number", *item.reference_number);
    set.push_back(std::move(o));
  }
  boost::json::object body(&arena);
  body["token"] = token;
  body["acknowledged_charges_set"] = std::move(set);
  return post_json(method::acknowledge, body);
}

result<http::request> build_list_promotions(std::string_view token, const std::vector<std::string>& fields) {
  if (auto r = check_fields(method::list_promotions, fields); !r) return r.error();
  query_builder q(method::list_promotions);
  q.add("token", token);
  if (!fields.empty()) q.add_list("fields_set", fields);
  return q.get();
}

result<http::request> build_show_subscription(std::string_view token, const subscription_query& query) {
  if (query.value.empty()) return invalid(method::show_subscription, "the customer identifier is empty");
  if (auto r = check_fields(method::show_subscription, query.fields); !r) return r.error();
  query_builder q(method::show_subscription);
  q.add("token", token);
  q.add(query.key == subscription_query::by::netflix_customer_identifier ? "netflix_customer_identifier"
                                                                         : "billing_system_customer_identifier",
        query.value);
  if (!query.fields.empty()) q.add_list("fields_set", query.fields);
  return q.get();
}

result<http::request> build_create_subscription(std::string_view token, const subscription_create_request& req) {
  const auto m = method::create_subscription;
  if (req.customer.empty()) return invalid(m, "billing_system_customer_identifier is empty");
  boost::json::object body;
  body["token"] = token;
  body["billing_system_customer_identifier"] = req.customer;
  put_optional(body, "promotion_code", req.promotion_code);
  if (req.channel) body["channel"] = to_wire(*req.channel);
  if (req.validity_duration) {
    const auto seconds = req.validity_duration->count();
    if (seconds <= 0) return invalid(m, "validity_duration must be at least 1 second");
    if (*req.validity_duration > max_validity_duration)
      return over_limit(m, "validity_duration " + std::to_string(seconds) + "s over the limit of 86400s");
    body["validity_duration"] = seconds;
  }
  put_optional(body, "customer_first_name", req.first_name);
  put_optional(body, "customer_last_name", req.last_name);
  if (req.address) {
    const auto& a = *req.address;
    if (!valid_type(a.type, {"HOME", "BUSINESS", "POBOX"}))
      return invalid(
          m, "customer_address.type " + quote_peer_text(a.type, 40) + " is not HOME, BUSINESS, POBOX or CUSTOM1..5");
    boost::json::object o;
    o["type"] = a.type;
    put_optional(o, "street_name", a.street_name);
    put_optional(o, "street_number", a.street_number);
    if (a.floor) o["floor"] = *a.floor;
    put_optional(o, "apartment_number", a.apartment_number);
    put_optional(o, "area", a.area);
    put_optional(o, "town_city", a.town_city);
    put_optional(o, "district", a.district);
    put_optional(o, "municipality", a.municipality);
    put_optional(o, "postal_code", a.postal_code);
    if (a.country) o["country_identifier"] = identifier_object(key_name(a.country->key), a.country->value);
    body["customer_address"] = std::move(o);
  }
  if (req.email) {
    const auto& e = *req.email;
    if (e.email_address.empty()) return invalid(m, "customer_email.email_address is empty");
    if (e.type && !valid_type(*e.type, {"PERSONAL", "BUSINESS"}))
      return invalid(
          m, "customer_email.type " + quote_peer_text(*e.type, 40) + " is not PERSONAL, BUSINESS or CUSTOM1..5");
    boost::json::object o;
    put_optional(o, "type", e.type);
    o["email_address"] = e.email_address;
    put_optional(o, "notes", e.notes);
    body["customer_email"] = std::move(o);
  }
  if (req.phone) {
    const auto& p = *req.phone;
    if (p.number.empty()) return invalid(m, "customer_phone.number is empty");
    if (p.type && !valid_type(*p.type, {"LANDLINE", "MOBILE", "FAX"}))
      return invalid(
          m, "customer_phone.type " + quote_peer_text(*p.type, 40) + " is not LANDLINE, MOBILE, FAX or CUSTOM1..5");
    boost::json::object o;
    put_optional(o, "type", p.type);
    o["number"] = p.number;
    put_optional(o, "area_code", p.area_code);
    if (p.country) o["country_identifier"] = identifier_object(key_name(p.country->key), p.country->value);
    put_optional(o, "notes", p.notes);
    body["customer_phone"] = std::move(o);
  }
  return post_json(m, body);
}

result<http::request> build_suspension(std::string_view method_name, std::string_view token,
                                       std::string_view customer) {
  if (customer.empty()) return invalid(method_name, "billing_system_customer_identifier is empty");
  boost::json::object body;
  body["token"] = token;
  body["billing_system_customer_identifier"] = customer;
  return post_json(method_name, body);
}

result<http::request> build_devices(std::string_view method_name, std::string_view token, const group_identifier& group,
                                    std::span<const std::string> esns) {
  if (group.value.empty()) return invalid(method_name, "group_identifier is empty");
  if (esns.empty()) return invalid(method_name, "devices is empty");
  if (esns.size() > max_devices_per_call)
    return over_limit(method_name, std::to_string(esns.size()) + " devices over the limit of " +
                                       std::to_string(max_devices_per_call));
  boost::json::array devices;
  for (const auto& esn : esns) {
    if (esn.empty()) return invalid(method_name, "a device has an empty esn");
    boost::json::object o;
    o["esn"] = esn;
    devices.push_back(std::move(o));
  }
  boost::json::object body;
  body["token"] = token;
  body["group_identifier"] = identifier_object(key_name(group.key), group.value);
  body["devices"] = std::move(devices);
  return post_json(method_name, body);
}

std::vector<std::span<const std::string>> split_devices(std::span<const std::string> esns) {
  std::vector<std::span<const std::string>> out;
  for (std::size_t i = 0; i < esns.size(); i += max_devices_per_call)
    out.push_back(esns.subspan(i, std::min(max_devices_per_call, esns.size() - i)));
  return out;
}

}  // namespace chargerecon::crm
