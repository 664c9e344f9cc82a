#include "runtime/ingest_pipeline.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <chrono>

#include "base/clock.h"
#include "format/record_splitter.h"
#include "runtime/wal_entry.h"
#include "sinks/dead_letter/dead_letter_sink.h"

namespace sluice {

IngestPipeline::IngestPipeline(std::vector<std::unique_ptr<StreamRuntime>>& streams,
                               WriteAheadLog& wal, MetricRegistry& metrics)
    : wal_(wal) {
  for (auto& runtime : streams) {
    streams_.emplace(
        runtime->spec().name,
        StreamEntry{runtime.get(),
                    std::make_unique<ComponentMetrics>(metrics, ComponentKind::kSource, "http",
                                                       runtime->spec().name),
                    std::make_unique<DeadLetterMetrics>(metrics, runtime->spec().name)});
  }
}

IngestService::Answer IngestPipeline::Ingest(std::string_view stream_name, BodyKind kind,
                                             std::string_view body) {
  Answer answer;
  if (shutting_down_) {
    answer.outcome = Outcome::kShuttingDown;
    answer.message = "sluice is shutting down";
    return answer;
  }
  auto found = streams_.find(stream_name);
  if (found == streams_.end()) {
    answer.outcome = Outcome::kUnknownStream;
    answer.message = fmt::format("no stream named '{}'", stream_name);
    return answer;
  }
  StreamRuntime& stream = *found->second.runtime;
  ComponentMetrics& metrics = *found->second.metrics;

  // One padded copy lets simdjson parse every record in place.
  simdjson::padded_string padded(body);
  std::vector<std::string_view> records;
  std::string problem;
  RecordFraming framing = kind == BodyKind::kNdjson ? RecordFraming::kNdjson : RecordFraming::kJson;
  if (!SplitRecords(framing, padded, records, problem)) {
    answer.outcome = Outcome::kBadBody;
    answer.message = problem;
    metrics.Error(ErrorCode::kRecordMalformed, Stage::kReceiving);
    return answer;
  }

  int64_t received_at = WallClockMillis();
  Batch rows(stream.schema());
  Batch dead_letters(DeadLetterSchema());
  auto decoder = stream.Acquire();
  const char* buffer_end = padded.data() + padded.size() + simdjson::SIMDJSON_PADDING;
  std::vector<size_t> row_records;  // the record index of each decoded row
  row_records.reserve(records.size());
  auto reject = [&](size_t index, const Error& error) {
    answer.rejected.push_back({index, error.code, error.where, error.message});
    AppendDeadLetter(DeadLetter{received_at, "http", fmt::format("request record {}", index),
                                std::string(records[index]), error},
                     stream.spec().name, dead_letters);
    metrics.Error(error.code, Stage::kReceiving);
  };
  for (size_t index = 0; index < records.size(); ++index) {
    std::string_view record = records[index];
    Status decoded = decoder->Decode(record.data(), record.size(),
                                     static_cast<size_t>(buffer_end - record.data()), rows);
    if (decoded.ok()) {
      row_records.push_back(index);
    } else {
      reject(index, decoded.error());
    }
  }
  stream.Release(std::move(decoder));
  std::vector<RowFailure> failed;
  stream.Validate(rows, failed);
  for (const RowFailure& failure : failed) reject(row_records[failure.row], failure.error);
  std::sort(answer.rejected.begin(), answer.rejected.end(),
            [](const Rejected& a, const Rejected& b) { return a.index < b.index; });

  std::string payload;
  payload.reserve(body.size() + 1024);
  EncodeWalEntry({stream.index(), received_at}, rows, dead_letters, payload);
  auto appended = wal_.Append(payload);
  if (!appended.ok()) {
    answer.rejected.clear();
    answer.outcome =
        appended.error().code == ErrorCode::kWalFull ? Outcome::kBusy : Outcome::kShuttingDown;
    answer.message = appended.error().message;
    return answer;
  }
  metrics.RecordsReceived(records.size(), body.size());
  if (dead_letters.num_rows() > 0) metrics.DeadLettered(dead_letters.num_rows());
  // Counted only now that the dead-letter rows are durable: a refused request adds nothing.
  for (const Rejected& rejected : answer.rejected) found->second.dead_letters->Count(rejected.code);
  if (on_appended_) on_appended_();
  answer.accepted = rows.num_rows();
  return answer;
}

}  // namespace sluice
