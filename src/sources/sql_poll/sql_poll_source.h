#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "config/spec.h"
#include "dataflow/source.h"
#include "format/decode_field.h"
#include "sources/sql_poll/sql_driver.h"

namespace sluice {

/// Reads a database table incrementally by a cursor column (an integer id or an updated-at
/// timestamp): `SELECT ... WHERE cursor >= last - overlap ORDER BY cursor LIMIT n`. The overlap
/// re-reads the end of the cursor range to catch rows committed late with a smaller cursor;
/// rows read again are dropped by (key, cursor value), remembered only inside the overlap.
///
/// Contract beyond Source: Position() holds the cursor and the identities of the rows inside
/// the overlap, so a restored instance neither repeats nor skips a row. Poll never blocks
/// longer than 100 ms: between polls that found nothing new it waits out `interval` in slices.
/// A failing query is logged (SQL_POLL_FAILED) and retried after `interval`: Poll reports
/// kIdle, not an error, so a database restart does not stop the pipeline.
class SqlPollSource : public Source {
 public:
  /// Rows have the schema of `fields`: each is read from the table column of its name.
  SqlPollSource(std::string name, SqlPollSpec spec, std::vector<DecodeField> fields,
                uint32_t batch_rows);

  const Schema& schema() const { return schema_; }
  Status Open() override;
  Result<PollStatus> Poll(Batch& batch, std::vector<DeadLetter>& dead_letters) override;
  /// "sqlpoll:<i|t>:<last cursor>:<cursor>=<hash>,<hash>;..." ("sqlpoll:-" before any row).
  std::string Position() const override;
  Status Restore(const std::string& position) override;
  std::string LastPollIdentity() const override { return last_identity_; }
  uint64_t bytes_read() const override { return bytes_read_; }

  /// The most rows remembered for dropping re-reads; beyond it the oldest cursor values are
  /// forgotten (a re-read of those could then repeat).
  static constexpr size_t kMaxRemembered = 1000000;

 private:
  enum class CursorKind : char { kUnknown = '-', kInteger = 'i', kTimestamp = 't' };

  std::string BuildQuery() const;
  Result<int64_t> ParseCursor(const std::string& text);
  std::string CursorLiteral(int64_t value) const;
  void Forget();

  std::string name_;
  SqlPollSpec spec_;
  std::vector<DecodeField> fields_;
  Schema schema_;
  uint32_t batch_rows_;
  uint32_t limit_;
  std::unique_ptr<SqlDriver> driver_;
  CursorKind kind_ = CursorKind::kUnknown;
  int64_t last_ = 0;
  std::map<int64_t, std::unordered_set<uint64_t>> seen_;  // cursor value -> row identities
  size_t remembered_ = 0;
  std::chrono::steady_clock::time_point next_query_{};
  std::string last_identity_;
  uint64_t bytes_read_ = 0;
};

}  // namespace sluice
