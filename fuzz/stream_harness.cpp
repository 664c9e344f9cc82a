#include "fuzz/stream_harness.h"

#include <cstdio>
#include <cstdlib>
#include <string>

#include "config/spec_loader.h"
#include "core/batch_codec.h"
#include "format/text_value.h"
#include "sources/stream_fields.h"

namespace sluice::fuzz {
namespace {

// Every column type the decoders know, nested JSON paths, and every kind of field and record
// rule, so that one input reaches as many conversion and check branches as possible. The two
// streams share the field list (a YAML alias) and differ in coercion and unknown keys.
constexpr std::string_view kFuzzSpec = R"yaml(pipeline: fuzz
tables:
  events:
    columns:
      - {name: id, type: String}
      - {name: seq, type: UInt64}
      - {name: small, type: Int8}
      - {name: level, type: Int16}
      - {name: count, type: Int32}
      - {name: big, type: Int64}
      - {name: flags, type: UInt8}
      - {name: port, type: UInt16}
      - {name: size, type: UInt32}
      - {name: ratio, type: Float32}
      - {name: score, type: Float64}
      - {name: amount, type: "Decimal(18, 4)"}
      - {name: total, type: "Decimal(38, 10)"}
      - {name: name, type: String}
      - {name: code, type: FixedString(4)}
      - {name: active, type: Bool}
      - {name: session, type: UUID}
      - {name: day, type: Date}
      - {name: birth, type: Date32}
      - {name: at, type: "DateTime('UTC')"}
      - {name: at_ms, type: DateTime64(3)}
      - {name: at_ns, type: "DateTime64(9, 'UTC')"}
      - {name: note, type: Nullable(String)}
      - {name: parent, type: Nullable(UInt64)}
      - {name: kind, type: LowCardinality(String)}
      - {name: tags, type: Array(String)}
      - {name: matrix, type: Array(Array(Nullable(Int32)))}
      - {name: attrs, type: "Map(String, UInt64)"}
      - {name: lookup, type: "Map(UInt8, Array(String))"}
      - {name: point, type: "Tuple(Float64, Float64)"}
      - {name: geo, type: "Tuple(lat Float64, label Nullable(String))"}
      - {name: device_type, type: LowCardinality(Nullable(String))}
      - {name: device_id, type: Nullable(Int64)}
      - {name: region, type: String}
      - {name: _extra, type: String}
    order_by: [id]
streams:
  lenient:
    table: events
    unknown_fields: keep
    deduplicate: {key: id, window: 1m}
    fields: &fields
      - {name: id, required: true, max_length: 16, regex: '[a-z0-9-]+'}
      - {name: seq, min: 1}
      - {name: small, min: -100, max: 100}
      - {name: level, default: 3}
      - {name: count}
      - {name: big, max: 9000000000000000000}
      - {name: flags, allowed: [0, 1, 2, 4, 8]}
      - {name: port, allowed: [80, 443, 8080]}
      - {name: size}
      - {name: ratio, min: 0, max: 1}
      - {name: score, min: -1e300}
      - {name: amount, min: 0, max: 1000000}
      - {name: total, min: -0.5, max: 1e20}
      - {name: name, trim: true, lowercase: true, max_length: 32}
      - {name: code, trim: true, lowercase: true, regex: '[a-z]{2}.*'}
      - {name: active}
      - {name: session, regex: '[0-9a-f-]{36}'}
      - {name: day, min: 2000-01-01, max: 2100-12-31}
      - {name: birth, min: 1900-06-01}
      - {name: at, min: "2001-01-01 00:00:00"}
      - {name: at_ms, max: "2200-01-01T00:00:00.5"}
      - {name: at_ns, min: 2000-01-01}
      - {name: note, allowed: [a, b, c]}
      - {name: parent}
      - {name: kind, default: view, allowed: [view, click, buy]}
      - {name: tags}
      - {name: matrix}
      - {name: attrs}
      - {name: lookup}
      - {name: point}
      - {name: geo}
      - {name: device_type, path: ctx.device.type, lowercase: true}
      - {name: device_id, path: ctx.device.id, min: 0}
      - {name: region, path: ctx.geo.region, default: eu}
    rules:
      - name: buy_has_amount
        condition: "kind != 'buy' OR amount > 0"
      - name: consistent
        condition: "(parent IS NULL OR parent < seq) AND length(lower(name)) <= 24 AND (day >= '2001-01-01' OR at_ms < '2000-01-01 00:00:00')"
        message: a child record must follow its parent
  strict:
    table: events
    coercion: strict
    deduplicate: {key: seq, window: 1m}
    fields: *fields
    rules:
      - name: scored
        condition: "score * 2 >= ratio OR score IS NULL OR size / 2 > 10"
)yaml";

FuzzStream MakeStream(const StreamSpec& spec, const TableSpec& table) {
  std::vector<DecodeField> fields = StreamDecodeFields(spec, table);
  Schema schema = SchemaOf(fields);
  Result<ValidateOperator> validate = ValidateOperator::Build(spec, schema);
  if (!validate.ok()) {
    std::fprintf(stderr, "fuzz spec: %s\n", validate.error().ToString().c_str());
    std::abort();
  }
  return FuzzStream{spec, std::move(fields), StreamDecodeOptions(spec), std::move(schema),
                    std::move(*validate)};
}

std::vector<FuzzStream> LoadStreams() {
  SpecLoadResult loaded = LoadSpecText(kFuzzSpec, "fuzz_spec.yaml", "/");
  if (!loaded.ok()) {
    for (const Error& error : loaded.errors) {
      std::fprintf(stderr, "fuzz spec: %s\n", error.ToString().c_str());
    }
    std::abort();
  }
  std::vector<FuzzStream> streams;
  for (const StreamSpec& stream : loaded.spec->streams) {
    streams.push_back(MakeStream(stream, *loaded.spec->FindTable(stream.table)));
  }
  return streams;
}

std::string Encoded(const Batch& batch) {
  std::string bytes;
  EncodeBatch(batch, bytes);
  return bytes;
}

/// Renders every value as dead-letter rows and error messages do.
void RenderAll(const Batch& batch) {
  for (size_t column = 0; column < batch.num_columns(); ++column) {
    for (size_t row = 0; row < batch.num_rows(); ++row) {
      ValueToText(batch.column(column), row);
    }
  }
}

void CheckEncode(const Batch& batch, uint64_t seed) {
  std::string bytes = Encoded(batch);
  Batch decoded(batch.schema());
  std::string_view input = bytes;
  Status status = DecodeBatch(input, decoded);
  Require(status.ok(), "DecodeBatch rejects what EncodeBatch wrote");
  Require(input.empty(), "DecodeBatch leaves bytes of its own encoding unread");
  Require(decoded.num_rows() == batch.num_rows(), "the round trip changes the row count");
  Require(Encoded(decoded) == bytes, "the round trip changes the batch's bytes");

  std::string damaged = bytes;
  damaged[seed % damaged.size()] ^= static_cast<char>((seed >> 32) | 1);
  Batch reread(batch.schema());
  std::string_view rest = damaged;
  if (DecodeBatch(rest, reread).ok()) {
    RenderAll(reread);
    std::string_view consumed(damaged.data(), damaged.size() - rest.size());
    Require(Encoded(reread) == consumed, "a damaged batch that decodes encodes differently");
  }
}

}  // namespace

