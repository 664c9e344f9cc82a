// libFuzzer target: arbitrary bytes as a spec file. LoadSpecText must return either a spec or
// errors with spec codes and positions, never crash; and whatever it accepts must build: the
// stream runtime takes a loaded spec's decoders and validate operators as given (`.value()`).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/spec_loader.h"
#include "format/csv_record_decoder.h"
#include "format/json_record_decoder.h"
#include "fuzz/stream_harness.h"
#include "sources/stream_fields.h"

namespace sluice::fuzz {
namespace {

constexpr std::string_view kFile = "fuzz.yaml";

/// "fuzz.yaml:line:column" with both numbers at least 1; returns (line, column) or (0, 0).
std::pair<long, long> Position(const std::string& where) {
  if (where.compare(0, kFile.size(), kFile) != 0 || where.size() <= kFile.size() ||
      where[kFile.size()] != ':') {
    return {0, 0};
  }
  char* end = nullptr;
  long line = std::strtol(where.c_str() + kFile.size() + 1, &end, 10);
  if (*end != ':') return {0, 0};
  long column = std::strtol(end + 1, &end, 10);
  if (*end != '\0' || line < 1 || column < 1) return {0, 0};
  return {line, column};
}

void CheckErrors(const SpecLoadResult& result) {
  Require(!result.spec, "a spec is returned along with errors");
  std::pair<long, long> previous{0, 0};
  for (const Error& error : result.errors) {
    uint16_t code = ErrorCodeNumber(error.code);
    Require(code >= 100 && code < 200, "a spec error without a spec code");
    std::pair<long, long> position = Position(error.where);
    Require(position.first > 0, "a spec error without a file:line:column position");
    Require(previous <= position, "spec errors out of position order");
    previous = position;
  }
}

/// What `sluice run` builds from each stream of a loaded spec must build, and run on a record.
void CheckStreams(const PipelineSpec& spec) {
  for (const StreamSpec& stream : spec.streams) {
    const TableSpec* table = spec.FindTable(stream.table);
    Require(table != nullptr, "a loaded stream lands in no table");
    std::vector<DecodeField> fields = StreamDecodeFields(stream, *table);
    DecodeOptions options = StreamDecodeOptions(stream);
    Schema schema = SchemaOf(fields);
    Result<ValidateOperator> validate = ValidateOperator::Build(stream, schema);
    Require(validate.ok(), "a loaded stream's validation rules do not build");
    try {
      JsonRecordDecoder json(fields, options);
      CsvRecordDecoder csv(fields, ',', {}, options);
      Batch batch(schema);
      CheckedDecoder checked(batch);
      checked.Decode([&] { return json.Decode("{}", batch); });
      checked.Decode([&] { return csv.Decode("", batch); });
      std::unique_ptr<ValidateState> state = validate->CreateState([] { return int64_t{0}; });
      std::vector<RowFailure> failed;
      validate->Process(batch, failed, *state);
      Require(batch.num_rows() + failed.size() == checked.decoded(),
              "rows out != rows in - failures");
    } catch (const SetupError& error) {
      Require(false, "a loaded stream's decoders do not build: " + error.error().ToString());
    }
  }
}

}  // namespace
}  // namespace sluice::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice;
  using namespace sluice::fuzz;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  // The base folder does not exist: file checks fail the same way on every machine.
  SpecLoadResult result = LoadSpecText(text, std::string(kFile), "/nonexistent/sluice-fuzz");
  if (result.errors.empty()) {
    Require(result.spec.has_value(), "neither a spec nor an error");
    CheckStreams(*result.spec);
  } else {
    CheckErrors(result);
  }
  return 0;
}
