#include "config/spec_loader.h"

#include <fmt/format.h>
#include <re2/re2.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "aggregate/aggregate_function.h"
#include "base/strings.h"
#include "config/clickhouse_syntax.h"
#include "config/section_reader.h"
#include "config/spec_schema.h"
#include "expression/expression.h"
#include "format/text_value.h"

namespace sluice {
namespace {

std::string DidYouMean(std::string_view word, const std::vector<std::string>& candidates) {
  std::string suggestion = SuggestClosest(word, candidates);
  return suggestion.empty() ? "" : fmt::format(" (did you mean '{}'?)", suggestion);
}

std::vector<std::string> ColumnNames(const TableSpec& table) {
  std::vector<std::string> names;
  for (const ColumnSpec& column : table.columns) names.push_back(column.name);
  return names;
}

const ColumnSpec* FindColumn(const TableSpec& table, std::string_view name) {
  for (const ColumnSpec& column : table.columns) {
    if (column.name == name) return &column;
  }
  return nullptr;
}

std::string ResolvePath(const std::string& base_dir, const std::string& path) {
  std::filesystem::path resolved(path);
  if (resolved.is_relative() && !base_dir.empty())
    resolved = std::filesystem::path(base_dir) / resolved;
  return resolved.lexically_normal().string();
}

bool IsOneOf(std::string_view value, const std::vector<std::string_view>& options) {
  return std::find(options.begin(), options.end(), value) != options.end();
}

bool IsTextKind(TypeKind kind) {
  return kind == TypeKind::kString || kind == TypeKind::kFixedString;
}

bool IsNumberKind(TypeKind kind) {
  switch (kind) {
    case TypeKind::kInt8:
    case TypeKind::kInt16:
    case TypeKind::kInt32:
    case TypeKind::kInt64:
    case TypeKind::kUInt8:
    case TypeKind::kUInt16:
    case TypeKind::kUInt32:
    case TypeKind::kUInt64:
    case TypeKind::kFloat32:
    case TypeKind::kFloat64:
    case TypeKind::kDecimal:
      return true;
    default:
      return false;
  }
}

bool IsDateKind(TypeKind kind) {
  return kind == TypeKind::kDate || kind == TypeKind::kDate32 || kind == TypeKind::kDateTime ||
         kind == TypeKind::kDateTime64;
}

bool IsNestedKind(TypeKind kind) {
  return kind == TypeKind::kArray || kind == TypeKind::kMap || kind == TypeKind::kTuple;
}

/// Validates one spec against the descriptor tables and the cross-references between sections.
/// Sections are read in dependency order (tables, views, streams, sources) whatever their order
/// in the file, so every reference can be checked against what was read before it. Entities with
/// errors are still recorded so that one mistake does not cause a cascade of unknown references.
class SpecLoader {
 public:
  SpecLoader(std::string file, std::string base_dir)
      : errors_(file), file_(std::move(file)), base_dir_(std::move(base_dir)) {}

  SpecLoadResult Load(std::string_view text) {
    text_ = text;
    YAML::Node root;
    try {
      root = YAML::Load(std::string(text));
    } catch (const YAML::Exception& error) {
      errors_.Add(ErrorCode::kSpecSyntax, error.mark, fmt::format("malformed YAML: {}", error.msg));
      return Finish();
    }
    LoadPipeline(root);
    return Finish();
  }

 private:
  SpecLoadResult Finish() {
    SpecLoadResult result;
    result.errors = errors_.Take();
    if (result.errors.empty()) result.spec = std::move(spec_);
    return result;
  }

  /// Reports a name that cannot be written into SQL as is.
  void CheckName(std::string_view what, const std::string& name, const std::string& path,
                 const YAML::Mark& mark) {
    if (IsIdentifier(name)) return;
    errors_.Add(ErrorCode::kSpecInvalidIdentifier, mark,
                fmt::format("{}: invalid {} name '{}': a name starts with a letter or '_', holds "
                            "only letters, digits and '_', and has at most {} characters",
                            path, what, name, kMaxIdentifierLength));
  }

  /// Calls body(name, path, key_mark, value) for each entry of a map of named things, after
  /// checking the name and that it is not given twice.
  template <typename Body>
  void ForEachNamed(const YAML::Node& map, const std::string& map_path, std::string_view what,
                    Body&& body) {
    std::vector<std::pair<std::string, YAML::Mark>> seen;
    for (const auto& entry : map) {
      YAML::Mark key_mark = entry.first.Mark();
      if (!entry.first.IsScalar()) {
        errors_.Add(ErrorCode::kSpecWrongType, key_mark,
                    fmt::format("{}: a {} name must be a string", map_path, what));
        continue;
      }
      const std::string& name = entry.first.Scalar();
      std::string path = fmt::format("{}.{}", map_path, name);
      auto previous = std::find_if(seen.begin(), seen.end(),
                                   [&](const auto& item) { return item.first == name; });
      if (previous != seen.end()) {
        errors_.Add(ErrorCode::kSpecDuplicateName, key_mark,
                    fmt::format("{}: {} '{}' defined twice (first at line {})", path, what, name,
                                previous->second.line + 1));
        continue;
      }
      seen.emplace_back(name, key_mark);
      CheckName(what, name, path, key_mark);
      body(name, path, key_mark, entry.second);
    }
  }

  /// A bare column name in an expression position must be a column of the table; anything more
  /// complex is left for ClickHouse to judge when the DDL runs.
  void CheckColumnReference(const TableSpec& table, std::string_view expression,
                            const std::string& path, const YAML::Mark& mark) {
    if (!IsIdentifier(expression) || FindColumn(table, expression) != nullptr) return;
    errors_.Add(ErrorCode::kSpecUnknownReference, mark,
                fmt::format("{}: table '{}' has no column '{}'{}", path, table.name, expression,
                            DidYouMean(expression, ColumnNames(table))));
  }

  void LoadPipeline(const YAML::Node& root) {
    SectionReader top(root, kTopLevelSection, "", root.Mark(), errors_);
    spec_.file = file_;
    spec_.base_dir = base_dir_;
    spec_.name = top.String("pipeline");
    if (top.Has("pipeline")) {
      CheckName("pipeline", spec_.name, "pipeline", top.MarkOf("pipeline"));
    }
    LoadWarehouse(top);
    if (top.Has("server")) LoadServer(top);
    LoadWal(top);
    LoadMonitoring(top);
    if (top.Has("tables")) {
      ForEachNamed(top.Get("tables"), "tables", "table",
                   [&](const std::string& name, const std::string& path, const YAML::Mark& mark,
                       const YAML::Node& node) { LoadTable(name, path, mark, node); });
    }
    if (top.Has("views")) {
      ForEachNamed(top.Get("views"), "views", "view",
                   [&](const std::string& name, const std::string& path, const YAML::Mark& mark,
                       const YAML::Node& node) { LoadView(name, path, mark, node); });
    }
    if (top.Has("streams")) {
      ForEachNamed(top.Get("streams"), "streams", "stream",
                   [&](const std::string& name, const std::string& path, const YAML::Mark& mark,
                       const YAML::Node& node) { LoadStream(name, path, mark, node); });
    }
    if (top.Has("sources")) {
      ForEachNamed(top.Get("sources"), "sources", "source",
                   [&](const std::string& name, const std::string& path, const YAML::Mark& mark,
                       const YAML::Node& node) { LoadSource(name, path, mark, node); });
    }
    LoadCheckpoint(top);
    if (top.Has("aggregations")) {
      ForEachNamed(top.Get("aggregations"), "aggregations", "aggregation",
                   [&](const std::string& name, const std::string& path, const YAML::Mark& mark,
                       const YAML::Node& node) { LoadAggregation(name, path, mark, node); });
    }
  }

  void LoadCheckpoint(const SectionReader& top) {
    SectionReader reader(top.Get("checkpoint"), kCheckpointSection, "checkpoint",
                         top.MarkOf("checkpoint"), errors_);
    CheckpointSpec& checkpoint = spec_.checkpoint;
    checkpoint.where = errors_.Locate(reader.mark());
    checkpoint.path = ResolvePath(base_dir_, reader.String("path"));
    if (auto interval =
            reader.Duration("interval", std::chrono::milliseconds(10), std::chrono::hours(1))) {
      checkpoint.interval = *interval;
    }
    if (auto retain = reader.Int("retain", 1, 100))
      checkpoint.retain = static_cast<uint32_t>(*retain);
  }

  /// The records an aggregation reads, for messages: "stream 'events'" or, with a union, a map or
  /// an enrichment, what their fields come from.
  static std::string RecordsOf(const AggregationSpec& aggregation) {
    std::string text = aggregation.from.size() == 1 ? "stream " : "streams ";
    for (size_t i = 0; i < aggregation.from.size(); ++i) {
      text += fmt::format("{}'{}'", i > 0 ? ", " : "", aggregation.from[i]);
    }
    if (!aggregation.map.empty()) text += " + map";
    if (aggregation.enrich) text += " + enrich";
    return text;
  }

  /// Checks that `name` is a field of the aggregation's records; returns its type. `known` is
  /// false when `from` named a missing stream: then nothing can be checked.
  const DataType* RequireField(const AggregationSpec& aggregation, bool known,
                               const std::string& key_path, const std::string& name,
                               const YAML::Mark& mark) {
    if (!known) return nullptr;
    std::vector<std::string> names;
    for (const auto& [field, type] : aggregation.fields) {
      if (field == name) return &type;
      names.push_back(field);
    }
    if (std::find(unresolved_fields_.begin(), unresolved_fields_.end(), name) !=
        unresolved_fields_.end()) {
      return nullptr;  // its own definition was reported
    }
    std::string missing_in;
    bool somewhere = false;
    for (const std::string& stream_name : aggregation.from) {
      const StreamSpec* stream = spec_.FindStream(stream_name);
      if (stream == nullptr) continue;
      if (FindField(*stream, name) != nullptr) {
        somewhere = true;
      } else {
        missing_in += fmt::format("{}'{}'", missing_in.empty() ? "" : ", ", stream_name);
      }
    }
    if (somewhere && missing_in.empty()) return nullptr;  // types that differ, reported at from
    if (somewhere) {
      errors_.Add(ErrorCode::kSpecUnknownReference, mark,
                  fmt::format("{}: field '{}' is not in every stream of from (missing in {})",
                              key_path, name, missing_in));
    } else if (aggregation.from.size() == 1 && aggregation.map.empty() && !aggregation.enrich) {
      errors_.Add(ErrorCode::kSpecUnknownReference, mark,
                  fmt::format("{}: stream '{}' has no field '{}'{}", key_path,
                              aggregation.from.front(), name, DidYouMean(name, names)));
    } else {
      errors_.Add(ErrorCode::kSpecUnknownReference, mark,
                  fmt::format("{}: the records of {} have no field '{}'{}", key_path,
                              RecordsOf(aggregation), name, DidYouMean(name, names)));
    }
    return nullptr;
  }

  /// Aggregations read a stream's files, what arrives over HTTP and its Kafka topics; a stream
  /// fed by another queue or database source is stored by that source's own job, which an
  /// aggregation does not read (yet).
  void RefuseQueueFedStream(const SectionReader& reader, const LocatedString& stream) {
    for (const SourceSpec& source : spec_.sources) {
      if (source.stream != stream.text || source.type == "file" || source.type == "kafka") {
        continue;
      }
      errors_.Add(
          ErrorCode::kSpecInvalidValue, stream.mark,
          fmt::format("{}: stream '{}' is fed by {} source '{}'; aggregations read file "
                      "and kafka sources and HTTP ingestion only, not {} sources yet",
                      reader.PathOf("from"), stream.text, source.type, source.name, source.type));
    }
  }

