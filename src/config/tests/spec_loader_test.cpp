#include "config/spec_loader.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "base/strings.h"

namespace sluice {
namespace {

std::string Dump(const SpecLoadResult& result) {
  std::string text;
  for (const Error& error : result.errors) text += error.ToString() + "\n";
  return text;
}

bool Contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

/// Each test loads spec text with a private folder as the spec's folder, so file checks are real.
class SpecLoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "sluice_spec_XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void WriteFile(const std::string& name, const std::string& content) {
    std::ofstream(std::filesystem::path(dir_) / name) << content;
  }

  SpecLoadResult Load(std::string_view yaml) { return LoadSpecText(yaml, "spec.yaml", dir_); }

  /// The one error a spec with exactly one mistake produces.
  Error Single(std::string_view yaml) {
    SpecLoadResult result = Load(yaml);
    EXPECT_FALSE(result.spec.has_value());
    EXPECT_EQ(result.errors.size(), 1u) << Dump(result);
    return result.errors.empty() ? Error{} : result.errors.front();
  }

  std::string dir_;
};

constexpr std::string_view kFullSpec = R"yaml(pipeline: quickstart
warehouse:
  path: data
  database: analytics
tables:
  user_events:
    engine: MergeTree
    columns:
      - {name: event_date, type: Date}
      - {name: user_id, type: UInt64}
      - {name: event_type, type: LowCardinality(String)}
      - {name: amount, type: "Decimal(10,2)", default: "0"}
      - {name: device_type, type: LowCardinality(String), comment: from the user agent}
      - {name: day_of_week, type: UInt8, materialized: toDayOfWeek(event_date)}
    partition_by: toYYYYMM(event_date)
    order_by: [user_id, event_type, event_date]
    primary_key: (user_id, event_type)
    settings:
      index_granularity: 8192
      merge_with_ttl_timeout: 86400
      storage_policy: it's
      quoted_number: "5"
      allow_nullable_key: true
    projections:
      user_event_projection: SELECT event_date, user_id, count(), sum(amount) GROUP BY event_date, user_id
    indexes:
      idx_device: {expression: device_type, type: set(100), granularity: 4}
  events_with_ttl:
    columns:
      - {name: event_date, type: Date, ttl: event_date + INTERVAL 30 DAY}
      - {name: event_data, type: String}
    order_by: event_date
    ttl: event_date + INTERVAL 90 DAY
    deduplication_window: 0
  optimized_table:
    engine: {family: ReplacingMergeTree, version: ver, replicated: true, replica: r1}
    columns:
      - {name: id, type: UInt64, codec: [DoubleDelta, LZ4]}
      - {name: timestamp, type: DateTime64(3), codec: "DoubleDelta, ZSTD(3)"}
      - {name: value, type: Float64, codec: [Gorilla, LZ4]}
      - {name: ver, type: UInt32}
views:
  user_daily_stats:
    engine: SummingMergeTree
    partition_by: toYYYYMM(event_date)
    order_by: [event_date, user_id]
    query: SELECT event_date, user_id, count() AS event_count FROM user_events GROUP BY event_date, user_id
  ttl_copy:
    to: events_with_ttl
    query: SELECT event_date, event_data FROM user_events
streams:
  user_events:
    fields:
      - {name: user_id, path: user.id, required: true}
      - {name: amount, type: Float64}
  events_with_ttl:
    dead_letter_table: ttl_rejects
sources:
  sample_events:
    stream: user_events
    path: input/sample_events.ndjson
    batch_rows: 1000
  legacy_csv:
    stream: events_with_ttl
    path: legacy.CSV
    csv: {header: false, delimiter: ";"}
)yaml";

