#pragma once

#include <xxhash.h>

#include <cstdint>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "config/spec.h"
#include "dataflow/source.h"
#include "format/csv_record_decoder.h"
#include "format/json_record_decoder.h"

namespace sluice {

/// A bounded source reading NDJSON or CSV records from one file, in chunks (memory stays at
/// about one chunk whatever the file size). Every line ends up either as a row or as a dead
/// letter that names the file and line.
class FileSource : public Source {
 public:
  FileSource(SourceSpec spec, std::vector<DecodeField> fields, DecodeOptions options = {});
  ~FileSource() override;

  const Schema& schema() const { return schema_; }

  Status Open() override;
  Result<PollStatus> Poll(Batch& batch, std::vector<DeadLetter>& dead_letters) override;
  /// "<byte offset>:<line number>" of the next unread record.
  std::string Position() const override;
  Status Restore(const std::string& position) override;
  /// "<first line>-<last line>:<hash of the bytes>" of the last poll's records.
  std::string LastPollIdentity() const override { return last_identity_; }
  uint64_t bytes_read() const override { return offset_ - start_offset_; }
  /// Also keep, for each row of the last poll, its record text and place in the file (what a
  /// later check needs to dead-letter the row).
  void KeepRowRecords(bool keep) { keep_row_records_ = keep; }
  /// Record text and "file:line" of row `row` of the last poll (KeepRowRecords only).
  const std::pair<std::string, std::string>& RowRecord(size_t row) const {
    return row_records_[row];
  }

 private:
  /// Moves unread bytes to the front and reads more; false at end of file.
  Result<bool> ReadMore();
  Status ReadCsvHeader(std::vector<std::string>& header);
  void HandleRecord(std::string_view record, size_t capacity, Batch& batch,
                    std::vector<DeadLetter>& dead_letters);

  SourceSpec spec_;
  std::vector<DecodeField> fields_;
  DecodeOptions options_;
  bool keep_row_records_ = false;
  std::vector<std::pair<std::string, std::string>> row_records_;
  Schema schema_;
  std::unique_ptr<JsonRecordDecoder> json_;
  std::unique_ptr<CsvRecordDecoder> csv_;
  std::ifstream file_;
  std::string buffer_;  // [begin_, end_) unread; always followed by zeroed padding
  size_t begin_ = 0;
  size_t end_ = 0;
  bool end_of_file_ = false;
  uint64_t offset_ = 0;  // file offset of buffer_[begin_]
  uint64_t start_offset_ = 0;
  uint64_t line_ = 1;  // line number of buffer_[begin_]
  std::string last_identity_;
  XXH3_state_t* hash_ = nullptr;
};

}  // namespace sluice
