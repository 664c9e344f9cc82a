#include "config/spec_loader.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "base/strings.h"
#include "config/clickhouse_syntax.h"
#include "config/section_reader.h"
#include "config/spec_schema.h"

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

/// Validates one spec against the descriptor tables and the cross-references between sections.
/// Sections are read in dependency order (tables, views, streams, sources) whatever their order
/// in the file, so every reference can be checked against what was read before it. Entities with
/// errors are still recorded so that one mistake does not cause a cascade of unknown references.
class SpecLoader {
 public:
  SpecLoader(std::string file, std::string base_dir)
      : errors_(file), file_(std::move(file)), base_dir_(std::move(base_dir)) {}

  SpecLoadResult Load(std::string_view text) {
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
        stream.fields.push_back({column.name, column.type, column.name, false, column.where});
      }
    }
    spec_.streams.push_back(std::move(stream));
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
    if (reader.Has("name")) stream.fields.push_back(std::move(field));
  }

  void LoadSource(const std::string& name, const std::string& path, const YAML::Mark& mark,
                  const YAML::Node& node) {
    SectionReader reader(node, kSourceSection, path, mark, errors_);
    SourceSpec source;
    source.name = name;
    source.where = errors_.Locate(mark);
    source.type = reader.String("type");
    if (source.type != "file") {
      errors_.Add(ErrorCode::kSpecInvalidValue, reader.MarkOf("type"),
                  fmt::format("{}: source type '{}' is not supported (only 'file')",
                              reader.PathOf("type"), source.type));
    }
    source.stream = reader.String("stream");
    if (reader.Has("stream") && spec_.FindStream(source.stream) == nullptr) {
      std::vector<std::string> names;
      for (const StreamSpec& stream : spec_.streams) names.push_back(stream.name);
      errors_.Add(ErrorCode::kSpecUnknownReference, reader.MarkOf("stream"),
                  fmt::format("{}: no stream '{}' in streams{}", reader.PathOf("stream"),
                              source.stream, DidYouMean(source.stream, names)));
    }
    if (reader.Has("path")) {
      source.path = ResolvePath(base_dir_, reader.String("path"));
      std::error_code error;
      if (!std::filesystem::is_regular_file(source.path, error)) {
        errors_.Add(ErrorCode::kSpecFileNotFound, reader.MarkOf("path"),
                    fmt::format("{}: no file '{}' (looked for {})", reader.PathOf("path"),
                                reader.String("path"), source.path));
      }
    }
    LoadFormat(reader, source);
    if (auto batch_rows = reader.Int("batch_rows", 1, 10'000'000)) {
      source.batch_rows = static_cast<uint32_t>(*batch_rows);
    }
    spec_.sources.push_back(std::move(source));
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
