#include "config/section_reader.h"

#include <fmt/format.h>

#include <algorithm>

#include "base/strings.h"
#include "config/clickhouse_syntax.h"

namespace sluice {
namespace {

std::string Describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return fmt::format("'{}'", node.Scalar());
    default:
      return "nothing";
  }
}

std::string Expected(KeyKind kind) {
  switch (kind) {
    case KeyKind::kString:
      return "a string";
    case KeyKind::kInt:
      return "an integer";
    case KeyKind::kBool:
      return "true or false";
    case KeyKind::kList:
      return "a list";
    case KeyKind::kMap:
      return "a map";
    case KeyKind::kStringOrList:
      return "a string or a list of strings";
    case KeyKind::kStringOrMap:
      return "a string or a map";
    case KeyKind::kDuration:
      return "a duration such as 250ms, 30s, 5m or 1h";
  }
  return "?";
}

bool IsContainerKind(KeyKind kind) {
  return kind == KeyKind::kList || kind == KeyKind::kMap || kind == KeyKind::kStringOrList;
}

}  // namespace

void SpecErrors::Add(ErrorCode code, const YAML::Mark& mark, std::string message) {
  SpecLocation location = Locate(mark);
  errors_.push_back(
      {location.line, location.column, MakeError(code, std::move(message), location.ToString())});
}

SpecLocation SpecErrors::Locate(const YAML::Mark& mark) const {
  // Only an empty document has no position; its problems are at its start.
  if (mark.is_null() || mark.line < 0) return SpecLocation{file_, 1, 1};
  return SpecLocation{file_, mark.line + 1, mark.column + 1};
}

std::vector<Error> SpecErrors::Take() {
  std::stable_sort(errors_.begin(), errors_.end(), [](const Entry& a, const Entry& b) {
    return std::tie(a.line, a.column) < std::tie(b.line, b.column);
  });
  std::vector<Error> errors;
  errors.reserve(errors_.size());
  for (Entry& entry : errors_) errors.push_back(std::move(entry.error));
  errors_.clear();
  return errors;
}

YAML::Mark MarkOrKey(const YAML::Node& value, const YAML::Mark& key_mark) {
  if (!value.IsDefined() || value.IsNull() || value.Mark().is_null()) return key_mark;
  return value.Mark();
}

SectionReader::SectionReader(const YAML::Node& node, const SectionDescriptor& section,
                             std::string path, const YAML::Mark& mark, SpecErrors& errors)
    : section_(section), path_(std::move(path)), mark_(mark), errors_(errors) {
  if (node.IsDefined() && !node.IsNull() && !node.IsMap()) {
    errors_.Add(ErrorCode::kSpecWrongType, mark_,
                fmt::format("{}: expected a map, found {}", path_.empty() ? "spec" : path_,
                            Describe(node)));
    return;
  }
  std::map<std::string, YAML::Mark> seen;
  std::vector<std::string_view> reported;
  if (node.IsMap()) {
    for (const auto& entry : node) {
      const YAML::Node& key_node = entry.first;
      YAML::Mark key_mark = key_node.Mark();
      if (!key_node.IsScalar()) {
        errors_.Add(ErrorCode::kSpecWrongType, key_mark,
                    fmt::format("{}: a key must be a string, found {}", path_, Describe(key_node)));
        continue;
      }
      const std::string& key = key_node.Scalar();
      auto [previous, inserted] = seen.emplace(key, key_mark);
      if (!inserted) {
        errors_.Add(ErrorCode::kSpecDuplicateName, key_mark,
                    fmt::format("{}: key given twice (first at line {})", PathOf(key),
                                previous->second.line + 1));
        continue;
      }
      const KeyDescriptor* descriptor = section_.Find(key);
      if (descriptor == nullptr) {
        std::vector<std::string_view> known;
        for (const KeyDescriptor& candidate : section_.keys) known.push_back(candidate.key);
        std::string suggestion = SuggestClosest(key, std::span<const std::string_view>(known));
        std::vector<std::string> names(known.begin(), known.end());
        errors_.Add(
            ErrorCode::kSpecUnknownKey, key_mark,
            suggestion.empty()
                ? fmt::format("{}: unknown key (known keys: {})", PathOf(key), Join(names, ", "))
                : fmt::format("{}: unknown key (did you mean '{}'?)", PathOf(key), suggestion));
        continue;
      }
      const YAML::Node& value = entry.second;
      if (value.IsNull() && IsContainerKind(descriptor->kind)) continue;
      if (!CheckKind(*descriptor, value, key_mark)) {
        reported.push_back(descriptor->key);
        continue;
      }
      values_.emplace(descriptor->key, value);
    }
  }
  for (const KeyDescriptor& descriptor : section_.keys) {
    if (!descriptor.required || values_.contains(descriptor.key)) continue;
    if (std::find(reported.begin(), reported.end(), descriptor.key) != reported.end()) continue;
    errors_.Add(ErrorCode::kSpecMissingKey, mark_,
                fmt::format("{}: missing required key '{}'", path_.empty() ? "spec" : path_,
                            descriptor.key));
  }
}

