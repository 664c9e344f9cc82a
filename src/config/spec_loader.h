#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "config/spec.h"

namespace sluice {

/// Everything found wrong with a spec, every problem at once.
struct SpecLoadResult {
  std::optional<PipelineSpec> spec;  // set only when there are no errors
  std::vector<Error> errors;         // sorted by position; `where` is "file:line:column"

  bool ok() const { return errors.empty() && spec.has_value(); }
};

/// Reads and validates a spec file; relative paths in it are resolved against its folder (made
/// absolute). An unreadable file is one kSpecFileNotFound error.
SpecLoadResult LoadSpecFile(const std::string& path);

/// Validates spec text. `file_name` is used in error positions and PipelineSpec::file;
/// `base_dir` resolves relative paths (files are checked for existence there).
SpecLoadResult LoadSpecText(std::string_view yaml, const std::string& file_name,
                            const std::string& base_dir);

}  // namespace sluice