TEST_F(SpecLoaderTest, LoadsACompleteSpec) {
  std::filesystem::create_directory(std::filesystem::path(dir_) / "input");
  WriteFile("input/sample_events.ndjson", "{}\n");
  WriteFile("legacy.CSV", "a;b\n");
  SpecLoadResult result = Load(kFullSpec);
  ASSERT_TRUE(result.ok()) << Dump(result);
  const PipelineSpec& spec = *result.spec;

  EXPECT_EQ(spec.name, "quickstart");
  EXPECT_EQ(spec.file, "spec.yaml");
  EXPECT_EQ(spec.warehouse.mode, "embedded");
  EXPECT_EQ(spec.warehouse.path, dir_ + "/data");
  EXPECT_EQ(spec.warehouse.database, "analytics");
  ASSERT_EQ(spec.tables.size(), 3u);

  const TableSpec* events = spec.FindTable("user_events");
  ASSERT_NE(events, nullptr);
  EXPECT_EQ(events->where.ToString(), "spec.yaml:6:3");
  ASSERT_EQ(events->columns.size(), 6u);
  EXPECT_EQ(events->columns[2].type.ToString(), "LowCardinality(String)");
  EXPECT_EQ(events->columns[3].type.ToString(), "Decimal(10, 2)");
  EXPECT_EQ(events->columns[3].default_kind, ColumnSpec::DefaultKind::kDefault);
  EXPECT_EQ(events->columns[3].default_expression, "0");
  EXPECT_EQ(events->columns[4].comment, "from the user agent");
  EXPECT_EQ(events->columns[5].default_kind, ColumnSpec::DefaultKind::kMaterialized);
  EXPECT_EQ(events->storage.engine.family, "MergeTree");
  EXPECT_FALSE(events->storage.engine.replicated);
  EXPECT_EQ(events->storage.partition_by, "toYYYYMM(event_date)");
  EXPECT_EQ(events->storage.order_by,
            (std::vector<std::string>{"user_id", "event_type", "event_date"}));
  EXPECT_EQ(events->storage.primary_key, (std::vector<std::string>{"user_id", "event_type"}));
  EXPECT_EQ(events->storage.settings,
            (std::vector<std::pair<std::string, std::string>>{{"index_granularity", "8192"},
                                                              {"merge_with_ttl_timeout", "86400"},
                                                              {"storage_policy", "'it\\'s'"},
                                                              {"quoted_number", "'5'"},
                                                              {"allow_nullable_key", "true"}}));
  ASSERT_EQ(events->projections.size(), 1u);
  EXPECT_EQ(events->projections[0].name, "user_event_projection");
  EXPECT_EQ(events->projections[0].query,
            "SELECT event_date, user_id, count(), sum(amount) GROUP BY event_date, user_id");
  ASSERT_EQ(events->indexes.size(), 1u);
  EXPECT_EQ(events->indexes[0].expression, "device_type");
  EXPECT_EQ(events->indexes[0].type, "set(100)");
  EXPECT_EQ(events->indexes[0].granularity, 4);
  EXPECT_EQ(events->deduplication_window, 1000u);

  const TableSpec& ttl = spec.tables[1];
  EXPECT_EQ(ttl.columns[0].ttl, "event_date + INTERVAL 30 DAY");
  EXPECT_EQ(ttl.storage.order_by, (std::vector<std::string>{"event_date"}));
  EXPECT_EQ(ttl.storage.ttl, (std::vector<std::string>{"event_date + INTERVAL 90 DAY"}));
  EXPECT_EQ(ttl.deduplication_window, 0u);

  const TableSpec& optimized = spec.tables[2];
  EXPECT_EQ(optimized.columns[0].codecs, (std::vector<std::string>{"DoubleDelta", "LZ4"}));
  EXPECT_EQ(optimized.columns[1].codecs, (std::vector<std::string>{"DoubleDelta", "ZSTD(3)"}));
  EXPECT_EQ(optimized.columns[1].type.ToString(), "DateTime64(3)");
  EXPECT_EQ(optimized.storage.engine.family, "ReplacingMergeTree");
  EXPECT_TRUE(optimized.storage.engine.replicated);
  EXPECT_EQ(optimized.storage.engine.version_column, "ver");
  EXPECT_EQ(optimized.storage.engine.replica_name, "r1");
  EXPECT_EQ(optimized.storage.engine.zookeeper_path,
            "/clickhouse/tables/{shard}/{database}/{table}");
  EXPECT_TRUE(optimized.storage.order_by.empty());

  ASSERT_EQ(spec.views.size(), 2u);
  ASSERT_TRUE(spec.views[0].storage.has_value());
  EXPECT_EQ(spec.views[0].storage->engine.family, "SummingMergeTree");
  EXPECT_EQ(spec.views[0].storage->order_by, (std::vector<std::string>{"event_date", "user_id"}));
  EXPECT_TRUE(spec.views[0].to_table.empty());
  EXPECT_EQ(spec.views[1].to_table, "events_with_ttl");
  EXPECT_FALSE(spec.views[1].storage.has_value());

  const StreamSpec* stream = spec.FindStream("user_events");
  ASSERT_NE(stream, nullptr);
  EXPECT_EQ(stream->table, "user_events");
  EXPECT_EQ(stream->dead_letter_table, "user_events_dead_letter");
  ASSERT_EQ(stream->fields.size(), 2u);
  EXPECT_EQ(stream->fields[0].path, "user.id");
  EXPECT_TRUE(stream->fields[0].required);
  EXPECT_EQ(stream->fields[0].type.ToString(), "UInt64");
  EXPECT_EQ(stream->fields[1].path, "amount");
  EXPECT_FALSE(stream->fields[1].required);
  EXPECT_EQ(stream->fields[1].type.ToString(), "Float64");
  EXPECT_EQ(spec.FindStream("events_with_ttl")->dead_letter_table, "ttl_rejects");
  EXPECT_EQ(spec.FindStream("nope"), nullptr);

  ASSERT_EQ(spec.sources.size(), 2u);
  EXPECT_EQ(spec.sources[0].type, "file");
  EXPECT_EQ(spec.sources[0].path, dir_ + "/input/sample_events.ndjson");
  EXPECT_EQ(spec.sources[0].format, "ndjson");
  EXPECT_EQ(spec.sources[0].batch_rows, 1000u);
  EXPECT_EQ(spec.sources[1].format, "csv");
  EXPECT_FALSE(spec.sources[1].csv_header);
  EXPECT_EQ(spec.sources[1].csv_delimiter, ';');
  EXPECT_EQ(spec.sources[1].batch_rows, 65536u);
}

TEST_F(SpecLoaderTest, DefaultStreamFieldsAreTheInsertableColumns) {
  SpecLoadResult result = Load(R"yaml(pipeline: p
tables:
  t:
    columns:
      - {name: a, type: UInt64}
      - {name: b, type: String, default: "'x'"}
      - {name: c, type: UInt64, materialized: a * 2}
      - {name: d, type: UInt64, alias: a + 1}
streams:
  t: {}
)yaml");
  ASSERT_TRUE(result.ok()) << Dump(result);
  const StreamSpec& stream = result.spec->streams[0];
  ASSERT_EQ(stream.fields.size(), 2u);
  EXPECT_EQ(stream.fields[0].name, "a");
  EXPECT_EQ(stream.fields[0].path, "a");
  EXPECT_EQ(stream.fields[0].type.ToString(), "UInt64");
  EXPECT_FALSE(stream.fields[0].required);
  EXPECT_EQ(stream.fields[1].name, "b");
}

TEST_F(SpecLoaderTest, OrderByTupleSpellings) {
  SpecLoadResult result = Load(R"yaml(pipeline: p
tables:
  t:
    columns: [{name: a, type: UInt64}, {name: b, type: UInt64}]
    order_by: (a, intHash32(b))
  u:
    columns: [{name: a, type: UInt64}]
    order_by: tuple()
)yaml");
  ASSERT_TRUE(result.ok()) << Dump(result);
  EXPECT_EQ(result.spec->tables[0].storage.order_by,
            (std::vector<std::string>{"a", "intHash32(b)"}));
  EXPECT_TRUE(result.spec->tables[1].storage.order_by.empty());
}

TEST_F(SpecLoaderTest, MalformedYamlNamesLineAndColumn) {
  Error error = Single("pipeline: p\ntables: [a,\n  b: c\n");
  EXPECT_EQ(error.code, ErrorCode::kSpecSyntax);
  EXPECT_TRUE(StartsWith(error.where, "spec.yaml:")) << error.where;
  EXPECT_TRUE(Contains(error.message, "malformed YAML")) << error.message;

  Error bad_indent = Single("pipeline: p\n  tables: {}\n");
  EXPECT_EQ(bad_indent.code, ErrorCode::kSpecSyntax);
  EXPECT_EQ(bad_indent.where, "spec.yaml:2:9");
}

TEST_F(SpecLoaderTest, UnknownKeySuggestsTheClosestKey) {
  Error error = Single(R"yaml(pipeline: p
tables:
  t:
    columns:
      - {name: a, type: Date}
    partiton_by: toYYYYMM(a)
)yaml");
  EXPECT_EQ(error.code, ErrorCode::kSpecUnknownKey);
  EXPECT_EQ(error.where, "spec.yaml:6:5");
  EXPECT_EQ(error.message, "tables.t.partiton_by: unknown key (did you mean 'partition_by'?)");
}

