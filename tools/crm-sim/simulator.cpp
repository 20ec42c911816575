#include "crm-sim/simulator.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <deque>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>

#include "crm-sim/json_in.hpp"
#include "crm-sim/jwt.hpp"

namespace chargerecon::crm_sim {

namespace {

constexpr std::string_view api_prefix = "/crmapi/rest/v2/";
constexpr std::string_view sim_prefix = "/sim/";

using field_set = std::set<std::string, std::less<>>;
using query_params = std::map<std::string, std::string, std::less<>>;

// What a method handler produces; handle() turns it into the HTTP reply.
struct answer {
  unsigned http_status = 200;
  std::string body;
  std::string outcome = "OK";
  std::size_t count = 0;
  bool drop_after_applying = false;
  std::string content_type = "application/json";
};

std::string status_json(std::string_view code, std::string_view description, std::string_view message) {
  boost::json::object status;
  status["code"] = code;
  status["description"] = description;
  status["message"] = message;
  return boost::json::serialize(status);
}

// An OK answer is {"data":<data>,"status":<OK status>}. charges/list writes its data straight
// after this prefix (fifty charges are not copied again) and ends it with ok_answer_from.
constexpr std::string_view ok_prefix = "{\"data\":";

answer ok_answer_from(std::string body, std::size_t count) {
  static const std::string ok_status = status_json("OK", "", "");
  body += ",\"status\":";
  body += ok_status;
  body += '}';
  answer a;
  a.body = std::move(body);
  a.count = count;
  return a;
}

// `data_json` is JSON text already: charge objects carry their amounts verbatim.
answer ok_answer(std::string_view data_json, std::size_t count = 0) {
  std::string body;
  body.reserve(ok_prefix.size() + data_json.size() + 80);
  body += ok_prefix;
  body += data_json;
  return ok_answer_from(std::move(body), count);
}

answer error_answer(std::string_view description, std::string_view message, unsigned http_status = 200) {
  answer a;
  a.http_status = http_status;
  a.body = "{\"data\":null,\"status\":" + status_json("ERROR", description, message) + "}";
  a.outcome = "ERROR";
  return a;
}

answer invalid_parameter(std::string_view message) { return error_answer("INVALID_PARAMETER", message); }

// The /sim/ endpoints are ours, not CRM.COM's: plain HTTP status codes and {"error": ...}.
answer sim_error(unsigned http_status, std::string_view message) {
  answer a;
  a.http_status = http_status;
  boost::json::object o;
  o["error"] = message;
  a.body = boost::json::serialize(o);
  a.outcome = "ERROR";
  return a;
}

std::optional<std::uint64_t> parse_unsigned(std::string_view text) {
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return v;
}

field_set parse_fields_set(const query_params& params) {
  field_set fields;
  const auto it = params.find("fields_set");
  if (it == params.end()) return fields;
  std::string_view rest = it->second;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    auto name = rest.substr(0, comma);
    while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
    while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
    if (!name.empty()) fields.emplace(name);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return fields;
}

std::optional<std::string> string_member(const json_members& m, std::string_view key) {
  const auto it = m.find(key);
  if (it == m.end() || !it->second.is_string()) return std::nullopt;
  return it->second.text;
}

std::string hex64(std::uint64_t v) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(v));
  return text;
}

bool valid_esn(std::string_view esn) {
  if (esn.empty() || esn.size() > 64) return false;
  for (const char c : esn) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

struct promotion {
  std::string_view code, name, description, effective_from, expires_on;
};

constexpr promotion promotions[] = {
    {"NFX-BASIC-1M", "Netflix Basic, first month free", "One free month of the Basic plan", "2025-01-01T00:00:00",
     "2027-12-31T23:59:59"},
    {"NFX-STD-3M", "Netflix Standard, three months half price", "50% off the Standard plan for three months",
     "2025-06-01T00:00:00", "2026-12-31T23:59:59"},
    {"NFX-PREM-BUNDLE", "Netflix Premium with broadband", "Premium plan bundled with broadband", "2024-01-01T00:00:00",
     ""},
};

// Every kind of fault crm-sim counts: a delayed answer, the fault_outcome kinds, an
// acknowledgement applied and its answer dropped, a refusal made by ack_refuse_first, and a
// token refused as expired by token_expiry_every (before its real lifetime).
constexpr std::string_view fault_kinds[] = {"latency",       "fail_5xx",    "drop",          "malformed_json",
                                            "truncate_json", "ack_refused", "token_expired", "ack_apply_then_drop"};

constexpr std::string_view channels[] = {"WEB", "STORE", "MOBILE", "BROADBAND", "OTHER"};

struct subscription {
  std::string number;
  std::string customer;
  std::string netflix_customer;
  std::string netflix_state;  // ACTIVE, SUSPENDED, PENDING_SIGN_UP
  std::string life_cycle_state;
  std::string promotion_code;
};

}  // namespace

struct simulator::impl {
  sim_config config;
  charge_generator generator;
  std::vector<charge> charges;
  // skip_acknowledged[i] leads to the first unacknowledged charge at i or after: i itself while
  // charge i is unacknowledged, a later index once it is (acknowledgements are never taken back);
  // the last entry, one past the charges, is the end. Followed with path halving (union-find),
  // so a list call walks the unacknowledged charges only. Scanning every charge made each call
  // walk the whole acknowledged past, and one charge that never goes (held by billing, or
  // PENDING) pins any "first unacknowledged" mark at the start: quadratic in the backlog, most
  // of crm-sim's CPU in a 300k-charge drain.
  std::vector<std::size_t> skip_acknowledged{0};