bool SectionReader::CheckKind(const KeyDescriptor& descriptor, const YAML::Node& value,
                              const YAML::Mark& key_mark) {
  bool fits = false;
  switch (descriptor.kind) {
    case KeyKind::kString:
      fits = value.IsScalar();
      break;
    case KeyKind::kInt: {
      int64_t ignored = 0;
      fits = value.IsScalar() && ParseInteger(value.Scalar(), ignored);
      break;
    }
    case KeyKind::kBool: {
      bool ignored = false;
      fits = value.IsScalar() && YAML::convert<bool>::decode(value, ignored);
      break;
    }
    case KeyKind::kList:
      fits = value.IsSequence();
      break;
    case KeyKind::kMap:
      fits = value.IsMap();
      break;
    case KeyKind::kStringOrMap:
      fits = value.IsScalar() || value.IsMap();
      break;
    case KeyKind::kDuration:
      fits = value.IsScalar() && ParseDuration(value.Scalar()).has_value();
      break;
    case KeyKind::kStringOrList:
      if (value.IsScalar()) return true;
      if (!value.IsSequence()) break;
      fits = true;
      for (size_t i = 0; i < value.size(); ++i) {
        if (value[i].IsScalar()) continue;
        errors_.Add(ErrorCode::kSpecWrongType, MarkOrKey(value[i], value.Mark()),
                    fmt::format("{}[{}]: expected a string, found {}", PathOf(descriptor.key), i,
                                Describe(value[i])));
        fits = false;
      }
      return fits;
  }
  if (!fits) {
    errors_.Add(ErrorCode::kSpecWrongType, MarkOrKey(value, key_mark),
                fmt::format("{}: expected {}, found {}", PathOf(descriptor.key),
                            Expected(descriptor.kind), Describe(value)));
  }
  return fits;
}

const KeyDescriptor& SectionReader::Descriptor(std::string_view key) const {
  const KeyDescriptor* descriptor = section_.Find(key);
  // Asking for a key the table does not define is a bug in the loader, not in the spec.
  if (descriptor == nullptr) {
    throw SetupError(MakeError(ErrorCode::kInternal,
                               fmt::format("section {} has no key '{}'", section_.path, key)));
  }
  return *descriptor;
}

bool SectionReader::Has(std::string_view key) const {
  Descriptor(key);
  return values_.contains(key);
}

YAML::Node SectionReader::Get(std::string_view key) const {
  Descriptor(key);
  auto found = values_.find(key);
  return found == values_.end() ? YAML::Node(YAML::NodeType::Undefined) : found->second;
}

YAML::Mark SectionReader::MarkOf(std::string_view key) const {
  auto found = values_.find(key);
  return found == values_.end() ? mark_ : MarkOrKey(found->second, mark_);
}

std::string SectionReader::PathOf(std::string_view key) const {
  return path_.empty() ? std::string(key) : fmt::format("{}.{}", path_, key);
}

std::string SectionReader::String(std::string_view key) const {
  const KeyDescriptor& descriptor = Descriptor(key);
  auto found = values_.find(key);
  if (found == values_.end()) return std::string(descriptor.default_value);
  return found->second.Scalar();
}

std::optional<int64_t> SectionReader::Int(std::string_view key, int64_t min, int64_t max) const {
  const KeyDescriptor& descriptor = Descriptor(key);
  auto found = values_.find(key);
  int64_t value = 0;
  if (found == values_.end()) {
    ParseInteger(descriptor.default_value, value);
    return value;
  }
  ParseInteger(found->second.Scalar(), value);
  if (value < min || value > max) {
    errors_.Add(ErrorCode::kSpecInvalidValue, found->second.Mark(),
                fmt::format("{}: {} is outside {}..{}", PathOf(key), value, min, max));
    return std::nullopt;
  }
  return value;
}

bool SectionReader::Bool(std::string_view key) const {
  const KeyDescriptor& descriptor = Descriptor(key);
  auto found = values_.find(key);
  if (found == values_.end()) return descriptor.default_value == "true";
  bool value = false;
  YAML::convert<bool>::decode(found->second, value);
  return value;
}

std::optional<std::chrono::milliseconds> SectionReader::Duration(
    std::string_view key, std::chrono::milliseconds min, std::chrono::milliseconds max) const {
  const KeyDescriptor& descriptor = Descriptor(key);
  auto found = values_.find(key);
  if (found == values_.end()) return ParseDuration(descriptor.default_value);
  std::optional<std::chrono::milliseconds> value = ParseDuration(found->second.Scalar());
  if (*value < min || *value > max) {
    errors_.Add(ErrorCode::kSpecInvalidValue, found->second.Mark(),
                fmt::format("{}: {} is outside {}ms..{}ms", PathOf(key), found->second.Scalar(),
                            min.count(), max.count()));
    return std::nullopt;
  }
  return value;
}

std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  // Twelve digits of days still fit in int64 milliseconds.
  if (digits == 0 || digits > 12) return std::nullopt;
  int64_t number = 0;
  for (size_t i = 0; i < digits; ++i) number = number * 10 + (text[i] - '0');
  std::string_view unit = text.substr(digits);
  static constexpr std::pair<std::string_view, int64_t> kUnits[] = {
      {"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000}};
  for (auto [name, milliseconds] : kUnits) {
    if (unit == name) return std::chrono::milliseconds(number * milliseconds);
  }
  return std::nullopt;
}

std::vector<LocatedString> SectionReader::Strings(std::string_view key) const {
  Descriptor(key);
  std::vector<LocatedString> strings;
  auto found = values_.find(key);
  if (found == values_.end()) return strings;
  const YAML::Node& value = found->second;
  if (value.IsScalar()) {
    for (std::string& part : SplitTopLevel(value.Scalar())) {
      strings.push_back({std::move(part), value.Mark()});
    }
    return strings;
  }
  for (const YAML::Node& element : value) {
    std::string text(Trim(element.Scalar()));
    if (!text.empty()) strings.push_back({std::move(text), element.Mark()});
  }
  return strings;
}

}  // namespace sluice
