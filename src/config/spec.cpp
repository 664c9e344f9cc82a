#include "config/spec.h"

#include <fmt/format.h>

#include "config/clickhouse_syntax.h"

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

std::optional<ListenAddress> ParseListenAddress(std::string_view text) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  std::string_view host = text.substr(0, colon);
  std::string_view port = text.substr(colon + 1);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return std::nullopt;
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return std::nullopt;
  }
  if (host.find_first_of(" \t/") != std::string_view::npos) return std::nullopt;
  int64_t number = 0;
  if (port.empty() || port.size() > 5 || !ParseInteger(port, number) || number < 0 ||
      number > 65535 || port.front() == '-' || port.front() == '+') {
    return std::nullopt;
  }
  return ListenAddress{std::string(host), static_cast<uint16_t>(number)};
}

}  // namespace sluice
