#include "base/error_codes.h"

namespace sluice {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
#define SLUICE_ERROR_NAME(name, number, label, description) \
  case ErrorCode::name:                                     \
    return label;
    SLUICE_ERROR_CODES(SLUICE_ERROR_NAME)
#undef SLUICE_ERROR_NAME
  }
  return "UNKNOWN";
}

std::string_view ErrorCodeDescription(ErrorCode code) {
  switch (code) {
#define SLUICE_ERROR_DESCRIPTION(name, number, label, description) \
  case ErrorCode::name:                                            \
    return description;
    SLUICE_ERROR_CODES(SLUICE_ERROR_DESCRIPTION)
#undef SLUICE_ERROR_DESCRIPTION
  }
  return "unknown error code";
}

std::string ErrorCodeTableMarkdown() {
  std::string table = "| code | name | meaning |\n|---:|---|---|\n";
  ForEachErrorCode([&](ErrorCode code, std::string_view name, std::string_view description) {
    table += "| " + std::to_string(ErrorCodeNumber(code)) + " | `" + std::string(name) + "` | " +
             std::string(description) + " |\n";
  });
  return table;
}

}  // namespace sluice
