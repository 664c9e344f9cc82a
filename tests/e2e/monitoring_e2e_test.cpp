// Monitoring of a real `sluice run`: counters after known input equal that input; with an HTTP
// stream, a windowed aggregation and a Kafka source (librdkafka's mock cluster, not a real
// broker) every metric docs/metrics.md documents is on /metrics and moving; `sluice status`
// summarizes the running instance; and a real Prometheus loading the rules `sluice alerts`
// generated raises SluiceDeadLetterRateHigh when invalid events flood in.

#include <gtest/gtest.h>
#include <simdjson.h>
#include <sys/wait.h>

#include <chrono>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <thread>

#include "http_client.h"
#include "kafka_test_cluster.h"
#include "sluice_process.h"
#include "test_support.h"

namespace sluice {
namespace {

using testing_support::HttpRequestOnce;
using testing_support::ReadFile;
using testing_support::RunShell;
using testing_support::RunSluice;
using testing_support::SluiceProcess;
using testing_support::TempDir;
using testing_support::WriteFile;

constexpr const char* kSpec = R"yaml(pipeline: watched
warehouse: {path: data}
server: {listen: "127.0.0.1:0"}
wal: {path: wal}
monitoring: {probe_interval: 1s, alert_for: 1s, dead_letter_percent: 20}
tables:
  events:
    columns:
      - {name: id, type: UInt64}
      - {name: kind, type: LowCardinality(String)}
    order_by: [id]
streams:
  events:
    batch: {max_delay: 100ms}
    fields:
      - {name: id, required: true}
      - {name: kind, allowed: [open, close]}
)yaml";

// Exported only while a PostgreSQL CDC source runs: tests/e2e/postgres_cdc_run_e2e_test.cpp
// checks them against a real PostgreSQL.
const std::set<std::string> kCheckedByTheCdcTest = {
    "sluice_cdc_snapshot_rows", "sluice_cdc_snapshot_rows_estimated", "sluice_cdc_snapshot_active",
    "sluice_cdc_replication_delay_bytes", "sluice_cdc_replication_delay_seconds"};

/// The value of one series in Prometheus text, or -1.
double Sample(const std::string& metrics, const std::string& series) {
  size_t at = metrics.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(metrics.substr(at + series.size() + 2));
}

/// The sum of the series whose line starts with `prefix` (a name and the first labels).
double SumOf(const std::string& metrics, const std::string& prefix) {
  double sum = 0;
  for (size_t at = metrics.find("\n" + prefix); at != std::string::npos;
       at = metrics.find("\n" + prefix, at + 1)) {
    size_t value = metrics.find(' ', at + 1);
    sum += std::stod(metrics.substr(value + 1));
  }
  return sum;
}

/// Every metric name documented in a table row of docs/metrics.md.
std::set<std::string> DocumentedMetrics() {
  std::string docs = ReadFile(std::string(SLUICE_SOURCE_DIR) + "/docs/metrics.md");
  std::set<std::string> names;
  std::regex row(R"(\n\| `([a-z_]+)` \|)");
  for (auto it = std::sregex_iterator(docs.begin(), docs.end(), row); it != std::sregex_iterator();
       ++it) {
    names.insert((*it)[1]);
  }
  return names;
}

std::string Events(int good, int missing_id, int bad_kind, int first_id) {
  std::string body;
  for (int i = 0; i < good; ++i) {
    body += "{\"id\":" + std::to_string(first_id + i) + ",\"kind\":\"open\"}\n";
  }
  for (int i = 0; i < missing_id; ++i) body += "{\"kind\":\"close\"}\n";
  for (int i = 0; i < bad_kind; ++i) body += "{\"id\":1,\"kind\":\"jump\"}\n";
  return body;
}

class MonitoringTest : public ::testing::Test {
 protected:
  void SetUp() override {
    folder_ = std::make_unique<TempDir>("sluice-monitoring");
    spec_ = (folder_->path() / "spec.yaml").string();
    log_ = (folder_->path() / "sluice.log").string();
    WriteFile(spec_, kSpec);
  }
  /// Scrapes until `done` holds for the text (`tries` times 100 ms at most); returns the last
  /// scrape.
  std::string ScrapeUntil(uint16_t port, const std::function<bool(const std::string&)>& done,
                          int tries = 100) {
    std::string metrics;
    for (int i = 0; i < tries; ++i) {
      metrics = HttpRequestOnce(port, "GET", "/metrics").body;
      if (done(metrics)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return metrics;
  }

  std::unique_ptr<TempDir> folder_;
  std::string spec_;
  std::string log_;
};

TEST_F(MonitoringTest, DocumentedMetricsArePresentAndCountsEqualTheInput) {
  SluiceProcess sluice(spec_, log_);
  uint16_t port = sluice.WaitForPort();
  ASSERT_NE(port, 0) << ReadFile(log_);

  // 40 good, 7 without the required id, 3 with a kind not allowed; in two requests.
  ASSERT_EQ(HttpRequestOnce(port, "POST", "/v1/ingest/events", Events(25, 4, 1, 1)).status, 200);
  ASSERT_EQ(HttpRequestOnce(port, "POST", "/v1/ingest/events", Events(15, 3, 2, 100)).status, 200);

  const std::string source =
      "{component_kind=\"source\",component_type=\"http\",component_id=\"events\"}";
  const std::string sink =
      "{component_kind=\"sink\",component_type=\"clickhouse\",component_id=\"events\"}";
  std::string metrics = ScrapeUntil(port, [&](const std::string& text) {
    return Sample(text, "sluice_component_sent_records_total" + sink) == 40 &&
           Sample(text, "sluice_wal_pending_records{pipeline=\"watched\"}") == 0 &&
           Sample(text, "sluice_clickhouse_table_rows{table=\"events\"}") == 40 &&
           Sample(text, "sluice_clickhouse_table_rows{table=\"events_dead_letter\"}") == 10 &&
           // the last per-table probe of a round: the whole round is in
           Sample(text, "sluice_clickhouse_replica_delay_seconds{table=\"events\"}") >= 0;
  });
  EXPECT_EQ(Sample(metrics, "sluice_component_received_records_total" + source), 50) << metrics;
  EXPECT_EQ(Sample(metrics, "sluice_component_dead_letter_records_total" + source), 10);
  EXPECT_EQ(Sample(metrics, "sluice_component_sent_records_total" + sink), 40);
  EXPECT_EQ(Sample(metrics,
                   "sluice_dead_letter_records_total{stream=\"events\",error_code=\"201\","
                   "error_name=\"RECORD_MISSING_FIELD\"}"),
            7);
  EXPECT_EQ(Sample(metrics,
                   "sluice_dead_letter_records_total{stream=\"events\",error_code=\"209\","
                   "error_name=\"RECORD_VALUE_NOT_ALLOWED\"}"),
            3);
  EXPECT_EQ(Sample(metrics,
                   "sluice_component_errors_total{component_kind=\"source\","
                   "component_type=\"http\",component_id=\"events\",error_code=\"201\","
                   "error_name=\"RECORD_MISSING_FIELD\",stage=\"receiving\"}"),
            7);
  EXPECT_EQ(Sample(metrics,
                   "sluice_end_to_end_latency_seconds_count{pipeline=\"watched\","
                   "table=\"events\",from=\"receipt\"}"),
            40);
  EXPECT_EQ(Sample(metrics, "sluice_wal_pending_records{pipeline=\"watched\"}"), 0);
  EXPECT_EQ(Sample(metrics, "sluice_wal_capacity_bytes{pipeline=\"watched\"}"), 1073741824);
  // Segments wholly delivered are removed: the log may be empty on disk by now.
  EXPECT_GE(Sample(metrics, "sluice_wal_disk_bytes{pipeline=\"watched\"}"), 0);
  EXPECT_EQ(Sample(metrics, "sluice_clickhouse_table_rows{table=\"events\"}"), 40);
  EXPECT_EQ(Sample(metrics, "sluice_clickhouse_table_rows{table=\"events_dead_letter\"}"), 10);
  EXPECT_GT(Sample(metrics, "process_resident_memory_bytes"), 0);
  EXPECT_GE(Sample(metrics, "process_open_fds"), 5);

  // The embedded engine's statements are counted as they run: delivery's inserts at least.
  EXPECT_GE(Sample(metrics, "sluice_clickhouse_queries_total{query_kind=\"INSERT\"}"), 2);
  EXPECT_EQ(metrics.find("probe=\"query_log\""), std::string::npos) << "no query log to probe";

  // sluice status: text for people, JSON for scripts, from the same two scrapes.
  std::string url = "--url http://127.0.0.1:" + std::to_string(port);
  auto text = RunSluice("status --interval 0.2 " + url);
  EXPECT_EQ(text.exit_code, 0) << text.out;
  for (const char* expected : {"RECORD_MISSING_FIELD", "RECORD_VALUE_NOT_ALLOWED",
                               "events_dead_letter", "Write-ahead log of watched"}) {
    EXPECT_NE(text.out.find(expected), std::string::npos) << expected << "\n" << text.out;
  }
  auto json = RunSluice("status --json --interval 0.2 " + url);
  ASSERT_EQ(json.exit_code, 0) << json.out;
  simdjson::padded_string padded(json.out);
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  ASSERT_EQ(parser.parse(padded).get(root), simdjson::SUCCESS) << json.out;
  std::map<std::string, double> received;
  for (simdjson::dom::element component : root["components"].get_array()) {
    received[std::string(std::string_view(component["kind"])) + "/" +
             std::string(std::string_view(component["id"]))] = double(component["received"]);
  }
  EXPECT_EQ(received["source/events"], 50);
  double dead_total = 0;
  for (simdjson::dom::element dead : root["dead_letters"].get_array()) {
    dead_total += double(dead["records"]);
  }
  EXPECT_EQ(dead_total, 10);
  bool saw_table = false;
  for (simdjson::dom::element table : root["tables"].get_array()) {
    if (std::string_view(table["table"]) == "events") {
      saw_table = true;
      EXPECT_EQ(double(table["rows"]), 40);
      EXPECT_GE(double(table["parts"]), 1);
    }
  }
  EXPECT_TRUE(saw_table) << json.out;

  auto refused = RunSluice("status --url http://127.0.0.1:1");
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.out.find("MONITORING_ENDPOINT_FAILED"), std::string::npos) << refused.out;

  sluice.Kill(SIGTERM);
  EXPECT_EQ(sluice.Wait(), 0) << ReadFile(log_);
}

// An HTTP stream aggregated in tumbling event-time windows, and a Kafka topic into a table of
// its own; both streams name their event time.
std::string StreamingSpec(const std::string& brokers) {
  return R"yaml(pipeline: streaming
warehouse: {path: data}
server: {listen: "127.0.0.1:0", query_listen: "127.0.0.1:0"}
wal: {path: wal}
checkpoint: {path: checkpoints, interval: 200ms}
monitoring: {probe_interval: 1s}
tables:
  events:
    columns:
      - {name: id, type: UInt64}
      - {name: user, type: String}
      - {name: ts, type: "DateTime64(3, 'UTC')"}
    order_by: [id]
  clicks:
    columns:
      - {name: id, type: UInt64}
      - {name: url, type: String}
      - {name: ts, type: "DateTime64(3, 'UTC')"}
    order_by: [id]
streams:
  events:
    batch: {max_delay: 100ms}
    event_time: ts
  clicks:
    event_time: ts
    fields:
      - {name: id, required: true}
      - {name: url}
      - {name: ts, required: true}
aggregations:
  per_user:
    from: events
    key_by: [user]
    window: {type: tumbling, size: 1s}
    event_time: {field: ts}
    parallelism: 2
    aggregates:
      - {name: events, function: count}
sources:
  clicks:
    type: kafka
    stream: clicks
    kafka:
      brokers: )yaml" +
         brokers + R"yaml(
      topics: [clicks]
      group_id: sluice-monitoring
      start: earliest
      properties: {session.timeout.ms: 6000}
)yaml";
}

