// The server, wal and stream-rule sections of the spec: values, defaults and every error.
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

/// The one error of a spec with exactly one mistake.
Error Single(std::string_view yaml) {
  SpecLoadResult result = Load(yaml);
  EXPECT_FALSE(result.spec.has_value());
  EXPECT_EQ(result.errors.size(), 1u) << Dump(result);
  return result.errors.empty() ? Error{} : result.errors.front();
}

// A table for streams to land in; specs below append their own sections.
constexpr std::string_view kTables = R"yaml(pipeline: p
tables:
  events:
    columns:
      - {name: event_id, type: String}
      - {name: event_type, type: LowCardinality(String)}
      - {name: amount, type: "Decimal(10,2)"}
      - {name: day, type: Date}
      - {name: user_id, type: Nullable(UInt64)}
      - {name: tags, type: Array(String)}
      - {name: _extra, type: String}
      - {name: raw, type: UInt32}
)yaml";

std::string WithTables(std::string_view rest) {
  return std::string(kTables) + std::string(rest);
}

TEST(SpecRulesTest, LoadsServerWalAndStreamRules) {
  SpecLoadResult result = Load(WithTables(R"yaml(server:
  listen: 0.0.0.0:0
  query_listen: "[::1]:8123"
  threads: 4
  max_body_bytes: 1048576
  auth: {tokens_env: [SLUICE_INGEST_TOKEN, OTHER_TOKEN]}
  query_read_only: false
wal:
  path: /var/lib/sluice/wal
  segment_bytes: 1048576
  max_disk_bytes: 1048576
streams:
  events:
    coercion: strict
    unknown_fields: keep
    batch: {max_rows: 1000, max_bytes: 4096, max_delay: 250ms}
    deduplicate: {key: event_id, window: 10m}
    fields:
      - {name: event_id, required: true}
      - name: event_type
        default: view
        max_length: 64
        regex: '^[a-z_]+$'
        allowed: [view, add_to_cart, purchase, refund]
        trim: true
        lowercase: true
      - {name: amount, min: 0, max: +1000000}
      - {name: day, min: 2020-01-01, max: "2030-12-31"}
    rules:
      - name: purchase_has_amount
        condition: "event_type != 'purchase' OR amount > 0"
        message: a purchase needs a positive amount
      - name: recent
        condition: day >= '2021-01-01'
    event_time: day
)yaml"));
  ASSERT_TRUE(result.ok()) << Dump(result);
  const PipelineSpec& spec = *result.spec;
  ASSERT_TRUE(spec.server.has_value());
  EXPECT_EQ(spec.server->listen.ToString(), "0.0.0.0:0");
  ASSERT_TRUE(spec.server->query_listen.has_value());
  EXPECT_EQ(spec.server->query_listen->host, "::1");
  EXPECT_EQ(spec.server->query_listen->port, 8123);
  EXPECT_EQ(spec.server->query_listen->ToString(), "[::1]:8123");
  EXPECT_EQ(spec.server->threads, 4u);
  EXPECT_EQ(spec.server->max_body_bytes, 1048576u);
  EXPECT_EQ(spec.server->token_variables,
            (std::vector<std::string>{"SLUICE_INGEST_TOKEN", "OTHER_TOKEN"}));
  EXPECT_FALSE(spec.server->query_read_only);
  EXPECT_EQ(spec.wal.path, "/var/lib/sluice/wal");
  EXPECT_EQ(spec.wal.segment_bytes, 1048576u);
  EXPECT_EQ(spec.wal.max_disk_bytes, 1048576u);

  const StreamSpec& stream = spec.streams[0];
  EXPECT_EQ(stream.coercion, StreamSpec::Coercion::kStrict);
  EXPECT_EQ(stream.unknown_fields, StreamSpec::UnknownFields::kKeep);
  EXPECT_EQ(stream.unknown_fields_column, "_extra");
  EXPECT_EQ(stream.event_time, "day");
  EXPECT_EQ(stream.batch.max_rows, 1000u);
  EXPECT_EQ(stream.batch.max_bytes, 4096u);
  EXPECT_EQ(stream.batch.max_delay, std::chrono::milliseconds(250));
  ASSERT_TRUE(stream.deduplicate.has_value());
  EXPECT_EQ(stream.deduplicate->key, "event_id");
  EXPECT_EQ(stream.deduplicate->window, std::chrono::minutes(10));
  // The unknown-fields column joins the listed fields.
  ASSERT_EQ(stream.fields.size(), 5u);
  EXPECT_EQ(stream.fields[4].name, "_extra");
  const StreamFieldSpec& event_type = stream.fields[1];
  EXPECT_EQ(event_type.default_value, "view");
  EXPECT_EQ(event_type.max_length, 64u);
  EXPECT_EQ(event_type.regex, "^[a-z_]+$");
  EXPECT_EQ(event_type.allowed,
            (std::vector<std::string>{"view", "add_to_cart", "purchase", "refund"}));
  EXPECT_TRUE(event_type.trim);
  EXPECT_TRUE(event_type.lowercase);
  EXPECT_EQ(stream.fields[2].min, "0");
  EXPECT_EQ(stream.fields[2].max, "1000000");
  EXPECT_EQ(stream.fields[3].min, "2020-01-01");
  EXPECT_FALSE(stream.fields[0].HasRules());
  EXPECT_TRUE(stream.NeedsValidation());
  ASSERT_EQ(stream.rules.size(), 2u);
  EXPECT_EQ(stream.rules[0].name, "purchase_has_amount");
  EXPECT_EQ(stream.rules[0].message, "a purchase needs a positive amount");
  EXPECT_EQ(stream.rules[1].message, "day >= '2021-01-01'");
  EXPECT_EQ(stream.rules[1].where.ToString(), "spec.yaml:45:9");
}

TEST(SpecRulesTest, DefaultsWithoutTheNewSections) {
  SpecLoadResult result = Load(WithTables("streams:\n  events: {}\n"));
  ASSERT_TRUE(result.ok()) << Dump(result);
  const PipelineSpec& spec = *result.spec;
  EXPECT_FALSE(spec.server.has_value());
  EXPECT_EQ(spec.wal.path, "/specs/wal");
  EXPECT_EQ(spec.wal.segment_bytes, 67108864u);
  EXPECT_EQ(spec.wal.max_disk_bytes, 1073741824u);
  const StreamSpec& stream = spec.streams[0];
  EXPECT_EQ(stream.coercion, StreamSpec::Coercion::kLenient);
  EXPECT_EQ(stream.unknown_fields, StreamSpec::UnknownFields::kIgnore);
  EXPECT_EQ(stream.batch.max_rows, 65536u);
  EXPECT_EQ(stream.batch.max_bytes, 16777216u);
  EXPECT_EQ(stream.batch.max_delay, std::chrono::seconds(1));
  EXPECT_FALSE(stream.deduplicate.has_value());
  EXPECT_FALSE(stream.NeedsValidation());

  SpecLoadResult server = Load(WithTables("server: {}\n"));
  ASSERT_TRUE(server.ok()) << Dump(server);
  EXPECT_EQ(server.spec->server->listen.ToString(), "127.0.0.1:8080");
  EXPECT_FALSE(server.spec->server->query_listen.has_value());
  EXPECT_EQ(server.spec->server->threads, 16u);
  EXPECT_TRUE(server.spec->server->query_read_only);
  EXPECT_TRUE(server.spec->server->token_variables.empty());
}

struct ErrorCase {
  std::string_view rest;  // appended to kTables
  ErrorCode code;
  std::string_view where;
  std::string_view message;
};

void ExpectErrors(std::initializer_list<ErrorCase> cases) {
  for (const ErrorCase& c : cases) {
    Error error = Single(WithTables(c.rest));
    EXPECT_EQ(error.code, c.code) << c.rest;
    EXPECT_EQ(error.where, c.where) << c.rest;
    EXPECT_EQ(error.message, c.message) << c.rest;
  }
}

TEST(SpecRulesTest, ServerErrors) {
  ExpectErrors({
      {"server: {listen: localhost}\n", ErrorCode::kSpecInvalidValue, "spec.yaml:13:18",
       "server.listen: 'localhost' is not host:port (e.g. 127.0.0.1:8080, [::1]:8080, 0.0.0.0:0)"},
      {"server: {listen: '1.2.3.4:65536'}\n", ErrorCode::kSpecInvalidValue, "spec.yaml:13:18",
       "server.listen: '1.2.3.4:65536' is not host:port (e.g. 127.0.0.1:8080, [::1]:8080, "
       "0.0.0.0:0)"},
      {"server: {query_listen: '127.0.0.1:8080'}\n", ErrorCode::kSpecInvalidValue,
       "spec.yaml:13:24",
       "server.query_listen: 127.0.0.1:8080 is already the ingest address "
       "(listen)"},
      {"server: {threads: 0}\n", ErrorCode::kSpecInvalidValue, "spec.yaml:13:19",
       "server.threads: 0 is outside 1..64"},
      {"server: {max_body_bytes: lots}\n", ErrorCode::kSpecWrongType, "spec.yaml:13:26",
       "server.max_body_bytes: expected an integer, found 'lots'"},
      {"server: {listn: ':1'}\n", ErrorCode::kSpecUnknownKey, "spec.yaml:13:10",
       "server.listn: unknown key (did you mean 'listen'?)"},
      {"server: {auth: {tokens_env: [GOOD, not-good]}}\n", ErrorCode::kSpecInvalidIdentifier,
       "spec.yaml:13:36",
       "server.auth.tokens_env: 'not-good' is not an environment variable name (letters, digits "
       "and '_', not starting with a digit)"},
      {"server: {auth: {}}\n", ErrorCode::kSpecMissingKey, "spec.yaml:13:16",
       "server.auth: missing required key 'tokens_env'"},
      {"server: {auth: {tokens_env: []}}\n", ErrorCode::kSpecInvalidValue, "spec.yaml:13:29",
       "server.auth.tokens_env: name at least one variable, or remove auth"},
      {"server: [a]\n", ErrorCode::kSpecWrongType, "spec.yaml:13:9",
       "server: expected a map, found a list"},
  });
}

TEST(SpecRulesTest, WalErrors) {
  ExpectErrors({
      {"wal: {segment_bytes: 100}\n", ErrorCode::kSpecInvalidValue, "spec.yaml:13:22",
       "wal.segment_bytes: 100 is outside 4096..4294967296"},
      {"wal: {segment_bytes: 8192, max_disk_bytes: 4096}\n", ErrorCode::kSpecInvalidValue,
       "spec.yaml:13:44", "wal.max_disk_bytes: 4096 is less than one segment (8192 bytes)"},
      {"wal: {size: 1}\n", ErrorCode::kSpecUnknownKey, "spec.yaml:13:7",
       "wal.size: unknown key (known keys: path, segment_bytes, max_disk_bytes)"},
  });
}

TEST(SpecRulesTest, StreamOptionErrors) {
  ExpectErrors({
      {"streams:\n  events: {coercion: strikt}\n", ErrorCode::kSpecInvalidValue, "spec.yaml:14:22",
       "streams.events.coercion: 'strikt' is not lenient or strict (did you mean 'strict'?)"},
      {"streams:\n  events: {unknown_fields: kep}\n", ErrorCode::kSpecInvalidValue,
       "spec.yaml:14:28",
       "streams.events.unknown_fields: 'kep' is not ignore or keep (did you mean 'keep'?)"},
      {"streams:\n  events: {unknown_fields_column: _extra}\n", ErrorCode::kSpecInvalidValue,
       "spec.yaml:14:35",
       "streams.events.unknown_fields_column: only used with unknown_fields: keep"},
      {"streams:\n  events: {unknown_fields: keep, unknown_fields_column: extra}\n",
       ErrorCode::kSpecUnknownReference, "spec.yaml:14:57",
       "streams.events.unknown_fields_column: table 'events' has no column 'extra' (did you mean "
       "'_extra'?)"},
      {"streams:\n  events: {unknown_fields: keep, unknown_fields_column: raw}\n",
       ErrorCode::kSpecInvalidValue, "spec.yaml:14:57",
       "streams.events.unknown_fields_column: column 'raw' is UInt32; the unknown fields need a "
       "String column"},
      {"streams:\n  events: {batch: {max_delay: 1 sec}}\n", ErrorCode::kSpecWrongType,
       "spec.yaml:14:31",
       "streams.events.batch.max_delay: expected a duration such as 250ms, 30s, 5m or 1h, found "
       "'1 sec'"},
      {"streams:\n  events: {batch: {max_delay: 2h}}\n", ErrorCode::kSpecInvalidValue,
       "spec.yaml:14:31", "streams.events.batch.max_delay: 2h is outside 0ms..3600000ms"},
      {"streams:\n  events: {batch: {max_rows: 0}}\n", ErrorCode::kSpecInvalidValue,
       "spec.yaml:14:30", "streams.events.batch.max_rows: 0 is outside 1..10000000"},
      {"streams:\n  events: {deduplicate: {window: 1m}}\n", ErrorCode::kSpecMissingKey,
       "spec.yaml:14:25", "streams.events.deduplicate: missing required key 'key'"},
      {"streams:\n  events: {deduplicate: {key: event_ld}}\n", ErrorCode::kSpecUnknownReference,
       "spec.yaml:14:31",
       "streams.events.deduplicate.key: stream 'events' has no field 'event_ld' (did you mean "
       "'event_id'?)"},
      {"streams:\n  events: {deduplicate: {key: tags}}\n", ErrorCode::kSpecInvalidValue,
       "spec.yaml:14:31",
       "streams.events.deduplicate.key: field 'tags' is Array(String); a key must be a single "
       "value"},
      {"streams:\n  events: {deduplicate: {key: event_id, window: 0ms}}\n",
       ErrorCode::kSpecInvalidValue, "spec.yaml:14:49",
       "streams.events.deduplicate.window: 0ms is outside 1ms..2592000000ms"},
      {"streams:\n  events: {event_time: dy}\n", ErrorCode::kSpecUnknownReference,
       "spec.yaml:14:24",
       "streams.events.event_time: stream 'events' has no field 'dy' (did you mean 'day'?)"},
      {"streams:\n  events: {event_time: tags}\n", ErrorCode::kSpecInvalidValue, "spec.yaml:14:24",
       "streams.events.event_time: field 'tags' is Array(String); event time must be a Date, "
       "DateTime, DateTime64 or integer milliseconds"},
  });
}

TEST(SpecRulesTest, FieldRuleErrors) {
  ExpectErrors({
      {"streams:\n  events:\n    fields: [{name: raw, default: abc}]\n",
       ErrorCode::kSpecInvalidValue, "spec.yaml:15:35",
       "streams.events.fields[0].default: 'abc' is not a value of UInt32: \"abc\" is not an "
       "integer"},
      {"streams:\n  events:\n    fields: [{name: raw, required: true, default: 1}]\n",
       ErrorCode::kSpecInvalidValue, "spec.yaml:15:51",
       "streams.events.fields[0].default: a required field never uses a default; remove one of "
       "them"},
      {"streams:\n  events:\n    fields: [{name: amount, min: ten}]\n",
       ErrorCode::kSpecInvalidValue, "spec.yaml:15:34",
       "streams.events.fields[0].min: 'ten' is not a number"},
      {"streams:\n  events:\n    fields: [{name: day, max: 2024-02-30}]\n",
       ErrorCode::kSpecInvalidValue, "spec.yaml:15:31",
       "streams.events.fields[0].max: '2024-02-30' is not a date or time such as 2024-01-31 or "
       "2024-01-31 12:00:00"},
      {"streams:\n  events:\n    fields: [{name: event_id, min: 1}]\n",
       ErrorCode::kSpecInvalidValue, "spec.yaml:15:36",
       "streams.events.fields[0].min: min applies to number and date fields, and field "
       "'event_id' is String"},
      {"streams:\n  events:\n    fields: [{name: amount, min: 10, max: 9.99}]\n",
       ErrorCode::kSpecInvalidValue, "spec.yaml:15:43",
       "streams.events.fields[0].max: max 9.99 is below min 10"},
      {"streams:\n  events:\n    fields: [{name: raw, max_length: 3}]\n",
       ErrorCode::kSpecInvalidValue, "spec.yaml:15:38",
       "streams.events.fields[0].max_length: max_length applies to String and FixedString "
       "fields, and field 'raw' is UInt32"},
      {"streams:\n  events:\n    fields: [{name: event_id, regex: '([a-z'}]\n",
       ErrorCode::kSpecInvalidValue, "spec.yaml:15:38",
       "streams.events.fields[0].regex: invalid regular expression: missing ]: [a-z"},
      {"streams:\n  events:\n    fields: [{name: raw, allowed: [1, x]}]\n",
       ErrorCode::kSpecInvalidValue, "spec.yaml:15:39",
       "streams.events.fields[0].allowed: 'x' is not a value of UInt32: \"x\" is not an integer"},
      {"streams:\n  events:\n    fields: [{name: raw, allowed: []}]\n",
       ErrorCode::kSpecInvalidValue, "spec.yaml:15:35",
       "streams.events.fields[0].allowed: list at least one value"},
      {"streams:\n  events:\n    fields: [{name: amount, trim: true}]\n",
       ErrorCode::kSpecInvalidValue, "spec.yaml:15:35",
       "streams.events.fields[0].trim: trim applies to String and FixedString fields, and field "
       "'amount' is Decimal(10, 2)"},
      {"streams:\n  events:\n    fields: [{name: event_id, trimm: true}]\n",
       ErrorCode::kSpecUnknownKey, "spec.yaml:15:31",
       "streams.events.fields[0].trimm: unknown key (did you mean 'trim'?)"},
  });
}

TEST(SpecRulesTest, RecordRuleErrorsPointIntoTheCondition) {
  ExpectErrors({
      {"streams:\n  events:\n    rules:\n      - {name: r, condition: amout > 0}\n",
       ErrorCode::kSpecInvalidExpression, "spec.yaml:16:30",
       "streams.events.rules[0].condition: unknown field 'amout' (did you mean 'amount'?) (at "
       "character 1)"},
      {"streams:\n  events:\n    rules:\n      - name: r\n        condition: \"amount > 0 AND "
       "event_type = 5\"\n",
       ErrorCode::kSpecInvalidExpression, "spec.yaml:17:47",
       "streams.events.rules[0].condition: cannot compare LowCardinality(String) with integer (at "
       "character 27)"},
      {"streams:\n  events:\n    rules:\n      - name: r\n        condition: >-\n          amount "
       ">\n",
       ErrorCode::kSpecInvalidExpression, "spec.yaml:17:20",
       "streams.events.rules[0].condition: the expression ends too early (at character 9)"},
      {"streams:\n  events:\n    rules:\n      - {name: r, condition: amount > 0}\n      - "
       "{name: r, condition: amount < 9}\n",
       ErrorCode::kSpecDuplicateName, "spec.yaml:17:16",
       "streams.events.rules[1].name: rule 'r' defined twice (first at line 16)"},
      {"streams:\n  events:\n    rules:\n      - {name: r}\n", ErrorCode::kSpecMissingKey,
       "spec.yaml:16:9", "streams.events.rules[0]: missing required key 'condition'"},
      {"streams:\n  events:\n    rules:\n      - {name: 'has space', condition: 'true'}\n",
       ErrorCode::kSpecInvalidIdentifier, "spec.yaml:16:16",
       "streams.events.rules[0].name: invalid rule name 'has space': a name starts with a letter "
       "or '_', holds only letters, digits and '_', and has at most 128 characters"},
  });
}

}  // namespace
}  // namespace sluice
