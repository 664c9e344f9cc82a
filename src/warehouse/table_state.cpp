#include "warehouse/table_state.h"

#include <algorithm>
#include <array>

#include "base/strings.h"
#include "warehouse/identifier.h"

namespace sluice {
namespace {

bool IsWordChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

// Index of the quote that closes the quoted token opened at `open`, or the end of the text.
size_t SkipQuoted(std::string_view text, size_t open) {
  const char quote = text[open];
  for (size_t i = open + 1; i < text.size(); ++i) {
    if (text[i] == '\\') {
      ++i;
    } else if (text[i] == quote) {
      if (i + 1 < text.size() && text[i + 1] == quote) {
        ++i;
      } else {
        return i;
      }
    }
  }
  return text.size();
}

// First position from `from` on where `match(i)` holds at bracket depth 0 outside quoted
// tokens; npos when there is none. Depth is relative to `from`, so starting just after an
// opening bracket finds its closing one.
template <typename Match>
size_t FindTopLevel(std::string_view text, size_t from, Match match) {
  int depth = 0;
  for (size_t i = from; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\'' || c == '"' || c == '`') {
      if (depth == 0 && match(i)) return i;
      i = SkipQuoted(text, i);
      continue;
    }
    if (depth == 0 && match(i)) return i;
    if (c == '(' || c == '[' || c == '{') ++depth;
    if (c == ')' || c == ']' || c == '}') --depth;
  }
  return std::string_view::npos;
}

size_t FindTopLevelChar(std::string_view text, size_t from, char wanted) {
  return FindTopLevel(text, from, [&](size_t i) { return text[i] == wanted; });
}

// A keyword such as "ORDER BY" standing as whole words at depth 0.
size_t FindKeyword(std::string_view text, std::string_view keyword, size_t from = 0) {
  return FindTopLevel(text, from, [&](size_t i) {
    if (text.substr(i, keyword.size()) != keyword) return false;
    if (i > 0 && IsWordChar(text[i - 1])) return false;
    const size_t end = i + keyword.size();
    return end >= text.size() || !IsWordChar(text[end]);
  });
}

// Reads a backslash escape of ClickHouse's lexer or TabSeparated output at text[i] == '\\';
// advances `i` to its last character.
char Unescape(std::string_view text, size_t& i) {
  if (i + 1 >= text.size()) return '\\';
  const char c = text[++i];
  switch (c) {
    case 'n':
      return '\n';
    case 't':
      return '\t';
    case 'r':
      return '\r';
    case '0':
      return '\0';
    case 'b':
      return '\b';
    case 'f':
      return '\f';
    case 'x':
      if (i + 2 < text.size()) {
        const std::string hex(text.substr(i + 1, 2));
        i += 2;
        return static_cast<char>(std::stoi(hex, nullptr, 16));
      }
      return 'x';
    default:
      return c;
  }
}

std::string UnescapeTsvField(std::string_view field) {
  std::string out;
  out.reserve(field.size());
  for (size_t i = 0; i < field.size(); ++i) {
    out += field[i] == '\\' ? Unescape(field, i) : field[i];
  }
  return out;
}

// The name at the start of a definition element: `quoted` or bare; `length` gets its extent.
std::string LeadingIdentifier(std::string_view text, size_t* length = nullptr) {
  std::string name;
  size_t end = 0;
  if (!text.empty() && text[0] == '`') {
    end = SkipQuoted(text, 0);
    for (size_t i = 1; i < end; ++i) {
      if (text[i] == '`' && i + 1 < end && text[i + 1] == '`') {
        name += '`';
        ++i;
      } else {
        name += text[i] == '\\' ? Unescape(text, i) : text[i];
      }
    }
    ++end;
  } else {
    while (end < text.size() && IsWordChar(text[end])) name += text[end++];
  }
  if (length) *length = std::min(end, text.size());
  return name;
}

// A possibly database-qualified name: returns the last part, advancing past the whole name.
std::string ReadQualifiedName(std::string_view text, size_t& pos) {
  std::string name;
  while (pos < text.size()) {
    size_t length = 0;
    name = LeadingIdentifier(text.substr(pos), &length);
    pos += length;
    if (pos < text.size() && text[pos] == '.') {
      ++pos;
    } else {
      break;
    }
  }
  return name;
}

using Rows = std::vector<std::vector<std::string>>;

Result<Rows> QueryRows(Warehouse& warehouse, const std::string& sql) {
  auto result = warehouse.Query(sql, "TabSeparated");
  if (!result.ok()) return result.error();
  Rows rows;
  for (const auto& line : SplitLines(result->data)) {
    if (line.empty()) continue;
    std::vector<std::string> fields;
    size_t start = 0;
    while (true) {
      const size_t tab = line.find('\t', start);
      fields.push_back(UnescapeTsvField(std::string_view(line).substr(start, tab - start)));
      if (tab == std::string::npos) break;
      start = tab + 1;
    }
    rows.push_back(std::move(fields));
  }
  return rows;
}

bool IsMergeTreeFamily(std::string_view engine) {
  return engine.size() >= 9 && engine.substr(engine.size() - 9) == "MergeTree";
}

ProjectionState ParseProjectionElement(std::string_view element) {
  ProjectionState projection;
  std::string_view rest = Trim(element.substr(std::string_view("PROJECTION").size()));
  size_t length = 0;
  projection.name = LeadingIdentifier(rest, &length);
  rest = Trim(rest.substr(length));
  if (rest.size() >= 2 && rest.front() == '(' && rest.back() == ')') {
    rest = Trim(rest.substr(1, rest.size() - 2));
  }
  projection.query = std::string(rest);
  return projection;
}

}  // namespace

