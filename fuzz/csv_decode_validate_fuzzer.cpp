// libFuzzer target: arbitrary bytes as a CSV file of the fuzz spec's streams, split into records
// and decoded the way the file source does it (the first record as the header for the lenient
// stream; no header for the strict one), then validated, with the splitter's, the decoders', the
// validate operator's and the batch codec's contracts checked on the way (stream_harness.h).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/strings.h"
#include "format/csv_record_decoder.h"
#include "fuzz/stream_harness.h"

namespace sluice::fuzz {
namespace {

constexpr char kDelimiter = ',';

/// Cuts `text` into records with NextRecord, checking what it promises about each cut.
std::vector<std::string_view> SplitRecords(std::string_view text) {
  std::vector<std::string_view> records;
  while (!text.empty()) {
    CsvSplit split = CsvRecordDecoder::NextRecord(text, kDelimiter);
    Require(split.consumed > 0 && split.consumed <= text.size(), "NextRecord makes no progress");
    Require(split.record.data() == text.data() && split.record.size() <= split.consumed,
            "NextRecord's record is not the front of its text");
    Require(!split.terminated || text[split.consumed - 1] == '\n',
            "a terminated record does not end at a line break");
    Require(!split.open_quote || (!split.terminated && split.consumed == text.size()),
            "an open quote does not run to the end of the text");
    Require(split.lines >= 1, "a record spans no line");
    records.push_back(split.record);
    text.remove_prefix(split.consumed);
  }
  return records;
}

/// The header's column names: the first record cut at the delimiter, surrounding spaces and
/// quotes removed (enough for matching the fields' names; quoted delimiters are not needed).
std::vector<std::string> HeaderNames(std::string_view record) {
  std::vector<std::string> names;
  size_t start = 0;
  while (true) {
    size_t end = record.find(kDelimiter, start);
    std::string_view name = Trim(record.substr(start, end - start));
    if (name.size() >= 2 && name.front() == '"' && name.back() == '"') {
      name = name.substr(1, name.size() - 2);
    }
    names.emplace_back(name);
    if (end == std::string_view::npos) return names;
    start = end + 1;
  }
}

void DecodeAll(const FuzzStream& stream, CsvRecordDecoder& decoder,
               const std::vector<std::string_view>& records, uint64_t seed) {
  Batch batch(stream.schema);
  CheckedDecoder checked(batch);
  for (std::string_view record : records) {
    checked.Decode([&] { return decoder.Decode(record, batch); });
  }
  CheckValidateAndEncode(stream, batch, checked.decoded(), seed);
}

}  // namespace
}  // namespace sluice::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice;
  using namespace sluice::fuzz;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> records = SplitRecords(input);
  uint64_t seed = InputSeed(input);
  const FuzzStream& lenient = FuzzStreams()[0];
  const FuzzStream& strict = FuzzStreams()[1];

  if (!records.empty()) {
    // A header naming a column twice is a setup error of the file, not a crash.
    std::optional<CsvRecordDecoder> with_header;
    try {
      with_header.emplace(lenient.fields, kDelimiter, HeaderNames(records.front()),
                          lenient.options);
    } catch (const SetupError&) {
    }
    if (with_header) {
      DecodeAll(lenient, *with_header, {records.begin() + 1, records.end()}, seed);
    }
  }
  CsvRecordDecoder without_header(strict.fields, kDelimiter, {}, strict.options);
  DecodeAll(strict, without_header, records, seed);
  return 0;
}
