// Decode throughput of the record decoders on ~150-byte, 7-field records, the shape of a typical
// event. Not a test: prints Google Benchmark's table (items_per_second = rows/s).
#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <simdjson.h>

#include <string>
#include <vector>

#include "format/csv_record_decoder.h"
#include "format/json_record_decoder.h"

namespace sluice {
namespace {

constexpr size_t kRecords = 10000;

std::vector<DecodeField> EventFields() {
  auto field = [](std::string name, std::string_view type) {
    return DecodeField{std::move(name), *ParseDataType(type), {}, false};
  };
  return {field("event_id", "UInt64"),
          field("user", "String"),
          field("event", "LowCardinality(String)"),
          field("amount", "Decimal(12, 2)"),
          field("success", "Bool"),
          field("at", "DateTime64(3)"),
          field("country", "FixedString(2)")};
}

std::string JsonLines() {
  std::string lines;
  for (size_t i = 0; i < kRecords; ++i) {
    lines += fmt::format(
        R"({{"event_id":{},"user":"user-{:06}@example.com","event":"checkout_completed",)"
        R"("amount":{}.{:02},"success":{},"at":"2024-05-{:02}T07:08:{:02}.{:03}Z","country":"DE"}})",
        1'000'000'000 + i, i % 100000, i % 5000, i % 100, i % 7 != 0 ? "true" : "false", 1 + i % 28,
        i % 60, i % 1000);
    lines += '\n';
  }
  return lines;
}

std::string CsvLines() {
  std::string lines;
  for (size_t i = 0; i < kRecords; ++i) {
    lines += fmt::format(
        "{},user-{:06}@example.com,checkout_completed,{}.{:02},{},2024-05-{:02} "
        "07:08:{:02}.{:03},DE\n",
        1'000'000'000 + i, i % 100000, i % 5000, i % 100, i % 7 != 0 ? "true" : "false", 1 + i % 28,
        i % 60, i % 1000);
  }
  return lines;
}

void BM_JsonDecode(benchmark::State& state) {
  std::string lines = JsonLines();
  simdjson::padded_string buffer(lines);
  JsonRecordDecoder decoder(EventFields());
  Batch batch(decoder.schema());
  for (auto _ : state) {
    batch.Clear();
    size_t start = 0;
    while (start < lines.size()) {
      size_t end = lines.find('\n', start);
      Status status = decoder.Decode(buffer.data() + start, end - start,
                                     lines.size() + simdjson::SIMDJSON_PADDING - start, batch);
      if (!status.ok()) state.SkipWithError(status.error().ToString().c_str());
      start = end + 1;
    }
    benchmark::DoNotOptimize(batch.num_rows());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kRecords));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * lines.size()));
  state.counters["bytes_per_record"] = static_cast<double>(lines.size()) / kRecords;
}
BENCHMARK(BM_JsonDecode)->Unit(benchmark::kMillisecond);

void BM_CsvSplitAndDecode(benchmark::State& state) {
  std::string lines = CsvLines();
  CsvRecordDecoder decoder(EventFields());
  Batch batch(decoder.schema());
  for (auto _ : state) {
    batch.Clear();
    std::string_view text = lines;
    while (!text.empty()) {
      CsvSplit split = CsvRecordDecoder::NextRecord(text);
      Status status = decoder.Decode(split.record, batch);
      if (!status.ok()) state.SkipWithError(status.error().ToString().c_str());
      text.remove_prefix(split.consumed);
    }
    benchmark::DoNotOptimize(batch.num_rows());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kRecords));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * lines.size()));
  state.counters["bytes_per_record"] = static_cast<double>(lines.size()) / kRecords;
}
BENCHMARK(BM_CsvSplitAndDecode)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace sluice

BENCHMARK_MAIN();
