// The transforms of an aggregation in the spec: map (computed fields), enrich (dimension
// lookups) and from as a list of streams (a union): values, defaults and every error.
#include <gtest/gtest.h>

#include <string>

#include "config/spec_loader.h"

namespace sluice {
namespace {

std::string Dump(const SpecLoadResult& result) {
  std::string text;
  for (const Error& error : result.errors) text += error.ToString() + "\n";
  return text;
}

SpecLoadResult Load(std::string_view yaml) {
  return LoadSpecText(yaml, "spec.yaml", "/specs");
}

// Three streams (web and app share their fields but page/device; logs has user_id as String)
// and a dimension table; the aggregation `a` of each case starts on line 31.
constexpr std::string_view kBase = R"yaml(pipeline: p
tables:
  web:
    columns:
      - {name: user_id, type: UInt64}
      - {name: amount, type: "Decimal(10,2)"}
      - {name: country_code, type: String}
      - {name: at, type: "DateTime64(3, 'UTC')"}
      - {name: page, type: String}
  app:
    columns:
      - {name: user_id, type: UInt64}
      - {name: amount, type: "Decimal(10,2)"}
      - {name: country_code, type: String}
      - {name: at, type: "DateTime64(3, 'UTC')"}
      - {name: device, type: String}
  logs:
    columns:
      - {name: user_id, type: String}
  countries:
    columns:
      - {name: code, type: String}
      - {name: name, type: String}
      - {name: region, type: LowCardinality(String)}
streams:
  web: {}
  app: {}
  logs: {}
aggregations:
  a:
)yaml";

// An aggregation whose first lines are `body` (each indented by four spaces by the caller),
// completed with a window and an aggregate.
std::string Aggregation(std::string_view body) {
  return std::string(kBase) + std::string(body) +
         "    window: {type: tumbling, size: 1m}\n"
         "    aggregates: [{name: n, function: count}]\n";
}

std::vector<std::pair<std::string, std::string>> FieldsOf(const AggregationSpec& aggregation) {
  std::vector<std::pair<std::string, std::string>> fields;
  for (const auto& [name, type] : aggregation.fields) fields.emplace_back(name, type.ToString());
  return fields;
}

TEST(SpecTransformsTest, LoadsUnionMapAndClickHouseEnrichment) {
  SpecLoadResult result = Load(Aggregation(R"yaml(    from: [web, app]
    map:
      amount: amount * 2
      hour: toStartOfHour(at)
      code: upper(country_code)
    enrich:
      table: countries
      key: code
      fields: [{name: country, column: name}, {name: region}]
    filter: region != 'nowhere' AND amount > 1
    key_by: [code, country]
    event_time: {field: hour}
)yaml"));
  ASSERT_TRUE(result.ok()) << Dump(result);
  const AggregationSpec& aggregation = result.spec->aggregations.at(0);
  EXPECT_EQ(aggregation.from, (std::vector<std::string>{"web", "app"}));
  ASSERT_EQ(aggregation.map.size(), 3u);
  EXPECT_EQ(aggregation.map[1].name, "hour");
  EXPECT_EQ(aggregation.map[1].expression, "toStartOfHour(at)");
  EXPECT_EQ(aggregation.map[1].type.ToString(), "DateTime64(3, 'UTC')");
  EXPECT_EQ(aggregation.map[1].where.ToString(), "spec.yaml:34:7");
  // page and device are not in both streams; amount is replaced in place by the map's.
  EXPECT_EQ(FieldsOf(aggregation), (std::vector<std::pair<std::string, std::string>>{
                                       {"user_id", "UInt64"},
                                       {"amount", "Decimal(38, 2)"},
                                       {"country_code", "String"},
                                       {"at", "DateTime64(3, 'UTC')"},
                                       {"hour", "DateTime64(3, 'UTC')"},
                                       {"code", "String"},
                                       {"country", "Nullable(String)"},
                                       {"region", "LowCardinality(Nullable(String))"}}));
  ASSERT_TRUE(aggregation.enrich.has_value());
  const EnrichSpec& enrich = *aggregation.enrich;
  EXPECT_EQ(enrich.backend, EnrichSpec::Backend::kClickHouse);
  EXPECT_EQ(enrich.table, "countries");
  EXPECT_EQ(enrich.key, (std::vector<std::string>{"code"}));
  EXPECT_EQ(enrich.key_columns, (std::vector<std::string>{"code"}));
  ASSERT_EQ(enrich.fields.size(), 2u);
  EXPECT_EQ(enrich.fields[0].column, "name");
  EXPECT_EQ(enrich.fields[1].column, "region");
  EXPECT_EQ(enrich.fields[1].type.ToString(), "LowCardinality(String)");
  EXPECT_EQ(enrich.cache_size, 100000u);
  EXPECT_EQ(enrich.cache_ttl, std::chrono::minutes(5));
  EXPECT_EQ(enrich.concurrency, 4u);
  EXPECT_EQ(enrich.max_keys_per_lookup, 500u);
  EXPECT_EQ(enrich.timeout, std::chrono::seconds(1));
  EXPECT_EQ(enrich.fallback, EnrichSpec::Fallback::kNull);
  EXPECT_TRUE(enrich.ordered);
}

TEST(SpecTransformsTest, LoadsAPostgresEnrichmentWithEveryOption) {
  SpecLoadResult good = Load(Aggregation(R"yaml(    from: web
    enrich:
      backend: postgres
      dsn: host=127.0.0.1 dbname=dims
      table: public.users
      key: [user_id, country_code]
      lookup_key: [id, country]
      fields:
        - {name: tier, type: LowCardinality(String)}
        - {name: signup, column: created, type: Date}
      cache_size: 10
      cache_ttl: 0s
      concurrency: 2
      max_keys_per_lookup: 50
      timeout: 250ms
      fallback: dead_letter
      ordered: false
    key_by: tier
)yaml"));
  ASSERT_TRUE(good.ok()) << Dump(good);
  const EnrichSpec& enrich = *good.spec->aggregations.at(0).enrich;
  EXPECT_EQ(enrich.backend, EnrichSpec::Backend::kPostgres);
  EXPECT_EQ(enrich.dsn, "host=127.0.0.1 dbname=dims");
  EXPECT_EQ(enrich.table, "public.users");
  EXPECT_EQ(enrich.key, (std::vector<std::string>{"user_id", "country_code"}));
  EXPECT_EQ(enrich.key_columns, (std::vector<std::string>{"id", "country"}));
  EXPECT_EQ(enrich.fields[1].name, "signup");
  EXPECT_EQ(enrich.fields[1].column, "created");
  EXPECT_EQ(enrich.fields[1].type.ToString(), "Date");
  EXPECT_EQ(enrich.cache_size, 10u);
  EXPECT_EQ(enrich.cache_ttl, std::chrono::milliseconds(0));
  EXPECT_EQ(enrich.concurrency, 2u);
  EXPECT_EQ(enrich.max_keys_per_lookup, 50u);
  EXPECT_EQ(enrich.timeout, std::chrono::milliseconds(250));
  EXPECT_EQ(enrich.fallback, EnrichSpec::Fallback::kDeadLetter);
  EXPECT_FALSE(enrich.ordered);
  EXPECT_EQ(FieldsOf(good.spec->aggregations[0]).back(),
            (std::pair<std::string, std::string>{"signup", "Nullable(Date)"}));
}

TEST(SpecTransformsTest, OneStreamAsAStringKeepsItsFields) {
  SpecLoadResult result = Load(Aggregation("    from: web\n    key_by: page\n"));
  ASSERT_TRUE(result.ok()) << Dump(result);
  EXPECT_EQ(result.spec->aggregations[0].from, (std::vector<std::string>{"web"}));
  EXPECT_EQ(result.spec->aggregations[0].fields.size(), 5u);
}

struct ErrorCase {
  std::string_view body;  // the aggregation's first lines
  ErrorCode code;
  std::string_view where;
  std::string_view message;
};

void ExpectErrors(std::initializer_list<ErrorCase> cases) {
  for (const ErrorCase& c : cases) {
    SpecLoadResult result = Load(Aggregation(c.body));
    EXPECT_FALSE(result.spec.has_value()) << c.body;
    ASSERT_EQ(result.errors.size(), 1u) << c.body << Dump(result);
    const Error& error = result.errors.front();
    EXPECT_EQ(error.code, c.code) << c.body;
    EXPECT_EQ(error.where, c.where) << c.body;
    EXPECT_EQ(error.message, c.message) << c.body;
  }
}

TEST(SpecTransformsTest, FromErrors) {
  ExpectErrors({
      {"    from: [web, wbe]\n", ErrorCode::kSpecUnknownReference, "spec.yaml:31:17",
       "aggregations.a.from: no stream 'wbe' in streams (did you mean 'web'?)"},
      {"    from: [web, web]\n", ErrorCode::kSpecDuplicateName, "spec.yaml:31:17",
       "aggregations.a.from: stream 'web' is named twice"},
      {"    from: []\n", ErrorCode::kSpecInvalidValue, "spec.yaml:31:11",
       "aggregations.a.from: name at least one stream"},
      {"    from: {web: 1}\n", ErrorCode::kSpecWrongType, "spec.yaml:31:11",
       "aggregations.a.from: expected a string or a list of strings, found a map"},
      {"    from: [web, logs]\n", ErrorCode::kSpecInvalidValue, "spec.yaml:31:11",
       "aggregations.a.from: field 'user_id' is UInt64 in stream 'web' but String in stream "
       "'logs'; a union needs one type per field"},
      {"    from: [web, app]\n    key_by: page\n", ErrorCode::kSpecUnknownReference,
       "spec.yaml:32:13",
       "aggregations.a.key_by: field 'page' is not in every stream of from (missing in 'app')"},
      {"    from: [web, app]\n    key_by: pgae\n", ErrorCode::kSpecUnknownReference,
       "spec.yaml:32:13",
       "aggregations.a.key_by: the records of streams 'web', 'app' have no field 'pgae'"},
      {"    from: web\n    key_by: pgae\n", ErrorCode::kSpecUnknownReference, "spec.yaml:32:13",
       "aggregations.a.key_by: stream 'web' has no field 'pgae' (did you mean 'page'?)"},
  });
}

TEST(SpecTransformsTest, AStreamFedByKafkaIsAggregated) {
  std::string yaml = Aggregation("    from: [web, app]\n");
  yaml.replace(yaml.find("aggregations:"), 0,
               "sources:\n  clicks:\n    type: kafka\n    stream: app\n"
               "    kafka: {brokers: 'a:9092', topics: [clicks], group_id: g}\n");
  SpecLoadResult result = Load(yaml);
  EXPECT_TRUE(result.errors.empty()) << Dump(result);
}

TEST(SpecTransformsTest, AStreamFedByANatsSourceIsRefused) {
  std::string yaml = Aggregation("    from: [web, app]\n");
  yaml.replace(yaml.find("aggregations:"), 0,
               "sources:\n  orders:\n    type: nats\n    stream: app\n"
               "    nats: {url: 'nats://a:4222', stream: ORDERS, consumer: c}\n");
  SpecLoadResult result = Load(yaml);
  ASSERT_EQ(result.errors.size(), 1u) << Dump(result);
  EXPECT_EQ(result.errors[0].code, ErrorCode::kSpecInvalidValue);
  EXPECT_NE(result.errors[0].ToString().find(
                "aggregations.a.from: stream 'app' is fed by nats source 'orders'; aggregations "
                "read file and kafka sources and HTTP ingestion only, not nats sources yet"),
            std::string::npos)
      << Dump(result);
}

TEST(SpecTransformsTest, MapErrorsPointIntoTheExpression) {
  ExpectErrors({
      {"    from: web\n    map:\n      total: amout * 2\n", ErrorCode::kSpecInvalidExpression,
       "spec.yaml:33:14",
       "aggregations.a.map.total: unknown field 'amout' (did you mean 'amount'?) (at character "
       "1)"},
      {"    from: web\n    map:\n      total: \"amount * page\"\n",
       ErrorCode::kSpecInvalidExpression, "spec.yaml:33:22",
       "aggregations.a.map.total: '*' needs numbers, got String (at character 8)"},
      {"    from: web\n    map:\n      t: now()\n", ErrorCode::kSpecInvalidExpression,
       "spec.yaml:33:10",
       "aggregations.a.map.t: now() is not allowed: its value changes from run to run, so a batch "
       "replayed after a failure would map differently (use a field of the record, e.g. its "
       "event time) (at character 1)"},
      {"    from: web\n    map:\n      total: [1]\n", ErrorCode::kSpecWrongType, "spec.yaml:33:14",
       "aggregations.a.map.total: expected an expression (e.g. amount * 2)"},
      {"    from: web\n    map:\n      \"bad name\": amount\n", ErrorCode::kSpecInvalidIdentifier,
       "spec.yaml:33:7",
       "aggregations.a.map.bad name: invalid field name 'bad name': a name starts with a letter "
       "or '_', holds only letters, digits and '_', and has at most 128 characters"},
      {"    from: web\n    map: {}\n", ErrorCode::kSpecInvalidValue, "spec.yaml:32:10",
       "aggregations.a.map: name at least one field, or remove map"},
      {"    from: web\n    map: amount\n", ErrorCode::kSpecWrongType, "spec.yaml:32:10",
       "aggregations.a.map: expected a map, found 'amount'"},
      {"    from: web\n    map: {total: amount * 2}\n    key_by: totl\n",
       ErrorCode::kSpecUnknownReference, "spec.yaml:33:13",
       "aggregations.a.key_by: the records of stream 'web' + map have no field 'totl' (did you "
       "mean 'total'?)"},
      // A broken map field is reported once, not again where it is used.
      {"    from: web\n    map: {total: amout}\n    key_by: total\n    filter: total > 1\n",
       ErrorCode::kSpecInvalidExpression, "spec.yaml:32:18",
       "aggregations.a.map.total: unknown field 'amout' (did you mean 'amount'?) (at character "
       "1)"},
      {"    from: web\n    map: {day: toDate(at)}\n    event_time: {field: page}\n",
       ErrorCode::kSpecInvalidValue, "spec.yaml:33:25",
       "aggregations.a.event_time.field: field 'page' is String; event time must be a Date, "
       "DateTime, DateTime64 or integer milliseconds"},
  });
}

// The enrich section of a case: `rest` follows the table and key lines.
std::string Enrich(std::string_view rest) {
  return "    from: web\n    enrich:\n      table: countries\n      key: country_code\n" +
         std::string(rest);
}

TEST(SpecTransformsTest, EnrichErrors) {
  std::string lookup = "      lookup_key: code\n";
  std::string fields = "      fields: [{name: region}]\n";
  std::vector<std::string> bodies = {
      Enrich(lookup + fields + "      backend: mysql\n"),
      "    from: web\n    enrich:\n      backend: postgres\n      table: t\n      key: page\n"
      "      fields: [{name: x, type: String}]\n",
      Enrich(lookup + fields + "      dsn: host=x\n"),
      "    from: web\n    enrich:\n      table: countries\n      key: cc\n      lookup_key: "
      "code\n" +
          fields,
      Enrich("      lookup_key: cod\n" + fields),
      Enrich("      lookup_key: [code, name]\n" + fields),
      Enrich(lookup + "      fields: []\n"),
      Enrich(lookup + "      fields: [{name: regio}]\n"),
      Enrich(lookup + "      fields: [{name: page, column: region}]\n"),
      Enrich(lookup + "      fields: [{name: r, column: region, type: Strin}]\n"),
      Enrich(lookup + "      fields: [{name: r, column: region, type: Array(String)}]\n"),
      "    from: web\n    enrich:\n      table: other\n      key: page\n"
      "      fields: [{name: x}]\n",
      Enrich(lookup + fields + "      cache_size: 0\n"),
      Enrich(lookup + fields + "      timeout: 0ms\n"),
      Enrich(lookup + fields + "      concurrency: 1000\n"),
      Enrich(lookup + fields + "      fallback: dead\n"),
      Enrich(lookup + fields + "      fallback: null\n"),
      Enrich(lookup + fields + "      ordered: maybe\n"),
      Enrich(lookup + fields + "      cache: 5\n"),
      Enrich(lookup + "      fields: [{name: region, colum: region}]\n"),
      Enrich(lookup + fields) + "    filter: region = 5\n",
      "    from: web\n    enrich:\n      key: page\n      fields: [{name: x, type: String}]\n",
  };
  std::vector<ErrorCase> expected = {
      {"", ErrorCode::kSpecInvalidValue, "spec.yaml:37:16",
       "aggregations.a.enrich.backend: unknown backend 'mysql' (clickhouse or postgres)"},
      {"", ErrorCode::kSpecMissingKey, "spec.yaml:33:16",
       "aggregations.a.enrich.backend: a postgres enrichment needs 'dsn'"},
      {"", ErrorCode::kSpecInvalidValue, "spec.yaml:37:12",
       "aggregations.a.enrich.dsn: only a postgres enrichment has a dsn (clickhouse reads the "
       "warehouse)"},
      {"", ErrorCode::kSpecUnknownReference, "spec.yaml:34:12",
       "aggregations.a.enrich.key: stream 'web' has no field 'cc'"},
      {"", ErrorCode::kSpecUnknownReference, "spec.yaml:35:19",
       "aggregations.a.enrich.lookup_key: table 'countries' has no column 'cod' (did you mean "
       "'code'?)"},
      {"", ErrorCode::kSpecInvalidValue, "spec.yaml:35:19",
       "aggregations.a.enrich.lookup_key: 2 column(s) for 1 key field(s); give one column per "
       "field"},
      {"", ErrorCode::kSpecInvalidValue, "spec.yaml:36:15",
       "aggregations.a.enrich.fields: name at least one field"},
      {"", ErrorCode::kSpecUnknownReference, "spec.yaml:36:23",
       "aggregations.a.enrich.fields[0].name: table 'countries' has no column 'regio' (did you "
       "mean 'region'?)"},
      {"", ErrorCode::kSpecDuplicateName, "spec.yaml:36:23",
       "aggregations.a.enrich.fields[0].name: 'page' is already a field of the records or of the "
       "enrichment"},
      {"", ErrorCode::kSpecInvalidType, "spec.yaml:36:48",
       "aggregations.a.enrich.fields[0].type: invalid type 'Strin': unknown type 'Strin' (did you "
       "mean 'String'?) (at character 1)"},
      {"", ErrorCode::kSpecInvalidValue, "spec.yaml:36:48",
       "aggregations.a.enrich.fields[0]: Array(String) cannot be NULL when the key is not found; "
       "enrich with single values"},
      {"", ErrorCode::kSpecMissingKey, "spec.yaml:35:16",
       "aggregations.a.enrich.fields[0]: needs a type ('other' is not a table of the spec)"},
      {"", ErrorCode::kSpecInvalidValue, "spec.yaml:37:19", ""},
      {"", ErrorCode::kSpecInvalidValue, "spec.yaml:37:16", ""},
      {"", ErrorCode::kSpecInvalidValue, "spec.yaml:37:20", ""},
      {"", ErrorCode::kSpecInvalidValue, "spec.yaml:37:17",
       "aggregations.a.enrich.fallback: unknown fallback 'dead' (nulls, dead_letter or fail)"},
      // YAML reads a bare null as no value at all: the value is `nulls`.
      {"", ErrorCode::kSpecWrongType, "spec.yaml:37:7",
       "aggregations.a.enrich.fallback: expected a string, found nothing"},
      {"", ErrorCode::kSpecWrongType, "spec.yaml:37:16", ""},
      {"", ErrorCode::kSpecUnknownKey, "spec.yaml:37:7", ""},
      {"", ErrorCode::kSpecUnknownKey, "spec.yaml:36:31",
       "aggregations.a.enrich.fields[0].colum: unknown key (did you mean 'column'?)"},
      {"", ErrorCode::kSpecInvalidExpression, "spec.yaml:37:20",
       "aggregations.a.filter: cannot compare LowCardinality(Nullable(String)) with integer (at "
       "character 8)"},
      {"", ErrorCode::kSpecMissingKey, "spec.yaml:33:7",
       "aggregations.a.enrich: missing required key 'table'"},
  };
  ASSERT_EQ(bodies.size(), expected.size());
  for (size_t i = 0; i < bodies.size(); ++i) {
    SpecLoadResult result = Load(Aggregation(bodies[i]));
    ASSERT_EQ(result.errors.size(), 1u) << bodies[i] << Dump(result);
    const Error& error = result.errors.front();
    EXPECT_EQ(error.code, expected[i].code) << bodies[i] << Dump(result);
    EXPECT_EQ(error.where, expected[i].where) << bodies[i] << Dump(result);
    if (!expected[i].message.empty()) {
      EXPECT_EQ(error.message, expected[i].message) << bodies[i];
    } else {
      // Messages written by shared readers (ranges, kinds, unknown keys): the path is enough.
      EXPECT_EQ(error.message.rfind("aggregations.a.", 0), 0u) << error.message;
    }
  }
}

}  // namespace
}  // namespace sluice
