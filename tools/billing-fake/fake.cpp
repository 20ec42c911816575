#include "billing-fake/fake.hpp"

#include "common/error.hpp"
#include "common/json_text.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>
#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <initializer_list>
#include <utility>

namespace chargerecon::billing_fake {
namespace {

fake_reply json_answer(unsigned status, std::string body, std::string outcome) {
  http::server_reply r;
  r.resp.status = status;
  r.resp.body = std::move(body);
  r.resp.headers.push_back({"Content-Type", "application/json"});
  return {std::move(r), std::chrono::milliseconds{0}, std::move(outcome)};
}

fake_reply answer_object(unsigned status, const boost::json::object& body, std::string outcome) {
  return json_answer(status, boost::json::serialize(body), std::move(outcome));
}

// Every answer but the state's is a few string members: written straight into the body.
fake_reply answer(unsigned status, std::initializer_list<std::pair<std::string_view, std::string_view>> members,
                  std::string outcome) {
  std::string body;
  append_json_string_object(body, members);
  return json_answer(status, std::move(body), std::move(outcome));
}

fake_reply error_answer(unsigned status, std::string_view text, std::string outcome) {
  return answer(status, {{"error", text}}, std::move(outcome));
}

// The charge fields billing-fake keeps, read from the posted body.
struct posted_charge {
  std::string number;
  bool number_is_string = false;
  std::string customer;
  std::string amount;
  std::string currency;
};

std::string_view trim_right(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// Errors are the 422 text to answer.
result<posted_charge> read_charge(std::string_view body) {
  const auto bad = [](std::string text) { return error{errc::invalid_argument, std::move(text)}; };
  // One parser and one padded copy for every POST: their buffers are allocated once, not per charge.
  thread_local simdjson::ondemand::parser parser;
  thread_local std::string padded;
  if (padded.capacity() < body.size() + simdjson::SIMDJSON_PADDING) padded.reserve(body.size() + simdjson::SIMDJSON_PADDING);
  padded.assign(body);
  simdjson::ondemand::document doc;
  simdjson::ondemand::object obj;
  if (parser.iterate(simdjson::padded_string_view(padded.data(), padded.size(), padded.capacity())).get(doc) ||
      doc.get_object().get(obj))
    return bad("the body is not a JSON object");
  posted_charge c;
  bool has_number = false;
  for (auto item : obj) {
    simdjson::ondemand::field f;
    std::string_view key;
    if (std::move(item).get(f) || f.unescaped_key().get(key)) return bad("the body is not a JSON object");
    std::string_view text;
    if (key == "number") {
      has_number = true;
      c.number_is_string = f.value().get_string().get(text) == simdjson::SUCCESS;
      c.number = std::string(text);
    } else if (key == "billing_system_customer_identifier") {
      if (f.value().get_string().get(text)) return bad("billing_system_customer_identifier is not a string");
      c.customer = std::string(text);
    } else if (key == "currency") {
      if (f.value().get_string().get(text)) return bad("currency is not a string");
      c.currency = std::string(text);
    } else if (key == "amount") {
      // A quoted or re-serialised amount is exactly the bug this fake exists to catch.
      simdjson::ondemand::json_type type;
      if (f.value().type().get(type) || type != simdjson::ondemand::json_type::number)
        return bad("amount is not a JSON number");
      c.amount = std::string(trim_right(f.value().raw_json_token()));
      double checked = 0;  // validates the number's syntax; the text above is what we keep
      if (f.value().get_double().get(checked)) return bad("amount is not a valid JSON number");
    }
  }
  if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) return bad("the body is not a JSON object");
  if (!has_number || !c.number_is_string) return bad("the body has no string \"number\"");
  return c;
}

// "B-000001": at least six digits.
std::string reference_number(std::size_t n) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
  const auto length = static_cast<std::size_t>(end - digits);
  std::string reference = "B-";
  if (length < 6) reference.append(6 - length, '0');
  reference.append(digits, length);
  return reference;
}

// Compares without an early exit, so the answer's timing says nothing about the token.
bool same_secret(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
  return diff == 0;
}

}  // namespace

fake::fake(fake_config config) : config_(std::move(config)), rng_state_(config_.seed) {}