const ColumnState* TableState::FindColumn(std::string_view column) const {
  for (const auto& candidate : columns) {
    if (candidate.name == column) return &candidate;
  }
  return nullptr;
}

std::vector<std::string> SplitTopLevel(std::string_view text, char separator) {
  std::vector<std::string> parts;
  if (Trim(text).empty()) return parts;
  size_t start = 0;
  while (true) {
    const size_t end = FindTopLevelChar(text, start, separator);
    parts.emplace_back(Trim(text.substr(start, end - start)));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return parts;
}

void ParseEngineFull(std::string_view engine_full, TableState& state) {
  static constexpr std::array<std::string_view, 6> kClauses = {
      "PARTITION BY", "PRIMARY KEY", "ORDER BY", "SAMPLE BY", "TTL", "SETTINGS"};
  std::vector<std::pair<size_t, std::string_view>> found;
  for (auto clause : kClauses) {
    const size_t at = FindKeyword(engine_full, clause);
    if (at != std::string_view::npos) found.emplace_back(at, clause);
  }
  std::sort(found.begin(), found.end());
  auto clause_text = [&](size_t index) {
    const size_t begin = found[index].first + found[index].second.size();
    const size_t end = index + 1 < found.size() ? found[index + 1].first : engine_full.size();
    return Trim(engine_full.substr(begin, end - begin));
  };

  std::string_view engine =
      Trim(engine_full.substr(0, found.empty() ? engine_full.size() : found.front().first));
  const size_t open = engine.find('(');
  std::string_view name = Trim(engine.substr(0, open));
  state.replicated = StartsWith(name, "Replicated");
  state.engine_family = std::string(state.replicated ? name.substr(10) : name);
  state.engine_arguments.clear();
  if (open != std::string_view::npos && engine.back() == ')') {
    state.engine_arguments = SplitTopLevel(engine.substr(open + 1, engine.size() - open - 2), ',');
  }
  // The replication path and replica name lead the arguments of a replicated engine; they
  // are deployment details, not part of the table's definition.
  if (state.replicated && state.engine_arguments.size() >= 2 &&
      StartsWith(state.engine_arguments[0], "'")) {
    state.engine_arguments.erase(state.engine_arguments.begin(),
                                 state.engine_arguments.begin() + 2);
  }

  state.ttl.clear();
  state.settings.clear();
  for (size_t i = 0; i < found.size(); ++i) {
    if (found[i].second == "TTL") {
      state.ttl = SplitTopLevel(clause_text(i), ',');
    } else if (found[i].second == "SETTINGS") {
      for (const auto& setting : SplitTopLevel(clause_text(i), ',')) {
        const size_t equals = setting.find('=');
        if (equals == std::string::npos) continue;
        std::string_view setting_view(setting);
        state.settings.emplace_back(std::string(Trim(setting_view.substr(0, equals))),
                                    std::string(Trim(setting_view.substr(equals + 1))));
      }
    }
  }
}

std::vector<std::string> CreateQueryElements(std::string_view create_query) {
  const size_t open = FindTopLevelChar(create_query, 0, '(');
  if (open == std::string_view::npos) return {};
  const size_t close = FindTopLevelChar(create_query, open + 1, ')');
  if (close == std::string_view::npos) return {};
  return SplitTopLevel(create_query.substr(open + 1, close - open - 1), ',');
}

std::string ColumnTtl(std::string_view column_definition) {
  const size_t at = FindKeyword(column_definition, "TTL");
  if (at == std::string_view::npos) return "";
  std::string_view rest = column_definition.substr(at + 3);
  const size_t settings = FindKeyword(rest, "SETTINGS");
  if (settings != std::string_view::npos) rest = rest.substr(0, settings);
  return std::string(Trim(rest));
}

void ParseViewCreateQuery(std::string_view create_query, ViewState& state) {
  constexpr std::string_view kPrefix = "CREATE MATERIALIZED VIEW ";
  state.to_table.clear();
  state.storage.clear();
  if (!StartsWith(create_query, kPrefix)) return;
  size_t pos = kPrefix.size();
  ReadQualifiedName(create_query, pos);
  while (pos < create_query.size() && create_query[pos] == ' ') ++pos;
  if (create_query.substr(pos, 3) == "TO ") {
    pos += 3;
    state.to_table = ReadQualifiedName(create_query, pos);
  }
  // The column list is derived from the query, so it is compared through the query.
  while (pos < create_query.size() && create_query[pos] == ' ') ++pos;
  if (pos < create_query.size() && create_query[pos] == '(') {
    pos = FindTopLevelChar(create_query, pos + 1, ')');
    if (pos == std::string_view::npos) return;
    ++pos;
  }
  const size_t as = FindKeyword(create_query, "AS", pos);
  state.storage = std::string(Trim(create_query.substr(pos, as - pos)));
}

Result<DatabaseState> ReadDatabaseState(Warehouse& warehouse, std::string_view database) {
  DatabaseState state;
  const std::string db = QuoteString(database);
  auto exists = QueryRows(warehouse, "SELECT count() FROM system.databases WHERE name = " + db);
  if (!exists.ok()) return exists.error();
  state.exists = !exists->empty() && exists->front().front() != "0";
  if (!state.exists) return state;

  auto tables = QueryRows(
      warehouse,
      "SELECT name, engine, engine_full, partition_key, sorting_key, primary_key, sampling_key, "
      "as_select, create_table_query, comment FROM system.tables WHERE database = " +
          db + " AND NOT startsWith(name, '.')");
  if (!tables.ok()) return tables.error();
  std::map<std::string, std::vector<std::string>> create_elements;
  for (auto& row : *tables) {
    if (row.size() < 10) return MakeError(ErrorCode::kInternal, "short row from system.tables");
    const std::string& name = row[0];
    const std::string& engine = row[1];
    if (engine == "MaterializedView") {
      ViewState view;
      view.name = name;
      view.query = row[7];
      ParseViewCreateQuery(row[8], view);
      state.views[name] = std::move(view);
    } else if (IsMergeTreeFamily(engine)) {
      TableState table;
      table.name = name;
      table.engine = engine;
      ParseEngineFull(row[2], table);
      table.partition_key = row[3];
      table.sorting_key = row[4];
      table.primary_key = row[5];
      table.sampling_key = row[6];
      table.comment = row[9];
      create_elements[name] = CreateQueryElements(row[8]);
      state.tables[name] = std::move(table);
    } else {
      state.others[name] = engine;
    }
  }

  auto columns = QueryRows(
      warehouse,
      "SELECT table, name, type, default_kind, default_expression, compression_codec, comment, "
      "is_in_partition_key OR is_in_sorting_key OR is_in_primary_key OR is_in_sampling_key "
      "FROM system.columns WHERE database = " +
          db + " ORDER BY table, position");
  if (!columns.ok()) return columns.error();
  for (auto& row : *columns) {
    auto table = state.tables.find(row[0]);
    if (table == state.tables.end() || row.size() < 8) continue;
    ColumnState column{row[1], row[2], row[3], row[4], row[5], "", row[6], row[7] == "1"};
    for (const auto& element : create_elements[row[0]]) {
      if (LeadingIdentifier(element) == column.name && element.front() == '`') {
        column.ttl = ColumnTtl(element);
        break;
      }
    }
    table->second.columns.push_back(std::move(column));
  }

  auto indexes = QueryRows(warehouse,
                           "SELECT table, name, expr, type_full, granularity FROM "
                           "system.data_skipping_indices WHERE database = " +
                               db);
  if (!indexes.ok()) return indexes.error();
  for (auto& row : *indexes) {
    auto table = state.tables.find(row[0]);
    if (table == state.tables.end() || row.size() < 5) continue;
    table->second.indexes.push_back({row[1], row[2], row[3], std::stoi(row[4])});
  }

  // system.projections is recent (ClickHouse 24.x); older servers only show projections in
  // the CREATE query.
  auto has_projections = QueryRows(
      warehouse,
      "SELECT count() FROM system.tables WHERE database = 'system' AND name = 'projections'");
  if (!has_projections.ok()) return has_projections.error();
  if (!has_projections->empty() && has_projections->front().front() != "0") {
    auto projections = QueryRows(
        warehouse, "SELECT table, name, query FROM system.projections WHERE database = " + db);
    if (!projections.ok()) return projections.error();
    for (auto& row : *projections) {
      auto table = state.tables.find(row[0]);
      if (table == state.tables.end() || row.size() < 3) continue;
      table->second.projections.push_back({row[1], row[2]});
    }
  } else {
    for (auto& [name, elements] : create_elements) {
      for (const auto& element : elements) {
        if (StartsWith(element, "PROJECTION ")) {
          state.tables[name].projections.push_back(ParseProjectionElement(element));
        }
      }
    }
  }
  return state;
}

}  // namespace sluice
