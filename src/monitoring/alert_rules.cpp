#include "monitoring/alert_rules.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

namespace sluice {

std::string PrometheusDuration(std::chrono::milliseconds duration) {
  int64_t ms = duration.count();
  if (ms == 0) return "0s";
  if (ms % 3600000 == 0) return fmt::format("{}h", ms / 3600000);
  if (ms % 60000 == 0) return fmt::format("{}m", ms / 60000);
  if (ms % 1000 == 0) return fmt::format("{}s", ms / 1000);
  return fmt::format("{}ms", ms);
}

std::vector<AlertRule> AlertRulesFor(const PipelineSpec& spec) {
  const MonitoringSpec& m = spec.monitoring;
  std::string for_duration = PrometheusDuration(m.alert_for);
  double latency_seconds = static_cast<double>(m.latency_p99.count()) / 1000.0;
  std::vector<AlertRule> rules;
  rules.push_back(
      {"SluiceHighLatency",
       fmt::format("histogram_quantile(0.99, sum by (pipeline, table, from, le) "
                   "(rate(sluice_end_to_end_latency_seconds_bucket[5m]))) > {}",
                   latency_seconds),
       for_duration, "warning",
       "p99 end-to-end latency of {{ $labels.table }} above " + fmt::format("{}", latency_seconds) +
           " s",
       "Pipeline {{ $labels.pipeline }}: rows of table {{ $labels.table }} take {{ $value | "
       "humanizeDuration }} (p99, from {{ $labels.from }}) to be committed in ClickHouse."});
  rules.push_back(
      {"ClickHouseSlowQueries",
       fmt::format("sum by (instance, query_kind) "
                   "(increase(sluice_clickhouse_slow_queries_total[5m])) > {}",
                   m.slow_queries),
       for_duration, "warning", "Slow {{ $labels.query_kind }} queries on ClickHouse",
       fmt::format("{{{{ $value }}}} {{{{ $labels.query_kind }}}} queries ran longer than {} in "
                   "the last 5 minutes on the ClickHouse behind {{{{ $labels.instance }}}}.",
                   PrometheusDuration(m.slow_query))});
  rules.push_back(
      {"ClickHouseTooManyParts",
       fmt::format("max by (instance, table) (sluice_clickhouse_max_parts_per_partition) > {}",
                   m.max_parts_per_partition),
       for_duration, "critical", "Too many active parts in table {{ $labels.table }}",
       "A partition of {{ $labels.table }} (sluice {{ $labels.instance }}) has {{ $value }} "
       "active parts; ClickHouse slows and then refuses inserts (300 by default) until merges "
       "catch up."});
  rules.push_back(
      {"SluiceDeadLetterRateHigh",
       fmt::format("sum by (instance, component_id) "
                   "(rate(sluice_component_dead_letter_records_total{{component_kind=\"source\"}}"
                   "[5m])) / sum by (instance, component_id) "
                   "(rate(sluice_component_received_records_total{{component_kind=\"source\"}}"
                   "[5m])) * 100 > {}",
                   m.dead_letter_percent),
       for_duration, "warning", "Source {{ $labels.component_id }} dead-letters many records",
       fmt::format("{{{{ $value | printf \"%.1f\" }}}}% of the records source {{{{ "
                   "$labels.component_id }}}} received (sluice {{{{ $labels.instance }}}}) went "
                   "to the dead-letter table over 5 minutes (threshold {}%); see "
                   "sluice_dead_letter_records_total for the error codes.",
                   m.dead_letter_percent)});
  rules.push_back(
      {"SluiceCheckpointFailing",
       "sum by (instance, pipeline) (increase(sluice_checkpoints_total{result=\"failed\"}[10m])) "
       "> 0",
       for_duration, "critical", "Checkpoints of {{ $labels.pipeline }} are failing",
       "{{ $value }} checkpoints of pipeline {{ $labels.pipeline }} (sluice {{ $labels.instance "
       "}}) failed in the last 10 minutes."});
  rules.push_back(
      {"SluiceCheckpointTooOld",
       fmt::format("time() - sluice_last_checkpoint_timestamp_seconds > {}",
                   m.checkpoint_max_age.count() / 1000),
       for_duration, "critical", "No checkpoint of {{ $labels.pipeline }} completed recently",
       fmt::format("The last completed checkpoint of pipeline {{{{ $labels.pipeline }}}} (sluice "
                   "{{{{ $labels.instance }}}}) is {{{{ $value | humanizeDuration }}}} old "
                   "(threshold {}).",
                   PrometheusDuration(m.checkpoint_max_age))});
  rules.push_back(
      {"SluiceSourceLagGrowing",
       fmt::format("sluice_source_lag_records > {} and deriv(sluice_source_lag_records[10m]) > 0",
                   m.source_lag_records),
       for_duration, "warning", "Source {{ $labels.source }} falls behind",
       "Partition {{ $labels.partition }} of source {{ $labels.source }} (pipeline {{ "
       "$labels.pipeline }}) is {{ $value }} records behind and the lag is growing."});
  rules.push_back(
      {"SluiceDown", fmt::format("up{{job=\"{}\"}} == 0", m.job), for_duration, "critical",
       "sluice {{ $labels.instance }} is down",
       "Prometheus cannot scrape {{ $labels.instance }} (job {{ $labels.job }}): the process is "
       "stopped or its /metrics does not answer."});
  rules.push_back(
      {"SluiceRestarting",
       fmt::format("increase(sluice_pipeline_restarts_total[15m]) > {}", m.restarts), for_duration,
       "warning", "Pipeline {{ $labels.pipeline }} keeps restarting",
       "Pipeline {{ $labels.pipeline }} (sluice {{ $labels.instance }}) was restored {{ $value "
       "}} times in 15 minutes."});
  rules.push_back(
      {"SluiceWalNearlyFull",
       fmt::format("sluice_wal_disk_bytes / sluice_wal_capacity_bytes * 100 > {}",
                   m.wal_full_percent),
       for_duration, "critical", "Write-ahead log of {{ $labels.pipeline }} nearly full",
       "The write-ahead log of pipeline {{ $labels.pipeline }} (sluice {{ $labels.instance }}) "
       "is at {{ $value | printf \"%.0f\" }}% of wal.max_disk_bytes; when full, ingestion "
       "answers 429. ClickHouse is slow or unreachable."});
  rules.push_back(
      {"SluiceBatchCostHigh",
       fmt::format("sum by (instance, query_kind) "
                   "(increase(sluice_clickhouse_query_read_bytes_total[1h])) > {}",
                   m.batch_bytes_per_hour),
       for_duration, "warning", "{{ $labels.query_kind }} queries read too much",
       fmt::format("{{{{ $labels.query_kind }}}} queries on the ClickHouse behind {{{{ "
                   "$labels.instance }}}} read {{{{ $value | humanize1024 }}}}B in the last hour "
                   "(budget {} bytes).",
                   m.batch_bytes_per_hour)});
  return rules;
}

std::string RenderRulesYaml(const PipelineSpec& spec, const std::vector<AlertRule>& rules) {
  YAML::Emitter out;
  out << YAML::BeginMap << YAML::Key << "groups" << YAML::Value << YAML::BeginSeq;
  out << YAML::BeginMap << YAML::Key << "name" << YAML::Value << "sluice-" + spec.name;
  out << YAML::Key << "rules" << YAML::Value << YAML::BeginSeq;
  for (const AlertRule& rule : rules) {
    out << YAML::BeginMap;
    out << YAML::Key << "alert" << YAML::Value << rule.name;
    out << YAML::Key << "expr" << YAML::Value << rule.expr;
    out << YAML::Key << "for" << YAML::Value << rule.for_duration;
    out << YAML::Key << "labels" << YAML::Value << YAML::BeginMap << YAML::Key << "severity"
        << YAML::Value << rule.severity << YAML::EndMap;
    out << YAML::Key << "annotations" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "summary" << YAML::Value << YAML::DoubleQuoted << rule.summary;
    out << YAML::Key << "description" << YAML::Value << YAML::DoubleQuoted << rule.description;
    out << YAML::EndMap << YAML::EndMap;
  }
  out << YAML::EndSeq << YAML::EndMap << YAML::EndSeq << YAML::EndMap;
  return fmt::format("# Alert rules for pipeline {}, generated by `sluice alerts {}`.\n{}\n",
                     spec.name, spec.file, out.c_str());
}

}  // namespace sluice
