#include "metrics/metric_list.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

namespace sluice {
namespace {

TEST(MetricListTest, NamesAndLabelsAreValidPrometheusIdentifiers) {
  const std::regex metric_name("[a-zA-Z_:][a-zA-Z0-9_:]*");
  const std::regex label_name("[a-zA-Z_][a-zA-Z0-9_]*");
  std::set<std::string_view> names;
  for (const MetricDescriptor& metric : DeclaredMetrics()) {
    std::string name(metric.name);
    EXPECT_TRUE(std::regex_match(name, metric_name)) << name;
    // process_* are the standard names every Prometheus client library exports.
    EXPECT_TRUE(name.starts_with("sluice_") || name.starts_with("process_")) << name;
    EXPECT_TRUE(names.insert(metric.name).second) << "declared twice: " << name;
    EXPECT_EQ(name.ends_with("_total"), metric.type == MetricType::kCounter)
        << name << ": counters, and only counters, end in _total";
    EXPECT_FALSE(metric.help.empty()) << name;
    EXPECT_EQ(metric.buckets.empty(), metric.type != MetricType::kHistogram) << name;
    std::set<std::string_view> labels;
    for (std::string_view label : metric.labels) {
      EXPECT_TRUE(std::regex_match(std::string(label), label_name)) << name << " " << label;
      EXPECT_FALSE(label.starts_with("__")) << name << " " << label;
      EXPECT_NE(label, "le") << name;
      EXPECT_TRUE(labels.insert(label).second) << name << " repeats " << label;
    }
  }
}

TEST(MetricListTest, DescribeFollowsTheList) {
  EXPECT_EQ(Describe(Metric::kComponentReceivedRecords).name,
            "sluice_component_received_records_total");
  EXPECT_EQ(Describe(Metric::kComponentDeadLetterRecords).name,
            "sluice_component_dead_letter_records_total");
  EXPECT_EQ(Describe(Metric::kComponentErrors).labels.size(), 6u);
}

TEST(MetricListTest, DocsDescribeEveryDeclaredMetric) {
  const char* source_dir = std::getenv("SLUICE_SOURCE_DIR");
  ASSERT_NE(source_dir, nullptr) << "SLUICE_SOURCE_DIR is set by ctest";
  std::ifstream file(std::string(source_dir) + "/docs/metrics.md");
  ASSERT_TRUE(file) << "docs/metrics.md is missing";
  std::stringstream text;
  text << file.rdbuf();
  std::string docs = text.str();
  for (const MetricDescriptor& metric : DeclaredMetrics()) {
    size_t at = docs.find("`" + std::string(metric.name) + "`");
    ASSERT_NE(at, std::string::npos) << "docs/metrics.md does not mention " << metric.name;
    // Its row (or section) names every label.
    size_t row_end = docs.find('\n', at);
    std::string row = docs.substr(at, row_end - at);
    for (std::string_view label : metric.labels) {
      EXPECT_NE(row.find(label), std::string::npos)
          << "docs/metrics.md: " << metric.name << " does not list label " << label;
    }
  }
}

}  // namespace
}  // namespace sluice