std::string Event(int id, const std::string& user, int64_t ts) {
  return "{\"id\":" + std::to_string(id) + ",\"user\":\"" + user +
         "\",\"ts\":" + std::to_string(ts) + "}\n";
}

TEST_F(MonitoringTest, EveryDocumentedMetricMovesWithAnAggregationAndAKafkaSource) {
  testing_support::KafkaTestCluster kafka(folder_->path(), {{"clicks", 1}});
  WriteFile(spec_, StreamingSpec(kafka.bootstrap()));
  // 12 clicks with an event time 30 s ago, and 2 without the required id.
  int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  std::vector<testing_support::KafkaTestCluster::Message> clicks;
  for (int i = 0; i < 12; ++i) {
    clicks.push_back({"clicks", 0,
                      "{\"id\":" + std::to_string(i) +
                          ",\"url\":\"/a\",\"ts\":" + std::to_string(now_ms - 30000) + "}"});
  }
  for (int i = 0; i < 2; ++i) clicks.push_back({"clicks", 0, std::string("{\"url\":\"/b\"}")});
  kafka.Produce(clicks);

  SluiceProcess sluice(spec_, log_);
  uint16_t port = sluice.WaitForPort();
  ASSERT_NE(port, 0) << ReadFile(log_);
  uint16_t query_port = sluice.WaitForPort("clickhouse");
  ASSERT_NE(query_port, 0) << ReadFile(log_);

  // 27 events in three closed one-second windows, 3 users each (9 window results), and one
  // event 10 s later whose watermark closes them; then, once those are in, 4 events for the
  // first window, now late, and one the stream refuses.
  int64_t start = (now_ms - 60000) / 1000 * 1000;
  std::string first;
  for (int i = 0; i < 27; ++i) {
    first += Event(i, "u" + std::to_string(i % 3), start + (i / 9) * 1000 + i);
  }
  first += Event(27, "u0", start + 10000);
  ASSERT_EQ(HttpRequestOnce(port, "POST", "/v1/ingest/events", first).status, 200);
  const std::string window_in =
      "sluice_operator_records_in_total{pipeline=\"streaming\",operator=\"per_user.window\",";
  const std::string window_out =
      "sluice_operator_records_out_total{pipeline=\"streaming\",operator=\"per_user.window\",";
  std::string metrics =
      ScrapeUntil(port, [&](const std::string& text) { return SumOf(text, window_in) == 28; });
  ASSERT_EQ(SumOf(metrics, window_in), 28) << metrics;
  std::string late;
  for (int i = 0; i < 4; ++i) late += Event(100 + i, "u1", start + 500);
  late += "{\"id\":\"not a number\",\"user\":\"u1\",\"ts\":0}\n";  // dead-lettered
  ASSERT_EQ(HttpRequestOnce(port, "POST", "/v1/ingest/events", late).status, 200);

  // One query through the query endpoint, and one that fails.
  std::string before = HttpRequestOnce(port, "GET", "/metrics").body;
  auto counted =
      HttpRequestOnce(query_port, "POST", "/", "SELECT count() FROM events", "text/plain");
  EXPECT_EQ(counted.status, 200) << counted.body;
  auto failed =
      HttpRequestOnce(query_port, "POST", "/", "SELECT nothing FROM events", "text/plain");
  EXPECT_NE(failed.status, 200);

  const std::string latency = "sluice_end_to_end_latency_seconds_count{pipeline=\"streaming\",";
  const std::string lag =
      "sluice_source_lag_records{pipeline=\"streaming\",source=\"clicks\",partition=\"clicks/0\"}";
  metrics = ScrapeUntil(
      port,
      [&](const std::string& text) {
        return SumOf(text, window_in) == 32 &&
               Sample(text, latency + "table=\"per_user\",from=\"window_end\"}") == 9 &&
               Sample(text, latency + "table=\"events\",from=\"event_time\"}") == 32 &&
               Sample(text, latency + "table=\"clicks\",from=\"event_time\"}") == 12 &&
               Sample(text, lag) == 0 &&
               Sample(text, "sluice_clickhouse_table_rows{table=\"clicks_dead_letter\"}") == 2;
      },
      300);

  // Records in and out per operator, summed over its two subtasks: 9 window results and the
  // 4 late records.
  EXPECT_EQ(SumOf(metrics, window_in), 32) << metrics;
  EXPECT_EQ(SumOf(metrics, window_out), 13);
  // Bytes move with the records: each has at least two 8-byte columns.
  const std::string labels = "{pipeline=\"streaming\",operator=\"per_user.window\",";
  EXPECT_GE(SumOf(metrics, "sluice_operator_bytes_in_total" + labels), 32 * 16) << metrics;
  EXPECT_GE(SumOf(metrics, "sluice_operator_bytes_out_total" + labels), 13 * 16) << metrics;
  EXPECT_EQ(SumOf(metrics, "sluice_late_records_total{pipeline=\"streaming\","), 4);
  for (const char* subtask : {"0", "1"}) {
    EXPECT_GE(Sample(metrics, window_in + "subtask=\"" + subtask + "\"}"), 0) << subtask;
  }
  EXPECT_GE(
      Sample(metrics, "sluice_checkpoints_total{pipeline=\"streaming\",result=\"completed\"}"), 1);
  double last_checkpoint =
      Sample(metrics, "sluice_last_checkpoint_timestamp_seconds{pipeline=\"streaming\"}");
  EXPECT_NEAR(last_checkpoint, static_cast<double>(now_ms) / 1000.0, 60);
  EXPECT_EQ(Sample(metrics, "sluice_pipeline_restarts_total{pipeline=\"streaming\"}"), 0);
  EXPECT_GE(Sample(metrics, "sluice_watermark_lag_seconds{pipeline=\"streaming\",source=\"http\"}"),
            40);

  // Latency: every row committed is observed once, from its event time, its receipt or its
  // window's end; the events are a minute old, the clicks half a minute.
  EXPECT_EQ(Sample(metrics, latency + "table=\"events\",from=\"event_time\"}"), 32);
  EXPECT_EQ(Sample(metrics, latency + "table=\"events\",from=\"receipt\"}"), 32);
  EXPECT_EQ(Sample(metrics, latency + "table=\"clicks\",from=\"event_time\"}"), 12);
  EXPECT_EQ(Sample(metrics, latency + "table=\"clicks\",from=\"receipt\"}"), 12);
  EXPECT_EQ(Sample(metrics, latency + "table=\"per_user\",from=\"window_end\"}"), 9);
  EXPECT_EQ(Sample(metrics,
                   "sluice_end_to_end_latency_seconds_bucket{pipeline=\"streaming\","
                   "table=\"clicks\",from=\"event_time\",le=\"10\"}"),
            0);
  EXPECT_GE(Sample(metrics,
                   "sluice_end_to_end_latency_seconds_sum{pipeline=\"streaming\","
                   "table=\"events\",from=\"event_time\"}"),
            32 * 50);

  // The Kafka source: 14 received, 2 dead-lettered, drained.
  EXPECT_EQ(Sample(metrics, lag), 0);
  EXPECT_EQ(Sample(metrics,
                   "sluice_component_received_records_total{component_kind=\"source\","
                   "component_type=\"stream\",component_id=\"clicks\"}"),
            14);
  EXPECT_EQ(Sample(metrics, "sluice_clickhouse_table_rows{table=\"clicks\"}"), 12);
  EXPECT_EQ(Sample(metrics,
                   "sluice_dead_letter_records_total{stream=\"clicks\",error_code=\"201\","
                   "error_name=\"RECORD_MISSING_FIELD\"}"),
            2);
  EXPECT_EQ(SumOf(metrics, "sluice_dead_letter_records_total{stream=\"events\","), 1);

  // The embedded engine's query counters: the query endpoint's two statements moved them.
  const std::string selects = "sluice_clickhouse_queries_total{query_kind=\"SELECT\"}";
  const std::string failed_selects =
      "sluice_clickhouse_failed_queries_total{query_kind=\"SELECT\"}";
  EXPECT_GE(Sample(metrics, selects), Sample(before, selects) + 1);
  EXPECT_EQ(Sample(metrics, failed_selects), std::max(0.0, Sample(before, failed_selects)) + 1);
  EXPECT_GT(Sample(metrics, "sluice_clickhouse_query_read_rows_total{query_kind=\"SELECT\"}"), 0);
  EXPECT_GT(Sample(metrics, "sluice_clickhouse_queries_total{query_kind=\"INSERT\"}"), 0);
  EXPECT_GT(
      Sample(metrics, "sluice_clickhouse_query_duration_seconds_total{query_kind=\"INSERT\"}"), 0);

  std::set<std::string> documented = DocumentedMetrics();
  EXPECT_GT(documented.size(), 40u);
  for (const std::string& name : documented) {
    if (kCheckedByTheCdcTest.contains(name)) continue;
    EXPECT_NE(metrics.find("# TYPE " + name + " "), std::string::npos)
        << name << " is documented but not on /metrics";
  }

  // sluice status shows the streaming side: the window operator, its checkpoints, the lag.
  std::string url = "--url http://127.0.0.1:" + std::to_string(port);
  auto json = RunSluice("status --json --interval 0.2 " + url);
  ASSERT_EQ(json.exit_code, 0) << json.out;
  simdjson::padded_string padded(json.out);
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  ASSERT_EQ(parser.parse(padded).get(root), simdjson::SUCCESS) << json.out;
  simdjson::dom::element window = root["operators"].at(0);
  EXPECT_EQ(std::string_view(window["operator"]), "per_user.window");
  EXPECT_EQ(double(window["records_in"]), 32);
  EXPECT_EQ(double(window["records_out"]), 13);
  EXPECT_EQ(double(window["late"]), 4);
  EXPECT_EQ(double(window["subtasks"]), 2);
  EXPECT_LT(double(root["checkpoints"].at(0)["age_seconds"]), 30);
  EXPECT_EQ(double(root["lag"].at(0)["records"]), 0);
  EXPECT_GE(double(root["watermarks"].at(0)["lag_seconds"]), 40);
  auto text = RunSluice("status --interval 0.2 " + url);
  EXPECT_EQ(text.exit_code, 0) << text.out;
  for (const char* expected : {"per_user.window", "Watermark lag", "clicks/0", "completed"}) {
    EXPECT_NE(text.out.find(expected), std::string::npos) << expected << "\n" << text.out;
  }

  sluice.Kill(SIGTERM);
  EXPECT_EQ(sluice.Wait(), 0) << ReadFile(log_);
}