  std::size_t next_unacknowledged(std::size_t i) {
    while (skip_acknowledged[i] != i) {
      skip_acknowledged[i] = skip_acknowledged[skip_acknowledged[i]];
      i = skip_acknowledged[i];
    }
    return i;
  }

  void append_charge(charge c) {
    charges.push_back(std::move(c));
    skip_acknowledged.push_back(charges.size());  // the new end; the old one is the new charge
  }

  void mark_acknowledged(std::size_t i, const std::optional<std::string>& reference) {
    charges[i].acknowledged = true;
    charges[i].reference_number = reference;
    skip_acknowledged[i] = i + 1;
  }
  std::unordered_map<std::string, std::size_t> by_number;        // first charge with that number
  // Posted charges that repeat a number: CRM.COM acknowledges by number, so an accepted
  // acknowledgement takes every copy out of the list.
  std::unordered_map<std::string, std::vector<std::size_t>> later_copies;
  std::unordered_map<std::string, std::string> reference_owner;  // reference_number -> charge number
  std::deque<std::size_t> unresolved;                  // PENDING generated charges; resolves_at never decreases
  std::unordered_map<std::string, time_point> tokens;  // token -> issued at
  std::string jwt_secret;
  sim_rng token_rng;
  fault_dice dice;
  std::size_t login_count = 0;
  std::map<std::string, std::uint64_t, std::less<>> calls;
  // Faults injected so far, by kind (the keys of fault_kinds below), for /sim/state and /sim/stats.
  std::map<std::string, std::uint64_t, std::less<>> faults_injected;
  std::map<std::string, subscription, std::less<>> subscriptions;  // by billing customer
  std::map<std::string, std::string, std::less<>> devices;         // ESN -> group
  time_point last_now;

  impl(sim_config c, time_point start)
      : config(std::move(c)),
        generator(config.generator, start),
        jwt_secret("crm-sim-" + hex64(config.generator.seed)),
        token_rng(config.generator.seed ^ 0x746f6b656e73ULL),
        dice(config.generator.seed ^ 0x6661756c7473ULL),
        last_now(start) {
    for (auto& c0 : generator.backlog()) add_generated(std::move(c0));
    const auto customers = config.generator.customers == 0 ? 1 : config.generator.customers;
    for (std::size_t i = 1; i <= customers; ++i) {
      char id[16];
      std::snprintf(id, sizeof id, "C%04zu", i);
      char number[16];
      std::snprintf(number, sizeof number, "SUB%06zu", i);
      subscriptions.emplace(id,
                            subscription{number, id, std::string("NFX-") + id, "ACTIVE", "EFFECTIVE", "NFX-BASIC-1M"});
    }
  }

  void add_generated(charge c) {
    const auto index = charges.size();
    by_number.emplace(c.number, index);
    if (c.status == charge_status::pending) unresolved.push_back(index);
    append_charge(std::move(c));
  }

  void advance(time_point now) {
    for (auto& c : generator.arrivals_until(now)) add_generated(std::move(c));
    while (!unresolved.empty() && charges[unresolved.front()].resolves_at <= now) {
      auto& c = charges[unresolved.front()];
      unresolved.pop_front();
      c.status = c.resolves_to;
      c.status_set_on = c.resolves_at;
      if (c.status == charge_status::approved) c.paid_through_date = c.resolves_at + std::chrono::days(30);
    }
    if (now > last_now) last_now = now;
  }

  // ---- tokens ----

  std::string issue_token(std::string_view usr, std::string_view unit, time_point now) {
    if (tokens.size() > 4096) {
      std::erase_if(tokens, [&](const auto& t) { return now - t.second >= config.token_lifetime; });
    }
    jwt_claims claims;
    claims.usr = usr;
    claims.org = config.organisation;
    claims.oun = unit.empty() ? "main" : std::string(unit);
    claims.jti = hex64(token_rng.next());
    claims.iat = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    claims.exp = claims.iat + std::chrono::duration_cast<std::chrono::seconds>(config.token_lifetime).count();
    auto token = make_jwt(claims, jwt_secret, config.exp_as_string);
    tokens[token] = now;
    ++login_count;
    return token;
  }

  // An error answer when the token does not let the call through.
  std::optional<answer> check_token(const std::optional<std::string>& token, time_point now) {
    const unsigned status = config.token_error_http_401 ? 401 : 200;
    if (!token) return error_answer("INVALID_TOKEN", "Invalid token", status);
    const auto it = tokens.find(*token);
    if (it == tokens.end()) return error_answer("INVALID_TOKEN", "Invalid token", status);
    const auto age = now - it->second;
    const auto& every = config.faults.token_expiry_every;
    if (age >= config.token_lifetime || (every.count() > 0 && age >= every)) {
      if (age < config.token_lifetime) ++faults_injected["token_expired"];
      return error_answer("TOKEN_EXPIRED", "Token expired", status);
    }
    return std::nullopt;
  }

  answer token_answer(std::string token) {
    boost::json::object data;
    data["token"] = std::move(token);
    return ok_answer(boost::json::serialize(data));
  }

