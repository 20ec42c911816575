#include "chaos/report.hpp"

#include <simdjson.h>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <cstdio>

#include "ledger/charge_state.hpp"

namespace chargerecon::chaos {
namespace {

namespace od = simdjson::ondemand;

// {"name": whole number, ...} into `into`.
bool read_counts(od::object object, std::map<std::string, std::uint64_t, std::less<>>& into) {
  for (auto item : object) {
    od::field field;
    std::string_view key;
    std::uint64_t n = 0;
    if (std::move(item).get(field) || field.unescaped_key().get(key) || field.value().get_uint64().get(n)) return false;
    into[std::string(key)] = n;
  }
  return true;
}

result<sim_counters> parse_stats(std::string_view who, std::string_view body, bool billing) {
  const auto bad = [who](std::string what) { return error{errc::malformed_answer, std::string(who) + ": " + what}; };
  const simdjson::padded_string padded(body);
  od::parser parser;
  od::document doc;
  od::object root;
  if (parser.iterate(padded).get(doc) || doc.get_object().get(root)) return bad("the body is not a JSON object");
  sim_counters out;
  od::object faults;
  if (root.find_field_unordered("faults_injected").get_object().get(faults) || !read_counts(faults, out.faults))
    return bad("faults_injected is missing or not an object of whole numbers");
  if (billing) {
    std::uint64_t posts = 0;
    if (root.find_field_unordered("posts_total").get_uint64().get(posts))
      return bad("posts_total is missing or not a whole number");
    out.calls["posts"] = posts;
  } else {
    od::object calls;
    if (root.find_field_unordered("calls").get_object().get(calls) || !read_counts(calls, out.calls))
      return bad("calls is missing or not an object of whole numbers");
  }
  return out;
}

std::string seconds_text(double s) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f s", s);
  return text;
}

std::string counts_text(const std::map<std::string, std::uint64_t, std::less<>>& counts) {
  std::string out;
  for (const auto& [name, n] : counts) out += (out.empty() ? "" : ", ") + name + " " + std::to_string(n);
  return out.empty() ? "none" : out;
}

boost::json::object counts_json(const auto& counts) {
  boost::json::object o;
  for (const auto& [name, n] : counts) o[name] = n;
  return o;
}

std::uint64_t faults_total(const sim_counters& c) {
  std::uint64_t n = 0;
  for (const auto& [kind, count] : c.faults) n += count;
  return n;
}

std::uint64_t state_count(const chaos_report& r, ledger::charge_state s) {
  const auto it = r.audit.ledger_by_state.find(s);
  return it == r.audit.ledger_by_state.end() ? 0 : it->second;
}

}  // namespace

std::uint64_t sim_counters::call(std::string_view name) const {
  const auto it = calls.find(name);
  return it == calls.end() ? 0 : it->second;
}

result<sim_counters> parse_crm_stats(std::string_view body) { return parse_stats("crm-sim /sim/stats", body, false); }

result<sim_counters> parse_billing_stats(std::string_view body) {
  return parse_stats("billing-fake /stats", body, true);
}

std::string render_text(const chaos_report& r) {
  std::string out;
  const auto line = [&out](const std::string& text) { out += text + "\n"; };
  const auto n = [](auto v) { return std::to_string(v); };
  std::string phases;
  for (const auto& [phase, count] : r.kills_by_phase) phases += (phases.empty() ? "" : ", ") + phase + " " + n(count);
  line("chaos: seed " + n(r.seed) + ", " + n(r.audit.crm_charges) + " charges in crm-sim (" +
       n(r.audit.crm_charges - (r.audit.crm_by_status.contains("PENDING") ? r.audit.crm_by_status.at("PENDING") : 0)) +
       " processed)");
  line("kills survived: " + n(r.kills) + " of " + n(r.kills_requested) + " (" + phases + "; " + n(r.kills_early) +
       " of them idle: killed before their moment), restarts " + n(r.restarts));
  line("crm-sim faults injected (" + n(faults_total(r.crm)) + "): " + counts_text(r.crm.faults));
  line("billing-fake faults injected (" + n(faults_total(r.billing)) + "): " + counts_text(r.billing.faults));
  line("billing: " + n(r.audit.billing_records) + " billed, " + n(r.audit.billing_posts) + " posts (" +
       n(r.audit.replayed_posts) + " replays); ledger: " + n(state_count(r, ledger::charge_state::acknowledged)) +
       " acknowledged, " + n(state_count(r, ledger::charge_state::held)) + " held, " +
       n(state_count(r, ledger::charge_state::dead)) + " dead");
  line("wall time " + seconds_text(r.wall_s) + " (kills " + seconds_text(r.chaos_s) + ", drain " +
       seconds_text(r.drain_s) + ", drain exit " + n(r.drain_exit) + ")");
  for (const auto& d : r.discrepancies)
    line("discrepancy " + d.rule + (d.number.empty() ? "" : " " + d.number) + ": " + d.detail);
  line("discrepancies: " + n(r.discrepancies.size()));
  return out;
}

std::string render_json(const chaos_report& r) {
  boost::json::array discrepancies;
  for (const auto& d : r.discrepancies)
    discrepancies.push_back(boost::json::object{{"rule", d.rule}, {"number", d.number}, {"detail", d.detail}});
  boost::json::object by_state;
  for (const auto& [state, count] : r.audit.ledger_by_state) by_state[to_string(state)] = count;
  const boost::json::object out{
      {"seed", r.seed},
      {"charges", r.audit.crm_charges},
      {"charges_by_status", counts_json(r.audit.crm_by_status)},
      {"kills_requested", r.kills_requested},
      {"kills_survived", r.kills},
      {"kills_by_phase", counts_json(r.kills_by_phase)},
      {"kills_before_their_moment", r.kills_early},
      {"restarts", r.restarts},
      {"faults_injected", {{"crm_sim", counts_json(r.crm.faults)}, {"billing_fake", counts_json(r.billing.faults)}}},
      {"crm_calls", counts_json(r.crm.calls)},
      {"billing",
       {{"billed", r.audit.billing_records},
        {"posts", r.audit.billing_posts},
        {"replayed_posts", r.audit.replayed_posts}}},
      {"ledger_by_state", std::move(by_state)},
      {"wall_s", r.wall_s},
      {"kill_phase_s", r.chaos_s},
      {"drain_s", r.drain_s},
      {"drain_exit", r.drain_exit},
      {"discrepancy_count", r.discrepancies.size()},
      {"discrepancies", std::move(discrepancies)},
      {"passed", r.passed()},
  };
  return boost::json::serialize(out) + "\n";
}

}  // namespace chargerecon::chaos
