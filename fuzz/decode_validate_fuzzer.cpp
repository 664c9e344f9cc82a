// libFuzzer target: arbitrary bytes as JSON records of the fuzz spec's streams, decoded and
// validated the way HTTP ingestion does it, with the decoders', the validate operator's and the
// batch codec's contracts checked on the way (stream_harness.h).
#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "format/json_record_decoder.h"
#include "format/record_splitter.h"
#include "fuzz/stream_harness.h"

namespace sluice::fuzz {
namespace {

/// The records of a request body as the ingest API cuts them: a body starting with '[' as a JSON
/// array, anything else as NDJSON. Each points into `body`, so it is parsed in place.
std::vector<std::string_view> SplitBody(const simdjson::padded_string& body) {
  std::string_view text(body.data(), body.size());
  size_t first = text.find_first_not_of(" \t\r\n");
  RecordFraming framing = first != std::string_view::npos && text[first] == '['
                              ? RecordFraming::kJson
                              : RecordFraming::kNdjson;
  std::vector<std::string_view> records;
  std::string problem;
  if (!SplitRecords(framing, body, records, problem)) records.clear();
  return records;
}

}  // namespace
}  // namespace sluice::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice;
  using namespace sluice::fuzz;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  simdjson::padded_string body(input);
  std::vector<std::string_view> records = SplitBody(body);
  const char* buffer_end = body.data() + body.size() + simdjson::SIMDJSON_PADDING;
  uint64_t seed = InputSeed(input);

  for (const FuzzStream& stream : FuzzStreams()) {
    JsonRecordDecoder decoder(stream.fields, stream.options);
    Batch batch(stream.schema);
    CheckedDecoder checked(batch);
    // The whole input as one record, copied into the decoder's own padded buffer...
    checked.Decode([&] { return decoder.Decode(input, batch); });
    // ...and its records parsed in place, with the rest of the body readable after each.
    for (std::string_view record : records) {
      size_t capacity = static_cast<size_t>(buffer_end - record.data());
      checked.Decode([&] { return decoder.Decode(record.data(), record.size(), capacity, batch); });
    }
    CheckValidateAndEncode(stream, batch, checked.decoded(), seed);
  }
  return 0;
}