  // ---- authentication ----

  answer login(const http::server_request& req, time_point now) {
    const unsigned refusal_status = config.login_refusal_http_401 ? 401 : 200;
    auto body = parse_json_object(req.body);
    if (!body) return error_answer("INVALID_REQUEST", "The request body is not a JSON object", refusal_status);
    const auto username = string_member(*body, "username");
    const auto password = string_member(*body, "password");
    auto organisation = string_member(*body, "organisation");
    if (!organisation) organisation = string_member(*body, "organization");
    if (!username || !password || !organisation) {
      return error_answer("INVALID_CREDENTIALS",
                          "Invalid credentials: username, password and organisation are mandatory", refusal_status);
    }
    if (*username != config.username || *password != config.password || *organisation != config.organisation) {
      return error_answer("INVALID_CREDENTIALS", "Invalid credentials: wrong username, password or organisation",
                          refusal_status);
    }
    return token_answer(issue_token(*username, string_member(*body, "unit").value_or(""), now));
  }

  answer web_api_key_login(const http::server_request& req, time_point now) {
    const unsigned refusal_status = config.login_refusal_http_401 ? 401 : 200;
    const auto refuse = [&] {
      return error_answer("INVALID_CREDENTIALS", "Invalid credentials: unknown web API key", refusal_status);
    };
    const auto authorization = req.header("Authorization");
    if (!authorization || authorization->size() < 6) return refuse();
    std::string scheme(authorization->substr(0, 6));
    for (auto& ch : scheme) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (scheme != "basic ") return refuse();
    const auto decoded = base64_decode(authorization->substr(6));
    if (!decoded) return refuse();
    const auto colon = decoded->find(':');
    const std::string key = decoded->substr(0, colon);
    const bool empty_password = colon == std::string::npos || colon + 1 == decoded->size();
    if (config.web_api_key.empty() || key != config.web_api_key || !empty_password) return refuse();
    std::string unit;
    if (!req.body.empty()) {
      auto body = parse_json_object(req.body);
      if (!body) return error_answer("INVALID_REQUEST", "The request body is not a JSON object", refusal_status);
      unit = string_member(*body, "unit").value_or("");
    }
    return token_answer(issue_token("web_api_key", unit, now));
  }

  // ---- charges ----

  answer list_charges(const query_params& params, time_point now) {
    const auto token = params.find("token");
    if (auto refused = check_token(token == params.end() ? std::nullopt : std::optional(token->second), now)) {
      return *refused;
    }
    const auto get = [&](std::string_view key) -> std::optional<std::string_view> {
      const auto it = params.find(key);
      if (it == params.end()) return std::nullopt;
      return std::string_view(it->second);
    };
    const auto n_text = get("number_of_results");
    const auto n = n_text ? parse_unsigned(*n_text) : std::nullopt;
    if (!n || *n < 1 || *n > max_charges_per_call) {
      return invalid_parameter("number_of_results is mandatory and must be a whole number from 1 to 50");
    }
    const auto status = get("charge_status");
    if (!status || (*status != "NOT_PROCESSED" && *status != "PROCESSED")) {
      return invalid_parameter("charge_status is mandatory and must be NOT_PROCESSED or PROCESSED");
    }
    const auto offset_text = get("offset");
    const auto offset = offset_text ? parse_unsigned(*offset_text) : std::nullopt;
    if (!offset) return invalid_parameter("offset is mandatory and must be a whole number of 0 or more");
    const bool want_pending = *status == "NOT_PROCESSED";
    const auto fields = parse_fields_set(params);

    // RULE (spec): the list as it is now, unacknowledged charges of that kind, oldest first.
    std::string data;
    data.reserve(ok_prefix.size() + 128 + *n * 448);  // a generated charge is about 400 bytes
    data += ok_prefix;
    data += "{\"charges_set\":[";
    std::uint64_t position = 0;
    std::size_t listed = 0;
    for (auto i = next_unacknowledged(0); i < charges.size(); i = next_unacknowledged(i + 1)) {
      const auto& c = charges[i];
      if (is_pending(c) != want_pending) continue;
      if (position++ < *offset) continue;
      if (listed == *n) break;
      if (listed++ > 0) data.push_back(',');
      append_charge_json(data, c, fields);
    }
    data += "]}";
    return ok_answer_from(std::move(data), listed);
  }

  struct ack_item {
    std::string number;
    std::string customer;
    std::optional<std::string> reference;
  };

