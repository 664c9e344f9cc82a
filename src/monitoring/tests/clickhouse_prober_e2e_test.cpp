// The ClickHouse probes against the embedded engine (chDB) and against a real Debian
// clickhouse-server 18.16 started by the test: parts and rows gauges match what was inserted,
// query-log counters move for slow and failed queries, and a missing system table is reported
// once without stopping the other probes.

#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <thread>

#include "clickhouse_server_process.h"
#include "monitoring/clickhouse_prober.h"
#include "monitoring/query_log_metrics.h"
#include "server/clickhouse_http_client.h"
#include "warehouse/embedded_warehouse.h"

namespace sluice {
namespace {

using testing_support::ClickHouseServerProcess;

double GaugeValue(MetricRegistry& registry, Metric metric, const std::string& label) {
  return registry.GetGauge(metric, {label}).value();
}

uint64_t ProbeErrors(MetricRegistry& registry, const std::string& probe) {
  return registry.GetCounter(Metric::kClickHouseProbeErrors, {probe}).value();
}

bool Contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

/// Captures warnings logged while it lives.
class CapturedLog {
 public:
  CapturedLog() : sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(1000)) {
    spdlog::default_logger()->sinks().push_back(sink_);
  }
  ~CapturedLog() {
    auto& sinks = spdlog::default_logger()->sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
  }
  size_t CountContaining(const std::string& text) const {
    size_t count = 0;
    for (const std::string& line : sink_->last_formatted()) {
      if (line.find(text) != std::string::npos) ++count;
    }
    return count;
  }

