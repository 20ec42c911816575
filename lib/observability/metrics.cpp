#include "observability/metrics.hpp"

#include <charconv>
#include <cmath>
#include <stdexcept>

namespace chargerecon::obs {
namespace {

void atomic_add(std::atomic<double>& a, double v) {
  double cur = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(cur, cur + v, std::memory_order_relaxed)) {
  }
}

std::string format_double(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, v);  // shortest text that reads back exactly
  return std::string(buf, res.ptr);
}

// Merges an extra label (le="...") into an already rendered label set.
std::string with_label(const std::string& rendered, std::string_view extra) {
  if (rendered.empty()) return "{" + std::string(extra) + "}";
  return rendered.substr(0, rendered.size() - 1) + "," + std::string(extra) + "}";
}

}  // namespace

void gauge::add(double v) { atomic_add(value_, v); }

histogram::histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), buckets_(new std::atomic<std::uint64_t>[bounds_.size()]) {
  for (std::size_t i = 0; i < bounds_.size(); ++i) buckets_[i].store(0);
}

void histogram::observe(double v) {
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    if (v <= bounds_[i]) {
      buckets_[i].fetch_add(1, std::memory_order_relaxed);
      break;
    }
  }
  count_.fetch_add(1, std::memory_order_relaxed);
  atomic_add(sum_, v);
}

std::vector<std::uint64_t> histogram::cumulative_counts() const {
  std::vector<std::uint64_t> out(bounds_.size());
  std::uint64_t running = 0;
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    out[i] = running;
  }
  return out;
}

std::vector<double> default_latency_buckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
}

std::string render_labels(const labels& l) {
  if (l.empty()) return {};
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : l) {
    if (!first) out += ',';
    first = false;
    out += k;
    out += "=\"";
    for (char c : v) {
      if (c == '\\')
        out += "\\\\";
      else if (c == '"')
        out += "\\\"";
      else if (c == '\n')
        out += "\\n";
      else
        out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

registry::family& registry::family_for(std::string_view name, std::string_view help, kind type) {
  auto it = families_.find(name);
  if (it == families_.end())
    it = families_.emplace(std::string(name), family{type, std::string(help), {}, {}, {}}).first;
  if (it->second.type != type) throw std::logic_error("metric " + std::string(name) + " registered with two types");
  return it->second;
}

counter& registry::get_counter(std::string_view name, std::string_view help, const labels& l) {
  std::lock_guard lock(mutex_);
  auto& slot = family_for(name, help, kind::counter).counters[render_labels(l)];
  if (!slot) slot = std::make_unique<counter>();
  return *slot;
}

gauge& registry::get_gauge(std::string_view name, std::string_view help, const labels& l) {
  std::lock_guard lock(mutex_);
  auto& slot = family_for(name, help, kind::gauge).gauges[render_labels(l)];
  if (!slot) slot = std::make_unique<gauge>();
  return *slot;
}

histogram& registry::get_histogram(std::string_view name, std::string_view help, const labels& l,
                                   std::vector<double> upper_bounds) {
  std::lock_guard lock(mutex_);
  auto& slot = family_for(name, help, kind::histogram).histograms[render_labels(l)];
  if (!slot) slot = std::make_unique<histogram>(std::move(upper_bounds));
  return *slot;
}

std::uint64_t registry::counter_sum(std::string_view name) const {
  std::lock_guard lock(mutex_);
  const auto it = families_.find(name);
  if (it == families_.end()) return 0;
  std::uint64_t total = 0;
  for (const auto& [l, c] : it->second.counters) total += c->value();
  return total;
}

std::string registry::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& [name, f] : families_) {
    out += "# HELP " + name + " " + f.help + "\n";
    switch (f.type) {
      case kind::counter:
        out += "# TYPE " + name + " counter\n";
        for (const auto& [l, c] : f.counters) out += name + l + " " + std::to_string(c->value()) + "\n";
        break;
      case kind::gauge:
        out += "# TYPE " + name + " gauge\n";
        for (const auto& [l, g] : f.gauges) out += name + l + " " + format_double(g->value()) + "\n";
        break;
      case kind::histogram: {
        out += "# TYPE " + name + " histogram\n";
        for (const auto& [l, h] : f.histograms) {
          const auto cumulative = h->cumulative_counts();
          for (std::size_t i = 0; i < cumulative.size(); ++i)
            out += name + "_bucket" + with_label(l, "le=\"" + format_double(h->upper_bounds()[i]) + "\"") + " " +
                   std::to_string(cumulative[i]) + "\n";
          out += name + "_bucket" + with_label(l, "le=\"+Inf\"") + " " + std::to_string(h->count()) + "\n";
          out += name + "_sum" + l + " " + format_double(h->sum()) + "\n";
          out += name + "_count" + l + " " + std::to_string(h->count()) + "\n";
        }
        break;
      }
    }
  }
  return out;
}

}  // namespace chargerecon::obs
