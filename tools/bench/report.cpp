#include "bench/report.hpp"

#include <algorithm>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <cstdio>

namespace chargerecon::bench {
namespace {

constexpr const char* model_text =
    "bound = max(L_crm x (1 + lists), 3 L_crm + L_bill x ceil(posts / C), L_crm x (2 + acks)) with "
    "lists = floor(charges / 50) + 1, acks = ceil(acknowledged / 50): one list and one acknowledgement "
    "in flight at a time, C posts in flight, listing and acknowledging overlapping billing";

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string optional_fixed(std::optional<double> v, int decimals, const char* missing = "-") {
  return v ? fixed(*v, decimals) : std::string(missing);
}

std::string percent(std::optional<double> v) { return v ? fixed(*v * 100, 1) + "%" : std::string("-"); }

std::string pad(std::string s, std::size_t width) {
  if (s.size() < width) s.insert(0, width - s.size(), ' ');
  return s;
}

boost::json::value json_number(std::optional<double> v) {
  if (!v) return nullptr;
  return *v;
}

boost::json::object measurement_json(const measurement& m) {
  const auto d = derive(m);
  return {{"charges", m.charges},
          {"wall_s", m.wall_s},
          {"cpu_user_s", m.cpu_user_s},
          {"cpu_system_s", m.cpu_system_s},
          {"max_rss_kib", m.max_rss_kib},
          {"fsync_probe_ms", m.fsync_probe_ms},
          {"crm_calls", m.crm_calls},
          {"billing_posts", m.billing_posts},
          {"audit_ok", m.audit_ok},
          {"exit_status", m.exit_status},
          {"ready_ms", json_number(m.ready_ms)},
          {"charges_per_s", d.charges_per_second},
          {"cpu_s_per_1000_charges", d.cpu_s_per_1000},
          {"peak_rss_mib", d.max_rss_mib},
          {"crm_calls_per_charge", d.crm_calls_per_charge},
          {"billing_posts_per_charge", d.posts_per_charge}};
}

boost::json::array runs_json(const std::vector<measurement>& runs) {
  boost::json::array out;
  for (const auto& m : runs) out.push_back(measurement_json(m));
  return out;
}

}  // namespace

std::optional<double> ratio_to_bound(const latency_result& r) {
  return ratio(derive(r.engine).charges_per_second, r.bound.charges_per_second);
}

std::optional<double> ratio_to_baseline(const latency_result& r) {
  return ratio(derive(r.engine).charges_per_second, derive(r.baseline).charges_per_second);
}

std::size_t median_run(const std::vector<measurement>& runs) {
  if (runs.empty()) return 0;
  std::vector<std::size_t> order(runs.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return derive(runs[a]).charges_per_second < derive(runs[b]).charges_per_second;
  });
  return order[(order.size() - 1) / 2];
}

