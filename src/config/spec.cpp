#include "config/spec.h"

#include <fmt/format.h>

namespace sluice {

std::string SpecLocation::ToString() const {
  return fmt::format("{}:{}:{}", file, line, column);
}

std::string ListenAddress::ToString() const {
  if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

bool StreamSpec::NeedsValidation() const {
  if (deduplicate || !rules.empty()) return true;
  for (const StreamFieldSpec& field : fields) {
    if (field.HasRules()) return true;
  }
  return false;
}

const TableSpec* PipelineSpec::FindTable(std::string_view name) const {
  for (const TableSpec& table : tables) {
    if (table.name == name) return &table;
  }
  return nullptr;
}

const StreamSpec* PipelineSpec::FindStream(std::string_view name) const {
  for (const StreamSpec& stream : streams) {
    if (stream.name == name) return &stream;
  }
  return nullptr;
}

}  // namespace sluice