TEST_F(SpecLoaderTest, UnknownKeyFarFromAnyListsTheKnownKeys) {
  Error error = Single("pipeline: p\nwarehouse: {flavour: x}\n");
  EXPECT_EQ(error.code, ErrorCode::kSpecUnknownKey);
  EXPECT_EQ(error.where, "spec.yaml:2:13");
  EXPECT_EQ(error.message, "warehouse.flavour: unknown key (known keys: mode, path, database)");
}

TEST_F(SpecLoaderTest, ValueOfTheWrongKind) {
  Error list_for_string = Single(R"yaml(pipeline: p
tables:
  t:
    columns: [{name: a, type: Date}]
    partition_by: [a, b]
)yaml");
  EXPECT_EQ(list_for_string.code, ErrorCode::kSpecWrongType);
  EXPECT_EQ(list_for_string.where, "spec.yaml:5:19");
  EXPECT_EQ(list_for_string.message, "tables.t.partition_by: expected a string, found a list");

  Error granularity = Single(R"yaml(pipeline: p
tables:
  t:
    columns: [{name: a, type: Date}]
    indexes:
      i: {expression: a, type: minmax, granularity: four}
)yaml");
  EXPECT_EQ(granularity.code, ErrorCode::kSpecWrongType);
  EXPECT_EQ(granularity.where, "spec.yaml:6:53");
  EXPECT_EQ(granularity.message,
            "tables.t.indexes.i.granularity: expected an integer, found 'four'");

  Error columns_map = Single("pipeline: p\ntables:\n  t:\n    columns: {a: Date}\n");
  EXPECT_EQ(columns_map.code, ErrorCode::kSpecWrongType);
  EXPECT_EQ(columns_map.message, "tables.t.columns: expected a list, found a map");

  Error column_scalar = Single("pipeline: p\ntables:\n  t:\n    columns: [a]\n");
  EXPECT_EQ(column_scalar.code, ErrorCode::kSpecWrongType);
  EXPECT_EQ(column_scalar.message, "tables.t.columns[0]: expected a map, found 'a'");

  Error not_bool = Single(R"yaml(pipeline: p
tables:
  t:
    columns: [{name: a, type: Date}]
    engine: {family: MergeTree, replicated: perhaps}
)yaml");
  EXPECT_EQ(not_bool.code, ErrorCode::kSpecWrongType);
  EXPECT_EQ(not_bool.message,
            "tables.t.engine.replicated: expected true or false, found 'perhaps'");

  Error top_level = Single("- pipeline: p\n");
  EXPECT_EQ(top_level.code, ErrorCode::kSpecWrongType);
  EXPECT_EQ(top_level.message, "spec: expected a map, found a list");
}

TEST_F(SpecLoaderTest, IntegerOutOfRange) {
  Error error = Single(R"yaml(pipeline: p
tables:
  t:
    columns: [{name: a, type: Date}]
    deduplication_window: -1
)yaml");
  EXPECT_EQ(error.code, ErrorCode::kSpecInvalidValue);
  EXPECT_EQ(error.where, "spec.yaml:5:27");
  EXPECT_EQ(error.message, "tables.t.deduplication_window: -1 is outside 0..4294967295");
}

TEST_F(SpecLoaderTest, MissingRequiredKeys) {
  Error no_pipeline = Single("tables: {}\n");
  EXPECT_EQ(no_pipeline.code, ErrorCode::kSpecMissingKey);
  EXPECT_EQ(no_pipeline.message, "spec: missing required key 'pipeline'");

  Error empty = Single("");
  EXPECT_EQ(empty.code, ErrorCode::kSpecMissingKey);
  EXPECT_EQ(empty.where, "spec.yaml:1:1");

  Error no_type = Single(R"yaml(pipeline: p
tables:
  t:
    columns:
      - {name: a, type: Date}
      - name: b
)yaml");
  EXPECT_EQ(no_type.code, ErrorCode::kSpecMissingKey);
  EXPECT_EQ(no_type.where, "spec.yaml:6:9");
  EXPECT_EQ(no_type.message, "tables.t.columns[1]: missing required key 'type'");

  Error no_columns = Single("pipeline: p\ntables:\n  t: {comment: x}\n");
  EXPECT_EQ(no_columns.code, ErrorCode::kSpecMissingKey);
  EXPECT_EQ(no_columns.message, "tables.t: missing required key 'columns'");
}

TEST_F(SpecLoaderTest, EveryNamedThingMustBeAnIdentifier) {
  WriteFile("in.ndjson", "");
  std::string long_name(129, 'n');
  std::string yaml = R"yaml(pipeline: "my pipeline"
warehouse: {database: 9db}
tables:
  "x`; DROP TABLE y":
    columns: [{name: a, type: Date}]
  t:
    columns:
      - {name: "a b", type: Date}
      - {name: ok, type: Date}
    projections:
      "p-1": SELECT ok
    indexes:
      "i.1": {expression: ok, type: minmax}
views:
  "v;":
    to: t
    query: SELECT 1
streams:
  ")yaml" + long_name +
                     R"yaml(":
    table: t
  s:
    table: t
    dead_letter_table: "s dead"
sources:
  "src!":
    stream: s
    path: in.ndjson
)yaml";
  SpecLoadResult result = Load(yaml);
  std::vector<std::string> paths;
  for (const Error& error : result.errors) {
    EXPECT_EQ(error.code, ErrorCode::kSpecInvalidIdentifier) << error.ToString();
    paths.push_back(error.message.substr(0, error.message.find(':')));
  }
  EXPECT_EQ(paths, (std::vector<std::string>{
                       "pipeline",
                       "warehouse.database",
                       "tables.x`; DROP TABLE y",
                       "tables.t.columns[0].name",
                       "tables.t.projections.p-1",
                       "tables.t.indexes.i.1",
                       "views.v;",
                       "streams." + long_name,
                       // The default dead-letter name is derived from the stream name.
                       "streams." + long_name + ".dead_letter_table",
                       "streams.s.dead_letter_table",
                       "sources.src!",
                   }))
      << Dump(result);
  EXPECT_TRUE(Contains(result.errors[2].message, "invalid table name 'x`; DROP TABLE y'"));
  EXPECT_EQ(result.errors[2].where, "spec.yaml:4:3");
}

