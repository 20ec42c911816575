#include "crm-sim/faults.hpp"

#include "common/command_line.hpp"
#include "crm-sim/json_in.hpp"

namespace chargerecon::crm_sim {

fault_dice::fault_dice(std::uint64_t seed) : rng_(seed) {}

fault_decision fault_dice::roll(const fault_config& config, call_kind kind) {
  static constexpr unsigned statuses[] = {500, 502, 503, 504};
  const double jitter_roll = rng_.uniform();
  const bool fail = rng_.chance(config.fail_5xx);
  const unsigned status = statuses[rng_.below(4)];
  const bool drop = rng_.chance(config.drop);
  const bool malformed = rng_.chance(config.malformed_json);
  const bool truncate = rng_.chance(config.truncate_json);
  const bool apply_then_drop = rng_.chance(config.ack_apply_then_drop);
  const std::size_t variant = rng_.below(1000);

  fault_decision d;
  const auto jitter_ms = static_cast<double>(config.jitter.count()) * (2 * jitter_roll - 1);
  const auto delay = config.latency.count() + static_cast<std::int64_t>(jitter_ms);
  d.delay = std::chrono::milliseconds(delay < 0 ? 0 : delay);
  d.variant = variant;
  if (fail) {
    d.outcome = fault_outcome::fail_5xx;
    d.http_status = status;
  } else if (drop) {
    d.outcome = fault_outcome::drop;
  } else if (kind == call_kind::netflix && malformed) {
    d.outcome = fault_outcome::malformed_json;
  } else if (kind == call_kind::netflix && truncate) {
    d.outcome = fault_outcome::truncate_json;
  }
  d.apply_then_drop = kind == call_kind::netflix && d.outcome == fault_outcome::none && apply_then_drop;
  return d;
}

std::string format_duration(std::chrono::milliseconds d) {
  const auto ms = d.count();
  if (ms != 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms != 0 && ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

namespace {

result<double> probability(const json_item& item, std::string_view key) {
  const auto p = item.as_double();
  if (!p || !(*p >= 0 && *p <= 1)) {
    return error{errc::invalid_argument, std::string(key) + " must be a number between 0 and 1"};
  }
  return *p;
}

result<std::chrono::milliseconds> duration(const json_item& item, std::string_view key,
                                           std::chrono::milliseconds bare_unit) {
  if (item.kind != json_kind::string && item.kind != json_kind::number) {
    return error{errc::invalid_argument, std::string(key) + " must be a duration (\"5ms\") or a number"};
  }
  auto d = cli::parse_duration(item.is_string() ? item.text : item.raw, bare_unit);
  if (!d) return error{errc::invalid_argument, std::string(key) + ": " + d.error().diagnostic};
  return *d;
}

}  // namespace

result<void> apply_fault_settings(fault_config& config, std::string_view json_object_text) {
  using namespace std::chrono;
  auto members = parse_json_object(json_object_text);
  if (!members) return members.error();
  fault_config next = config;
  for (const auto& [key, item] : *members) {
    result<void> ok;
    const auto set_probability = [&](double& target) {
      auto p = probability(item, key);
      if (p)
        target = *p;
      else
        ok = p.error();
    };
    const auto set_duration = [&](milliseconds& target, milliseconds unit) {
      auto d = duration(item, key, unit);
      if (d)
        target = *d;
      else
        ok = d.error();
    };
    const auto set_count = [&](unsigned& target) {
      const auto k = item.as_unsigned();
      if (k && *k <= 1'000'000)
        target = static_cast<unsigned>(*k);
      else
        ok = error{errc::invalid_argument, std::string(key) + " must be a whole number from 0 to 1000000"};
    };
    if (key == "latency")
      set_duration(next.latency, milliseconds(1));
    else if (key == "jitter")
      set_duration(next.jitter, milliseconds(1));
    else if (key == "fail_5xx")
      set_probability(next.fail_5xx);
    else if (key == "drop")
      set_probability(next.drop);
    else if (key == "malformed_json")
      set_probability(next.malformed_json);
    else if (key == "truncate_json")
      set_probability(next.truncate_json);
    else if (key == "ack_apply_then_drop")
      set_probability(next.ack_apply_then_drop);
    else if (key == "token_expiry_every")
      set_duration(next.token_expiry_every, seconds(1));
    else if (key == "ack_refuse_first")
      set_count(next.ack_refuse_first);
    else if (key == "ack_misname_next")
      set_count(next.ack_misname_next);
    else if (key == "ack_refuse_code") {
      if (item.is_string() && !item.text.empty())
        next.ack_refuse_code = item.text;
      else
        ok = error{errc::invalid_argument, "ack_refuse_code must be a non-empty string"};
    } else {
      ok = error{errc::invalid_argument, "unknown fault setting \"" + quote_peer_text(key) + "\""};
    }
    if (!ok) return ok.error();
  }
  config = std::move(next);
  return {};
}

boost::json::object fault_settings_json(const fault_config& config) {
  boost::json::object o;
  o["latency"] = format_duration(config.latency);
  o["jitter"] = format_duration(config.jitter);
  o["fail_5xx"] = config.fail_5xx;
  o["drop"] = config.drop;
  o["malformed_json"] = config.malformed_json;
  o["truncate_json"] = config.truncate_json;
  o["token_expiry_every"] = format_duration(config.token_expiry_every);
  o["ack_refuse_first"] = config.ack_refuse_first;
  o["ack_refuse_code"] = config.ack_refuse_code;
  o["ack_apply_then_drop"] = config.ack_apply_then_drop;
  o["ack_misname_next"] = config.ack_misname_next;
  return o;
}

}  // namespace chargerecon::crm_sim
