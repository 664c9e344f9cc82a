#include "monitoring/dashboard.h"

#include <fmt/format.h>

#include <vector>

#include "monitoring/json_string.h"

namespace sluice {
namespace {

struct Target {
  std::string expr;
  std::string legend;
};

struct Panel {
  std::string title;
  std::string unit;  // Grafana unit id
  std::vector<Target> targets;
};

std::vector<Panel> Panels() {
  return {
      {"Throughput (records/s)",
       "ops",
       {{"sum by (component_kind, component_id) "
         "(rate(sluice_component_received_records_total{instance=~\"$instance\"}[1m]))",
         "{{component_kind}} {{component_id}} in"},
        {"sum by (component_kind, component_id) "
         "(rate(sluice_component_sent_records_total{instance=~\"$instance\"}[1m]))",
         "{{component_kind}} {{component_id}} out"}}},
      {"End-to-end latency (p50, p99)",
       "s",
       {{"histogram_quantile(0.99, sum by (table, from, le) "
         "(rate(sluice_end_to_end_latency_seconds_bucket{instance=~\"$instance\"}[5m])))",
         "p99 {{table}} from {{from}}"},
        {"histogram_quantile(0.5, sum by (table, from, le) "
         "(rate(sluice_end_to_end_latency_seconds_bucket{instance=~\"$instance\"}[5m])))",
         "p50 {{table}} from {{from}}"}}},
      {"Errors by code (errors/s)",
       "ops",
       {{"sum by (component_id, error_name, stage) "
         "(rate(sluice_component_errors_total{instance=~\"$instance\"}[5m]))",
         "{{component_id}} {{error_name}} ({{stage}})"}}},
      {"Dead letters by code (records/s)",
       "ops",
       {{"sum by (stream, error_code, error_name) "
         "(rate(sluice_dead_letter_records_total{instance=~\"$instance\"}[5m]))",
         "{{stream}} {{error_code}} {{error_name}}"}}},
      {"Checkpoints",
       "s",
       {{"time() - sluice_last_checkpoint_timestamp_seconds{instance=~\"$instance\"}",
         "age {{pipeline}}"},
        {"histogram_quantile(0.99, sum by (pipeline, le) "
         "(rate(sluice_checkpoint_duration_seconds_bucket{instance=~\"$instance\"}[10m])))",
         "p99 duration {{pipeline}}"},
        {"sum by (pipeline, result) "
         "(increase(sluice_checkpoints_total{instance=~\"$instance\"}[10m]))",
         "{{result}} per 10m {{pipeline}}"}}},
      {"Source lag (records)",
       "short",
       {{"sluice_source_lag_records{instance=~\"$instance\"}",
         "{{source}} partition {{partition}}"}}},
      {"Watermark lag",
       "s",
       {{"sluice_watermark_lag_seconds{instance=~\"$instance\"}", "{{source}}"}}},
      {"Write-ahead log",
       "percent",
       {{"sluice_wal_disk_bytes{instance=~\"$instance\"} / "
         "sluice_wal_capacity_bytes{instance=~\"$instance\"} * 100",
         "disk used {{pipeline}}"}}},
      {"Write-ahead log entries waiting",
       "short",
       {{"sluice_wal_pending_records{instance=~\"$instance\"}", "{{pipeline}}"}}},
      {"ClickHouse parts",
       "short",
       {{"sluice_clickhouse_max_parts_per_partition{instance=~\"$instance\"}",
         "max per partition {{table}}"},
        {"sluice_clickhouse_table_parts{instance=~\"$instance\"}", "active {{table}}"}}},
      {"ClickHouse merges",
       "short",
       {{"sluice_clickhouse_merges_in_progress{instance=~\"$instance\"}", "{{table}}"},
        {"sluice_clickhouse_current_metric{instance=~\"$instance\",metric=\"Merge\"}",
         "all merges"}}},
      {"ClickHouse table size",
       "bytes",
       {{"sluice_clickhouse_table_bytes_on_disk{instance=~\"$instance\"}", "{{table}}"}}},
      {"ClickHouse query cost (bytes read/s)",
       "Bps",
       {{"sum by (query_kind) "
         "(rate(sluice_clickhouse_query_read_bytes_total{instance=~\"$instance\"}[5m]))",
         "{{query_kind}}"}}},
      {"HTTP requests by status",
       "reqps",
       {{"sum by (route, status) (rate(sluice_http_requests_total{instance=~\"$instance\"}[1m]))",
         "{{route}} {{status}}"}}},
      {"Process CPU",
       "percentunit",
       {{"rate(process_cpu_seconds_total{instance=~\"$instance\"}[1m])", "{{instance}}"}}},
      {"Process memory (RSS)",
       "bytes",
       {{"process_resident_memory_bytes{instance=~\"$instance\"}", "{{instance}}"}}},
  };
}

}  // namespace

std::string RenderDashboardJson(const PipelineSpec& spec) {
  std::string panels;
  int id = 1;
  for (const Panel& panel : Panels()) {
    std::string targets;
    char ref = 'A';
    for (const Target& target : panel.targets) {
      if (!targets.empty()) targets += ",";
      targets += fmt::format(
          R"json({{"datasource":{{"type":"prometheus","uid":"${{datasource}}"}},"expr":{},"legendFormat":{},"refId":"{}"}})json",
          JsonString(target.expr), JsonString(target.legend), ref++);
    }
    if (!panels.empty()) panels += ",\n    ";
    // Two panels per row, each half the 24-column grid wide and 8 units high.
    int index = id - 1;
    panels += fmt::format(
        R"json({{"id":{},"type":"timeseries","title":{},"datasource":{{"type":"prometheus","uid":"${{datasource}}"}},"gridPos":{{"h":8,"w":12,"x":{},"y":{}}},"fieldConfig":{{"defaults":{{"unit":"{}"}},"overrides":[]}},"options":{{"legend":{{"displayMode":"list","placement":"bottom"}}}},"targets":[{}]}})json",
        id, JsonString(panel.title), (index % 2) * 12, (index / 2) * 8, panel.unit, targets);
    ++id;
  }
  return fmt::format(
      R"json({{
  "title": {},
  "uid": {},
  "tags": ["sluice"],
  "schemaVersion": 39,
  "version": 1,
  "editable": true,
  "time": {{"from": "now-1h", "to": "now"}},
  "refresh": "30s",
  "templating": {{"list": [
    {{"name": "datasource", "label": "Prometheus", "type": "datasource", "query": "prometheus"}},
    {{"name": "instance", "label": "Instance", "type": "query", "datasource": {{"type": "prometheus", "uid": "${{datasource}}"}}, "query": "label_values(process_start_time_seconds, instance)", "includeAll": true, "multi": true, "current": {{"text": "All", "value": "$__all"}}, "refresh": 2}}
  ]}},
  "panels": [
    {}
  ]
}}
)json",
      JsonString("sluice: " + spec.name), JsonString("sluice-" + spec.name.substr(0, 33)), panels);
}

}  // namespace sluice