TEST_F(SpecLoaderTest, InvalidColumnTypeIsReportedAtTheTypeWithASuggestion) {
  Error error = Single(R"yaml(pipeline: p
tables:
  user_events:
    columns:
      - {name: a, type: Date}
      - {name: b, type: UInt64}
      - {name: c, type: Strng}
)yaml");
  EXPECT_EQ(error.code, ErrorCode::kSpecInvalidType);
  EXPECT_EQ(error.where, "spec.yaml:7:25");
  EXPECT_TRUE(StartsWith(error.message, "tables.user_events.columns[2].type: invalid type 'Strng'"))
      << error.message;
  EXPECT_TRUE(Contains(error.message, "(did you mean 'String'?)")) << error.message;
}

TEST_F(SpecLoaderTest, UnknownCodecIndexTypeAndEngineFamilySuggest) {
  SpecLoadResult result = Load(R"yaml(pipeline: p
tables:
  t:
    engine: SumingMergeTree
    columns:
      - {name: a, type: UInt64, codec: [Delta, Gorila]}
      - {name: b, type: UInt64, codec: "Delta(3), LZ4"}
    indexes:
      i: {expression: a, type: bloomfilter}
)yaml");
  ASSERT_EQ(result.errors.size(), 4u) << Dump(result);
  EXPECT_EQ(result.errors[0].where, "spec.yaml:4:13");
  EXPECT_EQ(result.errors[0].code, ErrorCode::kSpecInvalidValue);
  EXPECT_EQ(result.errors[0].message,
            "tables.t.engine: unknown engine family 'SumingMergeTree' (did you mean "
            "'SummingMergeTree'?)");
  EXPECT_EQ(result.errors[1].where, "spec.yaml:6:48");
  EXPECT_EQ(result.errors[1].message,
            "tables.t.columns[0].codec: unknown codec 'Gorila' (did you mean 'Gorilla'?)");
  EXPECT_EQ(result.errors[2].code, ErrorCode::kSpecInvalidValue);
  EXPECT_EQ(result.errors[2].message,
            "tables.t.columns[1].codec: codec 'Delta(3)': argument 3 must be 1, 2, 4 or 8");
  EXPECT_EQ(result.errors[3].where, "spec.yaml:9:32");
  EXPECT_EQ(result.errors[3].message,
            "tables.t.indexes.i.type: unknown index type 'bloomfilter' (did you mean "
            "'bloom_filter'?)");
}

TEST_F(SpecLoaderTest, EngineFamilyRules) {
  SpecLoadResult result = Load(R"yaml(pipeline: p
tables:
  a:
    columns: [{name: x, type: UInt64}, {name: s, type: Int8}]
    engine: {family: VersionedCollapsingMergeTree, sign: s}
  b:
    columns: [{name: x, type: UInt64}]
    engine: {family: ReplacingMergeTree, version: vr, is_deleted: x}
  c:
    columns: [{name: x, type: UInt64}]
    engine: {family: MergeTree, sign: x, zookeeper_path: /zk}
  d:
    columns: [{name: x, type: UInt64}]
    engine: {family: ReplacingMergeTree, is_deleted: x}
  e:
    columns: [{name: x, type: UInt64}]
    engine: CollapsingMergeTree
)yaml");
  std::vector<std::string> messages;
  for (const Error& error : result.errors) messages.push_back(error.message);
  EXPECT_EQ(messages,
            (std::vector<std::string>{
                "tables.a.engine: VersionedCollapsingMergeTree needs 'version'",
                "tables.b.engine.version: table 'b' has no column 'vr'",
                "tables.c.engine.sign: MergeTree has no sign column (only CollapsingMergeTree "
                "and VersionedCollapsingMergeTree)",
                "tables.c.engine.zookeeper_path: only a replicated engine has a zookeeper_path "
                "(add replicated: true)",
                "tables.d.engine.is_deleted: is_deleted needs a version column",
                "tables.e.engine: CollapsingMergeTree needs its sign column; use the map form "
                "{family: CollapsingMergeTree, sign: <column>}",
            }))
      << Dump(result);
  EXPECT_EQ(result.errors[0].code, ErrorCode::kSpecMissingKey);
  EXPECT_EQ(result.errors[1].code, ErrorCode::kSpecUnknownReference);
  EXPECT_EQ(result.errors[2].code, ErrorCode::kSpecInvalidValue);
}

TEST_F(SpecLoaderTest, ReplicatedFamilyNameSetsReplicated) {
  SpecLoadResult result = Load(R"yaml(pipeline: p
tables:
  t:
    columns: [{name: x, type: UInt64}]
    engine: ReplicatedSummingMergeTree
)yaml");
  ASSERT_TRUE(result.ok()) << Dump(result);
  EXPECT_EQ(result.spec->tables[0].storage.engine.family, "SummingMergeTree");
  EXPECT_TRUE(result.spec->tables[0].storage.engine.replicated);
}

TEST_F(SpecLoaderTest, UnknownReferencesSuggestTheClosestName) {
  WriteFile("in.ndjson", "");
  SpecLoadResult result = Load(R"yaml(pipeline: p
tables:
  user_events:
    columns: [{name: user_id, type: UInt64}, {name: amount, type: Float64}]
    partition_by: amout
    order_by: [user_di, cityHash64(user_id)]
    primary_key: [user_di]
    engine: {family: SummingMergeTree, sum_columns: [amont]}
views:
  v:
    to: user_event
    query: SELECT 1
streams:
  user_events:
    fields:
      - {name: user_idd}
  orders: {}
  clicks: {table: user_evnts}
sources:
  s:
    stream: user_event
    path: in.ndjson
)yaml");
  std::vector<std::string> messages;
  for (const Error& error : result.errors) {
    EXPECT_EQ(error.code, ErrorCode::kSpecUnknownReference) << error.ToString();
    messages.push_back(error.message);
  }
  EXPECT_EQ(
      messages,
      (std::vector<std::string>{
          "tables.user_events.partition_by: table 'user_events' has no column 'amout' (did you "
          "mean 'amount'?)",
          "tables.user_events.order_by: table 'user_events' has no column 'user_di' (did you "
          "mean 'user_id'?)",
          "tables.user_events.primary_key: table 'user_events' has no column 'user_di' (did you "
          "mean 'user_id'?)",
          "tables.user_events.engine.sum_columns: table 'user_events' has no column 'amont' (did "
          "you mean 'amount'?)",
          "views.v.to: no table 'user_event' in tables (did you mean 'user_events'?)",
          "streams.user_events.fields[0].name: table 'user_events' has no column 'user_idd' "
          "(did you mean 'user_id'?)",
          "streams.orders.table: no table 'orders' in tables (a stream lands in the table of its "
          "own name unless 'table' is set)",
          "streams.clicks.table: no table 'user_evnts' in tables (did you mean 'user_events'?)",
          "sources.s.stream: no stream 'user_event' in streams (did you mean 'user_events'?)",
      }))
      << Dump(result);
  EXPECT_EQ(result.errors[1].where, "spec.yaml:6:16");
}

