#include "runtime/ingest_pipeline.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <chrono>

#include "base/clock.h"
#include "runtime/wal_entry.h"
#include "sinks/dead_letter/dead_letter_sink.h"

namespace sluice {
namespace {

bool IsBlank(std::string_view text) {
  return text.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

/// The records of a request body, each as its own JSON text; false when the body as a whole
/// cannot be read (then nothing of it is accepted).
bool SplitRecords(IngestService::BodyKind kind, const simdjson::padded_string& body,
                  std::vector<std::string_view>& records, std::string& problem) {
  std::string_view text(body.data(), body.size());
  if (kind == IngestService::BodyKind::kNdjson) {
    size_t start = 0;
    while (start < text.size()) {
      size_t end = text.find('\n', start);
      if (end == std::string_view::npos) end = text.size();
      std::string_view line = text.substr(start, end - start);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (!IsBlank(line)) records.push_back(line);
      start = end + 1;
    }
    if (records.empty()) problem = "the body holds no records";
    return !records.empty();
  }
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) {
    problem = "the body is empty";
    return false;
  }
  if (text[first] == '{') {
    records.push_back(text.substr(first, text.find_last_not_of(" \t\r\n") + 1 - first));
    return true;
  }
  if (text[first] != '[') {
    problem = "the body is neither a JSON object, an array of objects, nor NDJSON";
    return false;
  }
  // An array: each element is one record; elements that are not objects are still records
  // (refused one by one); a body that is not valid JSON as a whole is refused entirely.
  simdjson::ondemand::parser parser;
  simdjson::ondemand::document document;
  simdjson::ondemand::array array;
  if (parser.iterate(body).get(document) || document.get_array().get(array)) {
    problem = "the body is not a valid JSON array";
    return false;
  }
  for (auto element : array) {
    simdjson::ondemand::value value;
    std::string_view raw;
    if (element.get(value)) {
      problem = "the body is not a valid JSON array";
      return false;
    }
    simdjson::ondemand::json_type type;
    if (value.type().get(type)) {
      problem = "the body is not a valid JSON array";
      return false;
    }
    simdjson::error_code error = simdjson::SUCCESS;  // scalars below set no error
    if (type == simdjson::ondemand::json_type::object) {
      simdjson::ondemand::object object;
      error = value.get_object().get(object);
      if (!error) error = object.raw_json().get(raw);
    } else if (type == simdjson::ondemand::json_type::array) {
      simdjson::ondemand::array inner;
      error = value.get_array().get(inner);
      if (!error) error = inner.raw_json().get(raw);
    } else {
      raw = value.raw_json_token();
    }
    if (error) {
      problem =
          fmt::format("the body is not a valid JSON array: {}", simdjson::error_message(error));
      return false;
    }
    records.push_back(raw);
  }
  // After the array's end the document has no current location unless text follows it.
  const char* trailing = nullptr;
  if (!document.current_location().get(trailing)) {
    problem = "the body has text after its JSON array";
    return false;
  }
  if (records.empty()) problem = "the array holds no records";
  return !records.empty();
}

}  // namespace

IngestPipeline::IngestPipeline(std::vector<std::unique_ptr<StreamRuntime>>& streams,
                               WriteAheadLog& wal, MetricRegistry& metrics)
    : wal_(wal) {
  for (auto& runtime : streams) {
    streams_.emplace(runtime->spec().name,
                     StreamEntry{runtime.get(),
                                 std::make_unique<ComponentMetrics>(metrics, ComponentKind::kSource,
                                                                    "http", runtime->spec().name)});
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
  if (!SplitRecords(kind, padded, records, problem)) {
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
  if (on_appended_) on_appended_();
  answer.accepted = rows.num_rows();
  return answer;
}

}  // namespace sluice
