#pragma once

#include <vector>

#include "config/spec.h"
#include "format/decode_field.h"

namespace sluice {

/// The columns a stream decodes, from its spec: its fields (JSON paths split at dots), or when
/// it lists none, every column of its table that is not computed by ClickHouse.
std::vector<DecodeField> StreamDecodeFields(const StreamSpec& stream, const TableSpec& table);

/// How a stream's records are decoded: strict or lenient coercion, unknown keys kept or not.
DecodeOptions StreamDecodeOptions(const StreamSpec& stream);

}  // namespace sluice