  /// The aggregation's `from`: each a stream, none twice. Fills aggregation.fields with the fields
  /// every stream has; returns false when a stream is unknown (fields cannot be checked then).
  bool LoadFrom(const SectionReader& reader, AggregationSpec& aggregation) {
    std::vector<const StreamSpec*> streams;
    bool known = reader.Has("from");
    std::vector<std::string> names;
    for (const StreamSpec& each : spec_.streams) names.push_back(each.name);
    for (const LocatedString& name : reader.Strings("from")) {
      if (std::find(aggregation.from.begin(), aggregation.from.end(), name.text) !=
          aggregation.from.end()) {
        errors_.Add(
            ErrorCode::kSpecDuplicateName, name.mark,
            fmt::format("{}: stream '{}' is named twice", reader.PathOf("from"), name.text));
        continue;
      }
      aggregation.from.push_back(name.text);
      const StreamSpec* stream = spec_.FindStream(name.text);
      if (stream == nullptr) {
        errors_.Add(ErrorCode::kSpecUnknownReference, name.mark,
                    fmt::format("{}: no stream '{}' in streams{}", reader.PathOf("from"), name.text,
                                DidYouMean(name.text, names)));
        known = false;
      }
      if (stream != nullptr) RefuseQueueFedStream(reader, name);
      streams.push_back(stream);
    }
    if (reader.Has("from") && aggregation.from.empty()) {
      errors_.Add(ErrorCode::kSpecInvalidValue, reader.MarkOf("from"),
                  fmt::format("{}: name at least one stream", reader.PathOf("from")));
    }
    if (!known || streams.empty()) return false;
    for (const StreamFieldSpec& field : streams.front()->fields) {
      bool everywhere = true;
      for (size_t i = 1; i < streams.size(); ++i) {
        const StreamFieldSpec* other = FindField(*streams[i], field.name);
        if (other == nullptr) {
          everywhere = false;
        } else if (!(other->type == field.type)) {
          everywhere = false;
          errors_.Add(ErrorCode::kSpecInvalidValue, reader.MarkOf("from"),
                      fmt::format("{}: field '{}' is {} in stream '{}' but {} in stream '{}'; a "
                                  "union needs one type per field",
                                  reader.PathOf("from"), field.name, field.type.ToString(),
                                  streams.front()->name, other->type.ToString(), streams[i]->name));
        }
      }
      if (everywhere) aggregation.fields.emplace_back(field.name, field.type);
    }
    return true;
  }

  /// `map:` name: expression, each compiled against the streams' fields; results are added to
  /// aggregation.fields (a stream field's name is replaced in place).
  void LoadMap(const SectionReader& owner, AggregationSpec& aggregation, bool known) {
    Schema input;
    for (const auto& [name, type] : aggregation.fields) input.push_back({name, type});
    ForEachNamed(owner.Get("map"), owner.PathOf("map"), "field",
                 [&](const std::string& name, const std::string& path, const YAML::Mark& mark,
                     const YAML::Node& value) {
                   MapFieldSpec field;
                   field.name = name;
                   field.where = errors_.Locate(mark);
                   if (!value.IsScalar() || value.Scalar().empty()) {
                     errors_.Add(ErrorCode::kSpecWrongType, MarkOrKey(value, mark),
                                 fmt::format("{}: expected an expression (e.g. amount * 2)", path));
                     unresolved_fields_.push_back(name);
                     return;
                   }
                   field.expression = value.Scalar();
                   if (known) {
                     size_t offset = 0;
                     Result<Expression> compiled =
                         Expression::CompileValue(field.expression, input, &offset);
                     if (!compiled.ok()) {
                       errors_.Add(compiled.error().code, PointInto(value, value.Mark(), offset),
                                   fmt::format("{}: {}", path, compiled.error().message));
                       unresolved_fields_.push_back(name);
                       return;
                     }
                     field.type = compiled->result_type();
                     auto same = std::find_if(aggregation.fields.begin(), aggregation.fields.end(),
                                              [&](const auto& each) { return each.first == name; });
                     if (same != aggregation.fields.end()) {
                       same->second = field.type;
                     } else {
                       aggregation.fields.emplace_back(name, field.type);
                     }
                   }
                   aggregation.map.push_back(std::move(field));
                 });
    if (owner.Get("map").size() == 0) {
      errors_.Add(ErrorCode::kSpecInvalidValue, owner.MarkOf("map"),
                  fmt::format("{}: name at least one field, or remove map", owner.PathOf("map")));
    }
  }

  /// The Nullable form of an enrichment column's type, as the enrich operator adds it.
  static DataType NullableOf(DataType type) {
    if (type.IsNullable()) return type;
    if (type.kind == TypeKind::kLowCardinality && !type.children.empty()) {
      type.children[0] = NullableOf(type.children[0]);
      return type;
    }
    DataType nullable;
    nullable.kind = TypeKind::kNullable;
    nullable.children.push_back(std::move(type));
    return nullable;
  }

