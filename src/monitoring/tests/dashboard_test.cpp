#include "monitoring/dashboard.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <set>

#include "promql_names.h"

namespace sluice {
namespace {

TEST(DashboardTest, IsGrafanaJsonWithTheRequiredPanelsAndDeclaredMetricsOnly) {
  PipelineSpec spec;
  spec.name = "orders \"east\"";  // quotes must come out escaped
  simdjson::padded_string json(RenderDashboardJson(spec));
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  ASSERT_EQ(parser.parse(json).get(root), simdjson::SUCCESS) << json;

  EXPECT_GE(int64_t(root["schemaVersion"]), 36);
  EXPECT_EQ(std::string_view(root["title"]), "sluice: orders \"east\"");
  bool has_datasource_variable = false;
  for (simdjson::dom::element variable : root["templating"]["list"].get_array()) {
    if (std::string_view(variable["type"]) == "datasource" &&
        std::string_view(variable["query"]) == "prometheus") {
      has_datasource_variable = std::string_view(variable["name"]) == "datasource";
    }
  }
  EXPECT_TRUE(has_datasource_variable);

  std::set<std::string> titles;
  std::set<std::string> used;
  std::set<int64_t> ids;
  for (simdjson::dom::element panel : root["panels"].get_array()) {
    titles.insert(std::string(std::string_view(panel["title"])));
    EXPECT_TRUE(ids.insert(int64_t(panel["id"])).second);
    EXPECT_EQ(std::string_view(panel["datasource"]["uid"]), "${datasource}");
    simdjson::dom::array targets = panel["targets"].get_array();
    EXPECT_GT(targets.size(), 0u);
    for (simdjson::dom::element target : targets) {
      std::string expr{std::string_view(target["expr"])};
      std::set<std::string> names = testing_support::MetricNamesIn(expr);
      EXPECT_FALSE(names.empty()) << expr;
      for (const std::string& name : names) {
        EXPECT_TRUE(testing_support::IsDeclaredSeries(name)) << name << " in " << expr;
        used.insert(name);
      }
    }
  }
  auto has_panel = [&](std::string_view word) {
    for (const std::string& title : titles) {
      if (title.find(word) != std::string::npos) return true;
    }
    return false;
  };
  for (std::string_view word : {"Throughput", "latency", "Errors", "Dead letters", "Checkpoints",
                                "lag", "parts", "merges", "CPU", "memory"}) {
    EXPECT_TRUE(has_panel(word)) << "no panel about " << word;
  }
  for (std::string name :
       {"sluice_component_received_records_total", "sluice_end_to_end_latency_seconds_bucket",
        "sluice_component_errors_total", "sluice_dead_letter_records_total",
        "sluice_last_checkpoint_timestamp_seconds", "sluice_source_lag_records",
        "sluice_clickhouse_max_parts_per_partition", "sluice_clickhouse_merges_in_progress",
        "process_cpu_seconds_total", "process_resident_memory_bytes"}) {
    EXPECT_TRUE(used.contains(name)) << name;
  }
}

}  // namespace
}  // namespace sluice
