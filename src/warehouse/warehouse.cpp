#include "warehouse/warehouse.h"

#include <fmt/format.h>

#include <charconv>

namespace sluice {

Error ClickHouseError(std::string_view message, std::string_view statement) {
  Error error;
  error.code = ErrorCode::kWarehouseQueryFailed;
  // ClickHouse writes "Code: 60. DB::Exception: <text>. (UNKNOWN_TABLE) (version ...)".
  std::string_view text = message;
  constexpr std::string_view kPrefix = "Code: ";
  if (text.substr(0, kPrefix.size()) == kPrefix) {
    const char* begin = text.data() + kPrefix.size();
    std::from_chars(begin, text.data() + text.size(), error.upstream_code);
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  error.message = std::string(text);
  std::string_view head = statement.substr(0, 120);
  error.where = head.size() < statement.size() ? fmt::format("{}...", head) : std::string(head);
  for (char& c : error.where) {
    if (c == '\n') c = ' ';
  }
  return error;
}

}  // namespace sluice