 private:
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
};

constexpr const char* kCreate =
    "CREATE TABLE events (d Date, id UInt64, note String) ENGINE = MergeTree() "
    "PARTITION BY toYYYYMM(d) ORDER BY id";

/// Four inserts: three parts in January (2 + 3 + 1 rows), one in February (4 rows).
const std::vector<std::string> kInserts = {
    "INSERT INTO events VALUES ('2024-01-01', 1, 'a'), ('2024-01-02', 2, 'b')",
    "INSERT INTO events VALUES ('2024-01-03', 3, 'c'), ('2024-01-04', 4, 'd'), "
    "('2024-01-05', 5, 'e')",
    "INSERT INTO events VALUES ('2024-01-06', 6, 'f')",
    "INSERT INTO events VALUES ('2024-02-01', 7, 'g'), ('2024-02-02', 8, 'h'), "
    "('2024-02-03', 9, 'i'), ('2024-02-04', 10, 'j')"};

void ExpectPartsOfTheFourInserts(MetricRegistry& registry) {
  EXPECT_EQ(GaugeValue(registry, Metric::kClickHouseTableRows, "events"), 10);
  EXPECT_EQ(GaugeValue(registry, Metric::kClickHouseTableParts, "events"), 4);
  EXPECT_EQ(GaugeValue(registry, Metric::kClickHouseMaxPartsPerPartition, "events"), 3);
  EXPECT_GT(GaugeValue(registry, Metric::kClickHouseTableBytes, "events"), 0);
  EXPECT_GT(GaugeValue(registry, Metric::kClickHouseCompressionRatio, "events"), 0);
  EXPECT_EQ(GaugeValue(registry, Metric::kClickHouseMerges, "events"), 0);
}

class ServerProbeTest : public ::testing::Test {
 protected:
  static ProbeQuery Over(const ClickHouseServerProcess& server) {
    uint16_t port = server.http_port();
    return [port](const std::string& sql) {
      return QueryOverHttp("127.0.0.1", port, sql, "TabSeparated");
    };
  }
  static void Load(const ProbeQuery& query) {
    ASSERT_TRUE(query(kCreate).ok());
    // Merges would fold January's parts together before the probe looks.
    ASSERT_TRUE(query("SYSTEM STOP MERGES").ok());
    for (const std::string& insert : kInserts) ASSERT_TRUE(query(insert).ok()) << insert;
  }
};

TEST_F(ServerProbeTest, PartsAndRowsMatchAndTheMissingQueryLogIsReportedOnce) {
  ClickHouseServerProcess server(/*query_log=*/false);
  ASSERT_TRUE(server.ready()) << server.log();
  ProbeQuery query = Over(server);
  Load(query);

  CapturedLog log;
  MetricRegistry registry;
  ClickHouseProber prober(query, registry, ProberOptions{"default"});
  std::vector<std::string> failed = prober.ProbeOnce();
  ExpectPartsOfTheFourInserts(registry);
  EXPECT_GT(GaugeValue(registry, Metric::kClickHousePrimaryKeyBytes, "events"), 0);
  // 18.16 has Query and Merge but not InsertQuery or SelectQuery: the probe takes what is there.
  std::string text = registry.RenderPrometheus();
  EXPECT_NE(text.find("sluice_clickhouse_current_metric{metric=\"Query\"} 1"), std::string::npos)
      << text;
  EXPECT_NE(text.find("sluice_clickhouse_current_metric{metric=\"Merge\"} 0"), std::string::npos);

  // Without a query_log section the server has no system.query_log.
  EXPECT_EQ(failed, std::vector<std::string>{"query_log"});
  EXPECT_EQ(ProbeErrors(registry, "query_log"), 1u);
  for (const char* probe :
       {"metrics", "parts", "primary_key", "merges", "replication_queue", "replicas"}) {
    EXPECT_EQ(ProbeErrors(registry, probe), 0u) << probe;
  }

  ASSERT_TRUE(query(kInserts[0]).ok());
  failed = prober.ProbeOnce();
  EXPECT_EQ(failed, std::vector<std::string>{"query_log"});
  EXPECT_EQ(ProbeErrors(registry, "query_log"), 2u);
  EXPECT_EQ(GaugeValue(registry, Metric::kClickHouseTableParts, "events"), 5);
  EXPECT_EQ(GaugeValue(registry, Metric::kClickHouseMaxPartsPerPartition, "events"), 4);
  EXPECT_EQ(log.CountContaining("probe 'query_log' failed"), 1u) << "logged once, not per probe";
}

TEST_F(ServerProbeTest, QueryLogCountsSlowAndFailedQueriesSinceTheLastProbe) {
  ClickHouseServerProcess server(/*query_log=*/true);
  ASSERT_TRUE(server.ready()) << server.log();
  ProbeQuery query = Over(server);
  Load(query);
  MetricRegistry registry;
  ProberOptions options{"default"};
  options.slow_query = std::chrono::milliseconds(400);
  ClickHouseProber prober(query, registry, options);
  // The query log has entries only after its first flush; wait for that.
  std::this_thread::sleep_for(std::chrono::seconds(1));
  ASSERT_TRUE(prober.ProbeOnce().empty());
  Counter& slow = registry.GetCounter(Metric::kClickHouseSlowQueries, {"SELECT"});
  Counter& failed = registry.GetCounter(Metric::kClickHouseFailedQueries, {"SELECT"});
  Counter& read_rows = registry.GetCounter(Metric::kClickHouseQueryReadRows, {"SELECT"});
  uint64_t slow_before = slow.value(), failed_before = failed.value(),
           rows_before = read_rows.value();

  // The next probe's window starts after the newest row counted: let a second pass.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  ASSERT_TRUE(query("SELECT sleep(0.6)").ok());
  ASSERT_FALSE(query("SELECT no_such_function()").ok());
  ASSERT_TRUE(query("SELECT count() FROM events WHERE NOT ignore(note)").ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(900));  // query log flush
  ASSERT_TRUE(prober.ProbeOnce().empty());
  EXPECT_EQ(slow.value() - slow_before, 1u);
  EXPECT_EQ(failed.value() - failed_before, 1u);
  EXPECT_GE(read_rows.value() - rows_before, 10u) << "the count read the table's 10 rows";
  EXPECT_GT(registry.GetCounter(Metric::kClickHouseQueryReadBytes, {"SELECT"}).value(), 0u);

  // Nothing new: nothing counted again, and the probes' own queries are never counted.
  std::this_thread::sleep_for(std::chrono::milliseconds(900));
  uint64_t slow_after = slow.value(), failed_after = failed.value();
  uint64_t selects = registry.GetCounter(Metric::kClickHouseQueries, {"SELECT"}).value();
  ASSERT_TRUE(prober.ProbeOnce().empty());
  EXPECT_EQ(slow.value(), slow_after);
  EXPECT_EQ(failed.value(), failed_after);
  EXPECT_EQ(registry.GetCounter(Metric::kClickHouseQueries, {"SELECT"}).value(), selects);
}

TEST(EmbeddedProbeTest, PartsAndRowsMatchOnTheEmbeddedEngine) {
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("sluice-probe-embedded-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  {
    auto warehouse = EmbeddedWarehouse::Open(dir.string());
    ASSERT_TRUE(warehouse.ok()) << warehouse.error().ToString();
    Warehouse& engine = **warehouse;
    ProbeQuery query = [&engine](const std::string& sql) -> Result<std::string> {
      auto result = engine.Query(sql);
      if (!result.ok()) return result.error();
      return std::move(result->data);
    };
    ASSERT_TRUE(query(kCreate).ok());
    ASSERT_TRUE(query("SYSTEM STOP MERGES").ok());
    for (const std::string& insert : kInserts) ASSERT_TRUE(query(insert).ok()) << insert;

    MetricRegistry registry;
    ClickHouseProber prober(query, registry, ProberOptions{"default"});
    std::vector<std::string> failed = prober.ProbeOnce();
    ExpectPartsOfTheFourInserts(registry);
    EXPECT_GT(GaugeValue(registry, Metric::kClickHousePrimaryKeyBytes, "events"), 0);
    for (const char* probe : {"metrics", "parts", "primary_key", "merges"}) {
      EXPECT_FALSE(Contains(failed, probe)) << probe;
    }
    // chDB 26.5 reports Query and Merge but neither InsertQuery nor SelectQuery.
    std::string text = registry.RenderPrometheus();
    EXPECT_NE(text.find("sluice_clickhouse_current_metric{metric=\"Query\"} "), std::string::npos)
        << text;
    EXPECT_NE(text.find("sluice_clickhouse_current_metric{metric=\"Merge\"} 0"), std::string::npos);
    // The embedded engine keeps no system.query_log: that probe fails, is counted, and the
    // others are unaffected.
    EXPECT_EQ(failed, std::vector<std::string>{"query_log"});
    EXPECT_EQ(ProbeErrors(registry, "query_log"), 1u);

    // So sluice counts the engine's statements itself as they run, and the prober leaves the
    // query log alone; its own queries are not counted.
    MetricRegistry counted;
    QueryLogMetrics query_log(counted, std::chrono::milliseconds(0));
    ASSERT_TRUE(engine.ObserveQueries([&](const QueryRecord& run) { query_log.Record(run); }));
    ProberOptions options{"default"};
    options.query_log = false;
    ClickHouseProber embedded_prober(query, counted, options);
    EXPECT_TRUE(embedded_prober.ProbeOnce().empty());
    ASSERT_TRUE(query("SELECT count() FROM events WHERE id > 1").ok());
    EXPECT_FALSE(query("SELECT nothing FROM events").ok());
    ASSERT_TRUE(query(kInserts[0]).ok());
    EXPECT_TRUE(embedded_prober.ProbeOnce().empty());
    engine.ObserveQueries(nullptr);
    auto counter = [&](Metric metric, const char* kind) {
      return counted.GetCounter(metric, {kind}).value();
    };
    EXPECT_EQ(counter(Metric::kClickHouseQueries, "SELECT"), 1u);
    EXPECT_EQ(counter(Metric::kClickHouseFailedQueries, "SELECT"), 1u);
    EXPECT_EQ(counter(Metric::kClickHouseSlowQueries, "SELECT"), 1u);  // slower than 0 ms
    EXPECT_GT(counter(Metric::kClickHouseQueryReadRows, "SELECT"), 0u);
    EXPECT_GT(counter(Metric::kClickHouseQueryReadBytes, "SELECT"), 0u);
    EXPECT_EQ(counter(Metric::kClickHouseQueries, "INSERT"), 1u);
    EXPECT_GT(counted.GetSampledCounter(Metric::kClickHouseQueryDuration, {"SELECT"}).value(), 0);
    EXPECT_EQ(counted.RenderPrometheus().find("probe=\"query_log\""), std::string::npos);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace sluice