std::string format_table(const bench_report& report) {
  static constexpr std::size_t widths[] = {8, 9, 8, 10, 9, 8, 9, 9, 10, 8, 9};
  static constexpr const char* heads[] = {"latency", "process",   "charges", "charges/s", "CPU s/1k", "RSS MiB",
                                          "CRM/chg", "posts/chg", "bound/s", "of bound",  "x base"};
  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    for (std::size_t i = 0; i < cells.size(); ++i) out += pad(cells[i], widths[i]) + (i + 1 < cells.size() ? " " : "");
    out += '\n';
  };
  line({std::begin(heads), std::end(heads)});
  std::vector<std::string> notes;
  for (const auto& r : report.results) {
    const auto latency = fixed(r.latency_ms, 0) + " ms";
    auto row = [&](const char* who, const measurement& m, bool engine) {
      const auto d = derive(m);
      std::string charges = std::to_string(m.charges);
      if (!engine && r.baseline_extrapolated) charges += "*";
      line({latency, who, charges, fixed(d.charges_per_second, 0), fixed(d.cpu_s_per_1000, 3), fixed(d.max_rss_mib, 1),
            fixed(d.crm_calls_per_charge, 3), fixed(d.posts_per_charge, 3),
            engine ? optional_fixed(r.bound.charges_per_second, 0, "none") : std::string(),
            engine ? percent(ratio_to_bound(r)) : std::string(),
            engine ? optional_fixed(ratio_to_baseline(r), 1) : std::string()});
      if (!m.audit_ok)
        notes.push_back(std::string(who) + " at " + latency + ": sim-audit did NOT pass (exit status " +
                        std::to_string(m.exit_status) + " of the run)");
    };
    row("engine", r.engine, true);
    row("baseline", r.baseline, false);
    if (r.engine_runs.size() > 1) {
      std::string rates;
      for (const auto& m : r.engine_runs) {
        if (!rates.empty()) rates += " / ";
        rates += fixed(derive(m).charges_per_second, 0);
        if (!m.audit_ok && &m != &r.engine)
          notes.push_back("engine at " + latency + ": a run's sim-audit did NOT pass (exit status " +
                          std::to_string(m.exit_status) + " of the run)");
      }
      notes.push_back("engine at " + latency + ": " + std::to_string(r.engine_runs.size()) + " runs, " + rates +
                      " charges/s; the row is the median run");
    }
    notes.push_back("start to READY at " + latency + ": " + optional_fixed(r.engine.ready_ms, 1, "not reached") +
                    " ms, chargerecond started again on the " + std::to_string(r.engine.charges) +
                    "-charge ledger its run left");
    notes.push_back("disk at " + latency + ": fdatasync median " + fixed(r.engine.fsync_probe_ms, 2) +
                    " ms before the engine's run, " + fixed(r.baseline.fsync_probe_ms, 2) +
                    " ms before the baseline's");
    if (r.baseline_extrapolated)
      notes.push_back("* baseline at " + latency + " ran " + std::to_string(r.baseline.charges) + " of " +
                      std::to_string(r.engine.charges) +
                      " charges; its rate is extrapolated linearly (a sequential loop's time grows with the charges)");
    if (r.bound.charges_per_second)
      notes.push_back("bound at " + latency + ": " + fixed(r.bound.seconds, 2) + " s for " +
                      std::to_string(r.engine_workload.charges) + " charges, limited by " + r.bound.limited_by + " (" +
                      std::to_string(r.bound.list_calls) + " lists, " + std::to_string(r.engine_workload.posts) +
                      " posts in " + std::to_string(r.bound.post_waves) + " waves of " + std::to_string(r.concurrency) +
                      ", " + std::to_string(r.bound.ack_calls) + " acks)");
  }
  out += "\nmodel: ";
  out += model_text;
  out +=
      "\nCPU is the reconciler process's own (wait4 rusage), peak RSS its VmHWM; calls and posts as crm-sim and "
      "billing-fake counted them.\n";
  for (const auto& n : notes) out += n + "\n";
  return out;
}

std::string format_json(const bench_report& report) {
  boost::json::array results;
  for (const auto& r : report.results) {
    boost::json::object bound{
        {"seconds", r.bound.seconds},           {"charges_per_s", json_number(r.bound.charges_per_second)},
        {"limited_by", r.bound.limited_by},     {"list_calls", r.bound.list_calls},
        {"ack_calls", r.bound.ack_calls},       {"post_waves", r.bound.post_waves},
        {"list_chain_s", r.bound.list_chain_s}, {"bill_chain_s", r.bound.bill_chain_s},
        {"ack_chain_s", r.bound.ack_chain_s}};
    auto baseline = measurement_json(r.baseline);
    baseline["extrapolated"] = r.baseline_extrapolated;
    results.push_back(boost::json::object{{"latency_ms", r.latency_ms},
                                          {"concurrency", r.concurrency},
                                          {"workload",
                                           {{"charges", r.engine_workload.charges},
                                            {"posts", r.engine_workload.posts},
                                            {"acknowledged", r.engine_workload.acknowledged}}},
                                          {"bound", std::move(bound)},
                                          {"engine", measurement_json(r.engine)},
                                          {"engine_runs", runs_json(r.engine_runs)},
                                          {"baseline", std::move(baseline)},
                                          {"ratio_to_bound", json_number(ratio_to_bound(r))},
                                          {"ratio_to_baseline", json_number(ratio_to_baseline(r))}});
  }
  boost::json::object root{{"seed", report.seed},
                           {"reject_customers", report.reject_customers},
                           {"model", model_text},
                           {"results", std::move(results)}};
  return boost::json::serialize(root) + "\n";
}

}  // namespace chargerecon::bench
