#include "monitoring/alert_rules.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <set>

#include "promql_names.h"

namespace sluice {
namespace {

PipelineSpec SpecWithThresholds() {
  PipelineSpec spec;
  spec.name = "orders";
  spec.file = "orders.yaml";
  spec.monitoring.alert_for = std::chrono::seconds(90);
  spec.monitoring.latency_p99 = std::chrono::milliseconds(2500);
  spec.monitoring.dead_letter_percent = 7;
  spec.monitoring.max_parts_per_partition = 222;
  spec.monitoring.job = "sluice-orders";
  return spec;
}

TEST(AlertRulesTest, EveryRuleIsThereOnceWithSeverityAndAnnotations) {
  std::vector<AlertRule> rules = AlertRulesFor(SpecWithThresholds());
  std::set<std::string> names;
  for (const AlertRule& rule : rules) {
    EXPECT_TRUE(names.insert(rule.name).second) << rule.name;
    EXPECT_EQ(rule.for_duration, "90s") << rule.name;
    EXPECT_TRUE(rule.severity == "warning" || rule.severity == "critical") << rule.name;
    EXPECT_NE(rule.summary.find("{{ $labels."), std::string::npos) << rule.name;
    EXPECT_NE(rule.description.find("{{ $labels."), std::string::npos) << rule.name;
  }
  EXPECT_EQ(names, (std::set<std::string>{
                       "SluiceHighLatency", "ClickHouseSlowQueries", "ClickHouseTooManyParts",
                       "SluiceDeadLetterRateHigh", "SluiceCheckpointFailing",
                       "SluiceCheckpointTooOld", "SluiceSourceLagGrowing", "SluiceDown",
                       "SluiceRestarting", "SluiceWalNearlyFull", "SluiceBatchCostHigh"}));
}

TEST(AlertRulesTest, ThresholdsComeFromTheSpec) {
  std::map<std::string, std::string> exprs;
  for (const AlertRule& rule : AlertRulesFor(SpecWithThresholds())) exprs[rule.name] = rule.expr;
  EXPECT_TRUE(exprs["SluiceHighLatency"].ends_with("> 2.5")) << exprs["SluiceHighLatency"];
  EXPECT_TRUE(exprs["SluiceDeadLetterRateHigh"].ends_with("* 100 > 7"));
  EXPECT_TRUE(exprs["ClickHouseTooManyParts"].ends_with("> 222"));
  EXPECT_EQ(exprs["SluiceDown"], "up{job=\"sluice-orders\"} == 0");
}

TEST(AlertRulesTest, ExpressionsUseOnlyDeclaredMetrics) {
  for (const AlertRule& rule : AlertRulesFor(SpecWithThresholds())) {
    for (const std::string& name : testing_support::MetricNamesIn(rule.expr)) {
      EXPECT_TRUE(testing_support::IsDeclaredSeries(name)) << rule.name << " uses " << name;
    }
  }
}

TEST(AlertRulesTest, RulesFileIsOneGroupOfWellFormedRules) {
  PipelineSpec spec = SpecWithThresholds();
  std::vector<AlertRule> rules = AlertRulesFor(spec);
  YAML::Node file = YAML::Load(RenderRulesYaml(spec, rules));
  ASSERT_EQ(file["groups"].size(), 1u);
  EXPECT_EQ(file["groups"][0]["name"].as<std::string>(), "sluice-orders");
  YAML::Node written = file["groups"][0]["rules"];
  ASSERT_EQ(written.size(), rules.size());
  for (size_t i = 0; i < rules.size(); ++i) {
    EXPECT_EQ(written[i]["alert"].as<std::string>(), rules[i].name);
    EXPECT_EQ(written[i]["expr"].as<std::string>(), rules[i].expr);
    EXPECT_EQ(written[i]["for"].as<std::string>(), "90s");
    EXPECT_EQ(written[i]["labels"]["severity"].as<std::string>(), rules[i].severity);
    EXPECT_EQ(written[i]["annotations"]["description"].as<std::string>(), rules[i].description);
  }
}

TEST(AlertRulesTest, DurationsInPrometheusUnits) {
  using std::chrono::milliseconds;
  EXPECT_EQ(PrometheusDuration(milliseconds(0)), "0s");
  EXPECT_EQ(PrometheusDuration(milliseconds(250)), "250ms");
  EXPECT_EQ(PrometheusDuration(milliseconds(90000)), "90s");
  EXPECT_EQ(PrometheusDuration(milliseconds(300000)), "5m");
  EXPECT_EQ(PrometheusDuration(milliseconds(7200000)), "2h");
}

}  // namespace
}  // namespace sluice
