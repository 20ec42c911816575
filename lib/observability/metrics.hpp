#pragma once
// Prometheus metrics: counters, gauges and histograms with labels, rendered in the text
// exposition format (version 0.0.4). Instruments are created once and kept by reference; updates
// are lock-free atomics so the ledger thread and the protocol loop can both record.

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chargerecon::obs {

using labels = std::vector<std::pair<std::string, std::string>>;

class counter {
 public:
  void inc(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

class gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void add(double v);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class histogram {
 public:
  explicit histogram(std::vector<double> upper_bounds);
  void observe(double v);
  // Cumulative counts per bound (as exposed), the total count and the sum.
  std::vector<std::uint64_t> cumulative_counts() const;
  std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  double sum() const { return sum_.load(std::memory_order_relaxed); }
  const std::vector<double>& upper_bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // non-cumulative, one per bound
  std::atomic<std::uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

// Latency buckets in seconds, from 1 ms to 30 s: the range of a loopback call to a slow peer.
std::vector<double> default_latency_buckets();

class registry {
 public:
  // The same name and labels give the same instrument. A name is one type only; help text is
  // taken from the first registration. Names follow Prometheus conventions (checked by tests,
  // not here): base units, _total for counters, _seconds for durations.
  counter& get_counter(std::string_view name, std::string_view help, const labels& l = {});
  gauge& get_gauge(std::string_view name, std::string_view help, const labels& l = {});
  histogram& get_histogram(std::string_view name, std::string_view help, const labels& l = {},
                           std::vector<double> upper_bounds = default_latency_buckets());

  std::string render() const;

  // The sum of a counter family's series (every label set); 0 when the name is unknown. For
  // checks that care whether anything of a kind happened (health), not for exposition.
  std::uint64_t counter_sum(std::string_view name) const;

 private:
  enum class kind { counter, gauge, histogram };
  struct family {
    kind type;
    std::string help;
    std::map<std::string, std::unique_ptr<counter>> counters;  // key: rendered label set
    std::map<std::string, std::unique_ptr<gauge>> gauges;
    std::map<std::string, std::unique_ptr<histogram>> histograms;
  };
  family& family_for(std::string_view name, std::string_view help, kind type);

  mutable std::mutex mutex_;  // guards the maps (registration, rendering), not the values
  std::map<std::string, family, std::less<>> families_;
};

// {a="x",b="y"} with values escaped per the exposition format; empty for no labels.
std::string render_labels(const labels& l);

}  // namespace chargerecon::obs
