#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "metrics/metric_list.h"

namespace sluice {

/// A count that only goes up. Increment is one relaxed atomic add, safe from any thread.
class Counter {
 public:
  void Increment(uint64_t amount = 1) { value_.fetch_add(amount, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

/// A value that goes up and down (queue depth, lag). Lock-free, safe from any thread.
class Gauge {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double amount) { value_.fetch_add(amount, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

/// Counts observations into buckets with fixed upper bounds (`le`, inclusive) plus +Inf, and
/// keeps their sum. Observe is lock-free and safe from any thread.
class Histogram {
 public:
  explicit Histogram(std::span<const double> bounds);

  /// Records `count` observations of the same value (rows of one batch share a latency).
  void Observe(double value, uint64_t count = 1);

  /// Observations gathered without atomics (the rows of one batch, each with its own value),
  /// added to the histogram at once by Add: one atomic add per bucket instead of per value.
  class Local {
   public:
    explicit Local(const Histogram& histogram);
    void Observe(double value);
    uint64_t count() const { return count_; }

   private:
    friend class Histogram;
    const std::vector<double>* bounds_;
    std::vector<uint64_t> counts_;  // one per bound, then +Inf
    double sum_ = 0;
    uint64_t count_ = 0;
  };
  void Add(const Local& local);

  /// Counts per bucket, cumulative as Prometheus shows them; the last is +Inf (= count).
  struct Snapshot {
    std::vector<uint64_t> cumulative;
    double sum = 0;
  };
  Snapshot Read() const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  /// The bucket of `value`: `le` is inclusive, NaN only in +Inf.
  static size_t BucketOf(const std::vector<double>& bounds, double value);

  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // one per bound, then +Inf
  std::atomic<double> sum_{0};
};

/// Owns the metric series of a process and renders them in the Prometheus text format.
///
/// Get* creates a series on first use (under a mutex) and returns the same object for the same
/// metric and label values afterwards; series live as long as the registry, so components keep
/// the references and update them without locking. Get* throws SetupError when the label values
/// do not match the descriptor's label names or the metric is of another type.
class MetricRegistry {
 public:
  MetricRegistry() = default;
  MetricRegistry(const MetricRegistry&) = delete;
  MetricRegistry& operator=(const MetricRegistry&) = delete;

  Counter& GetCounter(Metric metric, std::vector<std::string> label_values);
  Gauge& GetGauge(Metric metric, std::vector<std::string> label_values);
  Histogram& GetHistogram(Metric metric, std::vector<std::string> label_values);

  /// A counter whose total is kept elsewhere and copied in when scraped, with a fractional
  /// value (the kernel's CPU seconds, a query log's summed durations). Rendered as a counter;
  /// the caller only ever sets it to a larger value.
  Gauge& GetSampledCounter(Metric metric, std::vector<std::string> label_values);

  /// Runs `hook` at the start of every RenderPrometheus, so values read from outside (the
  /// process's /proc entries, the log's disk use) are fresh for each scrape. Hooks may call
  /// Get*. The owner of what a hook reads removes it (RemoveScrapeHook with the returned id)
  /// before that goes away.
  uint64_t AddScrapeHook(std::function<void()> hook);
  void RemoveScrapeHook(uint64_t id);

  /// For a descriptor outside the declared list (tests, programs embedding sluice).
  Counter& GetCounter(const MetricDescriptor& descriptor, std::vector<std::string> label_values);
  Gauge& GetGauge(const MetricDescriptor& descriptor, std::vector<std::string> label_values);
  Histogram& GetHistogram(const MetricDescriptor& descriptor,
                          std::vector<std::string> label_values);

  /// Text exposition format 0.0.4: metrics sorted by name, series by label values, each
  /// metric with its HELP and TYPE lines. Metrics without a series are left out.
  std::string RenderPrometheus() const;

 private:
  struct Family {
    const MetricDescriptor* descriptor = nullptr;
    std::map<std::vector<std::string>, std::unique_ptr<Counter>> counters;
    std::map<std::vector<std::string>, std::unique_ptr<Gauge>> gauges;
    std::map<std::vector<std::string>, std::unique_ptr<Histogram>> histograms;
  };

  // Called with mutex_ held.
  Family& FamilyFor(const MetricDescriptor& descriptor, MetricType type,
                    const std::vector<std::string>& label_values);

  mutable std::mutex mutex_;
  std::map<std::string, Family, std::less<>> families_;
  mutable std::mutex hooks_mutex_;  // held while hooks run, so scrapes run them one at a time
  std::map<uint64_t, std::function<void()>> hooks_;
  uint64_t next_hook_id_ = 1;
};

/// Escapes a label value for the exposition format: backslash, double quote, line feed.
std::string EscapeLabelValue(std::string_view value);

/// A sample value as Prometheus writes it: shortest round-trip decimal, NaN, +Inf, -Inf.
std::string FormatSampleValue(double value);

}  // namespace sluice