uint16_t FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  socklen_t length = sizeof(address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

TEST_F(MonitoringTest, PrometheusRaisesTheDeadLetterAlertOnAFloodOfInvalidEvents) {
  SluiceProcess sluice(spec_, log_);
  uint16_t port = sluice.WaitForPort();
  ASSERT_NE(port, 0) << ReadFile(log_);

  std::string rules = (folder_->path() / "rules.yaml").string();
  auto generated = RunSluice("alerts " + spec_ + " -o " + rules);
  ASSERT_EQ(generated.exit_code, 0) << generated.out;
  uint16_t prometheus_port = FreePort();
  std::string config = (folder_->path() / "prometheus.yml").string();
  WriteFile(config,
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            "rule_files: [" +
                rules +
                "]\n"
                "scrape_configs:\n"
                "  - job_name: sluice\n"
                "    static_configs: [{targets: ['127.0.0.1:" +
                std::to_string(port) + "']}]\n");
  std::string prometheus_log = (folder_->path() / "prometheus.log").string();
  pid_t prometheus = ::fork();
  if (prometheus == 0) {
    FILE* out = std::freopen(prometheus_log.c_str(), "a", stderr);
    (void)out;
    std::string config_flag = "--config.file=" + config;
    std::string storage_flag = "--storage.tsdb.path=" + (folder_->path() / "tsdb").string();
    std::string listen_flag = "--web.listen-address=127.0.0.1:" + std::to_string(prometheus_port);
    ::execlp("prometheus", "prometheus", config_flag.c_str(), storage_flag.c_str(),
             listen_flag.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }

  // A steady flood: 9 of every 10 events are invalid, well above the spec's 20%.
  std::string state;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  int id = 1;
  while (std::chrono::steady_clock::now() < deadline && state != "firing") {
    ASSERT_EQ(HttpRequestOnce(port, "POST", "/v1/ingest/events", Events(1, 5, 4, id++)).status,
              200);
    std::string alerts = HttpRequestOnce(prometheus_port, "GET", "/api/v1/alerts").body;
    std::smatch match;
    std::regex alert(R"re("alertname":"SluiceDeadLetterRateHigh"[\s\S]*?"state":"(\w+)")re");
    if (std::regex_search(alerts, match, alert)) state = match[1];
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  ::kill(prometheus, SIGTERM);
  int status = 0;
  ::waitpid(prometheus, &status, 0);
  EXPECT_EQ(state, "firing") << ReadFile(prometheus_log);

  sluice.Kill(SIGTERM);
  EXPECT_EQ(sluice.Wait(), 0) << ReadFile(log_);
}

}  // namespace
}  // namespace sluice