const std::vector<FuzzStream>& FuzzStreams() {
  static const std::vector<FuzzStream> streams = LoadStreams();
  return streams;
}

void Require(bool condition, std::string_view what) {
  if (condition) return;
  std::fprintf(stderr, "fuzz invariant failed: %.*s\n", static_cast<int>(what.size()), what.data());
  std::abort();
}

bool IsRecordCode(ErrorCode code) {
  return ErrorCodeNumber(code) >= 200 && ErrorCodeNumber(code) < 300;
}

bool CheckedDecoder::Decode(const std::function<Status()>& decode) {
  if (!snapshot_current_) {
    snapshot_ = Encoded(batch_);
    snapshot_current_ = true;
  }
  size_t rows = batch_.num_rows();
  Status status = decode();
  if (!status.ok()) {
    Require(IsRecordCode(status.error().code), "a decode error without a record code");
    Require(Encoded(batch_) == snapshot_, "a failed decode changes the batch");
    return false;
  }
  for (size_t column = 0; column < batch_.num_columns(); ++column) {
    Require(batch_.column(column).size() == rows + 1,
            "a decoded record is not one row in every column");
  }
  snapshot_current_ = false;
  ++decoded_;
  return true;
}

void CheckValidateAndEncode(const FuzzStream& stream, Batch& batch, size_t decoded, uint64_t seed) {
  Require(batch.num_rows() == decoded, "the batch does not hold one row per decoded record");
  RenderAll(batch);
  // A fixed clock keeps a crash reproducible: every input starts with an empty window.
  std::unique_ptr<ValidateState> state = stream.validate.CreateState([] { return int64_t{0}; });
  std::vector<RowFailure> failed;
  stream.validate.Process(batch, failed, *state);
  Require(batch.num_rows() + failed.size() == decoded, "rows out != rows in - failures");
  for (size_t i = 0; i < failed.size(); ++i) {
    Require(IsRecordCode(failed[i].error.code), "a validation failure without a record code");
    Require(failed[i].row < decoded, "a validation failure names a row past the batch");
    Require(i == 0 || failed[i - 1].row < failed[i].row, "validation failures out of row order");
  }
  for (size_t column = 0; column < batch.num_columns(); ++column) {
    Require(batch.column(column).size() == batch.num_rows(), "columns differ in length");
  }
  RenderAll(batch);
  CheckEncode(batch, seed);
}

uint64_t InputSeed(std::string_view input) {
  uint64_t hash = 14695981039346656037ull;  // FNV-1a: the same seed on every run
  for (char c : input) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ull;
  }
  return hash;
}

}  // namespace sluice::fuzz