  answer acknowledge(const http::server_request& req, time_point now, const fault_decision& fault) {
    auto body = parse_json_object(req.body);
    if (!body) return error_answer("INVALID_REQUEST", "The request body is not a JSON object");
    if (auto refused = check_token(string_member(*body, "token"), now)) return *refused;
    const auto set = body->find("acknowledged_charges_set");
    if (set == body->end() || set->second.kind != json_kind::array) {
      return invalid_parameter("acknowledged_charges_set is mandatory and must be an array");
    }
    const auto too_many = [](std::size_t n) {
      return invalid_parameter("acknowledged_charges_set holds " + std::to_string(n) + " charges; at most 50 are allowed");
    };
    // The whole batch is checked before any of it is applied.
    std::vector<ack_item> batch;
    const auto where = [](std::size_t i) { return "acknowledged_charges_set[" + std::to_string(i) + "]"; };
    const auto take_item = [&](std::size_t i, const json_members& members) -> std::optional<answer> {
      auto number = string_member(members, "number");
      auto customer = string_member(members, "billing_system_customer_identifier");
      if (!number) return invalid_parameter(where(i) + ".number is mandatory and must be a string");
      if (!customer) {
        return invalid_parameter(where(i) + ".billing_system_customer_identifier is mandatory and must be a string");
      }
      ack_item a;
      a.number = std::move(*number);
      a.customer = std::move(*customer);
      if (const auto ref = members.find("reference_number"); ref != members.end()) {
        if (ref->second.is_string()) {
          if (!ref->second.text.empty()) a.reference = ref->second.text;
        } else if (ref->second.kind != json_kind::null) {
          return invalid_parameter(where(i) + ".reference_number must be a string");
        }
      }
      batch.push_back(std::move(a));
      return std::nullopt;
    };
    if (auto objects = parse_json_array_of_objects(set->second.raw)) {
      // The usual batch, read in one parse; what it accepts, the element-by-element reading
      // below accepts alike.
      if (objects->size() > max_charges_per_call) return too_many(objects->size());
      batch.reserve(objects->size());
      for (std::size_t i = 0; i < objects->size(); ++i) {
        if (auto refused = take_item(i, (*objects)[i])) return *refused;
      }
    } else {
      auto items = parse_json_array(set->second.raw);
      if (!items) return invalid_parameter("acknowledged_charges_set is not a valid array");
      if (items->size() > max_charges_per_call) return too_many(items->size());
      for (std::size_t i = 0; i < items->size(); ++i) {
        const auto& item = (*items)[i];
        if (item.kind != json_kind::object) return invalid_parameter(where(i) + " must be an object");
        auto members = parse_json_object(item.raw);
        if (!members) return invalid_parameter(where(i) + " must be an object");
        if (auto refused = take_item(i, *members)) return *refused;
      }
    }

    const bool misname_first = config.faults.ack_misname_next > 0 && !batch.empty();
    if (misname_first) --config.faults.ack_misname_next;
    boost::json::array failed;
    const auto refuse = [&](const ack_item& a, std::string_view code, std::string description) {
      boost::json::object f;
      f["number"] = a.number;
      if (a.reference)
        f["reference_number"] = *a.reference;
      else
        f["reference_number"] = nullptr;
      f["error_code"] = code;
      f["error_description"] = std::move(description);
      failed.push_back(std::move(f));
    };
    for (const auto& a : batch) {
      const auto found = by_number.find(a.number);
      if (found == by_number.end()) {
        refuse(a, "CHARGE_NOT_FOUND", "No netflix charge has number " + a.number);
        continue;
      }
      auto& c = charges[found->second];
      ++c.ack_attempts;
      const auto refuse_charge = [&](std::string_view code, std::string description) {
        ++c.ack_refusals;
        refuse(a, code, std::move(description));
      };
      if (c.customer != a.customer) {
        refuse_charge("CUSTOMER_MISMATCH", "Charge " + c.number + " does not belong to customer " + a.customer);
      } else if (is_pending(c)) {
        refuse_charge("CHARGE_PENDING", "Charge " + c.number + " is PENDING and cannot be acknowledged");
      } else if (c.acknowledged) {
        // Same reference (or none both times): the client is repeating itself, which is fine.
        if (c.reference_number != a.reference) {
          refuse_charge("ALREADY_ACKNOWLEDGED",
                        "Charge " + c.number + " is already acknowledged with another reference number");
        }
      } else if (const auto owner = a.reference ? reference_owner.find(*a.reference) : reference_owner.end();
                 owner != reference_owner.end() && owner->second != c.number) {
        refuse_charge("DUPLICATE_REFERENCE_NUMBER",
                      "Reference number " + *a.reference + " is already used for charge " + owner->second);
      } else if (c.fault_refusals < config.faults.ack_refuse_first) {
        ++c.fault_refusals;
        ++faults_injected["ack_refused"];
        refuse_charge(config.faults.ack_refuse_code, "Charge " + c.number + " cannot be acknowledged right now");
      } else if (misname_first && &a == &batch.front()) {
        // Refused, but reported under a number nobody sent (fault_config::ack_misname_next).
        ++faults_injected["ack_misnamed"];
        ++c.ack_refusals;
        ack_item misnamed = a;
        misnamed.number = "UNSENT-" + a.number;
        refuse(misnamed, "TEMPORARY_FAILURE", "Charge " + misnamed.number + " cannot be acknowledged right now");
      } else {
        mark_acknowledged(found->second, a.reference);
        if (a.reference) reference_owner.emplace(*a.reference, c.number);
        if (const auto copies = later_copies.find(a.number); copies != later_copies.end()) {
          for (const auto i : copies->second) mark_acknowledged(i, a.reference);
        }
      }
    }
    boost::json::object data;
    const auto refused = failed.size();
    data["failed_charges_set"] = std::move(failed);
    auto out = ok_answer(boost::json::serialize(data), batch.size());
    out.drop_after_applying = fault.apply_then_drop;
    if (refused > 0) out.outcome = "OK, " + std::to_string(refused) + " refused";
    return out;
  }

  // ---- promotions and subscriptions ----

