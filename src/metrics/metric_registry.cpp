#include "metrics/metric_registry.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "base/result.h"

namespace sluice {
namespace {

std::string_view TypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

std::string EscapeHelp(std::string_view help) {
  std::string escaped;
  escaped.reserve(help.size());
  for (char c : help) {
    if (c == '\\') {
      escaped += "\\\\";
    } else if (c == '\n') {
      escaped += "\\n";
    } else {
      escaped += c;
    }
  }
  return escaped;
}

// `{a="x",b="y"}` with an optional extra `le` pair; empty when there is nothing to show.
std::string LabelSet(const MetricDescriptor& descriptor, const std::vector<std::string>& values,
                     std::string_view le = {}) {
  if (values.empty() && le.empty()) return {};
  std::string text = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) text += ',';
    fmt::format_to(std::back_inserter(text), "{}=\"{}\"", descriptor.labels[i],
                   EscapeLabelValue(values[i]));
  }
  if (!le.empty())
    fmt::format_to(std::back_inserter(text), "{}le=\"{}\"", values.empty() ? "" : ",", le);
  text += '}';
  return text;
}

}  // namespace

std::string EscapeLabelValue(std::string_view value) {
  std::string escaped;
  escaped.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      escaped += "\\\\";
    } else if (c == '"') {
      escaped += "\\\"";
    } else if (c == '\n') {
      escaped += "\\n";
    } else {
      escaped += c;
    }
  }
  return escaped;
}

std::string FormatSampleValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", value);
}

Histogram::Histogram(std::span<const double> bounds)
    : bounds_(bounds.begin(), bounds.end()),
      counts_(std::make_unique<std::atomic<uint64_t>[]>(bounds.size() + 1)) {
  if (!std::is_sorted(bounds_.begin(), bounds_.end()) ||
      std::adjacent_find(bounds_.begin(), bounds_.end()) != bounds_.end()) {
    throw SetupError(
        MakeError(ErrorCode::kInternal, "histogram bounds must be strictly ascending"));
  }
}

size_t Histogram::BucketOf(const std::vector<double>& bounds, double value) {
  // `le` is inclusive: a value equal to a bound falls in that bound's bucket. NaN only in +Inf.
  if (std::isnan(value)) return bounds.size();
  return static_cast<size_t>(std::lower_bound(bounds.begin(), bounds.end(), value) -
                             bounds.begin());
}

void Histogram::Observe(double value, uint64_t count) {
  if (count == 0) return;
  counts_[BucketOf(bounds_, value)].fetch_add(count, std::memory_order_relaxed);
  sum_.fetch_add(value * static_cast<double>(count), std::memory_order_relaxed);
}

Histogram::Local::Local(const Histogram& histogram)
    : bounds_(&histogram.bounds_), counts_(histogram.bounds_.size() + 1, 0) {}

void Histogram::Local::Observe(double value) {
  ++counts_[BucketOf(*bounds_, value)];
  sum_ += value;
  ++count_;
}

void Histogram::Add(const Local& local) {
  if (local.count_ == 0) return;
  for (size_t i = 0; i < local.counts_.size() && i <= bounds_.size(); ++i) {
    if (local.counts_[i] > 0) counts_[i].fetch_add(local.counts_[i], std::memory_order_relaxed);
  }
  sum_.fetch_add(local.sum_, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot snapshot;
  snapshot.cumulative.reserve(bounds_.size() + 1);
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    snapshot.cumulative.push_back(running);
  }
  snapshot.sum = sum_.load(std::memory_order_relaxed);
  return snapshot;
}

MetricRegistry::Family& MetricRegistry::FamilyFor(const MetricDescriptor& descriptor,
                                                  MetricType type,
                                                  const std::vector<std::string>& label_values) {
  if (descriptor.type != type) {
    throw SetupError(
        MakeError(ErrorCode::kInternal, fmt::format("metric {} is a {}, not a {}", descriptor.name,
                                                    TypeName(descriptor.type), TypeName(type))));
  }
  if (label_values.size() != descriptor.labels.size()) {
    throw SetupError(
        MakeError(ErrorCode::kInternal,
                  fmt::format("metric {} takes {} label values, got {}", descriptor.name,
                              descriptor.labels.size(), label_values.size())));
  }
  auto found = families_.find(descriptor.name);
  if (found == families_.end()) {
    found = families_.emplace(std::string(descriptor.name), Family{}).first;
    found->second.descriptor = &descriptor;
  } else if (found->second.descriptor != &descriptor) {
    throw SetupError(MakeError(ErrorCode::kInternal,
                               fmt::format("metric {} is described twice", descriptor.name)));
  }
  return found->second;
}

