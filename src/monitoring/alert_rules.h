#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "config/spec.h"

namespace sluice {

/// One Prometheus alerting rule as `sluice alerts` writes it.
struct AlertRule {
  std::string name;
  std::string expr;          // PromQL
  std::string for_duration;  // Prometheus duration, e.g. "5m"
  std::string severity;      // warning or critical
  std::string summary;       // Go template over $labels and $value
  std::string description;
};

/// The alert rules for a spec, thresholds from its `monitoring` section (docs/operations.md
/// explains each alert and what to do).
std::vector<AlertRule> AlertRulesFor(const PipelineSpec& spec);

/// A Prometheus rules file (one group, named after the pipeline) holding `rules`.
std::string RenderRulesYaml(const PipelineSpec& spec, const std::vector<AlertRule>& rules);

/// A duration as Prometheus writes it: "5m", "90s", "1h", "250ms".
std::string PrometheusDuration(std::chrono::milliseconds duration);

}  // namespace sluice