  answer list_promotions(const query_params& params, time_point now) {
    const auto token = params.find("token");
    if (auto refused = check_token(token == params.end() ? std::nullopt : std::optional(token->second), now)) {
      return *refused;
    }
    const auto fields = parse_fields_set(params);
    const auto wanted = [&](std::string_view key) { return fields.empty() || fields.contains(key); };
    boost::json::array data;
    for (const auto& p : promotions) {
      boost::json::object o;
      if (wanted("code")) o["code"] = p.code;
      if (wanted("name")) o["name"] = p.name;
      if (wanted("description")) o["description"] = p.description;
      if (wanted("effective_from")) o["effective_from"] = p.effective_from;
      if (wanted("expires_on")) {
        if (p.expires_on.empty())
          o["expires_on"] = nullptr;
        else
          o["expires_on"] = p.expires_on;
      }
      data.push_back(std::move(o));
    }
    return ok_answer(boost::json::serialize(data), data.size());
  }

  static boost::json::object subscription_json(const subscription& s, const field_set& fields) {
    const auto wanted = [&](std::string_view key) { return fields.empty() || fields.contains(key); };
    boost::json::object o;
    if (wanted("subscription_number")) o["subscription_number"] = s.number;
    if (wanted("billing_system_customer_identifier")) o["billing_system_customer_identifier"] = s.customer;
    if (wanted("netflix_customer_identifier")) o["netflix_customer_identifier"] = s.netflix_customer;
    // "netflix_sate": CRM.COM's spelling, kept on purpose.
    if (wanted("netflix_sate")) o["netflix_sate"] = s.netflix_state;
    if (wanted("life_cycle_state")) o["life_cycle_state"] = s.life_cycle_state;
    if (wanted("promotions_set")) {
      boost::json::array promos;
      for (const auto& p : promotions) {
        if (p.code != s.promotion_code) continue;
        boost::json::object po;
        po["code"] = p.code;
        po["name"] = p.name;
        promos.push_back(std::move(po));
      }
      o["promotions_set"] = std::move(promos);
    }
    if (wanted("prices_set")) {
      boost::json::object price;
      price["FormattedPrice"] = "EUR 11.99";
      price["currency"] = "EUR";
      price["billing_period"] = "MONTHLY";
      o["prices_set"] = boost::json::array{std::move(price)};
    }
    return o;
  }

  answer show_subscriptions(const query_params& params, time_point now) {
    const auto token = params.find("token");
    if (auto refused = check_token(token == params.end() ? std::nullopt : std::optional(token->second), now)) {
      return *refused;
    }
    const auto by_billing = params.find("billing_system_customer_identifier");
    const auto by_netflix = params.find("netflix_customer_identifier");
    if (by_billing == params.end() && by_netflix == params.end()) {
      return invalid_parameter("billing_system_customer_identifier or netflix_customer_identifier is mandatory");
    }
    const auto fields = parse_fields_set(params);
    boost::json::array data;
    for (const auto& [customer, s] : subscriptions) {
      if (by_billing != params.end() && customer != by_billing->second) continue;
      if (by_netflix != params.end() && s.netflix_customer != by_netflix->second) continue;
      data.push_back(subscription_json(s, fields));
    }
    if (data.empty()) return error_answer("NOT_FOUND", "No netflix subscription for that customer");
    return ok_answer(boost::json::serialize(data), data.size());
  }

  answer create_subscription(const http::server_request& req, time_point now) {
    auto body = parse_json_object(req.body);
    if (!body) return error_answer("INVALID_REQUEST", "The request body is not a JSON object");
    if (auto refused = check_token(string_member(*body, "token"), now)) return *refused;
    const auto customer = string_member(*body, "billing_system_customer_identifier");
    if (!customer || customer->empty()) {
      return invalid_parameter("billing_system_customer_identifier is mandatory and must be a string");
    }
    std::int64_t validity = 3600;
    if (const auto v = body->find("validity_duration"); v != body->end()) {
      const auto seconds = v->second.as_unsigned();
      if (!seconds || *seconds < 1 || *seconds > static_cast<std::uint64_t>(max_validity_duration_seconds)) {
        return invalid_parameter("validity_duration must be a whole number of seconds from 1 to 86400");
      }
      validity = static_cast<std::int64_t>(*seconds);
    }
    if (const auto channel = body->find("channel"); channel != body->end()) {
      bool known = false;
      for (const auto c : channels) known = known || (channel->second.is_string() && channel->second.text == c);
      if (!known) return invalid_parameter("channel must be one of WEB, STORE, MOBILE, BROADBAND, OTHER");
    }
    std::string promotion_code;
    if (const auto code = body->find("promotion_code"); code != body->end()) {
      bool known = false;
      for (const auto& p : promotions) known = known || (code->second.is_string() && code->second.text == p.code);
      if (!known) return invalid_parameter("promotion_code names no promotion");
      promotion_code = code->second.text;
    }
    auto [it, created] = subscriptions.try_emplace(*customer);
    if (created) {
      it->second = subscription{"SUB" + hex64(token_rng.next()).substr(0, 8),
                                *customer,
                                "NFX-" + *customer,
                                "PENDING_SIGN_UP",
                                "NOT_EFFECTIVE",
                                promotion_code};
    }
    const auto netflix_token = hex64(token_rng.next()) + hex64(token_rng.next());
    boost::urls::url url("https://signup.netflix.example/activate");
    url.params().append({"token", netflix_token});
    boost::json::object data;
    data["netflix_token"] = netflix_token;
    data["sign_up_url"] = url.buffer();
    data["expires_on"] = format_date(now + std::chrono::seconds(validity));
    return ok_answer(boost::json::serialize(data));
  }