Counter& MetricRegistry::GetCounter(Metric metric, std::vector<std::string> label_values) {
  return GetCounter(Describe(metric), std::move(label_values));
}

Gauge& MetricRegistry::GetGauge(Metric metric, std::vector<std::string> label_values) {
  return GetGauge(Describe(metric), std::move(label_values));
}

Histogram& MetricRegistry::GetHistogram(Metric metric, std::vector<std::string> label_values) {
  return GetHistogram(Describe(metric), std::move(label_values));
}

Counter& MetricRegistry::GetCounter(const MetricDescriptor& descriptor,
                                    std::vector<std::string> label_values) {
  std::lock_guard lock(mutex_);
  Family& family = FamilyFor(descriptor, MetricType::kCounter, label_values);
  std::unique_ptr<Counter>& series = family.counters[std::move(label_values)];
  if (!series) series = std::make_unique<Counter>();
  return *series;
}

Gauge& MetricRegistry::GetGauge(const MetricDescriptor& descriptor,
                                std::vector<std::string> label_values) {
  std::lock_guard lock(mutex_);
  Family& family = FamilyFor(descriptor, MetricType::kGauge, label_values);
  std::unique_ptr<Gauge>& series = family.gauges[std::move(label_values)];
  if (!series) series = std::make_unique<Gauge>();
  return *series;
}

Gauge& MetricRegistry::GetSampledCounter(Metric metric, std::vector<std::string> label_values) {
  const MetricDescriptor& descriptor = Describe(metric);
  std::lock_guard lock(mutex_);
  Family& family = FamilyFor(descriptor, MetricType::kCounter, label_values);
  std::unique_ptr<Gauge>& series = family.gauges[std::move(label_values)];
  if (!series) series = std::make_unique<Gauge>();
  return *series;
}

uint64_t MetricRegistry::AddScrapeHook(std::function<void()> hook) {
  std::lock_guard lock(hooks_mutex_);
  hooks_.emplace(next_hook_id_, std::move(hook));
  return next_hook_id_++;
}

void MetricRegistry::RemoveScrapeHook(uint64_t id) {
  std::lock_guard lock(hooks_mutex_);
  hooks_.erase(id);
}

Histogram& MetricRegistry::GetHistogram(const MetricDescriptor& descriptor,
                                        std::vector<std::string> label_values) {
  std::lock_guard lock(mutex_);
  Family& family = FamilyFor(descriptor, MetricType::kHistogram, label_values);
  std::unique_ptr<Histogram>& series = family.histograms[std::move(label_values)];
  if (!series) series = std::make_unique<Histogram>(descriptor.buckets);
  return *series;
}

std::string MetricRegistry::RenderPrometheus() const {
  {
    // Hooks set gauges through Get*, which takes mutex_: run them before taking it.
    std::lock_guard hooks_lock(hooks_mutex_);
    for (const auto& [id, hook] : hooks_) hook();
  }
  std::lock_guard lock(mutex_);
  std::string text;
  auto out = std::back_inserter(text);
  for (const auto& [name, family] : families_) {
    const MetricDescriptor& descriptor = *family.descriptor;
    fmt::format_to(out, "# HELP {} {}\n# TYPE {} {}\n", name, EscapeHelp(descriptor.help), name,
                   TypeName(descriptor.type));
    for (const auto& [labels, counter] : family.counters) {
      fmt::format_to(out, "{}{} {}\n", name, LabelSet(descriptor, labels), counter->value());
    }
    for (const auto& [labels, gauge] : family.gauges) {
      fmt::format_to(out, "{}{} {}\n", name, LabelSet(descriptor, labels),
                     FormatSampleValue(gauge->value()));
    }
    for (const auto& [labels, histogram] : family.histograms) {
      Histogram::Snapshot snapshot = histogram->Read();
      const std::vector<double>& bounds = histogram->bounds();
      for (size_t i = 0; i < snapshot.cumulative.size(); ++i) {
        std::string le = i < bounds.size() ? FormatSampleValue(bounds[i]) : "+Inf";
        fmt::format_to(out, "{}_bucket{} {}\n", name, LabelSet(descriptor, labels, le),
                       snapshot.cumulative[i]);
      }
      fmt::format_to(out, "{}_sum{} {}\n", name, LabelSet(descriptor, labels),
                     FormatSampleValue(snapshot.sum));
      fmt::format_to(out, "{}_count{} {}\n", name, LabelSet(descriptor, labels),
                     snapshot.cumulative.back());
    }
  }
  return text;
}

}  // namespace sluice
