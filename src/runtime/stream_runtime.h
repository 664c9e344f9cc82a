#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "config/spec.h"
#include "core/batch.h"
#include "format/json_record_decoder.h"
#include "operators/validate/validate_operator.h"

namespace sluice {

/// What the live pipeline knows about one stream: its table, the columns it decodes, and a
/// pool of decoders (a decoder is single-threaded; requests are served by several threads).
class StreamRuntime {
 public:
  StreamRuntime(uint32_t index, const StreamSpec& stream, const TableSpec& table,
                std::string dead_letter_table);

  uint32_t index() const { return index_; }
  const StreamSpec& spec() const { return stream_; }
  const std::string& table() const { return table_; }
  const std::string& dead_letter_table() const { return dead_letter_table_; }
  const Schema& schema() const { return schema_; }

  /// A decoder for the calling thread; give it back with Release.
  std::unique_ptr<JsonRecordDecoder> Acquire();
  void Release(std::unique_ptr<JsonRecordDecoder> decoder);

  /// Applies the stream's validation rules to a decoded batch (rows that fail are removed and
  /// reported); does nothing for a stream without rules. Thread-safe: the deduplication memory
  /// is shared by every request of the stream, so a repeat is caught whichever thread serves it.
  void Validate(Batch& batch, std::vector<RowFailure>& failed);

 private:
  uint32_t index_;
  StreamSpec stream_;
  std::string table_;
  std::string dead_letter_table_;
  std::vector<DecodeField> fields_;
  DecodeOptions options_;
  Schema schema_;
  std::optional<ValidateOperator> validate_;
  std::unique_ptr<ValidateState> validate_state_;
  std::mutex validate_mutex_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<JsonRecordDecoder>> idle_;
};

}  // namespace sluice