TEST_F(SpecLoaderTest, DuplicateNames) {
  SpecLoadResult result = Load(R"yaml(pipeline: p
tables:
  t:
    columns:
      - {name: a, type: UInt64}
      - {name: a, type: String}
  t_dead_letter:
    columns: [{name: a, type: UInt64}]
  t:
    columns: [{name: a, type: UInt64}]
views:
  t_dead_letter:
    to: t
    query: SELECT 1
streams:
  t:
    fields: [{name: a}, {name: a}]
)yaml");
  std::vector<std::string> messages;
  for (const Error& error : result.errors) {
    EXPECT_EQ(error.code, ErrorCode::kSpecDuplicateName) << error.ToString();
    messages.push_back(error.message);
  }
  EXPECT_EQ(messages,
            (std::vector<std::string>{
                "tables.t.columns[1].name: column 'a' defined twice (first at line 5)",
                "tables.t: table 't' defined twice (first at line 3)",
                "views.t_dead_letter: a table is already named 't_dead_letter'",
                "streams.t.dead_letter_table: 't_dead_letter' is already a table of the spec; the "
                "dead-letter table needs a name of its own",
                "streams.t.fields[1].name: field 'a' listed twice (first at line 17)",
            }))
      << Dump(result);
}

TEST_F(SpecLoaderTest, KeyGivenTwiceInOneMap) {
  Error error = Single("pipeline: p\npipeline: q\n");
  EXPECT_EQ(error.code, ErrorCode::kSpecDuplicateName);
  EXPECT_EQ(error.where, "spec.yaml:2:1");
  EXPECT_EQ(error.message, "pipeline: key given twice (first at line 1)");
}

TEST_F(SpecLoaderTest, PrimaryKeyMustBeAPrefixOfOrderBy) {
  Error error = Single(R"yaml(pipeline: p
tables:
  t:
    columns: [{name: a, type: UInt64}, {name: b, type: UInt64}]
    order_by: [a, b]
    primary_key: [b]
)yaml");
  EXPECT_EQ(error.code, ErrorCode::kSpecInvalidValue);
  EXPECT_EQ(error.where, "spec.yaml:6:18");
  EXPECT_EQ(error.message, "tables.t.primary_key: (b) must be a prefix of order_by (a, b)");
}

TEST_F(SpecLoaderTest, AtMostOneOfDefaultMaterializedAlias) {
  Error error = Single(R"yaml(pipeline: p
tables:
  t:
    columns:
      - {name: a, type: UInt64, default: "1", alias: "2"}
)yaml");
  EXPECT_EQ(error.code, ErrorCode::kSpecInvalidValue);
  EXPECT_EQ(error.where, "spec.yaml:5:9");
  EXPECT_EQ(error.message,
            "tables.t.columns[0]: at most one of default, materialized and alias may be given "
            "(found default, alias)");
}

TEST_F(SpecLoaderTest, ViewNeedsToOrEngineButNotBoth) {
  SpecLoadResult result = Load(R"yaml(pipeline: p
tables:
  t:
    columns: [{name: a, type: UInt64}]
views:
  both:
    to: t
    engine: SummingMergeTree
    query: SELECT a FROM t
  neither:
    query: SELECT a FROM t
)yaml");
  ASSERT_EQ(result.errors.size(), 2u) << Dump(result);
  EXPECT_EQ(result.errors[0].code, ErrorCode::kSpecInvalidValue);
  EXPECT_EQ(result.errors[0].where, "spec.yaml:8:13");
  EXPECT_EQ(result.errors[0].message,
            "views.both.engine: a view with 'to' stores into that table; remove engine or 'to'");
  EXPECT_EQ(result.errors[1].code, ErrorCode::kSpecMissingKey);
  EXPECT_EQ(result.errors[1].message,
            "views.neither: a view needs either 'to' (a table of tables) or 'engine' (its own "
            "storage)");
}

TEST_F(SpecLoaderTest, StreamFieldsCannotFillComputedColumns) {
  SpecLoadResult result = Load(R"yaml(pipeline: p
tables:
  t:
    columns:
      - {name: a, type: UInt64}
      - {name: c, type: UInt64, materialized: a * 2}
streams:
  t:
    fields:
      - {name: c}
      - {name: a, path: "user..id", type: Strin}
)yaml");
  ASSERT_EQ(result.errors.size(), 3u) << Dump(result);
  EXPECT_EQ(result.errors[0].code, ErrorCode::kSpecInvalidValue);
  EXPECT_EQ(result.errors[0].message,
            "streams.t.fields[0].name: column 'c' is computed by ClickHouse (materialized) and "
            "cannot be filled from a stream");
  EXPECT_EQ(result.errors[1].message,
            "streams.t.fields[1].path: 'user..id' is not a dotted path such as user.id");
  EXPECT_EQ(result.errors[2].code, ErrorCode::kSpecInvalidType);
}

