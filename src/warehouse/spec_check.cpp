#include "warehouse/spec_check.h"

#include <fmt/format.h>

#include "warehouse/ddl.h"
#include "warehouse/identifier.h"
#include "warehouse/scratch_database.h"

namespace sluice {

std::string ShortClickHouseMessage(const Error& error) {
  std::string_view text = error.message;
  constexpr std::string_view kException = "DB::Exception: ";
  if (size_t at = text.find(kException); at != std::string_view::npos) {
    text.remove_prefix(at + kException.size());
  }
  if (size_t at = text.rfind(" (version "); at != std::string_view::npos) {
    text = text.substr(0, at);
  }
  // Syntax errors list every token the parser would have taken; the position says enough.
  constexpr std::string_view kExpected = " Expected one of: ";
  if (size_t at = text.find(kExpected); at != std::string_view::npos) {
    size_t code = text.rfind(" (");
    return fmt::format("{}{}", text.substr(0, at),
                       code != std::string_view::npos && code > at ? text.substr(code) : "");
  }
  return std::string(text);
}

Result<std::vector<Error>> CheckSpecInEngine(Warehouse& warehouse, const PipelineSpec& spec) {
  ScratchDatabase scratch(warehouse, "_sluice_check_");
  if (auto created = scratch.Create(); !created.ok()) return created.error();
  std::vector<Error> problems;
  auto reject = [&](const char* kind, const std::string& name, const SpecLocation& where,
                    const Error& error) {
    problems.push_back(MakeError(
        ErrorCode::kSpecInvalidExpression,
        fmt::format("{} {}: ClickHouse rejects it: {}", kind, name, ShortClickHouseMessage(error)),
        where.ToString()));
  };
  CreateTableOptions options;
  options.strip_replication = true;
  for (const TableSpec& table : DesiredTables(spec)) {
    auto created = warehouse.Execute(CreateTableSql(table, scratch.name(), options));
    if (!created.ok()) reject("table", table.name, table.where, created.error());
  }
  // A view's query names its tables without a database: with the scratch database current,
  // those names find the scratch copies, so a view can be checked before its tables exist.
  if (auto use = warehouse.Execute("USE " + QuoteIdentifier(scratch.name())); !use.ok()) {
    return use.error();
  }
  for (const ViewSpec& view : spec.views) {
    auto created = warehouse.Execute(CreateViewSql(view, scratch.name()));
    if (!created.ok()) reject("view", view.name, view.where, created.error());
  }
  if (auto use = warehouse.Execute("USE " + QuoteIdentifier(spec.warehouse.database)); !use.ok()) {
    // The spec's database may not exist yet; the engine's own default is then current.
    if (auto fallback = warehouse.Execute("USE default"); !fallback.ok()) return fallback.error();
  }
  return problems;
}

}  // namespace sluice