  void LoadEnrich(const SectionReader& owner, AggregationSpec& aggregation, bool known) {
    SectionReader reader(owner.Get("enrich"), kEnrichSection, owner.PathOf("enrich"),
                         owner.MarkOf("enrich"), errors_);
    EnrichSpec enrich;
    enrich.where = errors_.Locate(reader.mark());
    std::string backend = reader.String("backend");
    if (backend == "postgres") {
      enrich.backend = EnrichSpec::Backend::kPostgres;
      if (!reader.Has("dsn")) {
        errors_.Add(ErrorCode::kSpecMissingKey, reader.MarkOf("backend"),
                    fmt::format("{}: a postgres enrichment needs 'dsn'", reader.PathOf("backend")));
      }
    } else if (backend == "clickhouse") {
      if (reader.Has("dsn")) {
        errors_.Add(ErrorCode::kSpecInvalidValue, reader.MarkOf("dsn"),
                    fmt::format("{}: only a postgres enrichment has a dsn (clickhouse reads the "
                                "warehouse)",
                                reader.PathOf("dsn")));
      }
    } else {
      errors_.Add(ErrorCode::kSpecInvalidValue, reader.MarkOf("backend"),
                  fmt::format("{}: unknown backend '{}' (clickhouse or postgres){}",
                              reader.PathOf("backend"), backend,
                              DidYouMean(backend, {"clickhouse", "postgres"})));
    }
    enrich.dsn = reader.String("dsn");
    enrich.table = reader.String("table");
    const TableSpec* table = enrich.backend == EnrichSpec::Backend::kClickHouse
                                 ? spec_.FindTable(enrich.table)
                                 : nullptr;
    for (const LocatedString& key : reader.Strings("key")) {
      enrich.key.push_back(key.text);
      const DataType* type =
          RequireField(aggregation, known, reader.PathOf("key"), key.text, key.mark);
      if (type != nullptr && IsNestedKind(type->Storage().kind)) {
        errors_.Add(ErrorCode::kSpecInvalidValue, key.mark,
                    fmt::format("{}: field '{}' is {}; a key must be a single value",
                                reader.PathOf("key"), key.text, type->ToString()));
      }
    }
    std::vector<LocatedString> lookup_key = reader.Strings("lookup_key");
    if (!reader.Has("lookup_key")) {
      for (const LocatedString& key : reader.Strings("key")) {
        lookup_key.push_back({key.text, reader.MarkOf("key")});
      }
    }
    for (const LocatedString& column : lookup_key) {
      enrich.key_columns.push_back(column.text);
      if (table != nullptr)
        CheckColumnReference(*table, column.text, reader.PathOf("lookup_key"), column.mark);
    }
    if (reader.Has("lookup_key") && enrich.key_columns.size() != enrich.key.size()) {
      errors_.Add(
          ErrorCode::kSpecInvalidValue, reader.MarkOf("lookup_key"),
          fmt::format("{}: {} column(s) for {} key field(s); give one column per field",
                      reader.PathOf("lookup_key"), enrich.key_columns.size(), enrich.key.size()));
    }
    YAML::Node list = reader.Get("fields");
    if (reader.Has("fields") && list.size() == 0) {
      errors_.Add(ErrorCode::kSpecInvalidValue, reader.MarkOf("fields"),
                  fmt::format("{}: name at least one field", reader.PathOf("fields")));
    }
    for (size_t i = 0; i < list.size(); ++i) {
      std::string path = fmt::format("{}[{}]", reader.PathOf("fields"), i);
      SectionReader item(list[i], kEnrichFieldSection, path,
                         MarkOrKey(list[i], reader.MarkOf("fields")), errors_);
      EnrichFieldSpec field;
      field.where = errors_.Locate(item.mark());
      field.name = item.String("name");
      if (!item.Has("name")) continue;
      CheckName("field", field.name, item.PathOf("name"), item.MarkOf("name"));
      bool taken =
          std::any_of(aggregation.fields.begin(), aggregation.fields.end(),
                      [&](const auto& each) { return each.first == field.name; }) ||
          std::any_of(enrich.fields.begin(), enrich.fields.end(),
                      [&](const EnrichFieldSpec& each) { return each.name == field.name; });
      if (taken) {
        errors_.Add(ErrorCode::kSpecDuplicateName, item.MarkOf("name"),
                    fmt::format("{}: '{}' is already a field of the records or of the enrichment",
                                item.PathOf("name"), field.name));
      }
      field.column = item.Has("column") ? item.String("column") : field.name;
      const ColumnSpec* column = nullptr;
      if (table != nullptr) {
        column = FindColumn(*table, field.column);
        if (column == nullptr) {
          errors_.Add(ErrorCode::kSpecUnknownReference,
                      item.Has("column") ? item.MarkOf("column") : item.MarkOf("name"),
                      fmt::format("{}: table '{}' has no column '{}'{}",
                                  item.PathOf(item.Has("column") ? "column" : "name"), table->name,
                                  field.column, DidYouMean(field.column, ColumnNames(*table))));
        }
      }
      bool typed = false;
      if (item.Has("type")) {
        Result<DataType> type = ParseDataType(item.String("type"));
        if (!type.ok()) {
          errors_.Add(ErrorCode::kSpecInvalidType, item.MarkOf("type"),
                      fmt::format("{}: {}", item.PathOf("type"), type.error().message));
        } else {
          field.type = *type;
          typed = true;
        }
      } else if (column != nullptr) {
        field.type = column->type;
        typed = true;
      } else if (table == nullptr) {
        errors_.Add(
            ErrorCode::kSpecMissingKey, item.mark(),
            fmt::format("{}: needs a type ('{}' is not a table of the spec)", path, enrich.table));
      }
      if (typed && IsNestedKind(field.type.Storage().kind)) {
        errors_.Add(ErrorCode::kSpecInvalidValue,
                    item.Has("type") ? item.MarkOf("type") : item.MarkOf("name"),
                    fmt::format("{}: {} cannot be NULL when the key is not found; enrich with "
                                "single values",
                                path, field.type.ToString()));
        typed = false;
      }
      if (typed && !taken && known) {
        aggregation.fields.emplace_back(field.name, NullableOf(field.type));
      } else if (!taken) {
        unresolved_fields_.push_back(field.name);
      }
      enrich.fields.push_back(std::move(field));
    }
    if (auto size = reader.Int("cache_size", 1, 100'000'000)) {
      enrich.cache_size = static_cast<uint32_t>(*size);
    }
    if (auto ttl =
            reader.Duration("cache_ttl", std::chrono::milliseconds(0), std::chrono::days(30))) {
      enrich.cache_ttl = *ttl;
    }
    if (auto concurrency = reader.Int("concurrency", 1, 256)) {
      enrich.concurrency = static_cast<uint32_t>(*concurrency);
    }
    if (auto keys = reader.Int("max_keys_per_lookup", 1, 100'000)) {
      enrich.max_keys_per_lookup = static_cast<uint32_t>(*keys);
    }
    if (auto timeout =
            reader.Duration("timeout", std::chrono::milliseconds(1), std::chrono::minutes(10))) {
      enrich.timeout = *timeout;
    }
    std::string fallback = reader.String("fallback");
    if (fallback == "dead_letter") {
      enrich.fallback = EnrichSpec::Fallback::kDeadLetter;
    } else if (fallback == "fail") {
      enrich.fallback = EnrichSpec::Fallback::kFail;
    } else if (fallback != "nulls") {
      errors_.Add(ErrorCode::kSpecInvalidValue, reader.MarkOf("fallback"),
                  fmt::format("{}: unknown fallback '{}' (nulls, dead_letter or fail){}",
                              reader.PathOf("fallback"), fallback,
                              DidYouMean(fallback, {"nulls", "dead_letter", "fail"})));
    }
    enrich.ordered = reader.Bool("ordered");
    aggregation.enrich = std::move(enrich);
  }

  /// Event time is a Date, DateTime, DateTime64 or integer milliseconds.
  void RequireEventTimeType(const std::string& field, const DataType& type,
                            const SectionReader& reader, std::string_view key) {
    TypeKind kind = type.Storage().kind;
    bool fits = kind == TypeKind::kDate || kind == TypeKind::kDate32 ||
                kind == TypeKind::kDateTime || kind == TypeKind::kDateTime64 ||
                kind == TypeKind::kInt64 || kind == TypeKind::kUInt64 || kind == TypeKind::kInt32 ||
                kind == TypeKind::kUInt32;
    if (!fits) {
      errors_.Add(ErrorCode::kSpecInvalidValue, reader.MarkOf(key),
                  fmt::format("{}: field '{}' is {}; event time must be a Date, DateTime, "
                              "DateTime64 or integer milliseconds",
                              reader.PathOf(key), field, type.ToString()));
    }
  }

  void LoadAggregation(const std::string& name, const std::string& path, const YAML::Mark& mark,
                       const YAML::Node& node) {
    SectionReader reader(node, kAggregationSection, path, mark, errors_);
    AggregationSpec aggregation;
    aggregation.name = name;
    aggregation.where = errors_.Locate(mark);
    unresolved_fields_.clear();
    bool known = LoadFrom(reader, aggregation);
    if (reader.Has("map")) LoadMap(reader, aggregation, known);
    if (reader.Has("enrich")) LoadEnrich(reader, aggregation, known);
    if (reader.Has("filter")) {
      aggregation.filter = reader.String("filter");
      if (known && unresolved_fields_.empty()) {
        Schema schema;
        for (const auto& [field, type] : aggregation.fields) schema.push_back({field, type});
        size_t offset = 0;
        Result<Expression> compiled =
            Expression::CompileCondition(aggregation.filter, schema, &offset);
        if (!compiled.ok()) {
          errors_.Add(compiled.error().code,
                      PointInto(reader.Get("filter"), reader.MarkOf("filter"), offset),
                      fmt::format("{}: {}", reader.PathOf("filter"), compiled.error().message));
        }
      }
    }
    for (const LocatedString& key : reader.Strings("key_by")) {
      aggregation.key_by.push_back(key.text);
      const DataType* type =
          RequireField(aggregation, known, reader.PathOf("key_by"), key.text, key.mark);
      if (type != nullptr && IsNestedKind(type->Storage().kind)) {
        errors_.Add(ErrorCode::kSpecInvalidValue, key.mark,
                    fmt::format("{}: field '{}' is {}; a key must be a single value",
                                reader.PathOf("key_by"), key.text, type->ToString()));
      }
    }
    if (reader.Has("window")) LoadWindow(reader, aggregation);
    if (reader.Has("event_time")) LoadEventTime(reader, aggregation, known);
    if (auto lateness = reader.Duration("allowed_lateness", std::chrono::milliseconds(0),
                                        std::chrono::days(7))) {
      aggregation.allowed_lateness = *lateness;
    }
    if (reader.Has("aggregates")) LoadAggregates(reader, aggregation, known);
    aggregation.table = reader.Has("table") ? reader.String("table") : name;
    CheckName("table", aggregation.table, reader.PathOf("table"),
              reader.Has("table") ? reader.MarkOf("table") : mark);
    aggregation.late_table =
        reader.Has("late_table") ? reader.String("late_table") : name + "_late";
    CheckName("table", aggregation.late_table, reader.PathOf("late_table"),
              reader.Has("late_table") ? reader.MarkOf("late_table") : mark);
    for (const std::string& table : {aggregation.table, aggregation.late_table}) {
      if (spec_.FindTable(table) != nullptr) {
        errors_.Add(
            ErrorCode::kSpecDuplicateName, reader.Has("table") ? reader.MarkOf("table") : mark,
            fmt::format("{}: table '{}' is also defined in tables; an aggregation creates its "
                        "own tables",
                        path, table));
      }
    }
    if (auto parallelism = reader.Int("parallelism", 0, 128)) {
      aggregation.parallelism = static_cast<uint32_t>(*parallelism);
    }
    std::string backend = reader.String("state_backend");
    if (backend == "rocksdb") {
      aggregation.state_backend = AggregationSpec::StateBackend::kRocksDb;
    } else if (backend != "memory") {
      errors_.Add(ErrorCode::kSpecInvalidValue, reader.MarkOf("state_backend"),
                  fmt::format("{}: unknown state backend '{}'{}", reader.PathOf("state_backend"),
                              backend, DidYouMean(backend, {"memory", "rocksdb"})));
    }
    aggregation.state_follows_partitions = reader.Bool("state_follows_partitions");
    if (aggregation.state_follows_partitions && known) CheckPartitionState(reader, aggregation);
    spec_.aggregations.push_back(std::move(aggregation));
  }

  /// `state_follows_partitions`: the aggregation reads one Kafka topic and its first key field
  /// is the partition number, so that each partition's keys form one key group that can move
  /// to another process with the partition.
  void CheckPartitionState(const SectionReader& reader, const AggregationSpec& aggregation) {
    auto refuse = [&](const std::string& why) {
      errors_.Add(ErrorCode::kSpecInvalidValue, reader.MarkOf("state_follows_partitions"),
                  fmt::format("{}: {}", reader.PathOf("state_follows_partitions"), why));
    };
    if (aggregation.from.size() != 1) {
      return refuse("state follows the partitions of one Kafka topic: read one stream");
    }
    const std::string& stream = aggregation.from.front();
    const SourceSpec* kafka = nullptr;
    for (const SourceSpec& source : spec_.sources) {
      if (source.stream != stream) continue;
      if (source.type != "kafka" || kafka != nullptr || !source.kafka) {
        return refuse(fmt::format(
            "stream '{}' must be fed by one kafka source only, not also by {} source '{}'", stream,
            source.type, source.name));
      }
      kafka = &source;
    }
    if (kafka == nullptr) return refuse(fmt::format("stream '{}' has no kafka source", stream));
    if (kafka->kafka->topics.size() != 1) {
      return refuse(fmt::format("source '{}' must read one topic", kafka->name));
    }
    std::string partition_field;
    for (const auto& [what, field] : kafka->kafka->message.metadata) {
      if (what == "partition") partition_field = field;
    }
    if (partition_field.empty()) {
      return refuse(fmt::format(
          "source '{}' must store the partition number in a field (kafka.metadata.partition)",
          kafka->name));
    }
    if (aggregation.key_by.empty() || aggregation.key_by.front() != partition_field) {
      return refuse(
          fmt::format("the first key_by field must be '{}', the partition number, so "
                      "that each partition's keys move with it",
                      partition_field));
    }
    for (const auto& [name, type] : aggregation.fields) {
      if (name != partition_field) continue;
      if (type.kind < TypeKind::kInt8 || type.kind > TypeKind::kUInt64) {
        refuse(
            fmt::format("field '{}' is {}; the partition number needs an integer type that "
                        "is not Nullable",
                        name, type.ToString()));
      }
    }
  }

  void LoadWindow(const SectionReader& owner, AggregationSpec& aggregation) {
    SectionReader reader(owner.Get("window"), kWindowSection, owner.PathOf("window"),
                         owner.MarkOf("window"), errors_);
    WindowSpec& window = aggregation.window;
    window.where = errors_.Locate(reader.mark());
    std::string type = reader.String("type");
    auto duration = [&](std::string_view key) {
      return reader.Duration(key, std::chrono::milliseconds(1), std::chrono::days(366))
          .value_or(std::chrono::milliseconds(0));
    };
    auto require = [&](std::string_view key) {
      if (!reader.Has(key)) {
        errors_.Add(ErrorCode::kSpecMissingKey, reader.mark(),
                    fmt::format("{}: a {} window needs '{}'", reader.path(), type, key));
      }
    };
    auto refuse = [&](std::string_view key) {
      if (reader.Has(key)) {
        errors_.Add(ErrorCode::kSpecInvalidValue, reader.MarkOf(key),
                    fmt::format("{}: a {} window has no '{}'", reader.PathOf(key), type, key));
      }
    };
    if (type == "tumbling") {
      window.kind = WindowSpec::Kind::kTumbling;
      require("size");
      for (auto key : {"slide", "gap", "trigger_count", "trigger_interval"}) refuse(key);
    } else if (type == "hopping" || type == "sliding") {
      window.kind = WindowSpec::Kind::kHopping;
      require("size");
      require("slide");
      for (auto key : {"gap", "trigger_count", "trigger_interval"}) refuse(key);
    } else if (type == "session") {
      window.kind = WindowSpec::Kind::kSession;
      require("gap");
      for (auto key : {"size", "slide", "trigger_count", "trigger_interval"}) refuse(key);
    } else if (type == "global") {
      window.kind = WindowSpec::Kind::kGlobal;
      for (auto key : {"size", "slide", "gap"}) refuse(key);
      if (!reader.Has("trigger_count") && !reader.Has("trigger_interval")) {
        errors_.Add(ErrorCode::kSpecMissingKey, reader.mark(),
                    fmt::format("{}: a global window needs trigger_count or trigger_interval",
                                reader.path()));
      }
    } else if (reader.Has("type")) {
      errors_.Add(ErrorCode::kSpecInvalidValue, reader.MarkOf("type"),
                  fmt::format("{}: unknown window type '{}'{}", reader.PathOf("type"), type,
                              DidYouMean(type, {"tumbling", "hopping", "session", "global"})));
    }
    window.size = duration("size");
    window.slide = duration("slide");
    window.gap = duration("gap");
    window.trigger_interval = duration("trigger_interval");
    if (auto count = reader.Int("trigger_count", 1, int64_t{1} << 40)) {
      window.trigger_count = static_cast<uint64_t>(*count);
    }
    if (window.kind == WindowSpec::Kind::kHopping && window.slide.count() > 0 &&
        window.size.count() > 0 && window.size.count() % window.slide.count() != 0) {
      errors_.Add(ErrorCode::kSpecInvalidValue, reader.MarkOf("slide"),
                  fmt::format("{}: the size ({} ms) must be a multiple of the slide ({} ms)",
                              reader.PathOf("slide"), window.size.count(), window.slide.count()));
    }
  }

  void LoadEventTime(const SectionReader& owner, AggregationSpec& aggregation, bool known) {
    SectionReader reader(owner.Get("event_time"), kEventTimeSection, owner.PathOf("event_time"),
                         owner.MarkOf("event_time"), errors_);
    EventTimeSpec event_time;
    event_time.where = errors_.Locate(reader.mark());
    event_time.field = reader.String("field");
    if (reader.Has("field")) {
      const DataType* type = RequireField(aggregation, known, reader.PathOf("field"),
                                          event_time.field, reader.MarkOf("field"));
      if (type != nullptr) RequireEventTimeType(event_time.field, *type, reader, "field");
    }
    if (auto bound = reader.Duration("max_out_of_orderness", std::chrono::milliseconds(0),
                                     std::chrono::days(7))) {
      event_time.max_out_of_orderness = *bound;
    }
    if (auto idle =
            reader.Duration("idle_timeout", std::chrono::milliseconds(1), std::chrono::days(7))) {
      event_time.idle_timeout = *idle;
    }
    aggregation.event_time = std::move(event_time);
  }

  void LoadAggregates(const SectionReader& owner, AggregationSpec& aggregation, bool known) {
    YAML::Node list = owner.Get("aggregates");
    if (list.size() == 0) {
      errors_.Add(ErrorCode::kSpecInvalidValue, owner.MarkOf("aggregates"),
                  fmt::format("{}: name at least one aggregate", owner.PathOf("aggregates")));
    }
    std::vector<std::string> taken = aggregation.key_by;
    taken.insert(taken.end(), {"window_start", "window_end", "_version", "_is_deleted"});
    for (size_t i = 0; i < list.size(); ++i) {
      std::string path = fmt::format("{}[{}]", owner.PathOf("aggregates"), i);
      SectionReader reader(list[i], kAggregateSection, path, list[i].Mark(), errors_);
      AggregateSpec aggregate;
      aggregate.where = errors_.Locate(reader.mark());
      aggregate.name = reader.String("name");
      CheckName("column", aggregate.name, reader.PathOf("name"), reader.MarkOf("name"));
      if (std::find(taken.begin(), taken.end(), aggregate.name) != taken.end()) {
        errors_.Add(
            ErrorCode::kSpecDuplicateName, reader.MarkOf("name"),
            fmt::format("{}: column '{}' is already a key, window or earlier aggregate column",
                        reader.PathOf("name"), aggregate.name));
      }
      taken.push_back(aggregate.name);
      aggregate.function = reader.String("function");
      aggregate.field = reader.String("field");
      if (reader.Has("level")) {
        std::string text = reader.String("level");
        char* end = nullptr;
        aggregate.level = std::strtod(text.c_str(), &end);
        if (end == text.c_str() || *end != '\0' || !(aggregate.level > 0 && aggregate.level < 1)) {
          errors_.Add(ErrorCode::kSpecInvalidValue, reader.MarkOf("level"),
                      fmt::format("{}: '{}' is not a level between 0 and 1 (exclusive)",
                                  reader.PathOf("level"), text));
        }
      }
      if (auto k = reader.Int("k", 1, 10000)) aggregate.k = static_cast<uint32_t>(*k);
      const DataType* field = nullptr;
      if (reader.Has("field")) {
        field = RequireField(aggregation, known, reader.PathOf("field"), aggregate.field,
                             reader.MarkOf("field"));
      }
      if (reader.Has("function")) {
        AggregateCall call{aggregate.function, aggregate.name, aggregate.field, aggregate.level,
                           aggregate.k};
        if (aggregate.function != "count" && !reader.Has("field")) {
          errors_.Add(ErrorCode::kSpecMissingKey, reader.mark(),
                      fmt::format("{}: {} needs a field", path, aggregate.function));
        } else if (field != nullptr || aggregate.function == "count") {
          auto made = MakeAggregateFunction(call, field);
          if (!made.ok()) {
            errors_.Add(made.error().code, reader.MarkOf("function"),
                        fmt::format("{}: {}", reader.PathOf("function"), made.error().message));
          }
        }
      }
      aggregation.aggregates.push_back(std::move(aggregate));
    }
  }

  void LoadWarehouse(const SectionReader& top) {
    SectionReader reader(top.Get("warehouse"), kWarehouseSection, "warehouse",
                         top.MarkOf("warehouse"), errors_);
    WarehouseSpec& warehouse = spec_.warehouse;
    warehouse.where = errors_.Locate(reader.mark());
    warehouse.mode = reader.String("mode");
    if (warehouse.mode != "embedded") {
      errors_.Add(
          ErrorCode::kSpecInvalidValue, reader.MarkOf("mode"),
          fmt::format("warehouse.mode: '{}' is not supported (only 'embedded')", warehouse.mode));
    }
    warehouse.path = ResolvePath(base_dir_, reader.String("path"));
    warehouse.database = reader.String("database");
    CheckName("database", warehouse.database, "warehouse.database", reader.MarkOf("database"));
  }

  std::optional<ListenAddress> ReadListenAddress(const SectionReader& reader,
                                                 std::string_view key) {
    std::string text = reader.String(key);
    std::optional<ListenAddress> address = ParseListenAddress(text);
    if (!address) {
      errors_.Add(ErrorCode::kSpecInvalidValue, reader.MarkOf(key),
                  fmt::format("{}: '{}' is not host:port (e.g. 127.0.0.1:8080, [::1]:8080, "
                              "0.0.0.0:0)",
                              reader.PathOf(key), text));
    }
    return address;
  }

  void LoadServer(const SectionReader& top) {
    SectionReader reader(top.Get("server"), kServerSection, "server", top.MarkOf("server"),
                         errors_);
    ServerSpec server;
    server.where = errors_.Locate(reader.mark());
    if (std::optional<ListenAddress> listen = ReadListenAddress(reader, "listen")) {
      server.listen = *listen;
    }
    if (reader.Has("query_listen")) {
      server.query_listen = ReadListenAddress(reader, "query_listen");
      if (server.query_listen && server.query_listen->port != 0 &&
          server.query_listen->port == server.listen.port &&
          server.query_listen->host == server.listen.host) {
        errors_.Add(ErrorCode::kSpecInvalidValue, reader.MarkOf("query_listen"),
                    fmt::format("{}: {} is already the ingest address (listen)",
                                reader.PathOf("query_listen"), server.query_listen->ToString()));
      }
    }
    if (auto threads = reader.Int("threads", 1, 64))
      server.threads = static_cast<uint32_t>(*threads);
    if (auto bytes = reader.Int("max_body_bytes", 1, int64_t{1} << 32)) {
      server.max_body_bytes = static_cast<uint64_t>(*bytes);
    }
    if (reader.Has("auth")) {
      SectionReader auth(reader.Get("auth"), kServerAuthSection, reader.PathOf("auth"),
                         reader.MarkOf("auth"), errors_);
      for (const LocatedString& variable : auth.Strings("tokens_env")) {
        if (!IsIdentifier(variable.text)) {
          errors_.Add(ErrorCode::kSpecInvalidIdentifier, variable.mark,
                      fmt::format("{}: '{}' is not an environment variable name (letters, digits "
                                  "and '_', not starting with a digit)",
                                  auth.PathOf("tokens_env"), variable.text));
        }
        server.token_variables.push_back(variable.text);
      }
      if (auth.Has("tokens_env") && server.token_variables.empty()) {
        errors_.Add(ErrorCode::kSpecInvalidValue, auth.MarkOf("tokens_env"),
                    fmt::format("{}: name at least one variable, or remove auth",
                                auth.PathOf("tokens_env")));
      }
    }
    server.query_read_only = reader.Bool("query_read_only");
    spec_.server = std::move(server);
  }

  void LoadWal(const SectionReader& top) {
    SectionReader reader(top.Get("wal"), kWalSection, "wal", top.MarkOf("wal"), errors_);
    WalSpec& wal = spec_.wal;
    wal.where = errors_.Locate(reader.mark());
    wal.path = ResolvePath(base_dir_, reader.String("path"));
    if (auto bytes = reader.Int("segment_bytes", 4096, int64_t{1} << 32)) {
      wal.segment_bytes = static_cast<uint64_t>(*bytes);
    }
    if (auto bytes = reader.Int("max_disk_bytes", 4096, int64_t{1} << 50)) {
      wal.max_disk_bytes = static_cast<uint64_t>(*bytes);
      if (wal.max_disk_bytes < wal.segment_bytes) {
        errors_.Add(
            ErrorCode::kSpecInvalidValue, reader.MarkOf("max_disk_bytes"),
            fmt::format("{}: {} is less than one segment ({} bytes)",
                        reader.PathOf("max_disk_bytes"), wal.max_disk_bytes, wal.segment_bytes));
      }
    }
  }

  void LoadMonitoring(const SectionReader& top) {
    SectionReader reader(top.Get("monitoring"), kMonitoringSection, "monitoring",
                         top.MarkOf("monitoring"), errors_);
    MonitoringSpec& monitoring = spec_.monitoring;
    monitoring.where = errors_.Locate(reader.mark());
    using std::chrono::milliseconds;
    if (auto value = reader.Duration("probe_interval", milliseconds(1000), std::chrono::hours(1))) {
      monitoring.probe_interval = *value;
    }
    if (auto value = reader.Duration("slow_query", milliseconds(1), std::chrono::hours(1))) {
      monitoring.slow_query = *value;
    }
    monitoring.job = reader.String("job");
    if (monitoring.job.empty()) {
      errors_.Add(ErrorCode::kSpecInvalidValue, reader.MarkOf("job"),
                  fmt::format("{}: name the Prometheus job", reader.PathOf("job")));
    }
    if (auto value = reader.Duration("alert_for", milliseconds(0), std::chrono::days(1))) {
      monitoring.alert_for = *value;
    }
    if (auto value = reader.Duration("latency_p99", milliseconds(1), std::chrono::hours(1))) {
      monitoring.latency_p99 = *value;
    }
    if (auto value = reader.Int("slow_queries", 0, 1000000)) {
      monitoring.slow_queries = static_cast<uint32_t>(*value);
    }
    if (auto value = reader.Int("max_parts_per_partition", 1, 100000)) {
      monitoring.max_parts_per_partition = static_cast<uint32_t>(*value);
    }
    if (auto value = reader.Int("dead_letter_percent", 0, 100)) {
      monitoring.dead_letter_percent = static_cast<uint32_t>(*value);
    }
    if (auto value =
            reader.Duration("checkpoint_max_age", milliseconds(1000), std::chrono::days(30))) {
      monitoring.checkpoint_max_age = *value;
    }
    if (auto value = reader.Int("source_lag_records", 0, int64_t{1} << 53)) {
      monitoring.source_lag_records = static_cast<uint64_t>(*value);
    }
    if (auto value = reader.Int("restarts", 0, 1000)) {
      monitoring.restarts = static_cast<uint32_t>(*value);
    }
    if (auto value = reader.Int("wal_full_percent", 1, 100)) {
      monitoring.wal_full_percent = static_cast<uint32_t>(*value);
    }
    if (auto value = reader.Int("batch_bytes_per_hour", 1, int64_t{1} << 60)) {
      monitoring.batch_bytes_per_hour = static_cast<uint64_t>(*value);
    }
  }

  void LoadTable(const std::string& name, const std::string& path, const YAML::Mark& mark,
                 const YAML::Node& node) {
    SectionReader reader(node, kTableSection, path, mark, errors_);
    TableSpec table;
    table.name = name;
    table.where = errors_.Locate(mark);
    if (reader.Has("columns")) {
      YAML::Node columns = reader.Get("columns");
      if (columns.size() == 0) {
        errors_.Add(ErrorCode::kSpecInvalidValue, reader.MarkOf("columns"),
                    fmt::format("{}: a table needs at least one column", reader.PathOf("columns")));
      }
      for (size_t i = 0; i < columns.size(); ++i) {
        LoadColumn(table, fmt::format("{}[{}]", reader.PathOf("columns"), i),
                   MarkOrKey(columns[i], reader.MarkOf("columns")), columns[i]);
      }
    }
    table.storage.engine = LoadEngine(reader, &table);
    LoadStorage(reader, table.storage, &table);
    if (reader.Has("projections")) {
      ForEachNamed(
          reader.Get("projections"), reader.PathOf("projections"), "projection",
          [&](const std::string& projection_name, const std::string& projection_path,
              const YAML::Mark& key_mark, const YAML::Node& query) {
            if (!query.IsScalar() || Trim(query.Scalar()).empty()) {
              errors_.Add(
                  ErrorCode::kSpecWrongType, MarkOrKey(query, key_mark),
                  fmt::format("{}: expected the projection's query (SELECT ...)", projection_path));
              return;
            }
            table.projections.push_back(
                {projection_name, std::string(Trim(query.Scalar())), errors_.Locate(key_mark)});
          });
    }
    if (reader.Has("indexes")) {
      ForEachNamed(reader.Get("indexes"), reader.PathOf("indexes"), "index",
                   [&](const std::string& index_name, const std::string& index_path,
                       const YAML::Mark& key_mark, const YAML::Node& index_node) {
                     LoadIndex(table, index_name, index_path, MarkOrKey(index_node, key_mark),
                               index_node);
                   });
    }
    if (auto window = reader.Int("deduplication_window", 0, std::numeric_limits<uint32_t>::max())) {
      table.deduplication_window = static_cast<uint32_t>(*window);
    }
    table.comment = reader.String("comment");
    spec_.tables.push_back(std::move(table));
  }

  void LoadColumn(TableSpec& table, const std::string& path, const YAML::Mark& mark,
                  const YAML::Node& node) {
    SectionReader reader(node, kColumnSection, path, mark, errors_);
    ColumnSpec column;
    column.where = errors_.Locate(mark);
    column.name = reader.String("name");
    if (reader.Has("name")) {
      CheckName("column", column.name, reader.PathOf("name"), reader.MarkOf("name"));
      if (const ColumnSpec* previous = FindColumn(table, column.name)) {
        errors_.Add(ErrorCode::kSpecDuplicateName, reader.MarkOf("name"),
                    fmt::format("{}: column '{}' defined twice (first at line {})",
                                reader.PathOf("name"), column.name, previous->where.line));
      }
    }
    if (reader.Has("type")) {
      Result<DataType> type = ParseDataType(reader.String("type"));
      if (type.ok()) {
        column.type = std::move(*type);
      } else {
        errors_.Add(type.error().code, reader.MarkOf("type"),
                    fmt::format("{}: {}", reader.PathOf("type"), type.error().message));
      }
    }
    for (const LocatedString& codec : reader.Strings("codec")) {
      if (Status status = CheckCodec(codec.text); !status.ok()) {
        errors_.Add(status.error().code, codec.mark,
                    fmt::format("{}: {}", reader.PathOf("codec"), status.error().message));
      }
      column.codecs.push_back(codec.text);
    }
    std::vector<std::string_view> given;
    for (auto [key, kind] : {std::pair{"default", ColumnSpec::DefaultKind::kDefault},
                             std::pair{"materialized", ColumnSpec::DefaultKind::kMaterialized},
                             std::pair{"alias", ColumnSpec::DefaultKind::kAlias}}) {
      if (!reader.Has(key)) continue;
      given.push_back(key);
      column.default_kind = kind;
      column.default_expression = reader.String(key);
    }
    if (given.size() > 1) {
      errors_.Add(
          ErrorCode::kSpecInvalidValue, mark,
          fmt::format("{}: at most one of default, materialized and alias may be given "
                      "(found {})",
                      path, Join(std::vector<std::string>(given.begin(), given.end()), ", ")));
    }
    column.ttl = reader.String("ttl");
    column.comment = reader.String("comment");
    // A column without a name cannot be referred to; one with a bad name or type is kept so that
    // references to it do not add errors of their own.
    if (reader.Has("name")) table.columns.push_back(std::move(column));
  }

  void LoadIndex(TableSpec& table, const std::string& name, const std::string& path,
                 const YAML::Mark& mark, const YAML::Node& node) {
    SectionReader reader(node, kIndexSection, path, mark, errors_);
    IndexSpec index;
    index.name = name;
    index.where = errors_.Locate(mark);
    index.expression = reader.String("expression");
    if (reader.Has("expression")) {
      CheckColumnReference(table, index.expression, reader.PathOf("expression"),
                           reader.MarkOf("expression"));
    }
    index.type = reader.String("type");
    if (reader.Has("type")) {
      if (Status status = CheckIndexType(index.type); !status.ok()) {
        errors_.Add(status.error().code, reader.MarkOf("type"),
                    fmt::format("{}: {}", reader.PathOf("type"), status.error().message));
      }
    }
    if (auto granularity = reader.Int("granularity", 1, 1'000'000)) {
      index.granularity = static_cast<int>(*granularity);
    }
    table.indexes.push_back(std::move(index));
  }

  /// The engine of a table, or of a view with its own storage when `table` is null (a view's
  /// columns come from its query, so column names cannot be checked here).
  EngineSpec LoadEngine(const SectionReader& owner, const TableSpec* table) {
    EngineSpec engine;
    std::string path = owner.PathOf("engine");
    YAML::Mark mark = owner.MarkOf("engine");
    engine.where = errors_.Locate(mark);
    YAML::Node node = owner.Get("engine");
    std::string family_text = std::string(kEngineSection.Find("family")->default_value);
    YAML::Mark family_mark = mark;
    std::optional<SectionReader> reader;
    if (node.IsScalar()) {
      family_text = node.Scalar();
    } else if (node.IsMap()) {
      reader.emplace(node, kEngineSection, path, mark, errors_);
      family_text = reader->String("family");
      family_mark = reader->MarkOf("family");
    }
    Result<EngineName> name = ParseEngineName(family_text);
    if (!name.ok()) {
      errors_.Add(
          name.error().code, family_mark,
          fmt::format("{}: {}", reader ? reader->PathOf("family") : path, name.error().message));
      return engine;
    }
    engine.family = name->family;
    engine.replicated = name->replicated;
    if (!reader) {
      if (IsOneOf(engine.family, {"CollapsingMergeTree", "VersionedCollapsingMergeTree"})) {
        errors_.Add(
            ErrorCode::kSpecMissingKey, mark,
            fmt::format(
                "{}: {} needs its sign column; use the map form {{family: {}, "
                "sign: <column>{}}}",
                path, engine.family, engine.family,
                engine.family == "VersionedCollapsingMergeTree" ? ", version: <column>" : ""));
      }
      return engine;
    }
    engine.replicated = engine.replicated || reader->Bool("replicated");
    engine.zookeeper_path = reader->String("zookeeper_path");
    engine.replica_name = reader->String("replica");
    for (std::string_view key : {"zookeeper_path", "replica"}) {
      if (reader->Has(key) && !engine.replicated) {
        errors_.Add(ErrorCode::kSpecInvalidValue, reader->MarkOf(key),
                    fmt::format("{}: only a replicated engine has a {} (add replicated: true)",
                                reader->PathOf(key), key));
      }
    }
    CheckEngineColumns(*reader, engine, table);
    return engine;
  }

  /// The family-specific engine columns: which families take each, which need it, and that each
  /// names a column of the table.
  void CheckEngineColumns(const SectionReader& reader, EngineSpec& engine, const TableSpec* table) {
    const std::string& family = engine.family;
    struct EngineColumn {
      std::string_view key;
      std::string* target;
      std::vector<std::string_view> allowed;
      std::vector<std::string_view> required;
    };
    const EngineColumn engine_columns[] = {
        {"version",
         &engine.version_column,
         {"ReplacingMergeTree", "VersionedCollapsingMergeTree"},
         {"VersionedCollapsingMergeTree"}},
        {"is_deleted", &engine.is_deleted_column, {"ReplacingMergeTree"}, {}},
        {"sign",
         &engine.sign_column,
         {"CollapsingMergeTree", "VersionedCollapsingMergeTree"},
         {"CollapsingMergeTree", "VersionedCollapsingMergeTree"}},
    };
    for (const EngineColumn& column : engine_columns) {
      if (!reader.Has(column.key)) {
        if (IsOneOf(family, column.required)) {
          errors_.Add(ErrorCode::kSpecMissingKey, reader.mark(),
                      fmt::format("{}: {} needs '{}'", reader.path(), family, column.key));
        }
        continue;
      }
      if (!IsOneOf(family, column.allowed)) {
        errors_.Add(
            ErrorCode::kSpecInvalidValue, reader.MarkOf(column.key),
            fmt::format("{}: {} has no {} column (only {})", reader.PathOf(column.key), family,
                        column.key,
                        Join(std::vector<std::string>(column.allowed.begin(), column.allowed.end()),
                             " and ")));
        continue;
      }
      *column.target = reader.String(column.key);
      if (table != nullptr) {
        RequireColumn(*table, *column.target, reader.PathOf(column.key), reader.MarkOf(column.key));
      }
    }
    if (reader.Has("is_deleted") && family == "ReplacingMergeTree" && !reader.Has("version")) {
      errors_.Add(
          ErrorCode::kSpecMissingKey, reader.MarkOf("is_deleted"),
          fmt::format("{}: is_deleted needs a version column", reader.PathOf("is_deleted")));
    }
    if (!reader.Has("sum_columns")) return;
    if (family != "SummingMergeTree") {
      errors_.Add(
          ErrorCode::kSpecInvalidValue, reader.MarkOf("sum_columns"),
          fmt::format("{}: only SummingMergeTree sums columns", reader.PathOf("sum_columns")));
      return;
    }
    for (const LocatedString& column : reader.Strings("sum_columns")) {
      if (table != nullptr) {
        RequireColumn(*table, column.text, reader.PathOf("sum_columns"), column.mark);
      }
      engine.sum_columns.push_back(column.text);
    }
  }

  void RequireColumn(const TableSpec& table, const std::string& name, const std::string& path,
                     const YAML::Mark& mark) {
    if (FindColumn(table, name) != nullptr) return;
    errors_.Add(ErrorCode::kSpecUnknownReference, mark,
                fmt::format("{}: table '{}' has no column '{}'{}", path, table.name, name,
                            DidYouMean(name, ColumnNames(table))));
  }

  /// order_by / primary_key: a list, or one string that may be written as a SQL tuple.
  std::vector<LocatedString> KeyElements(const SectionReader& reader, std::string_view key) {
    YAML::Node node = reader.Get(key);
    if (!node.IsScalar()) return reader.Strings(key);
    std::vector<LocatedString> elements;
    for (std::string& part : SplitTopLevel(StripTuple(node.Scalar()))) {
      elements.push_back({std::move(part), node.Mark()});
    }
    return elements;
  }

  /// The storage keys shared by tables and views with their own engine; `table` is null for views.
  void LoadStorage(const SectionReader& reader, StorageSpec& storage, const TableSpec* table) {
    storage.partition_by = reader.String("partition_by");
    if (table != nullptr && reader.Has("partition_by")) {
      CheckColumnReference(*table, Trim(storage.partition_by), reader.PathOf("partition_by"),
                           reader.MarkOf("partition_by"));
    }
    std::vector<LocatedString> order_by = KeyElements(reader, "order_by");
    for (const LocatedString& element : order_by) {
      if (table != nullptr) {
        CheckColumnReference(*table, element.text, reader.PathOf("order_by"), element.mark);
      }
      storage.order_by.push_back(element.text);
    }
    std::vector<LocatedString> primary_key = KeyElements(reader, "primary_key");
    for (const LocatedString& element : primary_key) {
      if (table != nullptr) {
        CheckColumnReference(*table, element.text, reader.PathOf("primary_key"), element.mark);
      }
      storage.primary_key.push_back(element.text);
    }
    bool is_prefix = storage.primary_key.size() <= storage.order_by.size() &&
                     std::equal(storage.primary_key.begin(), storage.primary_key.end(),
                                storage.order_by.begin());
    if (!is_prefix) {
      errors_.Add(
          ErrorCode::kSpecInvalidValue, reader.MarkOf("primary_key"),
          fmt::format("{}: ({}) must be a prefix of order_by ({})", reader.PathOf("primary_key"),
                      Join(storage.primary_key, ", "), Join(storage.order_by, ", ")));
    }
    storage.sample_by = reader.String("sample_by");
    if (table != nullptr && reader.Has("sample_by")) {
      CheckColumnReference(*table, Trim(storage.sample_by), reader.PathOf("sample_by"),
                           reader.MarkOf("sample_by"));
    }
    for (const LocatedString& element : reader.Strings("ttl")) {
      storage.ttl.push_back(element.text);
    }
    if (reader.Has("settings")) LoadSettings(reader, storage);
  }

  void LoadSettings(const SectionReader& reader, StorageSpec& storage) {
    std::string settings_path = reader.PathOf("settings");
    ForEachNamed(reader.Get("settings"), settings_path, "setting",
                 [&](const std::string& name, const std::string& path, const YAML::Mark& mark,
                     const YAML::Node& value) {
                   if (!value.IsScalar()) {
                     errors_.Add(ErrorCode::kSpecWrongType, MarkOrKey(value, mark),
                                 fmt::format("{}: expected a number, boolean or string", path));
                     return;
                   }
                   // yaml-cpp tags plain scalars "?" and quoted ones "!": a quoted "8192" stays
                   // a string, as the user wrote it.
                   storage.settings.emplace_back(
                       name, SettingLiteral(value.Scalar(), value.Tag() == "?"));
                 });
  }

  void LoadView(const std::string& name, const std::string& path, const YAML::Mark& mark,
                const YAML::Node& node) {
    SectionReader reader(node, kViewSection, path, mark, errors_);
    ViewSpec view;
    view.name = name;
    view.where = errors_.Locate(mark);
    if (spec_.FindTable(name) != nullptr) {
      errors_.Add(ErrorCode::kSpecDuplicateName, mark,
                  fmt::format("{}: a table is already named '{}'", path, name));
    }
    view.query = std::string(Trim(reader.String("query")));
    if (reader.Has("query") && view.query.empty()) {
      errors_.Add(ErrorCode::kSpecInvalidValue, reader.MarkOf("query"),
                  fmt::format("{}: the query is empty", reader.PathOf("query")));
    }
    static constexpr std::string_view kStorageKeys[] = {
        "engine", "partition_by", "order_by", "primary_key", "sample_by", "ttl", "settings"};
    if (reader.Has("to")) {
      view.to_table = reader.String("to");
      if (spec_.FindTable(view.to_table) == nullptr) {
        std::vector<std::string> names;
        for (const TableSpec& table : spec_.tables) names.push_back(table.name);
        errors_.Add(ErrorCode::kSpecUnknownReference, reader.MarkOf("to"),
                    fmt::format("{}: no table '{}' in tables{}", reader.PathOf("to"), view.to_table,
                                DidYouMean(view.to_table, names)));
      }
      for (std::string_view key : kStorageKeys) {
        if (!reader.Has(key)) continue;
        errors_.Add(ErrorCode::kSpecInvalidValue, reader.MarkOf(key),
                    fmt::format("{}: a view with 'to' stores into that table; remove {} or 'to'",
                                reader.PathOf(key), key));
      }
    } else if (!reader.Has("engine")) {
      errors_.Add(ErrorCode::kSpecMissingKey, mark,
                  fmt::format("{}: a view needs either 'to' (a table of tables) or 'engine' (its "
                              "own storage)",
                              path));
    } else {
      StorageSpec storage;
      storage.engine = LoadEngine(reader, nullptr);
      LoadStorage(reader, storage, nullptr);
      view.storage = std::move(storage);
    }
    spec_.views.push_back(std::move(view));
  }

  void LoadStream(const std::string& name, const std::string& path, const YAML::Mark& mark,
                  const YAML::Node& node) {
    SectionReader reader(node, kStreamSection, path, mark, errors_);
    StreamSpec stream;
    stream.name = name;
    stream.where = errors_.Locate(mark);
    stream.table = reader.Has("table") ? reader.String("table") : name;
    const TableSpec* table = spec_.FindTable(stream.table);
    if (table == nullptr) {
      std::vector<std::string> names;
      for (const TableSpec& candidate : spec_.tables) names.push_back(candidate.name);
      errors_.Add(ErrorCode::kSpecUnknownReference, reader.MarkOf("table"),
                  fmt::format("{}: no table '{}' in tables{}{}", reader.PathOf("table"),
                              stream.table, DidYouMean(stream.table, names),
                              reader.Has("table") ? ""
                                                  : " (a stream lands in the table of its own "
                                                    "name unless 'table' is set)"));
    }
    stream.dead_letter_table = reader.Has("dead_letter_table") ? reader.String("dead_letter_table")
                                                               : name + "_dead_letter";
    CheckName("dead-letter table", stream.dead_letter_table, reader.PathOf("dead_letter_table"),
              reader.MarkOf("dead_letter_table"));
    bool is_table = spec_.FindTable(stream.dead_letter_table) != nullptr;
    bool is_view = std::any_of(spec_.views.begin(), spec_.views.end(), [&](const ViewSpec& view) {
      return view.name == stream.dead_letter_table;
    });
    if (is_table || is_view) {
      errors_.Add(ErrorCode::kSpecDuplicateName, reader.MarkOf("dead_letter_table"),
                  fmt::format("{}: '{}' is already a {} of the spec; the dead-letter table needs "
                              "a name of its own",
                              reader.PathOf("dead_letter_table"), stream.dead_letter_table,
                              is_table ? "table" : "view"));
    }
    if (reader.Has("fields")) {
      YAML::Node fields = reader.Get("fields");
      if (fields.size() == 0) {
        errors_.Add(ErrorCode::kSpecInvalidValue, reader.MarkOf("fields"),
                    fmt::format("{}: list at least one field, or leave fields out to take every "
                                "column",
                                reader.PathOf("fields")));
      }
      for (size_t i = 0; i < fields.size(); ++i) {
        LoadField(stream, table, fmt::format("{}[{}]", reader.PathOf("fields"), i),
                  MarkOrKey(fields[i], reader.MarkOf("fields")), fields[i]);
      }
    } else if (table != nullptr) {
      for (const ColumnSpec& column : table->columns) {
        if (column.default_kind == ColumnSpec::DefaultKind::kMaterialized ||
            column.default_kind == ColumnSpec::DefaultKind::kAlias) {
          continue;
        }
        StreamFieldSpec field;
        field.name = column.name;
        field.type = column.type;
        field.path = column.name;
        field.where = column.where;
        stream.fields.push_back(std::move(field));
      }
    }
    LoadStreamOptions(reader, stream, table);
    LoadBatching(reader, stream);
    if (reader.Has("deduplicate")) LoadDeduplicate(reader, stream);
    if (reader.Has("rules")) LoadRules(reader, stream);
    if (reader.Has("event_time")) {
      stream.event_time = reader.String("event_time");
      if (const StreamFieldSpec* field =
              RequireStreamField(stream, reader.PathOf("event_time"), stream.event_time,
                                 reader.MarkOf("event_time"))) {
        RequireEventTimeType(field->name, field->type, reader, "event_time");
      }
    }
    spec_.streams.push_back(std::move(stream));
  }

  void LoadStreamOptions(const SectionReader& reader, StreamSpec& stream, const TableSpec* table) {
    std::string coercion = reader.String("coercion");
    if (coercion == "strict") {
      stream.coercion = StreamSpec::Coercion::kStrict;
    } else if (coercion != "lenient") {
      errors_.Add(ErrorCode::kSpecInvalidValue, reader.MarkOf("coercion"),
                  fmt::format("{}: '{}' is not lenient or strict{}", reader.PathOf("coercion"),
                              coercion, DidYouMean(coercion, {"lenient", "strict"})));
    }
    std::string unknown = reader.String("unknown_fields");
    if (unknown == "keep") {
      stream.unknown_fields = StreamSpec::UnknownFields::kKeep;
    } else if (unknown != "ignore") {
      errors_.Add(ErrorCode::kSpecInvalidValue, reader.MarkOf("unknown_fields"),
                  fmt::format("{}: '{}' is not ignore or keep{}", reader.PathOf("unknown_fields"),
                              unknown, DidYouMean(unknown, {"ignore", "keep"})));
    }
    stream.unknown_fields_column = reader.String("unknown_fields_column");
    if (stream.unknown_fields != StreamSpec::UnknownFields::kKeep) {
      if (reader.Has("unknown_fields_column")) {
        errors_.Add(ErrorCode::kSpecInvalidValue, reader.MarkOf("unknown_fields_column"),
                    fmt::format("{}: only used with unknown_fields: keep",
                                reader.PathOf("unknown_fields_column")));
      }
      return;
    }
    if (table == nullptr) return;
    YAML::Mark mark = reader.Has("unknown_fields_column") ? reader.MarkOf("unknown_fields_column")
                                                          : reader.MarkOf("unknown_fields");
    std::string path = reader.PathOf("unknown_fields_column");
    const ColumnSpec* column = FindColumn(*table, stream.unknown_fields_column);
    if (column == nullptr) {
      RequireColumn(*table, stream.unknown_fields_column, path, mark);
      return;
    }
    if (column->type.Storage().kind != TypeKind::kString) {
      errors_.Add(ErrorCode::kSpecInvalidValue, mark,
                  fmt::format("{}: column '{}' is {}; the unknown fields need a String column",
                              path, column->name, column->type.ToString()));
      return;
    }
    auto listed = std::find_if(stream.fields.begin(), stream.fields.end(),
                               [&](const StreamFieldSpec& f) { return f.name == column->name; });
    if (listed == stream.fields.end()) {
      StreamFieldSpec field;
      field.name = column->name;
      field.type = column->type;
      field.path = column->name;
      field.where = errors_.Locate(mark);
      stream.fields.push_back(std::move(field));
    } else if (listed->type.Storage().kind != TypeKind::kString) {
      errors_.Add(ErrorCode::kSpecInvalidValue, mark,
                  fmt::format("{}: field '{}' is read as {}; the unknown fields need String", path,
                              listed->name, listed->type.ToString()));
    }
  }

  void LoadBatching(const SectionReader& owner, StreamSpec& stream) {
    SectionReader reader(owner.Get("batch"), kStreamBatchSection, owner.PathOf("batch"),
                         owner.MarkOf("batch"), errors_);
    if (auto rows = reader.Int("max_rows", 1, 10'000'000)) {
      stream.batch.max_rows = static_cast<uint32_t>(*rows);
    }
    if (auto bytes = reader.Int("max_bytes", 1, int64_t{1} << 32)) {
      stream.batch.max_bytes = static_cast<uint64_t>(*bytes);
    }
    if (auto delay =
            reader.Duration("max_delay", std::chrono::milliseconds(0), std::chrono::hours(1))) {
      stream.batch.max_delay = *delay;
    }
  }

  void LoadDeduplicate(const SectionReader& owner, StreamSpec& stream) {
    SectionReader reader(owner.Get("deduplicate"), kDeduplicateSection, owner.PathOf("deduplicate"),
                         owner.MarkOf("deduplicate"), errors_);
    DeduplicateSpec deduplicate;
    deduplicate.where = errors_.Locate(reader.mark());
    deduplicate.key = reader.String("key");
    if (reader.Has("key")) {
      const StreamFieldSpec* field =
          RequireStreamField(stream, reader.PathOf("key"), deduplicate.key, reader.MarkOf("key"));
      if (field != nullptr && IsNestedKind(field->type.Storage().kind)) {
        errors_.Add(ErrorCode::kSpecInvalidValue, reader.MarkOf("key"),
                    fmt::format("{}: field '{}' is {}; a key must be a single value",
                                reader.PathOf("key"), field->name, field->type.ToString()));
      }
    }
    if (auto window =
            reader.Duration("window", std::chrono::milliseconds(1), std::chrono::days(30))) {
      deduplicate.window = *window;
    }
    stream.deduplicate = std::move(deduplicate);
  }

  void LoadRules(const SectionReader& owner, StreamSpec& stream) {
    Schema schema;
    for (const StreamFieldSpec& field : stream.fields) schema.push_back({field.name, field.type});
    YAML::Node rules = owner.Get("rules");
    for (size_t i = 0; i < rules.size(); ++i) {
      std::string path = fmt::format("{}[{}]", owner.PathOf("rules"), i);
      YAML::Mark mark = MarkOrKey(rules[i], owner.MarkOf("rules"));
      SectionReader reader(rules[i], kRecordRuleSection, path, mark, errors_);
      RecordRuleSpec rule;
      rule.where = errors_.Locate(mark);
      rule.name = reader.String("name");
      if (reader.Has("name")) {
        CheckName("rule", rule.name, reader.PathOf("name"), reader.MarkOf("name"));
        auto previous = std::find_if(stream.rules.begin(), stream.rules.end(),
                                     [&](const RecordRuleSpec& r) { return r.name == rule.name; });
        if (previous != stream.rules.end()) {
          errors_.Add(ErrorCode::kSpecDuplicateName, reader.MarkOf("name"),
                      fmt::format("{}: rule '{}' defined twice (first at line {})",
                                  reader.PathOf("name"), rule.name, previous->where.line));
        }
      }
      rule.condition = reader.String("condition");
      if (reader.Has("condition")) {
        size_t offset = 0;
        Result<Expression> compiled = Expression::CompileCondition(rule.condition, schema, &offset);
        if (!compiled.ok()) {
          errors_.Add(compiled.error().code,
                      PointInto(reader.Get("condition"), reader.MarkOf("condition"), offset),
                      fmt::format("{}: {}", reader.PathOf("condition"), compiled.error().message));
        }
      }
      rule.message = reader.Has("message") ? reader.String("message") : rule.condition;
      stream.rules.push_back(std::move(rule));
    }
  }

  /// The position of character `offset` of a scalar, when the scalar is written on one line as it
  /// is (plain or quoted without escapes); else the scalar's own position.
  YAML::Mark PointInto(const YAML::Node& scalar, const YAML::Mark& mark, size_t offset) const {
    if (mark.pos < 0) return mark;
    const std::string& value = scalar.Scalar();
    size_t start = static_cast<size_t>(mark.pos);
    if (start < text_.size() && (text_[start] == '"' || text_[start] == '\'')) ++start;
    if (text_.substr(start, value.size()) != value) return mark;
    YAML::Mark pointed = mark;
    pointed.column += static_cast<int>(start - static_cast<size_t>(mark.pos) + offset);
    pointed.pos += static_cast<int>(start - static_cast<size_t>(mark.pos) + offset);
    return pointed;
  }

  static const StreamFieldSpec* FindField(const StreamSpec& stream, std::string_view name) {
    for (const StreamFieldSpec& field : stream.fields) {
      if (field.name == name) return &field;
    }
    return nullptr;
  }

  /// The field `name` of `stream`, or null after reporting it missing (with a did-you-mean).
  const StreamFieldSpec* RequireStreamField(const StreamSpec& stream, const std::string& key_path,
                                            const std::string& name, const YAML::Mark& mark) {
    const StreamFieldSpec* field = FindField(stream, name);
    if (field == nullptr) {
      errors_.Add(ErrorCode::kSpecUnknownReference, mark,
                  fmt::format("{}: stream '{}' has no field '{}'{}", key_path, stream.name, name,
                              DidYouMean(name, FieldNames(stream))));
    }
    return field;
  }

  static std::vector<std::string> FieldNames(const StreamSpec& stream) {
    std::vector<std::string> names;
    for (const StreamFieldSpec& field : stream.fields) names.push_back(field.name);
    return names;
  }

  void LoadField(StreamSpec& stream, const TableSpec* table, const std::string& path,
                 const YAML::Mark& mark, const YAML::Node& node) {
    SectionReader reader(node, kStreamFieldSection, path, mark, errors_);
    StreamFieldSpec field;
    field.where = errors_.Locate(mark);
    field.name = reader.String("name");
    const ColumnSpec* column = nullptr;
    if (reader.Has("name")) {
      auto previous = std::find_if(stream.fields.begin(), stream.fields.end(),
                                   [&](const StreamFieldSpec& f) { return f.name == field.name; });
      if (previous != stream.fields.end()) {
        errors_.Add(ErrorCode::kSpecDuplicateName, reader.MarkOf("name"),
                    fmt::format("{}: field '{}' listed twice (first at line {})",
                                reader.PathOf("name"), field.name, previous->where.line));
      }
      if (table != nullptr) {
        column = FindColumn(*table, field.name);
        if (column == nullptr) {
          RequireColumn(*table, field.name, reader.PathOf("name"), reader.MarkOf("name"));
        } else if (column->default_kind == ColumnSpec::DefaultKind::kMaterialized ||
                   column->default_kind == ColumnSpec::DefaultKind::kAlias) {
          errors_.Add(ErrorCode::kSpecInvalidValue, reader.MarkOf("name"),
                      fmt::format("{}: column '{}' is computed by ClickHouse ({}) and cannot be "
                                  "filled from a stream",
                                  reader.PathOf("name"), field.name,
                                  column->default_kind == ColumnSpec::DefaultKind::kAlias
                                      ? "alias"
                                      : "materialized"));
        }
      }
    }
    if (column != nullptr) field.type = column->type;
    if (reader.Has("type")) {
      Result<DataType> type = ParseDataType(reader.String("type"));
      if (type.ok()) {
        field.type = std::move(*type);
      } else {
        errors_.Add(type.error().code, reader.MarkOf("type"),
                    fmt::format("{}: {}", reader.PathOf("type"), type.error().message));
      }
    }
    field.path = reader.Has("path") ? reader.String("path") : field.name;
    if (reader.Has("path")) {
      std::string_view dotted = field.path;
      bool valid = !dotted.empty() && !dotted.starts_with('.') && !dotted.ends_with('.') &&
                   dotted.find("..") == std::string_view::npos;
      if (!valid) {
        errors_.Add(ErrorCode::kSpecInvalidValue, reader.MarkOf("path"),
                    fmt::format("{}: '{}' is not a dotted path such as user.id",
                                reader.PathOf("path"), field.path));
      }
    }
    field.required = reader.Bool("required");
    LoadFieldRules(reader, field);
    if (reader.Has("name")) stream.fields.push_back(std::move(field));
  }

  /// Checks that `text` reads as a value of the field's type (default, allowed).
  bool CheckValueText(const SectionReader& reader, std::string_view key, const YAML::Mark& mark,
                      const StreamFieldSpec& field, const std::string& text) {
    Column scratch(field.type);
    Status status = AppendTextValue(text, scratch);
    if (status.ok()) return true;
    errors_.Add(ErrorCode::kSpecInvalidValue, mark,
                fmt::format("{}: '{}' is not a value of {}: {}", reader.PathOf(key), text,
                            field.type.ToString(), status.error().message));
    return false;
  }

  void LoadFieldRules(const SectionReader& reader, StreamFieldSpec& field) {
    TypeKind kind = field.type.Storage().kind;
    auto wrong_kind = [&](std::string_view key, std::string_view accepted) {
      errors_.Add(ErrorCode::kSpecInvalidValue, reader.MarkOf(key),
                  fmt::format("{}: {} applies to {}, and field '{}' is {}", reader.PathOf(key), key,
                              accepted, field.name, field.type.ToString()));
    };
    if (reader.Has("default")) {
      field.default_value = reader.String("default");
      if (field.required) {
        errors_.Add(ErrorCode::kSpecInvalidValue, reader.MarkOf("default"),
                    fmt::format("{}: a required field never uses a default; remove one of them",
                                reader.PathOf("default")));
      } else {
        CheckValueText(reader, "default", reader.MarkOf("default"), field, *field.default_value);
      }
    }
    LoadBound(reader, "min", field, field.min);
    LoadBound(reader, "max", field, field.max);
    if (field.min && field.max && !BoundsInOrder(field)) {
      errors_.Add(
          ErrorCode::kSpecInvalidValue, reader.MarkOf("max"),
          fmt::format("{}: max {} is below min {}", reader.PathOf("max"), *field.max, *field.min));
    }
    if (reader.Has("max_length")) {
      if (!IsTextKind(kind)) {
        wrong_kind("max_length", "String and FixedString fields");
      } else if (auto length = reader.Int("max_length", 1, std::numeric_limits<int32_t>::max())) {
        field.max_length = static_cast<uint32_t>(*length);
      }
    }
    if (reader.Has("regex")) {
      field.regex = reader.String("regex");
      if (!IsTextKind(kind) && kind != TypeKind::kUuid) {
        wrong_kind("regex", "String, FixedString and UUID fields");
      } else {
        RE2 pattern(field.regex, RE2::Quiet);
        if (!pattern.ok()) {
          errors_.Add(ErrorCode::kSpecInvalidValue, reader.MarkOf("regex"),
                      fmt::format("{}: invalid regular expression: {}", reader.PathOf("regex"),
                                  pattern.error()));
        }
      }
    }
    if (reader.Has("allowed")) {
      YAML::Node allowed = reader.Get("allowed");
      if (IsNestedKind(kind)) wrong_kind("allowed", "single values");
      if (allowed.size() == 0) {
        errors_.Add(ErrorCode::kSpecInvalidValue, reader.MarkOf("allowed"),
                    fmt::format("{}: list at least one value", reader.PathOf("allowed")));
      }
      for (size_t i = 0; i < allowed.size(); ++i) {
        YAML::Mark mark = MarkOrKey(allowed[i], reader.MarkOf("allowed"));
        if (!allowed[i].IsScalar()) {
          errors_.Add(ErrorCode::kSpecWrongType, mark,
                      fmt::format("{}[{}]: expected a value, found a {}", reader.PathOf("allowed"),
                                  i, allowed[i].IsMap() ? "map" : "list"));
          continue;
        }
        if (!IsNestedKind(kind)) {
          CheckValueText(reader, "allowed", mark, field, allowed[i].Scalar());
        }
        field.allowed.push_back(allowed[i].Scalar());
      }
    }
    for (std::string_view key : {"trim", "lowercase"}) {
      if (reader.Bool(key) && !IsTextKind(kind)) wrong_kind(key, "String and FixedString fields");
    }
    field.trim = reader.Bool("trim");
    field.lowercase = reader.Bool("lowercase");
  }

  /// min/max: a number for numeric fields, a date or time for date fields; a leading '+' is
  /// dropped so the bound reads as an expression literal.
  void LoadBound(const SectionReader& reader, std::string_view key, const StreamFieldSpec& field,
                 std::optional<std::string>& bound) {
    if (!reader.Has(key)) return;
    std::string text = std::string(Trim(reader.String(key)));
    TypeKind kind = field.type.Storage().kind;
    if (IsNumberKind(kind)) {
      if (StartsWith(text, "+")) text.erase(0, 1);
      Result<double> number = ParseFloatText(text, TypeKind::kFloat64);
      if (!number.ok() || !std::isfinite(*number)) {
        errors_.Add(ErrorCode::kSpecInvalidValue, reader.MarkOf(key),
                    fmt::format("{}: '{}' is not a number", reader.PathOf(key), text));
        return;
      }
    } else if (IsDateKind(kind)) {
      bool valid = CheckStrictText(text, kind).ok() &&
                   (kind == TypeKind::kDate || kind == TypeKind::kDate32
                        ? ParseDateText(text, TypeKind::kDate32).ok()
                        : ParseDateTimeText(text, TypeKind::kDateTime64, 6).ok());
      if (!valid) {
        errors_.Add(ErrorCode::kSpecInvalidValue, reader.MarkOf(key),
                    fmt::format("{}: '{}' is not a date or time such as 2024-01-31 or "
                                "2024-01-31 12:00:00",
                                reader.PathOf(key), text));
        return;
      }
    } else {
      errors_.Add(ErrorCode::kSpecInvalidValue, reader.MarkOf(key),
                  fmt::format("{}: {} applies to number and date fields, and field '{}' is {}",
                              reader.PathOf(key), key, field.name, field.type.ToString()));
      return;
    }
    bound = text;
  }

  static bool BoundsInOrder(const StreamFieldSpec& field) {
    TypeKind kind = field.type.Storage().kind;
    if (IsNumberKind(kind)) {
      return *ParseFloatText(*field.min, TypeKind::kFloat64) <=
             *ParseFloatText(*field.max, TypeKind::kFloat64);
    }
    // Dates and times compare as instants; a date-only bound is its midnight.
    return *ParseDateTimeText(*field.min, TypeKind::kDateTime64, 6) <=
           *ParseDateTimeText(*field.max, TypeKind::kDateTime64, 6);
  }

  void LoadSource(const std::string& name, const std::string& path, const YAML::Mark& mark,
                  const YAML::Node& node) {
    SectionReader reader(node, kSourceSection, path, mark, errors_);
    SourceSpec source;
    source.name = name;
    source.where = errors_.Locate(mark);
    source.type = reader.String("type");
    const std::vector<std::string> types = {"file", "kafka", "nats", "postgres_cdc", "sql_poll"};
    bool known = IsOneOf(source.type, {"file", "kafka", "nats", "postgres_cdc", "sql_poll"});
    // An unknown type is checked like a file source, so that its other mistakes show too.
    std::string kind = known ? source.type : "file";
    if (!known) {
      errors_.Add(ErrorCode::kSpecInvalidValue, reader.MarkOf("type"),
                  fmt::format("{}: source type '{}' is not supported (file, kafka, nats, "
                              "postgres_cdc or sql_poll){}",
                              reader.PathOf("type"), source.type, DidYouMean(source.type, types)));
    }
    // A PostgreSQL source names its tables and fills one stream per table itself.
    if (kind != "postgres_cdc" && !reader.Has("stream")) {
      errors_.Add(ErrorCode::kSpecMissingKey, reader.mark(),
                  fmt::format("{}: missing required key 'stream' for a {} source", path, kind));
    }
    source.stream = reader.String("stream");
    const StreamSpec* stream = spec_.FindStream(source.stream);
    if (reader.Has("stream") && stream == nullptr) {
      std::vector<std::string> names;
      for (const StreamSpec& each : spec_.streams) names.push_back(each.name);
      errors_.Add(ErrorCode::kSpecUnknownReference, reader.MarkOf("stream"),
                  fmt::format("{}: no stream '{}' in streams{}", reader.PathOf("stream"),
                              source.stream, DidYouMean(source.stream, names)));
    }
    if (auto batch_rows = reader.Int("batch_rows", 1, 10'000'000)) {
      source.batch_rows = static_cast<uint32_t>(*batch_rows);
    }
    // Each type's own options are allowed only with that type, the file options only for files.
    for (std::string_view own : {"kafka", "nats", "postgres_cdc", "sql_poll"}) {
      if (reader.Has(own) && kind != own) {
        errors_.Add(ErrorCode::kSpecInvalidValue, reader.MarkOf(own),
                    fmt::format("{}: not an option of a {} source", reader.PathOf(own), kind));
      }
    }
    if (kind != "file") {
      for (std::string_view file_key : {"path", "format", "csv"}) {
        if (reader.Has(file_key)) {
          errors_.Add(
              ErrorCode::kSpecInvalidValue, reader.MarkOf(file_key),
              fmt::format("{}: only a file source has {}", reader.PathOf(file_key), file_key));
        }
      }
      if (!reader.Has(kind)) {
        errors_.Add(ErrorCode::kSpecMissingKey, reader.mark(),
                    fmt::format("{}: a {} source needs its '{}' options", path, kind, kind));
      } else if (kind == "kafka") {
        source.kafka = LoadKafka(reader, stream);
      } else if (kind == "nats") {
        source.nats = LoadNats(reader, stream);
      } else if (kind == "postgres_cdc") {
        source.postgres_cdc = LoadPostgresCdc(reader);
      } else {
        source.sql_poll = LoadSqlPoll(reader);
      }
      spec_.sources.push_back(std::move(source));
      return;
    }
    if (!reader.Has("path")) {
      errors_.Add(ErrorCode::kSpecMissingKey, reader.mark(),
                  fmt::format("{}: a file source needs 'path'", path));
    } else {
      source.path = ResolvePath(base_dir_, reader.String("path"));
      std::error_code error;
      if (!std::filesystem::is_regular_file(source.path, error)) {
        errors_.Add(ErrorCode::kSpecFileNotFound, reader.MarkOf("path"),
                    fmt::format("{}: no file '{}' (looked for {})", reader.PathOf("path"),
                                reader.String("path"), source.path));
      }
    }
    LoadFormat(reader, source);
    spec_.sources.push_back(std::move(source));
  }

  /// The fields a stream's records fill: its own, or its table's columns when it lists none.
  std::vector<std::pair<std::string, DataType>> StreamFieldTypes(const StreamSpec& stream) const {
    std::vector<std::pair<std::string, DataType>> fields;
    for (const StreamFieldSpec& field : stream.fields) fields.emplace_back(field.name, field.type);
    if (stream.fields.empty()) {
      if (const TableSpec* table = spec_.FindTable(stream.table)) {
        for (const ColumnSpec& column : table->columns) {
          fields.emplace_back(column.name, column.type);
        }
      }
    }
    return fields;
  }

  /// Reads format, value_field and metadata, checking that each named field is one of the
  /// stream's (`stream` is null when the source names no known stream: nothing to check).
  MessageFormatSpec LoadMessageFormat(const SectionReader& reader,
                                      const SectionDescriptor& metadata_section,
                                      const StreamSpec* stream) {
    MessageFormatSpec message;
    message.format = reader.String("format");
    if (!IsOneOf(message.format, {"json", "string", "bytes"})) {
      errors_.Add(
          ErrorCode::kSpecInvalidValue, reader.MarkOf("format"),
          fmt::format("{}: unknown format '{}' (json, string or bytes){}", reader.PathOf("format"),
                      message.format, DidYouMean(message.format, {"json", "string", "bytes"})));
    }
    std::vector<std::pair<std::string, DataType>> fields;
    std::vector<std::string> names;
    if (stream != nullptr) fields = StreamFieldTypes(*stream);
    for (const auto& field : fields) names.push_back(field.first);
    auto find_field = [&](const std::string& name, const std::string& key_path,
                          const YAML::Mark& mark) -> const DataType* {
      for (const auto& field : fields) {
        if (field.first == name) return &field.second;
      }
      if (stream != nullptr) {
        errors_.Add(ErrorCode::kSpecUnknownReference, mark,
                    fmt::format("{}: no field '{}' in stream '{}'{}", key_path, name, stream->name,
                                DidYouMean(name, names)));
      }
      return nullptr;
    };
    bool raw = message.format == "string" || message.format == "bytes";
    if (reader.Has("value_field")) {
      message.value_field = reader.String("value_field");
      if (!raw) {
        errors_.Add(ErrorCode::kSpecInvalidValue, reader.MarkOf("value_field"),
                    fmt::format("{}: only the string and bytes formats store the value in one "
                                "field",
                                reader.PathOf("value_field")));
      } else if (const DataType* type =
                     find_field(message.value_field, reader.PathOf("value_field"),
                                reader.MarkOf("value_field"))) {
        if (type->Storage().kind != TypeKind::kString) {
          errors_.Add(
              ErrorCode::kSpecInvalidValue, reader.MarkOf("value_field"),
              fmt::format("{}: field '{}' is {}, the value needs a String field",
                          reader.PathOf("value_field"), message.value_field, type->ToString()));
        }
      }
    } else if (raw) {
      errors_.Add(ErrorCode::kSpecMissingKey, reader.MarkOf("format"),
                  fmt::format("{}: the {} format needs value_field", reader.PathOf("format"),
                              message.format));
    }
    SectionReader metadata(reader.Get("metadata"), metadata_section, reader.PathOf("metadata"),
                           reader.MarkOf("metadata"), errors_);
    for (const KeyDescriptor& key : metadata_section.keys) {
      if (!metadata.Has(key.key)) continue;
      std::string field = metadata.String(key.key);
      if (const DataType* type =
              find_field(field, metadata.PathOf(key.key), metadata.MarkOf(key.key))) {
        const DataType& storage = type->Storage();
        bool string_map = storage.kind == TypeKind::kMap &&
                          storage.children[0].Storage().kind == TypeKind::kString &&
                          storage.children[1].Storage().kind == TypeKind::kString;
        if (key.key == "headers" && storage.kind != TypeKind::kString && !string_map) {
          errors_.Add(ErrorCode::kSpecInvalidValue, metadata.MarkOf(key.key),
                      fmt::format("{}: field '{}' is {}; headers need Map(String, String) or "
                                  "String",
                                  metadata.PathOf(key.key), field, type->ToString()));
        }
      }
      message.metadata.emplace_back(std::string(key.key), field);
    }
    return message;
  }

  KafkaSourceSpec LoadKafka(const SectionReader& source, const StreamSpec* stream) {
    SectionReader reader(source.Get("kafka"), kKafkaSection, source.PathOf("kafka"),
                         source.MarkOf("kafka"), errors_);
    KafkaSourceSpec kafka;
    kafka.where = errors_.Locate(source.MarkOf("kafka"));
    for (const LocatedString& broker : reader.Strings("brokers")) {
      kafka.brokers.push_back(broker.text);
    }
    for (const LocatedString& topic : reader.Strings("topics")) {
      kafka.topics.push_back(topic.text);
    }
    kafka.group_id = reader.String("group_id");
    kafka.start = reader.String("start");
    bool timestamp = StartsWith(kafka.start, "timestamp:") && kafka.start.size() > 10 &&
                     kafka.start.find_first_not_of("0123456789", 10) == std::string::npos;
    if (!timestamp && !IsOneOf(kafka.start, {"committed", "earliest", "latest"})) {
      errors_.Add(ErrorCode::kSpecInvalidValue, reader.MarkOf("start"),
                  fmt::format("{}: unknown start '{}' (committed, earliest, latest or "
                              "timestamp:<epoch ms>){}",
                              reader.PathOf("start"), kafka.start,
                              DidYouMean(kafka.start, {"committed", "earliest", "latest"})));
    }
    kafka.message = LoadMessageFormat(reader, kKafkaMetadataSection, stream);
    if (auto timeout = reader.Duration("poll_timeout", std::chrono::milliseconds(1),
                                       std::chrono::milliseconds(10'000))) {
      kafka.poll_timeout = *timeout;
    }
    if (reader.Has("properties")) {
      ForEachProperty(
          reader.Get("properties"), reader.PathOf("properties"),
          [&](const std::string& name, const std::string& value, const std::string& path,
              const YAML::Mark& mark) {
            if (IsOneOf(name, {"enable.auto.commit", "group.id", "enable.auto.offset.store"})) {
              errors_.Add(ErrorCode::kSpecInvalidValue, mark,
                          fmt::format("{}: sluice sets {} itself (offsets are "
                                      "committed after each checkpoint)",
                                      path, name));
              return;
            }
            kafka.properties.emplace_back(name, value);
          });
    }
    return kafka;
  }

  NatsSourceSpec LoadNats(const SectionReader& source, const StreamSpec* stream) {
    SectionReader reader(source.Get("nats"), kNatsSection, source.PathOf("nats"),
                         source.MarkOf("nats"), errors_);
    NatsSourceSpec nats;
    nats.where = errors_.Locate(source.MarkOf("nats"));
    nats.url = reader.String("url");
    nats.stream = reader.String("stream");
    nats.consumer = reader.String("consumer");
    // JetStream names become subjects of its API: no dots, spaces or wildcards.
    for (std::string_view key : {"stream", "consumer"}) {
      std::string name = reader.String(key);
      if (reader.Has(key) && (name.empty() || name.find_first_of(". *>\t") != std::string::npos)) {
        errors_.Add(ErrorCode::kSpecInvalidValue, reader.MarkOf(key),
                    fmt::format("{}: '{}' is not a JetStream name (no '.', '*', '>' or spaces)",
                                reader.PathOf(key), name));
      }
    }
    nats.filter_subject = reader.String("filter_subject");
    nats.message = LoadMessageFormat(reader, kNatsMetadataSection, stream);
    if (auto wait = reader.Duration("ack_wait", std::chrono::milliseconds(1000),
                                    std::chrono::milliseconds(86'400'000))) {
      nats.ack_wait = *wait;
    }
    if (auto pending = reader.Int("max_ack_pending", 1, 100'000'000)) {
      nats.max_ack_pending = *pending;
    }
    if (auto timeout = reader.Duration("fetch_timeout", std::chrono::milliseconds(1),
                                       std::chrono::milliseconds(10'000))) {
      nats.fetch_timeout = *timeout;
    }
    return nats;
  }

  /// Calls body(name, value text, path, mark) for each scalar entry of a free-form map.
  template <typename Body>
  void ForEachProperty(const YAML::Node& map, const std::string& map_path, Body&& body) {
    for (const auto& entry : map) {
      YAML::Mark key_mark = entry.first.Mark();
      std::string name = entry.first.IsScalar() ? entry.first.Scalar() : "";
      std::string path = fmt::format("{}.{}", map_path, name);
      if (!entry.first.IsScalar() || !entry.second.IsScalar()) {
        errors_.Add(ErrorCode::kSpecWrongType, MarkOrKey(entry.second, key_mark),
                    fmt::format("{}: expected a name and a number, boolean or string", path));
        continue;
      }
      body(name, entry.second.Scalar(), path, key_mark);
    }
  }

  PostgresCdcSpec LoadPostgresCdc(const SectionReader& source) {
    SectionReader reader(source.Get("postgres_cdc"), kPostgresCdcSection,
                         source.PathOf("postgres_cdc"), source.MarkOf("postgres_cdc"), errors_);
    PostgresCdcSpec spec;
    spec.dsn = reader.String("dsn");
    for (const LocatedString& table : reader.Strings("tables")) spec.tables.push_back(table.text);
    spec.slot = reader.String("slot");
    spec.publication = reader.String("publication");
    // Both are spliced into replication commands: plain identifiers only.
    for (std::string_view key : {"slot", "publication"}) {
      std::string value = reader.String(key);
      if (!IsIdentifier(value)) {
        errors_.Add(ErrorCode::kSpecInvalidIdentifier, reader.MarkOf(key),
                    fmt::format("{}: '{}' is not an identifier ([A-Za-z_][A-Za-z0-9_]*)",
                                reader.PathOf(key), value));
      }
    }
    spec.create_publication = reader.Bool("create_publication");
    std::string snapshot = reader.String("snapshot");
    if (!IsOneOf(snapshot, {"initial", "never"})) {
      errors_.Add(ErrorCode::kSpecInvalidValue, reader.MarkOf("snapshot"),
                  fmt::format("{}: '{}' is neither initial nor never", reader.PathOf("snapshot"),
                              snapshot));
    }
    spec.snapshot = snapshot != "never";
    if (auto parallelism = reader.Int("snapshot_parallelism", 0, 64)) {
      spec.snapshot_parallelism = static_cast<uint32_t>(*parallelism);
    }
    if (auto batch_rows = reader.Int("snapshot_batch_rows", 1, 10'000'000)) {
      spec.snapshot_batch_rows = static_cast<uint32_t>(*batch_rows);
    }
    spec.table_prefix = reader.String("table_prefix");
    return spec;
  }

  SqlPollSpec LoadSqlPoll(const SectionReader& source) {
    SectionReader reader(source.Get("sql_poll"), kSqlPollSection, source.PathOf("sql_poll"),
                         source.MarkOf("sql_poll"), errors_);
    SqlPollSpec spec;
    spec.driver = reader.String("driver");
    if (!IsOneOf(spec.driver, {"postgres", "mysql"})) {
      errors_.Add(ErrorCode::kSpecInvalidValue, reader.MarkOf("driver"),
                  fmt::format("{}: unknown driver '{}' (postgres or mysql)",
                              reader.PathOf("driver"), spec.driver));
    }
    spec.dsn = reader.String("dsn");
    if (spec.driver == "mysql" && reader.Has("dsn") && spec.dsn.rfind("mysql://", 0) != 0) {
      errors_.Add(ErrorCode::kSpecInvalidValue, reader.MarkOf("dsn"),
                  fmt::format("{}: a mysql dsn is mysql://user:password@host:port/database",
                              reader.PathOf("dsn")));
    }
    spec.table = reader.String("table");
    spec.cursor = reader.String("cursor");
    for (const LocatedString& key : reader.Strings("key")) spec.key.push_back(key.text);
    if (auto overlap = reader.Int("overlap", 0, 1'000'000'000)) spec.overlap = *overlap;
    if (auto interval =
            reader.Duration("interval", std::chrono::milliseconds(10), std::chrono::hours(24))) {
      spec.interval = *interval;
    }
    return spec;
  }

  void LoadFormat(const SectionReader& reader, SourceSpec& source) {
    if (reader.Has("format")) {
      source.format = reader.String("format");
      if (!IsOneOf(source.format, {"ndjson", "csv"})) {
        errors_.Add(ErrorCode::kSpecInvalidValue, reader.MarkOf("format"),
                    fmt::format("{}: unknown format '{}'{}", reader.PathOf("format"), source.format,
                                DidYouMean(source.format, {"ndjson", "csv"})));
      }
    } else if (reader.Has("path")) {
      std::string extension = std::filesystem::path(source.path).extension().string();
      std::transform(extension.begin(), extension.end(), extension.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      if (IsOneOf(extension, {".ndjson", ".jsonl", ".json"})) {
        source.format = "ndjson";
      } else if (extension == ".csv") {
        source.format = "csv";
      } else {
        errors_.Add(ErrorCode::kSpecInvalidValue, reader.MarkOf("path"),
                    fmt::format("{}: cannot tell the format from '{}'; set format: ndjson or csv",
                                reader.PathOf("path"), reader.String("path")));
      }
    }
    if (reader.Has("csv") && source.format == "ndjson") {
      errors_.Add(ErrorCode::kSpecInvalidValue, reader.MarkOf("csv"),
                  fmt::format("{}: csv options given for an ndjson source", reader.PathOf("csv")));
    }
    SectionReader csv(reader.Get("csv"), kCsvSection, reader.PathOf("csv"), reader.MarkOf("csv"),
                      errors_);
    source.csv_header = csv.Bool("header");
    std::string delimiter = csv.String("delimiter");
    if (delimiter.size() == 1) {
      source.csv_delimiter = delimiter.front();
    } else {
      errors_.Add(ErrorCode::kSpecInvalidValue, csv.MarkOf("delimiter"),
                  fmt::format("{}: the delimiter must be exactly one character, got '{}'",
                              csv.PathOf("delimiter"), delimiter));
    }
  }

  SpecErrors errors_;
  std::string file_;
  std::string base_dir_;
  std::string_view text_;  // the spec text, to point into expressions
  /// Map and enrich fields of the aggregation being loaded whose definition has an error: their
  /// uses are not reported again.
  std::vector<std::string> unresolved_fields_;
  PipelineSpec spec_;
};

}  // namespace

SpecLoadResult LoadSpecText(std::string_view yaml, const std::string& file_name,
                            const std::string& base_dir) {
  return SpecLoader(file_name, base_dir).Load(yaml);
}

SpecLoadResult LoadSpecFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::error_code error;
  if (!in || std::filesystem::is_directory(path, error)) {
    SpecLoadResult result;
    result.errors.push_back(MakeError(ErrorCode::kSpecFileNotFound,
                                      fmt::format("cannot read the spec file '{}'", path), path));
    return result;
  }
  std::ostringstream text;
  text << in.rdbuf();
  std::filesystem::path base_dir = std::filesystem::absolute(path, error).parent_path();
  return LoadSpecText(text.str(), path, base_dir.lexically_normal().string());
}

}  // namespace sluice
