#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "config/spec.h"
#include "core/batch.h"
#include "format/decode_field.h"
#include "operators/validate/validate_operator.h"

namespace sluice::fuzz {

/// One stream of the fuzzers' spec, ready to decode and validate records as `sluice run` does.
struct FuzzStream {
  StreamSpec spec;
  std::vector<DecodeField> fields;
  DecodeOptions options;
  Schema schema;
  ValidateOperator validate;
};

/// The streams of the built-in fuzzing spec (stream_harness.cpp): both read the same table of
/// every column type with nested paths and every kind of rule; "lenient" keeps unknown keys,
/// "strict" has strict coercion. Loaded once; aborts if the spec stops loading.
const std::vector<FuzzStream>& FuzzStreams();

/// Aborts with `what` when `condition` is false, so libFuzzer keeps the input as a crash.
void Require(bool condition, std::string_view what);

/// Whether `code` is one of the record codes (2xx) that go to the dead-letter table.
bool IsRecordCode(ErrorCode code);

/// Decodes records into one batch, checking the decoders' contract for each: a success adds
/// exactly one row to every column; a failure has a record code and leaves the batch
/// byte-for-byte as it was.
class CheckedDecoder {
 public:
  explicit CheckedDecoder(Batch& batch) : batch_(batch) {}

  /// Runs `decode` (one record into the batch) and checks it. Returns whether it decoded.
  bool Decode(const std::function<Status()>& decode);
  /// Records decoded so far.
  size_t decoded() const { return decoded_; }

 private:
  Batch& batch_;
  // The batch's encoding after the last success: failures, the common case, need no new one.
  std::string snapshot_;
  bool snapshot_current_ = false;
  size_t decoded_ = 0;
};

/// Validates `batch`, which holds `decoded` freshly decoded rows, and checks the operator's
/// contract (rows out = rows in - failures, failures in row order with record codes), then that
/// the batch survives the write-ahead log's encoding: the round trip gives the same bytes, and a
/// copy with one byte changed (where `seed` says) decodes to an error or to a usable batch.
void CheckValidateAndEncode(const FuzzStream& stream, Batch& batch, size_t decoded, uint64_t seed);

/// A stable hash of the input, to pick positions from.
uint64_t InputSeed(std::string_view input);

}  // namespace sluice::fuzz