TEST_F(SpecLoaderTest, DatabaseSources) {
  SpecLoadResult result = Load(R"yaml(pipeline: p
tables:
  t:
    columns: [{name: a, type: UInt64}]
streams:
  t: {}
sources:
  cdc:
    type: postgres_cdc
    postgres_cdc:
      dsn: host=127.0.0.1 dbname=shop
      tables: [public.orders, items]
      slot: shop_slot
      snapshot: never
      snapshot_parallelism: 4
  poll:
    type: sql_poll
    stream: t
    sql_poll:
      driver: mysql
      dsn: mysql://reader:secret@127.0.0.1:3306/shop
      table: events
      cursor: updated_at
      key: id
      overlap: 30
      interval: 5s
)yaml");
  ASSERT_TRUE(result.errors.empty()) << result.errors.front().ToString();
  ASSERT_EQ(result.spec->sources.size(), 2u);
  const SourceSpec& cdc = result.spec->sources[0];
  ASSERT_TRUE(cdc.postgres_cdc.has_value());
  EXPECT_EQ(cdc.postgres_cdc->tables, (std::vector<std::string>{"public.orders", "items"}));
  EXPECT_EQ(cdc.postgres_cdc->slot, "shop_slot");
  EXPECT_EQ(cdc.postgres_cdc->publication, "sluice");
  EXPECT_FALSE(cdc.postgres_cdc->snapshot);
  EXPECT_EQ(cdc.postgres_cdc->snapshot_parallelism, 4u);
  const SourceSpec& poll = result.spec->sources[1];
  ASSERT_TRUE(poll.sql_poll.has_value());
  EXPECT_EQ(poll.sql_poll->driver, "mysql");
  EXPECT_EQ(poll.sql_poll->key, (std::vector<std::string>{"id"}));
  EXPECT_EQ(poll.sql_poll->overlap, 30);
  EXPECT_EQ(poll.sql_poll->interval, std::chrono::seconds(5));

  SpecLoadResult bad = Load(R"yaml(pipeline: p
tables:
  t:
    columns: [{name: a, type: UInt64}]
streams:
  t: {}
sources:
  bad:
    type: postgres_cdc
    path: x.ndjson
    postgres_cdc: {dsn: x, tables: t, slot: "bad-slot", snapshot: sometimes}
  bad_poll:
    type: sql_poll
    stream: t
    sql_poll: {driver: mysql, dsn: "host=x", table: e, cursor: c, key: [id]}
)yaml");
  std::vector<std::string> messages;
  for (const Error& error : bad.errors) messages.push_back(error.message);
  EXPECT_EQ(messages, (std::vector<std::string>{
                          "sources.bad.path: only a file source has path",
                          "sources.bad.postgres_cdc.slot: 'bad-slot' is not an identifier "
                          "([A-Za-z_][A-Za-z0-9_]*)",
                          "sources.bad.postgres_cdc.snapshot: 'sometimes' is neither initial "
                          "nor never",
                          "sources.bad_poll.sql_poll.dsn: a mysql dsn is "
                          "mysql://user:password@host:port/database",
                      }));
}

TEST_F(SpecLoaderTest, SourceChecks) {
  WriteFile("events.txt", "");
  WriteFile("events.csv", "");
  SpecLoadResult result = Load(R"yaml(pipeline: p
tables:
  t:
    columns: [{name: a, type: UInt64}]
streams:
  t: {}
sources:
  missing:
    stream: t
    path: nowhere.ndjson
  no_format:
    stream: t
    path: events.txt
  bad_csv:
    type: kafak
    stream: t
    path: events.csv
    csv: {delimiter: "||"}
    batch_rows: 0
  wrong_options:
    stream: t
    path: events.txt
    format: ndjsn
)yaml");
  std::vector<std::pair<ErrorCode, std::string>> errors;
  for (const Error& error : result.errors) errors.emplace_back(error.code, error.message);
  EXPECT_EQ(
      errors,
      (std::vector<std::pair<ErrorCode, std::string>>{
          {ErrorCode::kSpecFileNotFound,
           "sources.missing.path: no file 'nowhere.ndjson' (looked for " + dir_ +
               "/nowhere.ndjson)"},
          {ErrorCode::kSpecInvalidValue,
           "sources.no_format.path: cannot tell the format from 'events.txt'; set format: ndjson "
           "or csv"},
          {ErrorCode::kSpecInvalidValue,
           "sources.bad_csv.type: source type 'kafak' is not supported (file, kafka, nats, "
           "postgres_cdc or sql_poll) (did you mean 'kafka'?)"},
          {ErrorCode::kSpecInvalidValue,
           "sources.bad_csv.csv.delimiter: the delimiter must be exactly one character, got '||'"},
          {ErrorCode::kSpecInvalidValue, "sources.bad_csv.batch_rows: 0 is outside 1..10000000"},
          {ErrorCode::kSpecInvalidValue,
           "sources.wrong_options.format: unknown format 'ndjsn' (did you mean 'ndjson'?)"},
      }))
      << Dump(result);
  EXPECT_EQ(result.errors[0].where, "spec.yaml:10:11");
}

TEST_F(SpecLoaderTest, ReportsEveryProblemAtOnceInFileOrder) {
  SpecLoadResult result = Load(R"yaml(pipeline: p
sources:
  s: {stream: nowhere, path: x.ndjson}
tables:
  t:
    columns:
      - {name: a, type: Strng}
    partiton_by: a
    order_by: [b]
streams:
  t: {table: t}
)yaml");
  EXPECT_FALSE(result.spec.has_value());
  std::vector<std::pair<std::string, ErrorCode>> found;
  for (const Error& error : result.errors) found.emplace_back(error.where, error.code);
  EXPECT_EQ(found, (std::vector<std::pair<std::string, ErrorCode>>{
                       {"spec.yaml:3:15", ErrorCode::kSpecUnknownReference},
                       {"spec.yaml:3:30", ErrorCode::kSpecFileNotFound},
                       {"spec.yaml:7:25", ErrorCode::kSpecInvalidType},
                       {"spec.yaml:8:5", ErrorCode::kSpecUnknownKey},
                       {"spec.yaml:9:16", ErrorCode::kSpecUnknownReference},
                   }))
      << Dump(result);
}

TEST_F(SpecLoaderTest, ErrorToStringLeadsWithFileLineColumn) {
  Error error = Single("pipeline: 1p\n");
  EXPECT_EQ(error.ToString(),
            "spec.yaml:1:11: pipeline: invalid pipeline name '1p': a name starts with a letter "
            "or '_', holds only letters, digits and '_', and has at most 128 characters "
            "[SPEC_INVALID_IDENTIFIER]");
}

TEST_F(SpecLoaderTest, LoadSpecFileResolvesAgainstTheSpecFolder) {
  WriteFile("events.ndjson", "{}\n");
  WriteFile("spec.yaml", R"yaml(pipeline: p
tables:
  t:
    columns: [{name: a, type: UInt64}]
streams:
  t: {}
sources:
  s: {stream: t, path: events.ndjson}
)yaml");
  SpecLoadResult result = LoadSpecFile(dir_ + "/spec.yaml");
  ASSERT_TRUE(result.ok()) << Dump(result);
  EXPECT_EQ(result.spec->file, dir_ + "/spec.yaml");
  EXPECT_EQ(result.spec->base_dir, dir_);
  EXPECT_EQ(result.spec->sources[0].path, dir_ + "/events.ndjson");
  EXPECT_EQ(result.spec->warehouse.path, dir_ + "/data");
}