// splitmix64: small, and the same stream for a seed on every platform (unlike std's distributions).
std::uint64_t fake::next_random() {
  std::uint64_t z = (rng_state_ += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

fake::fault fake::draw_fault() {
  // One draw per POST, whatever the probabilities, so a seed replays the same faults.
  const double u = static_cast<double>(next_random() >> 11) * 0x1.0p-53;
  double edge = config_.drop;
  if (u < edge) return fault::drop;
  if (u < (edge += config_.fail_5xx)) return fault::fail_5xx;
  if (u < (edge += config_.rate_limit)) return fault::rate_limit;
  if (u < (edge += config_.apply_then_drop)) return fault::apply_then_drop;
  if (u < (edge += config_.malformed_json)) return fault::malformed_json;
  return fault::none;
}

std::chrono::milliseconds fake::draw_delay() {
  const auto jitter = config_.jitter.count() > 0
                          ? static_cast<std::chrono::milliseconds::rep>(
                                next_random() % (static_cast<std::uint64_t>(config_.jitter.count()) + 1))
                          : 0;
  return config_.latency + std::chrono::milliseconds{jitter};
}

std::uint64_t fake::posts_for(std::string_view key) const {
  const auto it = keys_.find(key);
  return it == keys_.end() ? 0 : it->second.posts;
}

bool fake::is_charge_path(std::string_view path) const {
  // billing.url "http://h/bill" may arrive as "/bill/": the HTTP client ends base paths with '/'.
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  std::string_view want = config_.path;
  while (want.size() > 1 && want.back() == '/') want.remove_suffix(1);
  return path.size() >= want.size() && path.substr(path.size() - want.size()) == want;
}

bool fake::authorized(const http::server_request& request) const {
  if (config_.token.empty()) return true;
  const auto given = request.header("Authorization");
  return given && same_secret(*given, "Bearer " + config_.token);
}

fake_reply fake::handle(const http::server_request& request) {
  const auto parsed = boost::urls::parse_origin_form(request.target);
  const std::string_view path = parsed ? std::string_view(parsed->encoded_path()) : std::string_view{};
  if (parsed && path == "/stats") {
    if (request.verb != http::method::get) return error_answer(405, "GET /stats only", "bad_method");
    return answer_object(200, stats_object(), "state");
  }
  if (parsed && path == "/faults") {
    if (request.verb != http::method::post) return error_answer(405, "POST /faults only", "bad_method");
    if (auto applied = apply_fault_settings(config_, request.body); !applied)
      return error_answer(400, applied.error().diagnostic, "bad_faults");
    return answer(200, {{"faults", "set"}}, "state");
  }
  if (parsed && path == "/state") {
    if (request.verb != http::method::get) return error_answer(405, "GET /state only", "bad_method");
    http::server_reply r;
    r.resp.status = 200;
    r.resp.body = state_json();
    r.resp.headers.push_back({"Content-Type", "application/json"});
    return {std::move(r), std::chrono::milliseconds{0}, "state"};
  }
  if (!parsed || !is_charge_path(path)) return error_answer(404, "no such endpoint", "not_found");
  if (request.verb != http::method::post) return error_answer(405, "charges are POSTed", "bad_method");
  auto out = charge(request);
  out.delay = draw_delay();
  if (out.delay.count() > 0) ++faults_injected_["latency"];
  return out;
}

fake_reply fake::charge(const http::server_request& request) {
  ++posts_total_;
  const std::string_view key = request.header("Idempotency-Key").value_or(std::string_view{});
  key_state* seen = nullptr;
  if (!key.empty()) {
    auto it = keys_.find(key);
    if (it == keys_.end()) it = keys_.emplace(std::string(key), key_state{}).first;
    seen = &it->second;
    ++seen->posts;
  }

  const auto drawn = draw_fault();
  static constexpr std::string_view fault_names[] = {
      "", "drop", "fail_5xx", "rate_limit", "apply_then_drop", "malformed_json"};
  if (drawn != fault::none) ++faults_injected_[std::string(fault_names[static_cast<int>(drawn)])];
  switch (drawn) {
    case fault::drop: {
      fake_reply r;
      r.reply.what = http::server_reply::action::drop;
      r.outcome = "dropped";
      return r;
    }
    case fault::fail_5xx:
      return error_answer(503, "injected failure: billing is unavailable", "failed_5xx");
    case fault::rate_limit: {
      auto r = error_answer(429, "injected failure: too many requests", "rate_limited");
      r.reply.resp.headers.push_back({"Retry-After", "1"});
      return r;
    }
    case fault::apply_then_drop: {
      auto r = bill(request, key, seen);
      r.reply.what = http::server_reply::action::drop;
      r.outcome += "_then_dropped";
      return r;
    }
    case fault::malformed_json: {
      // The charge is billed, but its answer is unreadable: only a replay tells the reference.
      // A refusal keeps its answer: it is the billed (201) and replayed (409) ones that matter.
      auto r = bill(request, key, seen);
      if (r.reply.resp.status == 201 || r.reply.resp.status == 409) {
        r.reply.resp.body = "<html><body>" + std::to_string(r.reply.resp.status) + "</body></html>\n";
        r.reply.resp.headers = {{"Content-Type", "text/html"}};
        r.outcome += "_then_garbled";
      }
      return r;
    }
    case fault::none: break;
  }
  return bill(request, key, seen);
}

fake_reply fake::bill(const http::server_request& request, std::string_view key, key_state* seen) {
  if (!authorized(request)) {
    auto r = error_answer(401, "missing or wrong bearer token", "unauthorized");
    r.reply.resp.headers.push_back({"WWW-Authenticate", "Bearer"});
    return r;
  }
  if (key.empty()) return error_answer(400, "missing Idempotency-Key", "no_key");

  const auto posted = read_charge(request.body);
  if (!posted) return error_answer(422, posted.error().diagnostic, "malformed");
  if (posted->number != key)
    return error_answer(422, "the body's number '" + quote_peer_text(posted->number) +
                                 "' is not the Idempotency-Key '" + quote_peer_text(key) + "'",
                        "key_mismatch");

  if (seen->record != key_state::no_record) {
    const auto& first = records_[seen->record];
    if (posted->customer != first.customer || posted->amount != first.amount || posted->currency != first.currency)
      ++replay_conflicts_[std::string(key)];
    return answer(409, {{"reference_number", first.reference_number}, {"number", key}}, "replay");
  }

  if (config_.reject_customers.contains(posted->customer)) {
    ++faults_injected_["held_refused"];
    return error_answer(422, "customer '" + quote_peer_text(posted->customer) + "' cannot be billed", "rejected");
  }

  records_.push_back({reference_number(records_.size() + 1), std::move(posted->number), std::move(posted->customer),
                      std::move(posted->amount), std::move(posted->currency), request.body});
  seen->record = records_.size() - 1;
  return answer(201, {{"reference_number", records_.back().reference_number}, {"number", key}}, "billed");
}

std::string fake::state_json() const {
  boost::json::array records;
  records.reserve(records_.size());
  for (const auto& r : records_) {
    records.push_back(boost::json::object{{"reference_number", r.reference_number},
                                          {"number", r.number},
                                          {"customer", r.customer},
                                          {"amount", r.amount},
                                          {"currency", r.currency},
                                          {"posts", posts_for(r.number)}});
  }
  std::vector<const decltype(keys_)::value_type*> keys;
  keys.reserve(keys_.size());
  for (const auto& entry : keys_) keys.push_back(&entry);
  std::sort(keys.begin(), keys.end(), [](const auto* a, const auto* b) { return a->first < b->first; });
  boost::json::object by_key;
  for (const auto* entry : keys) by_key[entry->first] = entry->second.posts;
  boost::json::object conflicts;
  for (const auto& [key, n] : replay_conflicts_) conflicts[key] = n;
  boost::json::array rejected;
  for (const auto& c : config_.reject_customers) rejected.emplace_back(c);
  auto state = stats_object();
  state["records"] = std::move(records);
  state["posts_by_key"] = std::move(by_key);
  state["replay_conflicts"] = std::move(conflicts);
  state["reject_customers"] = std::move(rejected);
  return boost::json::serialize(state);
}

boost::json::object fake::stats_object() const {
  static constexpr std::string_view kinds[] = {"latency",         "drop",           "fail_5xx",    "rate_limit",
                                               "apply_then_drop", "malformed_json", "held_refused"};
  boost::json::object faults;
  for (const auto kind : kinds) {
    const auto it = faults_injected_.find(kind);
    faults[kind] = it == faults_injected_.end() ? 0 : it->second;
  }
  std::uint64_t conflicts = 0;
  for (const auto& [key, n] : replay_conflicts_) conflicts += n;
  return {{"posts_total", posts_total_},
          {"record_count", records_.size()},
          {"faults_injected", std::move(faults)},
          {"replay_conflict_count", conflicts}};
}

std::string fake::stats_json() const { return boost::json::serialize(stats_object()); }

result<void> apply_fault_settings(fake_config& config, std::string_view json_object_text) {
  const auto bad = [](std::string text) { return error{errc::invalid_argument, std::move(text)}; };
  simdjson::ondemand::parser parser;
  const simdjson::padded_string padded(json_object_text);
  simdjson::ondemand::document doc;
  simdjson::ondemand::object obj;
  if (parser.iterate(padded).get(doc) || doc.get_object().get(obj)) return bad("the faults are not a JSON object");
  fake_config next = config;
  for (auto item : obj) {
    simdjson::ondemand::field f;
    std::string_view key;
    if (std::move(item).get(f) || f.unescaped_key().get(key)) return bad("the faults are not a JSON object");
    if (key == "latency" || key == "jitter") {
      std::uint64_t ms = 0;
      if (f.value().get_uint64().get(ms) || ms > 3'600'000)
        return bad(std::string(key) + " must be whole milliseconds from 0 to 3600000");
      (key == "latency" ? next.latency : next.jitter) = std::chrono::milliseconds(ms);
      continue;
    }
    double* target = key == "drop"              ? &next.drop
                     : key == "fail_5xx"        ? &next.fail_5xx
                     : key == "rate_limit"      ? &next.rate_limit
                     : key == "apply_then_drop" ? &next.apply_then_drop
                     : key == "malformed_json"  ? &next.malformed_json
                                                : nullptr;
    if (!target) return bad("unknown fault setting '" + quote_peer_text(key) + "'");
    double p = 0;
    if (f.value().get_double().get(p) || !(p >= 0 && p <= 1)) return bad(std::string(key) + " must be from 0 to 1");
    *target = p;
  }
  if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) return bad("the faults are not a JSON object");
  if (next.drop + next.fail_5xx + next.rate_limit + next.apply_then_drop + next.malformed_json > 1.0 + 1e-9)
    return bad("drop, fail_5xx, rate_limit, apply_then_drop and malformed_json add up to more than 1");
  config = std::move(next);
  return {};
}

}  // namespace chargerecon::billing_fake
