#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace sluice {

/// One sample of the Prometheus text format: `name{label="value",...} value`.
struct PrometheusSample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;

  /// The value of `label`, or "" when the sample has none.
  const std::string& Label(const std::string& label) const;
};

/// Parses text format 0.0.4 as sluice (or any Prometheus client) serves it: comment lines are
/// skipped, label values unescaped, NaN and ±Inf read, timestamps ignored. A malformed line is an
/// error naming its line number.
Result<std::vector<PrometheusSample>> ParsePrometheusText(std::string_view text);

}  // namespace sluice
