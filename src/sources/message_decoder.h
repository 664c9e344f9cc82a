#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "config/spec.h"
#include "core/batch.h"
#include "format/json_record_decoder.h"

namespace sluice {

/// One message of a queue (Kafka or NATS JetStream) as its source hands it to MessageDecoder.
/// Views stay valid only during MessageDecoder::Add.
struct QueueMessage {
  std::optional<std::string_view> value;  // nullopt: no value at all (a Kafka tombstone)
  std::optional<std::string_view> key;
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  std::string_view topic;  // Kafka topic or NATS subject
  int64_t partition = 0;
  int64_t offset = 0;  // Kafka offset or stream sequence
  std::optional<int64_t> timestamp_ms;
};

/// Turns queue messages into rows of a stream's schema: the value through the JSON decoder (or
/// whole into one String field), metadata (key, headers, topic, partition, offset, time stamp)
/// into the fields the spec names. Shared by the Kafka and NATS sources.
///
/// Rows are appended to the caller's batch in Add order; metadata columns are filled at once,
/// decoded JSON columns by Finish (the JSON decoder writes a batch of its own schema), so the
/// batch is consistent only after Finish. Not thread-safe: one per source.
class MessageDecoder {
 public:
  /// `fields`: the stream's decode fields (StreamDecodeFields). Throws SetupError when a field
  /// the format names is missing or has a type the metadata cannot fill.
  MessageDecoder(std::vector<DecodeField> fields, DecodeOptions options, MessageFormatSpec format);
  ~MessageDecoder();

  const Schema& schema() const { return schema_; }
  /// Some field receives the headers (sources skip parsing them otherwise).
  bool needs_headers() const { return needs_headers_; }

  /// Appends one row for `message` to `batch`, or returns why it cannot be a row (a kRecord*
  /// error; the batch is left as before).
  Status Add(const QueueMessage& message, Batch& batch);
  /// Completes the rows added since the last Finish.
  void Finish(Batch& batch);

 private:
  enum class Metadata { kKey, kHeaders, kTopic, kPartition, kOffset, kTimestamp };
  struct MetadataField {
    Metadata what;
    size_t column;
  };

  Status AddMetadata(const MetadataField& field, const QueueMessage& message, Column& column);
  void TruncateMetadata(Batch& batch, size_t rows);

  std::vector<DecodeField> fields_;
  MessageFormatSpec format_;
  Schema schema_;
  std::vector<MetadataField> metadata_;
  bool needs_headers_ = false;
  /// JSON: the decoder of the non-metadata fields, and where its columns go in the batch.
  std::unique_ptr<JsonRecordDecoder> json_;
  std::vector<size_t> json_columns_;
  std::optional<Batch> json_rows_;  // set when metadata fields force decoding aside
  /// Raw formats: the value's column and the columns filled with defaults.
  size_t value_column_ = 0;
  std::vector<size_t> default_columns_;
};

}  // namespace sluice