  answer set_suspended(const http::server_request& req, time_point now, bool suspended) {
    auto body = parse_json_object(req.body);
    if (!body) return error_answer("INVALID_REQUEST", "The request body is not a JSON object");
    if (auto refused = check_token(string_member(*body, "token"), now)) return *refused;
    const auto customer = string_member(*body, "billing_system_customer_identifier");
    if (!customer) return invalid_parameter("billing_system_customer_identifier is mandatory and must be a string");
    const auto it = subscriptions.find(*customer);
    if (it == subscriptions.end()) return error_answer("NOT_FOUND", "No netflix subscription for that customer");
    it->second.netflix_state = suspended ? "SUSPENDED" : "ACTIVE";
    return ok_answer("{}");
  }

  // ---- devices ----

  answer devices_call(const http::server_request& req, time_point now, bool registering) {
    auto body = parse_json_object(req.body);
    if (!body) return error_answer("INVALID_REQUEST", "The request body is not a JSON object");
    if (auto refused = check_token(string_member(*body, "token"), now)) return *refused;
    const auto group = body->find("group_identifier");
    std::optional<std::string> group_key;
    if (group != body->end() && group->second.kind == json_kind::object) {
      if (auto members = parse_json_object(group->second.raw)) {
        for (const auto key : {"id", "name", "alternative_code"}) {
          if (const auto v = string_member(*members, key)) {
            group_key = std::string(key) + "=" + *v;
            break;
          }
        }
      }
    }
    if (!group_key) {
      return invalid_parameter("group_identifier is mandatory: an object with id, name or alternative_code");
    }
    const auto devices_member = body->find("devices");
    if (devices_member == body->end() || devices_member->second.kind != json_kind::array) {
      return invalid_parameter("devices is mandatory and must be an array");
    }
    auto items = parse_json_array(devices_member->second.raw);
    if (!items) return invalid_parameter("devices is not a valid array");
    if (items->size() > max_devices_per_call) {
      return invalid_parameter("devices holds " + std::to_string(items->size()) + " devices; at most 1000 are allowed");
    }
    std::vector<std::string> esns;
    for (std::size_t i = 0; i < items->size(); ++i) {
      const auto where = "devices[" + std::to_string(i) + "]";
      if ((*items)[i].kind != json_kind::object) return invalid_parameter(where + " must be an object");
      auto members = parse_json_object((*items)[i].raw);
      const auto esn = members ? string_member(*members, "esn") : std::nullopt;
      if (!esn) return invalid_parameter(where + ".esn is mandatory and must be a string");
      esns.push_back(*esn);
    }
    boost::json::array failed;
    for (const auto& esn : esns) {
      bool ok = valid_esn(esn);
      if (ok && registering)
        ok = devices.emplace(esn, *group_key).second;
      else if (ok)
        ok = devices.erase(esn) == 1;
      if (!ok) {
        boost::json::object f;
        f["esn"] = esn;
        failed.push_back(std::move(f));
      }
    }
    boost::json::object data;
    const auto refused = failed.size();
    data["failed_devices_set"] = std::move(failed);
    auto out = ok_answer(boost::json::serialize(data), esns.size());
    if (refused > 0) out.outcome = "OK, " + std::to_string(refused) + " refused";
    return out;
  }

  // ---- /sim/ ----

  answer sim_state() const {
    boost::json::array list;
    for (const auto& c : charges) {
      boost::json::object o;
      o["number"] = c.number;
      o["customer"] = c.customer;
      if (!c.raw_json)
        o["status"] = to_string(c.status);
      else if (c.raw_status)
        o["status"] = *c.raw_status;
      else
        o["status"] = nullptr;
      if (!c.raw_json)
        o["amount"] = c.amount;
      else if (c.raw_amount)
        o["amount"] = *c.raw_amount;
      else
        o["amount"] = nullptr;
      o["currency"] = c.currency;
      o["acknowledged"] = c.acknowledged;
      if (c.reference_number)
        o["reference_number"] = *c.reference_number;
      else
        o["reference_number"] = nullptr;
      o["ack_attempts"] = c.ack_attempts;
      o["ack_refusals"] = c.ack_refusals;
      o["raw"] = c.raw_json.has_value();
      list.push_back(std::move(o));
    }
    boost::json::object state = stats_json();
    state["charges"] = std::move(list);
    state["faults"] = fault_settings_json(config.faults);
    state["registered_devices"] = devices.size();
    state["time"] = format_date(last_now);
    answer a;
    a.body = boost::json::serialize(state);
    a.count = charges.size();
    return a;
  }

