#pragma once

#include <set>
#include <string>
#include <string_view>

#include "metrics/metric_list.h"

namespace sluice::testing_support {

/// The metric-like names (sluice_*, process_*) a PromQL expression uses, outside string
/// literals.
inline std::set<std::string> MetricNamesIn(std::string_view expr) {
  std::set<std::string> names;
  size_t at = 0;
  auto is_name = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == ':';
  };
  while (at < expr.size()) {
    char c = expr[at];
    if (c == '"') {
      at = expr.find('"', at + 1);
      at = at == std::string_view::npos ? expr.size() : at + 1;
    } else if (is_name(c)) {
      size_t start = at;
      while (at < expr.size() && is_name(expr[at])) ++at;
      std::string token(expr.substr(start, at - start));
      if (token.starts_with("sluice_") || token.starts_with("process_")) names.insert(token);
    } else {
      ++at;
    }
  }
  return names;
}

/// Whether `name` is a declared metric, or a histogram's _bucket, _sum or _count series.
inline bool IsDeclaredSeries(const std::string& name) {
  for (const MetricDescriptor& metric : DeclaredMetrics()) {
    if (name == metric.name) return true;
    if (metric.type == MetricType::kHistogram) {
      for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        if (name == std::string(metric.name) + suffix) return true;
      }
    }
  }
  return false;
}

}  // namespace sluice::testing_support
