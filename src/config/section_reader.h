#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "config/spec.h"
#include "config/spec_schema.h"

namespace sluice {

/// Collects every problem found in one spec file with its position, so that a user sees them all
/// at once, sorted by where they are.
class SpecErrors {
 public:
  explicit SpecErrors(std::string file) : file_(std::move(file)) {}

  /// `mark` is yaml-cpp's 0-based position; a null mark (an empty document) counts as 1:1.
  void Add(ErrorCode code, const YAML::Mark& mark, std::string message);
  SpecLocation Locate(const YAML::Mark& mark) const;
  /// The errors sorted by line and column.
  std::vector<Error> Take();

 private:
  struct Entry {
    int line;
    int column;
    Error error;
  };
  std::string file_;
  std::vector<Entry> errors_;
};

/// A string from the spec with the position it was written at.
struct LocatedString {
  std::string text;
  YAML::Mark mark;
};

/// Reads one spec map against its descriptor table. Construction reports unknown keys (with the
/// closest known key), repeated keys, values of the wrong kind and missing required keys; the
/// getters then return values with the table's defaults applied, so a value that was reported
/// is never looked at again.
class SectionReader {
 public:
  /// `path` names the map in messages, e.g. "tables.user_events"; `mark` locates a map that is
  /// absent or null.
  SectionReader(const YAML::Node& node, const SectionDescriptor& section, std::string path,
                const YAML::Mark& mark, SpecErrors& errors);

  /// The key is present and of the right kind.
  bool Has(std::string_view key) const;
  /// The value of a present key of the right kind, else an undefined node.
  YAML::Node Get(std::string_view key) const;
  /// Where the key's value was written, or the map itself when the key is absent.
  YAML::Mark MarkOf(std::string_view key) const;
  /// "path.key" for messages.
  std::string PathOf(std::string_view key) const;
  const std::string& path() const { return path_; }
  const YAML::Mark& mark() const { return mark_; }

  std::string String(std::string_view key) const;
  /// The value, or the default; a value outside [min, max] is reported and nullopt returned.
  std::optional<int64_t> Int(std::string_view key, int64_t min, int64_t max) const;
  bool Bool(std::string_view key) const;
  /// A duration value, or the default; outside [min, max] is reported and nullopt returned.
  std::optional<std::chrono::milliseconds> Duration(std::string_view key,
                                                    std::chrono::milliseconds min,
                                                    std::chrono::milliseconds max) const;
  /// A string-or-list value: a list's elements, or the string split at top-level commas.
  std::vector<LocatedString> Strings(std::string_view key) const;

 private:
  const KeyDescriptor& Descriptor(std::string_view key) const;
  bool CheckKind(const KeyDescriptor& descriptor, const YAML::Node& value,
                 const YAML::Mark& key_mark);

  const SectionDescriptor& section_;
  std::string path_;
  YAML::Mark mark_;
  SpecErrors& errors_;
  std::map<std::string_view, YAML::Node> values_;
};

/// "250ms", "1s", "5m", "2h", "7d": a whole number and a unit; nullopt for anything else.
std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text);

/// Position of a node; for a null value (a key with nothing after it) yaml-cpp points past it,
/// so callers pass the key's position instead.
YAML::Mark MarkOrKey(const YAML::Node& value, const YAML::Mark& key_mark);

}  // namespace sluice
