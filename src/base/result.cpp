#include "base/result.h"

namespace sluice {

std::string Error::ToString() const {
  std::string text;
  if (!where.empty()) {
    text += where;
    text += ": ";
  }
  text += message;
  text += " [";
  text += ErrorCodeName(code);
  text += "]";
  return text;
}

}  // namespace sluice
