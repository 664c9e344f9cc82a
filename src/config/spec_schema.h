#pragma once

#include <span>
#include <string>
#include <string_view>

namespace sluice {

/// The shape a spec value must have.
enum class KeyKind {
  kString,
  kInt,
  kBool,
  kList,
  kMap,
  kStringOrList,  // one string (split at top-level commas) or a list of strings
  kStringOrMap,   // a short scalar form or the full map form, e.g. `engine`
  kDuration,      // a whole number with a unit: 250ms, 1s, 5m, 2h, 7d
};

std::string_view KeyKindName(KeyKind kind);

/// One key of a spec section: what it holds, whether it must be there, its default and what it
/// means. The loader parses with these tables and the key reference is rendered from them, so the
/// documentation cannot disagree with the parser.
struct KeyDescriptor {
  std::string_view key;
  KeyKind kind = KeyKind::kString;
  bool required = false;
  /// Used by the loader when the key is absent; empty when there is none or it is computed.
  std::string_view default_value;
  /// A default that depends on other values, in words ("the stream name"); shown in the reference.
  std::string_view computed_default;
  std::string_view description;
};

/// A map in the spec with a fixed set of keys, e.g. one table or one column.
struct SectionDescriptor {
  /// Where the section sits, with placeholders for names: `tables.<table>.columns[]`.
  std::string_view path;
  std::string_view description;
  std::span<const KeyDescriptor> keys;

  const KeyDescriptor* Find(std::string_view key) const;
};

extern const SectionDescriptor kTopLevelSection;
extern const SectionDescriptor kWarehouseSection;
extern const SectionDescriptor kTableSection;
extern const SectionDescriptor kEngineSection;
extern const SectionDescriptor kColumnSection;
extern const SectionDescriptor kIndexSection;
extern const SectionDescriptor kViewSection;
extern const SectionDescriptor kStreamSection;
extern const SectionDescriptor kStreamFieldSection;
extern const SectionDescriptor kSourceSection;
extern const SectionDescriptor kCsvSection;
extern const SectionDescriptor kKafkaSection;
extern const SectionDescriptor kKafkaMetadataSection;
extern const SectionDescriptor kNatsSection;
extern const SectionDescriptor kNatsMetadataSection;
extern const SectionDescriptor kPostgresCdcSection;
extern const SectionDescriptor kSqlPollSection;
extern const SectionDescriptor kServerSection;
extern const SectionDescriptor kServerAuthSection;
extern const SectionDescriptor kWalSection;
extern const SectionDescriptor kMonitoringSection;
extern const SectionDescriptor kStreamBatchSection;
extern const SectionDescriptor kDeduplicateSection;
extern const SectionDescriptor kRecordRuleSection;
extern const SectionDescriptor kAggregationSection;
extern const SectionDescriptor kEnrichSection;
extern const SectionDescriptor kEnrichFieldSection;
extern const SectionDescriptor kWindowSection;
extern const SectionDescriptor kEventTimeSection;
extern const SectionDescriptor kAggregateSection;
extern const SectionDescriptor kCheckpointSection;

/// Every section, in the order the reference lists them.
std::span<const SectionDescriptor* const> SpecSections();

/// The key reference of the whole spec format as markdown: one table per section. docs/spec.md
/// embeds this text verbatim (a unit test checks it).
std::string SpecReferenceMarkdown();

}  // namespace sluice
