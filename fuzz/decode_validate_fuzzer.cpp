// libFuzzer target: arbitrary bytes as JSON records of the fuzz spec's streams, decoded and
// validated the way HTTP ingestion does it, with the decoders', the validate operator's and the
// batch codec's contracts checked on the way (stream_harness.h).
#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "format/json_record_decoder.h"
#include "fuzz/stream_harness.h"

namespace sluice::fuzz {
namespace {

bool IsBlank(std::string_view text) {
  return text.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

/// The records of a request body as the ingest API cuts them: the elements of a JSON array, or
/// else the non-blank lines (NDJSON). Each points into `body`, so it is parsed in place.
std::vector<std::string_view> SplitBody(const simdjson::padded_string& body) {
  std::string_view text(body.data(), body.size());
  std::vector<std::string_view> records;
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && text[first] == '[') {
    simdjson::ondemand::parser parser;
    simdjson::ondemand::document document;
    simdjson::ondemand::array array;
    if (parser.iterate(body).get(document) || document.get_array().get(array)) return records;
    for (auto element : array) {
      simdjson::ondemand::value value;
      simdjson::ondemand::json_type type;
      if (element.get(value) || value.type().get(type)) break;
      std::string_view raw;
      if (type == simdjson::ondemand::json_type::object) {
        simdjson::ondemand::object object;
        if (value.get_object().get(object) || object.raw_json().get(raw)) break;
      } else if (type == simdjson::ondemand::json_type::array) {
        simdjson::ondemand::array inner;
        if (value.get_array().get(inner) || inner.raw_json().get(raw)) break;
      } else {
        raw = value.raw_json_token();
      }
      records.push_back(raw);
    }
    return records;
  }
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!IsBlank(line)) records.push_back(line);
    start = end + 1;
  }
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