TEST_F(SpecLoaderTest, LoadSpecFileReportsAnUnreadableFile) {
  SpecLoadResult missing = LoadSpecFile(dir_ + "/absent.yaml");
  ASSERT_EQ(missing.errors.size(), 1u);
  EXPECT_FALSE(missing.spec.has_value());
  EXPECT_EQ(missing.errors[0].code, ErrorCode::kSpecFileNotFound);
  EXPECT_EQ(missing.errors[0].where, dir_ + "/absent.yaml");

  SpecLoadResult directory = LoadSpecFile(dir_);
  ASSERT_EQ(directory.errors.size(), 1u);
  EXPECT_EQ(directory.errors[0].code, ErrorCode::kSpecFileNotFound);
}

TEST_F(SpecLoaderTest, LoadSpecFileLocatesErrorsInThatFile) {
  WriteFile("bad.yaml", "pipeline: p\ntables:\n  t:\n    colums: []\n");
  SpecLoadResult result = LoadSpecFile(dir_ + "/bad.yaml");
  ASSERT_EQ(result.errors.size(), 2u) << Dump(result);
  EXPECT_EQ(result.errors[0].where, dir_ + "/bad.yaml:3:3");
  EXPECT_EQ(result.errors[0].code, ErrorCode::kSpecMissingKey);
  EXPECT_EQ(result.errors[1].where, dir_ + "/bad.yaml:4:5");
  EXPECT_EQ(result.errors[1].message, "tables.t.colums: unknown key (did you mean 'columns'?)");
}

// The annotated example in docs/spec.md is what users copy; it must load as written.
TEST_F(SpecLoaderTest, DocsExampleLoads) {
  const char* source_dir = std::getenv("SLUICE_SOURCE_DIR");
  ASSERT_NE(source_dir, nullptr);
  std::ifstream in(std::string(source_dir) + "/docs/spec.md");
  std::ostringstream text;
  text << in.rdbuf();
  std::string docs = text.str();
  size_t start = docs.find("```yaml\n");
  ASSERT_NE(start, std::string::npos);
  start += 8;
  size_t end = docs.find("```", start);
  WriteFile("sample_events.ndjson", "{}\n");
  SpecLoadResult result = Load(docs.substr(start, end - start));
  ASSERT_TRUE(result.ok()) << Dump(result);
  EXPECT_EQ(result.spec->tables.size(), 3u);
  EXPECT_EQ(result.spec->views.size(), 1u);
  EXPECT_EQ(result.spec->streams.size(), 1u);
  EXPECT_EQ(result.spec->sources.size(), 1u);
}

TEST(SpecLocationTest, PrintsFileLineColumn) {
  EXPECT_EQ((SpecLocation{"pipelines/a.yaml", 12, 7}.ToString()), "pipelines/a.yaml:12:7");
}

}  // namespace
}  // namespace sluice

namespace sluice {
namespace {

constexpr std::string_view kQueueTables = R"yaml(pipeline: p
tables:
  t:
    columns:
      - {name: a, type: UInt64}
      - {name: raw, type: String}
      - {name: k, type: String}
      - {name: h, type: 'Map(String, String)'}
      - {name: part, type: Int32}
      - {name: n, type: UInt64}
streams:
  t: {}
)yaml";

TEST_F(SpecLoaderTest, ReadsKafkaAndNatsSources) {
  SpecLoadResult result = Load(std::string(kQueueTables) + R"yaml(sources:
  clicks:
    type: kafka
    stream: t
    batch_rows: 500
    kafka:
      brokers: 'a:9092, b:9092'
      topics: [clicks, views]
      group_id: g
      start: timestamp:1700000000000
      metadata: {key: k, headers: h, partition: part, offset: n}
      poll_timeout: 50ms
      properties: {session.timeout.ms: 6000, client.id: sluice}
  orders:
    type: nats
    stream: t
    nats:
      url: nats://127.0.0.1:4333
      stream: ORDERS
      consumer: sluice
      filter_subject: orders.>
      format: bytes
      value_field: raw
      metadata: {sequence: n, headers: k}
      ack_wait: 2m
)yaml");
  ASSERT_TRUE(result.ok()) << Dump(result);
  const PipelineSpec& spec = *result.spec;
  ASSERT_EQ(spec.sources.size(), 2u);
  ASSERT_TRUE(spec.sources[0].kafka.has_value());
  const KafkaSourceSpec& kafka = *spec.sources[0].kafka;
  EXPECT_EQ(spec.sources[0].type, "kafka");
  EXPECT_EQ(spec.sources[0].batch_rows, 500u);
  EXPECT_EQ(kafka.brokers, (std::vector<std::string>{"a:9092", "b:9092"}));
  EXPECT_EQ(kafka.topics, (std::vector<std::string>{"clicks", "views"}));
  EXPECT_EQ(kafka.group_id, "g");
  EXPECT_EQ(kafka.start, "timestamp:1700000000000");
  EXPECT_EQ(kafka.message.format, "json");
  EXPECT_EQ(kafka.message.metadata,
            (std::vector<std::pair<std::string, std::string>>{
                {"key", "k"}, {"headers", "h"}, {"partition", "part"}, {"offset", "n"}}));
  EXPECT_EQ(kafka.poll_timeout, std::chrono::milliseconds(50));
  EXPECT_EQ(kafka.properties, (std::vector<std::pair<std::string, std::string>>{
                                  {"session.timeout.ms", "6000"}, {"client.id", "sluice"}}));
  ASSERT_TRUE(spec.sources[1].nats.has_value());
  const NatsSourceSpec& nats = *spec.sources[1].nats;
  EXPECT_EQ(nats.url, "nats://127.0.0.1:4333");
  EXPECT_EQ(nats.stream, "ORDERS");
  EXPECT_EQ(nats.consumer, "sluice");
  EXPECT_EQ(nats.filter_subject, "orders.>");
  EXPECT_EQ(nats.message.format, "bytes");
  EXPECT_EQ(nats.message.value_field, "raw");
  EXPECT_EQ(nats.ack_wait, std::chrono::minutes(2));
  EXPECT_EQ(nats.max_ack_pending, 1000000);
}

TEST_F(SpecLoaderTest, QueueSourceChecks) {
  SpecLoadResult result = Load(std::string(kQueueTables) + R"yaml(sources:
  no_options:
    type: kafka
    stream: t
  bad:
    type: kafka
    stream: t
    path: x.ndjson
    kafka:
      brokers: a:9092
      topics: clicks
      group_id: g
      start: earliest_
      format: string
      metadata: {key: kk, headers: part, offset_: n}
      properties: {enable.auto.commit: true}
  bad_nats:
    type: nats
    stream: t
    kafka: {}
    nats:
      stream: A.B
      consumer: c
      value_field: raw
)yaml");
  std::vector<std::pair<ErrorCode, std::string>> errors;
  for (const Error& error : result.errors) errors.emplace_back(error.code, error.message);
  EXPECT_EQ(
      errors,
      (std::vector<std::pair<ErrorCode, std::string>>{
          {ErrorCode::kSpecMissingKey,
           "sources.no_options: a kafka source needs its 'kafka' options"},
          {ErrorCode::kSpecInvalidValue, "sources.bad.path: only a file source has path"},
          {ErrorCode::kSpecInvalidValue,
           "sources.bad.kafka.start: unknown start 'earliest_' (committed, earliest, latest or "
           "timestamp:<epoch ms>) (did you mean 'earliest'?)"},
          {ErrorCode::kSpecMissingKey,
           "sources.bad.kafka.format: the string format needs value_field"},
          {ErrorCode::kSpecUnknownReference,
           "sources.bad.kafka.metadata.key: no field 'kk' in stream 't' (did you mean 'k'?)"},
          {ErrorCode::kSpecInvalidValue,
           "sources.bad.kafka.metadata.headers: field 'part' is Int32; headers need Map(String, "
           "String) or String"},
          {ErrorCode::kSpecUnknownKey,
           "sources.bad.kafka.metadata.offset_: unknown key (did you mean 'offset'?)"},
          {ErrorCode::kSpecInvalidValue,
           "sources.bad.kafka.properties.enable.auto.commit: sluice sets enable.auto.commit "
           "itself (offsets are committed after each checkpoint)"},
          {ErrorCode::kSpecInvalidValue, "sources.bad_nats.kafka: not an option of a nats source"},
          {ErrorCode::kSpecInvalidValue,
           "sources.bad_nats.nats.stream: 'A.B' is not a JetStream name (no '.', '*', '>' or "
           "spaces)"},
          {ErrorCode::kSpecInvalidValue,
           "sources.bad_nats.nats.value_field: only the string and bytes formats store the value "
           "in one field"},
      }))
      << Dump(result);
}

}  // namespace
}  // namespace sluice

