#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace sluice {

enum class MetricType : uint8_t { kCounter, kGauge, kHistogram };

/// What a metric is: name, type, label names, histogram buckets and help text. The declared
/// ones come from SLUICE_METRICS below; a descriptor must outlive every registry that uses it.
struct MetricDescriptor {
  std::string_view name;
  MetricType type = MetricType::kCounter;
  std::span<const std::string_view> labels;
  std::span<const double> buckets;  // histogram upper bounds, ascending; empty otherwise
  std::string_view help;
};

inline constexpr std::string_view kComponentLabels[] = {"component_kind", "component_type",
                                                        "component_id"};
inline constexpr std::string_view kComponentErrorLabels[] = {
    "component_kind", "component_type", "component_id", "error_code", "error_name", "stage"};

inline constexpr std::string_view kHttpRequestLabels[] = {"listener", "route", "status"};
inline constexpr std::string_view kHttpRouteLabels[] = {"listener", "route"};
inline constexpr double kHttpDurationBuckets[] = {0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30};

/// The one list of sluice metrics: X(id, type, name, labels, buckets, help). docs/metrics.md
/// documents each (a unit test checks it). Counter names end in _total, as Prometheus expects.
/// The component_* metrics are the standard set every source, operator and sink emits through
/// ComponentMetrics.
#define SLUICE_METRICS(X)                                                                         \
  X(kComponentReceivedRecords, kCounter, "sluice_component_received_records_total",               \
    kComponentLabels, {}, "Records a component received from upstream or from outside.")          \
  X(kComponentReceivedBytes, kCounter, "sluice_component_received_bytes_total", kComponentLabels, \
    {}, "Bytes of the records a component received, as they arrived.")                            \
  X(kComponentSentRecords, kCounter, "sluice_component_sent_records_total", kComponentLabels, {}, \
    "Records a component sent downstream or, for a sink, wrote.")                                 \
  X(kComponentSentBytes, kCounter, "sluice_component_sent_bytes_total", kComponentLabels, {},     \
    "Bytes of the records a component sent or wrote.")                                            \
  X(kComponentErrors, kCounter, "sluice_component_errors_total", kComponentErrorLabels, {},       \
    "Errors a component met, by error code and stage (receiving, processing, sending).")          \
  X(kComponentDeadLetterRecords, kCounter, "sluice_component_dead_letter_records_total",          \
    kComponentLabels, {}, "Records a component sent to the dead-letter table.")                   \
  X(kHttpRequests, kCounter, "sluice_http_requests_total", kHttpRequestLabels, {},                \
    "HTTP requests answered, by listener, route and status code.")                                \
  X(kHttpRequestDuration, kHistogram, "sluice_http_request_duration_seconds", kHttpRouteLabels,   \
    kHttpDurationBuckets, "Time from a request's headers to its response written, in seconds.")

enum class Metric : uint16_t {
#define SLUICE_METRIC_ENUM(id, type, name, labels, buckets, help) id,
  SLUICE_METRICS(SLUICE_METRIC_ENUM)
#undef SLUICE_METRIC_ENUM
};

inline constexpr MetricDescriptor kDeclaredMetrics[] = {
#define SLUICE_METRIC_DESCRIPTOR(id, type, name, labels, buckets, help) \
  MetricDescriptor{name, MetricType::type, labels, buckets, help},
    SLUICE_METRICS(SLUICE_METRIC_DESCRIPTOR)
#undef SLUICE_METRIC_DESCRIPTOR
};

/// Every declared metric, in list order.
inline std::span<const MetricDescriptor> DeclaredMetrics() {
  return kDeclaredMetrics;
}

inline const MetricDescriptor& Describe(Metric metric) {
  return kDeclaredMetrics[static_cast<size_t>(metric)];
}

}  // namespace sluice