  // The counters alone: cheap to ask for often (a chaos run polls it to time its kills).
  boost::json::object stats_json() const {
    boost::json::object calls_json;
    for (const auto& [method, n] : calls) calls_json[method] = n;
    boost::json::object faults_json;
    for (const auto kind : fault_kinds) {
      const auto it = faults_injected.find(kind);
      faults_json[kind] = it == faults_injected.end() ? 0 : it->second;
    }
    std::size_t acknowledged = 0;
    for (const auto& c : charges) acknowledged += c.acknowledged ? 1 : 0;
    boost::json::object o;
    o["logins"] = login_count;
    o["calls"] = std::move(calls_json);
    o["faults_injected"] = std::move(faults_json);
    o["charge_count"] = charges.size();
    o["acknowledged_count"] = acknowledged;
    return o;
  }

  answer sim_stats() const {
    answer a;
    a.body = boost::json::serialize(stats_json());
    return a;
  }

  answer sim_append_charges(const http::server_request& req) {
    auto items = parse_json_array(req.body);
    if (!items) return sim_error(400, "POST /sim/charges takes a JSON array: " + items.error().diagnostic);
    for (auto& item : *items) {
      charge c;
      c.raw_json = item.raw;
      c.received_on = last_now;
      if (item.kind == json_kind::object) {
        if (auto members = parse_json_object(item.raw)) {
          c.number = string_member(*members, "number").value_or("");
          c.customer = string_member(*members, "billing_system_customer_identifier").value_or("");
          c.currency = string_member(*members, "currency").value_or("");
          c.raw_status = string_member(*members, "charge_status");
          if (const auto amount = members->find("amount"); amount != members->end()) c.raw_amount = amount->second.raw;
        }
      }
      if (!c.number.empty() && !by_number.emplace(c.number, charges.size()).second)
        later_copies[c.number].push_back(charges.size());
      append_charge(std::move(c));
    }
    boost::json::object o;
    o["appended"] = items->size();
    answer a;
    a.body = boost::json::serialize(o);
    a.count = items->size();
    return a;
  }

  // POST /sim/amend: CRM.COM changing a charge it already served (a correction on its side).
  // {"number": "I00000003", "billing_system_customer_identifier": "C0999", "amount": 99.99,
  // "currency": "USD"}: any of the three after the number; the amount's JSON number text is
  // kept verbatim. Generated charges only: a posted charge is served as posted.
  answer sim_amend(const http::server_request& req) {
    auto body = parse_json_object(req.body);
    if (!body) return sim_error(400, "POST /sim/amend takes a JSON object: " + body.error().diagnostic);
    const auto number = string_member(*body, "number");
    if (!number) return sim_error(400, "number is mandatory and must be a string");
    const auto found = by_number.find(*number);
    if (found == by_number.end()) return sim_error(404, "no charge has number " + *number);
    charge& c = charges[found->second];
    if (c.raw_json) return sim_error(409, "charge " + *number + " was posted raw; post the changed charge instead");
    charge next = c;
    for (const auto& [key, item] : *body) {
      if (key == "number") continue;
      if (key == "billing_system_customer_identifier" && item.is_string() && !item.text.empty())
        next.customer = item.text;
      else if (key == "currency" && item.is_string() && !item.text.empty())
        next.currency = item.text;
      else if (key == "amount" && item.kind == json_kind::number)
        next.amount = item.raw;
      else
        return sim_error(400, "cannot amend " + key + " with " + item.raw +
                                  ": billing_system_customer_identifier and currency take non-empty strings, "
                                  "amount a number");
    }
    c = std::move(next);
    answer a;
    a.body = charge_to_json(c, {});
    return a;
  }

  answer sim_faults(const http::server_request& req) {
    if (req.verb == http::method::post) {
      if (auto applied = apply_fault_settings(config.faults, req.body); !applied) {
        return sim_error(400, applied.error().diagnostic);
      }
    }
    answer a;
    a.body = boost::json::serialize(fault_settings_json(config.faults));
    return a;
  }

  answer sim_call(std::string_view name, const http::server_request& req) {
    const bool get = req.verb == http::method::get;
    if (name == "state") return get ? sim_state() : sim_error(405, "/sim/state takes GET");
    if (name == "charges") return get ? sim_error(405, "/sim/charges takes POST") : sim_append_charges(req);
    if (name == "faults") return sim_faults(req);
    if (name == "stats") return get ? sim_stats() : sim_error(405, "/sim/stats takes GET");
    if (name == "amend") return get ? sim_error(405, "/sim/amend takes POST") : sim_amend(req);
    return sim_error(404, "no such test endpoint");
  }

  // ---- dispatch ----