namespace sluice {
namespace {

TEST(QueueExampleSpecsTest, KafkaAndNatsExamplesLoad) {
  const char* source_dir = std::getenv("SLUICE_SOURCE_DIR");
  ASSERT_NE(source_dir, nullptr) << "ctest sets SLUICE_SOURCE_DIR";
  for (std::string example : {"kafka", "nats"}) {
    SpecLoadResult result =
        LoadSpecFile(std::string(source_dir) + "/examples/" + example + "/spec.yaml");
    ASSERT_TRUE(result.ok()) << example << ": " << Dump(result);
    ASSERT_EQ(result.spec->sources.size(), 1u);
    EXPECT_EQ(result.spec->sources[0].type, example);
  }
}

TEST(QueueExampleSpecsTest, KafkaWindowsExampleAggregatesAKafkaFedStream) {
  const char* source_dir = std::getenv("SLUICE_SOURCE_DIR");
  ASSERT_NE(source_dir, nullptr) << "ctest sets SLUICE_SOURCE_DIR";
  SpecLoadResult result =
      LoadSpecFile(std::string(source_dir) + "/examples/kafka_windows/spec.yaml");
  ASSERT_TRUE(result.ok()) << Dump(result);
  ASSERT_EQ(result.spec->aggregations.size(), 1u);
  EXPECT_EQ(result.spec->sources[0].type, "kafka");
  EXPECT_EQ(result.spec->aggregations[0].from, std::vector<std::string>{"purchases"});
}

TEST(QueueExampleSpecsTest, KafkaScaleOutExampleLetsStateFollowPartitions) {
  const char* source_dir = std::getenv("SLUICE_SOURCE_DIR");
  ASSERT_NE(source_dir, nullptr) << "ctest sets SLUICE_SOURCE_DIR";
  SpecLoadResult result =
      LoadSpecFile(std::string(source_dir) + "/examples/kafka_scale_out/spec.yaml");
  ASSERT_TRUE(result.ok()) << Dump(result);
  ASSERT_EQ(result.spec->aggregations.size(), 1u);
  EXPECT_TRUE(result.spec->aggregations[0].state_follows_partitions);
}

TEST_F(SpecLoaderTest, StateFollowingPartitionsNeedsOneTopicAndThePartitionAsFirstKey) {
  SpecLoadResult result = Load(R"yaml(pipeline: p
tables:
  t:
    columns: [{name: user, type: String}, {name: p, type: Int32}, {name: q, type: String}]
streams:
  t: {}
  u: {table: t}
sources:
  k:
    type: kafka
    stream: t
    kafka: {brokers: a:9092, topics: [x], group_id: g, metadata: {partition: p, topic: q}}
  plain:
    type: kafka
    stream: u
    kafka: {brokers: a:9092, topics: [x, y], group_id: g}
aggregations:
  wrong_key:
    from: t
    key_by: [user, p]
    state_follows_partitions: true
    window: {type: tumbling, size: 1m}
    aggregates: [{name: n, function: count}]
  two_topics:
    from: u
    key_by: [p]
    state_follows_partitions: true
    window: {type: tumbling, size: 1m}
    aggregates: [{name: n, function: count}]
  union:
    from: [t, u]
    key_by: [p]
    state_follows_partitions: true
    window: {type: tumbling, size: 1m}
    aggregates: [{name: n, function: count}]
  string_partition:
    from: t
    key_by: [q]
    state_follows_partitions: true
    window: {type: tumbling, size: 1m}
    aggregates: [{name: n, function: count}]
)yaml");
  std::vector<std::string> errors;
  for (const Error& error : result.errors) errors.push_back(error.message);
  EXPECT_EQ(errors,
            (std::vector<std::string>{
                "aggregations.wrong_key.state_follows_partitions: the first key_by field must be "
                "'p', the partition number, so that each partition's keys move with it",
                "aggregations.two_topics.state_follows_partitions: source 'plain' must read one "
                "topic",
                "aggregations.union.state_follows_partitions: state follows the partitions of "
                "one Kafka topic: read one stream",
                "aggregations.string_partition.state_follows_partitions: the first key_by field "
                "must be 'p', the partition number, so that each partition's keys move with it",
            }))
      << Dump(result);
}

}  // namespace
}  // namespace sluice
