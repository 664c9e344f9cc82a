#include "operators/enrich/warehouse_lookup.h"

#include <fmt/format.h>

#include "warehouse/identifier.h"

namespace sluice {
namespace {

std::string QuoteTable(std::string_view table) {
  size_t dot = table.find('.');
  if (dot == std::string_view::npos) return QuoteIdentifier(table);
  return QualifiedName(table.substr(0, dot), table.substr(dot + 1));
}

// One TabSeparated field: \N is NULL, backslash escapes as ClickHouse writes them.
std::optional<std::string> Unescape(std::string_view field) {
  if (field == "\\N") return std::nullopt;
  std::string text;
  text.reserve(field.size());
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] != '\\' || i + 1 == field.size()) {
      text += field[i];
      continue;
    }
    char next = field[++i];
    switch (next) {
      case 't':
        text += '\t';
        break;
      case 'n':
        text += '\n';
        break;
      case 'r':
        text += '\r';
        break;
      case '0':
        text += '\0';
        break;
      case 'b':
        text += '\b';
        break;
      case 'f':
        text += '\f';
        break;
      default:
        text += next;
        break;
    }
  }
  return text;
}

}  // namespace

WarehouseLookup::WarehouseLookup(Warehouse& warehouse, LookupTable table)
    : warehouse_(warehouse), table_(std::move(table)) {}

Result<std::unique_ptr<WarehouseLookup>> WarehouseLookup::Create(Warehouse& warehouse,
                                                                 LookupTable table) {
  std::unique_ptr<WarehouseLookup> lookup(new WarehouseLookup(warehouse, std::move(table)));
  std::string probe = lookup->Select({}, 10000);
  Result<QueryResult> result = warehouse.Query(probe, "TabSeparated");
  if (!result.ok()) {
    return MakeError(ErrorCode::kLookupFailed,
                     fmt::format("lookup in ClickHouse table {}: {}", lookup->table_.table,
                                 result.error().message));
  }
  return lookup;
}

std::string WarehouseLookup::Select(const std::vector<std::vector<std::string>>& keys,
                                    int64_t timeout_ms) const {
  std::string columns;
  for (const std::string& column : table_.key_columns) {
    columns += (columns.empty() ? "" : ", ") + QuoteIdentifier(column);
  }
  for (const std::string& column : table_.value_columns) columns += ", " + QuoteIdentifier(column);
  std::string where;
  for (size_t part = 0; part < table_.key_columns.size(); ++part) {
    std::string set;
    for (const std::vector<std::string>& key : keys) {
      set += (set.empty() ? "" : ", ") + QuoteString(key[part]);
    }
    // An empty set matches nothing (used to check the table when the operator is built).
    where += fmt::format("{}{} IN ({})", part == 0 ? "" : " AND ",
                         QuoteIdentifier(table_.key_columns[part]), set.empty() ? "NULL" : set);
  }
  int64_t seconds = std::max<int64_t>(1, (timeout_ms + 999) / 1000);
  return fmt::format("SELECT {} FROM {} WHERE {} SETTINGS max_execution_time = {}", columns,
                     QuoteTable(table_.table), where, seconds);
}

Result<std::vector<LookupRow>> WarehouseLookup::Lookup(
    const std::vector<std::vector<std::string>>& keys, int64_t timeout_ms) {
  std::vector<LookupRow> rows;
  if (keys.empty()) return rows;
  Result<QueryResult> result = warehouse_.Query(Select(keys, timeout_ms), "TabSeparated");
  if (!result.ok()) {
    // 159: TIMEOUT_EXCEEDED.
    ErrorCode code =
        result.error().upstream_code == 159 ? ErrorCode::kLookupTimeout : ErrorCode::kLookupFailed;
    return MakeError(code, fmt::format("lookup in ClickHouse table {}: {}", table_.table,
                                       result.error().message));
  }
  std::string_view data = result->data;
  size_t parts = table_.key_columns.size();
  while (!data.empty()) {
    size_t end = data.find('\n');
    std::string_view line = data.substr(0, end);
    data.remove_prefix(end == std::string_view::npos ? data.size() : end + 1);
    LookupRow row;
    size_t column = 0;
    while (true) {
      size_t tab = line.find('\t');
      std::optional<std::string> value = Unescape(line.substr(0, tab));
      if (column < parts) {
        row.key.push_back(value.value_or(""));
      } else {
        row.values.push_back(std::move(value));
      }
      ++column;
      if (tab == std::string_view::npos) break;
      line.remove_prefix(tab + 1);
    }
    if (row.values.size() != table_.value_columns.size()) {
      return MakeError(
          ErrorCode::kLookupFailed,
          fmt::format("lookup in ClickHouse table {}: a row with {} fields, expected {}",
                      table_.table, column, parts + table_.value_columns.size()));
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace sluice