  sim_reply handle(const http::server_request& req, time_point now) {
    sim_reply out;
    auto parsed = boost::urls::parse_origin_form(req.target);
    if (!parsed) {
      out.method = "?";
      return finish(out, sim_error(400, "the request target does not parse"));
    }
    const std::string path = parsed->path();
    query_params params;
    for (const auto& p : parsed->params()) params.emplace(p.key, p.value);
    advance(now);

    if (path.starts_with(sim_prefix)) {
      const auto name = std::string_view(path).substr(sim_prefix.size());
      out.method = "sim/" + std::string(name);
      return finish(out, sim_call(name, req));
    }
    if (!path.starts_with(api_prefix)) {
      out.method = path;
      return finish(out, error_answer("NOT_FOUND", "No such method", 404));
    }
    const std::string method(std::string_view(path).substr(api_prefix.size()));
    out.method = method;
    const bool is_get = req.verb == http::method::get;

    enum class kind { get, post };
    struct route {
      std::string_view name;
      kind verb;
      call_kind calls;
    };
    static constexpr route routes[] = {
        {"authentication/token", kind::post, call_kind::login},
        {"authentication/web_api_key/token", kind::post, call_kind::login},
        {"netflix/charges/list", kind::get, call_kind::netflix},
        {"netflix/charges/acknowledge", kind::post, call_kind::netflix},
        {"netflix/promotions/list", kind::get, call_kind::netflix},
        {"netflix/subscriptions/show", kind::get, call_kind::netflix},
        {"netflix/subscriptions/create", kind::post, call_kind::netflix},
        {"netflix/subscriptions/suspend", kind::post, call_kind::netflix},
        {"netflix/subscriptions/unsuspend", kind::post, call_kind::netflix},
        {"netflix/operators/register_devices", kind::post, call_kind::netflix},
        {"netflix/operators/unregister_devices", kind::post, call_kind::netflix},
    };
    const route* r = nullptr;
    for (const auto& candidate : routes) {
      if (candidate.name == method) r = &candidate;
    }
    if (!r) return finish(out, error_answer("NOT_FOUND", "No such method", 404));
    if ((r->verb == kind::get) != is_get) {
      return finish(out, error_answer("METHOD_NOT_ALLOWED", r->verb == kind::get ? "Use GET" : "Use POST", 405));
    }
    // Counted before faults: a dropped call was still made. Keys drop the "netflix/" module.
    ++calls[method.starts_with("netflix/") ? method.substr(8) : method];

    const auto fault = dice.roll(config.faults, r->calls);
    out.delay = fault.delay;
    if (fault.delay.count() > 0) ++faults_injected["latency"];
    switch (fault.outcome) {
      case fault_outcome::fail_5xx: {
        ++faults_injected["fail_5xx"];
        answer a;
        a.http_status = fault.http_status;
        a.body = "<html><body><h1>" + std::to_string(fault.http_status) + " Server Error</h1></body></html>\n";
        a.content_type = "text/html";
        a.outcome = "fault:" + std::to_string(fault.http_status);
        return finish(out, std::move(a));
      }
      case fault_outcome::drop:
        ++faults_injected["drop"];
        out.outcome = "fault:drop";
        out.reply.what = http::server_reply::action::drop;
        return out;
      case fault_outcome::malformed_json: {
        static constexpr std::string_view garbage[] = {
            "<html><head><title>Service Unavailable</title></head><body>upstream hiccup</body></html>\n",
            "{\"data\": {\"charges_set\": [{\"number\": \"I0000",
            "java.lang.NullPointerException\n\tat com.crm.api.NetflixResource.list(NetflixResource.java:212)\n",
        };
        answer a;
        a.body = std::string(garbage[fault.variant % std::size(garbage)]);
        a.outcome = "fault:malformed_json";
        ++faults_injected["malformed_json"];
        return finish(out, std::move(a));
      }
      case fault_outcome::none:
      case fault_outcome::truncate_json:
        break;
    }

    answer a;
    if (method == "authentication/token")
      a = login(req, now);
    else if (method == "authentication/web_api_key/token")
      a = web_api_key_login(req, now);
    else if (method == "netflix/charges/list")
      a = list_charges(params, now);
    else if (method == "netflix/charges/acknowledge")
      a = acknowledge(req, now, fault);
    else if (method == "netflix/promotions/list")
      a = list_promotions(params, now);
    else if (method == "netflix/subscriptions/show")
      a = show_subscriptions(params, now);
    else if (method == "netflix/subscriptions/create")
      a = create_subscription(req, now);
    else if (method == "netflix/subscriptions/suspend")
      a = set_suspended(req, now, true);
    else if (method == "netflix/subscriptions/unsuspend")
      a = set_suspended(req, now, false);
    else if (method == "netflix/operators/register_devices")
      a = devices_call(req, now, true);
    else
      a = devices_call(req, now, false);

    if (fault.outcome == fault_outcome::truncate_json) {
      ++faults_injected["truncate_json"];
      a.body.resize(a.body.size() / 2);
      a.outcome = "fault:truncate_json after " + a.outcome;
    }
    if (a.drop_after_applying) {
      ++faults_injected["ack_apply_then_drop"];
      out.outcome = "fault:ack_apply_then_drop after " + a.outcome;
      out.count = a.count;
      out.reply.what = http::server_reply::action::drop;
      return out;
    }
    return finish(out, std::move(a));
  }

  static sim_reply finish(sim_reply& out, answer a) {
    out.reply.what = http::server_reply::action::respond;
    out.reply.resp.status = a.http_status;
    out.reply.resp.body = std::move(a.body);
    out.reply.resp.headers.push_back({"Content-Type", std::move(a.content_type)});
    out.outcome = std::move(a.outcome);
    out.count = a.count;
    return std::move(out);
  }
};

simulator::simulator(sim_config config, time_point start) : impl_(std::make_unique<impl>(std::move(config), start)) {}

simulator::~simulator() = default;

sim_reply simulator::handle(const http::server_request& request, time_point now) { return impl_->handle(request, now); }

void simulator::advance(time_point now) { impl_->advance(now); }

const std::vector<charge>& simulator::charges() const { return impl_->charges; }

fault_config& simulator::faults() { return impl_->config.faults; }

std::size_t simulator::logins() const { return impl_->login_count; }

}  // namespace chargerecon::crm_sim
