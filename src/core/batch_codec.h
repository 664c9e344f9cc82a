#pragma once

#include <string>
#include <string_view>

#include "base/result.h"
#include "core/batch.h"

namespace sluice {

/// Appends `batch` to `out` as bytes: its column buffers as they are, so encoding is a few
/// copies, not a row-by-row serialization. Used to put validated batches in the write-ahead
/// log. The schema is not written; a fingerprint of it is, and decoding checks it.
void EncodeBatch(const Batch& batch, std::string& out);

/// Reads a batch written by EncodeBatch from the front of `bytes` (advancing it) into `batch`,
/// whose schema must be the one it was written with. Every length is checked against the
/// input, so damaged bytes give an error, never a crash.
Status DecodeBatch(std::string_view& bytes, Batch& batch);

/// Appends `schema` to `out` (names and ClickHouse type names), for bytes that must be read back
/// without knowing their schema: a checkpoint's batch of a table whose columns grew.
void EncodeSchema(const Schema& schema, std::string& out);

/// Reads a schema written by EncodeSchema from the front of `bytes` (advancing it).
Result<Schema> DecodeSchema(std::string_view& bytes);

/// A stable 64-bit fingerprint of a schema's names and types.
uint64_t SchemaFingerprint(const Schema& schema);

}  // namespace sluice
