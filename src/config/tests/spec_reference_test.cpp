#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "config/section_reader.h"
#include "config/spec.h"
#include "config/spec_schema.h"

namespace sluice {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(SpecReferenceTest, DocsContainTheGeneratedReference) {
  const char* source_dir = std::getenv("SLUICE_SOURCE_DIR");
  ASSERT_NE(source_dir, nullptr) << "ctest sets SLUICE_SOURCE_DIR";
  std::string docs = ReadFile(std::string(source_dir) + "/docs/spec.md");
  ASSERT_FALSE(docs.empty()) << "docs/spec.md is missing";
  std::string reference = SpecReferenceMarkdown();
  if (docs.find(reference) == std::string::npos) {
    std::string fresh =
        std::string(std::getenv("SLUICE_BINARY_DIR") != nullptr ? std::getenv("SLUICE_BINARY_DIR")
                                                                : ".") +
        "/spec_reference.md";
    std::ofstream(fresh) << reference;
    FAIL() << "docs/spec.md does not contain the current key reference; paste " << fresh
           << " between the GENERATED markers in docs/spec.md";
  }
}

TEST(SpecReferenceTest, RendersEverySectionAndKey) {
  std::string reference = SpecReferenceMarkdown();
  for (const SectionDescriptor* section : SpecSections()) {
    EXPECT_NE(reference.find("### `" + std::string(section->path) + "`"), std::string::npos);
    for (const KeyDescriptor& key : section->keys) {
      EXPECT_FALSE(key.description.empty()) << section->path << "." << key.key;
      EXPECT_FALSE(key.required && !key.default_value.empty())
          << section->path << "." << key.key << " cannot be required and have a default";
    }
  }
  EXPECT_NE(reference.find("| `deduplication_window` | integer | no | `1000` |"),
            std::string::npos);
  EXPECT_NE(reference.find("| `pipeline` | string | yes |  |"), std::string::npos);
}

// spec.h gives its structs defaults for code that builds specs in C++; the loader takes them from
// the descriptor tables. Both must agree.
TEST(SpecReferenceTest, DescriptorDefaultsMatchSpecStructDefaults) {
  auto default_of = [](const SectionDescriptor& section, std::string_view key) {
    const KeyDescriptor* descriptor = section.Find(key);
    return descriptor == nullptr ? std::string("<no such key>")
                                 : std::string(descriptor->default_value);
  };
  EXPECT_EQ(default_of(kTableSection, "deduplication_window"),
            std::to_string(TableSpec{}.deduplication_window));
  EXPECT_EQ(default_of(kTableSection, "engine"), EngineSpec{}.family);
  EXPECT_EQ(default_of(kEngineSection, "family"), EngineSpec{}.family);
  EXPECT_EQ(default_of(kEngineSection, "zookeeper_path"), EngineSpec{}.zookeeper_path);
  EXPECT_EQ(default_of(kEngineSection, "replica"), EngineSpec{}.replica_name);
  EXPECT_EQ(default_of(kIndexSection, "granularity"), std::to_string(IndexSpec{}.granularity));
  EXPECT_EQ(default_of(kSourceSection, "type"), SourceSpec{}.type);
  EXPECT_EQ(default_of(kSourceSection, "batch_rows"), std::to_string(SourceSpec{}.batch_rows));
  EXPECT_EQ(default_of(kCsvSection, "header"), SourceSpec{}.csv_header ? "true" : "false");
  EXPECT_EQ(default_of(kCsvSection, "delimiter"), std::string(1, SourceSpec{}.csv_delimiter));
  EXPECT_EQ(default_of(kWarehouseSection, "mode"), WarehouseSpec{}.mode);
  EXPECT_EQ(default_of(kWarehouseSection, "database"), WarehouseSpec{}.database);
  EXPECT_EQ(default_of(kServerSection, "listen"), ServerSpec{}.listen.ToString());
  EXPECT_EQ(default_of(kServerSection, "threads"), std::to_string(ServerSpec{}.threads));
  EXPECT_EQ(default_of(kServerSection, "max_body_bytes"),
            std::to_string(ServerSpec{}.max_body_bytes));
  EXPECT_EQ(default_of(kServerSection, "query_read_only"),
            ServerSpec{}.query_read_only ? "true" : "false");
  EXPECT_EQ(default_of(kWalSection, "segment_bytes"), std::to_string(WalSpec{}.segment_bytes));
  EXPECT_EQ(default_of(kWalSection, "max_disk_bytes"), std::to_string(WalSpec{}.max_disk_bytes));
  MonitoringSpec monitoring;
  EXPECT_EQ(default_of(kMonitoringSection, "job"), monitoring.job);
  EXPECT_EQ(default_of(kMonitoringSection, "slow_queries"),
            std::to_string(monitoring.slow_queries));
  EXPECT_EQ(default_of(kMonitoringSection, "max_parts_per_partition"),
            std::to_string(monitoring.max_parts_per_partition));
  EXPECT_EQ(default_of(kMonitoringSection, "dead_letter_percent"),
            std::to_string(monitoring.dead_letter_percent));
  EXPECT_EQ(default_of(kMonitoringSection, "source_lag_records"),
            std::to_string(monitoring.source_lag_records));
  EXPECT_EQ(default_of(kMonitoringSection, "restarts"), std::to_string(monitoring.restarts));
  EXPECT_EQ(default_of(kMonitoringSection, "wal_full_percent"),
            std::to_string(monitoring.wal_full_percent));
  EXPECT_EQ(default_of(kMonitoringSection, "batch_bytes_per_hour"),
            std::to_string(monitoring.batch_bytes_per_hour));
  for (auto [key, value] : {std::pair{"probe_interval", monitoring.probe_interval},
                            {"slow_query", monitoring.slow_query},
                            {"alert_for", monitoring.alert_for},
                            {"latency_p99", monitoring.latency_p99},
                            {"checkpoint_max_age", monitoring.checkpoint_max_age}}) {
    EXPECT_EQ(ParseDuration(default_of(kMonitoringSection, key)), value) << key;
  }
  EXPECT_EQ(default_of(kStreamSection, "unknown_fields_column"),
            StreamSpec{}.unknown_fields_column);
  EXPECT_EQ(default_of(kStreamBatchSection, "max_rows"),
            std::to_string(StreamBatchSpec{}.max_rows));
  EXPECT_EQ(default_of(kStreamBatchSection, "max_bytes"),
            std::to_string(StreamBatchSpec{}.max_bytes));
  EXPECT_EQ(default_of(kStreamBatchSection, "max_delay"), "1s");
  EXPECT_EQ(StreamBatchSpec{}.max_delay, std::chrono::seconds(1));
  EXPECT_EQ(default_of(kDeduplicateSection, "window"), "10m");
  EXPECT_EQ(DeduplicateSpec{}.window, std::chrono::minutes(10));
  EnrichSpec enrich;
  EXPECT_EQ(default_of(kEnrichSection, "backend"), "clickhouse");
  EXPECT_EQ(enrich.backend, EnrichSpec::Backend::kClickHouse);
  EXPECT_EQ(default_of(kEnrichSection, "cache_size"), std::to_string(enrich.cache_size));
  EXPECT_EQ(default_of(kEnrichSection, "concurrency"), std::to_string(enrich.concurrency));
  EXPECT_EQ(default_of(kEnrichSection, "max_keys_per_lookup"),
            std::to_string(enrich.max_keys_per_lookup));
  EXPECT_EQ(ParseDuration(default_of(kEnrichSection, "cache_ttl")), enrich.cache_ttl);
  EXPECT_EQ(ParseDuration(default_of(kEnrichSection, "timeout")), enrich.timeout);
  EXPECT_EQ(default_of(kEnrichSection, "fallback"), "nulls");
  EXPECT_EQ(enrich.fallback, EnrichSpec::Fallback::kNull);
  EXPECT_EQ(default_of(kEnrichSection, "ordered"), enrich.ordered ? "true" : "false");
}

}  // namespace
}  // namespace sluice
