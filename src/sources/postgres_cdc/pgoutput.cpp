#include "sources/postgres_cdc/pgoutput.h"

#include <fmt/format.h>

namespace sluice {
namespace {

/// Reads big-endian integers and C strings from a message, remembering a short read.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}

  template <typename T>
  T Int() {
    if (pos_ + sizeof(T) > data_.size()) {
      short_ = true;
      return 0;
    }
    uint64_t value = 0;
    for (size_t i = 0; i < sizeof(T); ++i) {
      value = (value << 8) | static_cast<uint8_t>(data_[pos_ + i]);
    }
    pos_ += sizeof(T);
    return static_cast<T>(value);
  }
  std::string_view String() {
    size_t end = data_.find('\0', pos_);
    if (end == std::string_view::npos) {
      short_ = true;
      return {};
    }
    std::string_view text = data_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return text;
  }
  std::string_view Bytes(size_t size) {
    if (pos_ + size > data_.size()) {
      short_ = true;
      return {};
    }
    std::string_view bytes = data_.substr(pos_, size);
    pos_ += size;
    return bytes;
  }
  bool failed() const { return short_; }

 private:
  std::string_view data_;
  size_t pos_ = 0;
  bool short_ = false;
};

Status ReadTuple(Reader& reader, std::vector<PgTupleValue>& tuple) {
  auto count = reader.Int<uint16_t>();
  tuple.resize(count);
  for (PgTupleValue& value : tuple) {
    char kind = reader.Int<char>();
    switch (kind) {
      case 'n':
        value.kind = PgTupleValue::Kind::kNull;
        break;
      case 'u':
        value.kind = PgTupleValue::Kind::kUnchangedToast;
        break;
      case 't': {
        value.kind = PgTupleValue::Kind::kText;
        auto size = reader.Int<uint32_t>();
        value.text = reader.Bytes(size);
        break;
      }
      default:
        if (reader.failed()) break;
        return MakeError(
            ErrorCode::kPgProtocolError,
            fmt::format("unknown tuple value kind '{}' (binary mode is not used)", kind));
    }
    if (reader.failed()) break;
  }
  return {};
}

}  // namespace

Result<PgOutputMessage> DecodePgOutput(std::string_view data) {
  Reader reader(data);
  PgOutputMessage message;
  char type = reader.Int<char>();
  message.type = static_cast<PgOutputMessage::Type>(type);
  switch (type) {
    case 'B':
      message.final_lsn = reader.Int<uint64_t>();
      message.commit_time = reader.Int<int64_t>();
      message.xid = reader.Int<uint32_t>();
      break;
    case 'C':
      reader.Int<uint8_t>();  // flags, unused
      message.commit_lsn = reader.Int<uint64_t>();
      message.end_lsn = reader.Int<uint64_t>();
      message.commit_time = reader.Int<int64_t>();
      break;
    case 'O':
      message.commit_lsn = reader.Int<uint64_t>();
      message.schema = reader.String();  // origin name
      break;
    case 'R': {
      message.relation_id = reader.Int<uint32_t>();
      message.schema = reader.String();
      message.table = reader.String();
      reader.Int<uint8_t>();  // replica identity setting
      auto count = reader.Int<uint16_t>();
      for (uint16_t i = 0; i < count && !reader.failed(); ++i) {
        PgRelationColumn column;
        column.key = (reader.Int<uint8_t>() & 1) != 0;
        column.name = reader.String();
        column.type_oid = reader.Int<uint32_t>();
        column.typmod = reader.Int<int32_t>();
        message.columns.push_back(std::move(column));
      }
      break;
    }
    case 'Y':
      message.relation_id = reader.Int<uint32_t>();  // the type's oid
      message.schema = reader.String();
      message.table = reader.String();  // the type's name
      break;
    case 'I': {
      message.relation_id = reader.Int<uint32_t>();
      if (reader.Int<char>() != 'N' && !reader.failed()) {
        return MakeError(ErrorCode::kPgProtocolError, "insert message without a new tuple");
      }
      if (auto status = ReadTuple(reader, message.new_tuple); !status.ok()) return status.error();
      break;
    }
    case 'U': {
      message.relation_id = reader.Int<uint32_t>();
      char part = reader.Int<char>();
      if (part == 'K' || part == 'O') {
        if (auto status = ReadTuple(reader, message.old_tuple); !status.ok()) {
          return status.error();
        }
        part = reader.Int<char>();
      }
      if (part != 'N' && !reader.failed()) {
        return MakeError(ErrorCode::kPgProtocolError, "update message without a new tuple");
      }
      if (auto status = ReadTuple(reader, message.new_tuple); !status.ok()) return status.error();
      break;
    }
    case 'D': {
      message.relation_id = reader.Int<uint32_t>();
      char part = reader.Int<char>();
      if (part != 'K' && part != 'O' && !reader.failed()) {
        return MakeError(ErrorCode::kPgProtocolError, "delete message without an old tuple");
      }
      if (auto status = ReadTuple(reader, message.old_tuple); !status.ok()) return status.error();
      break;
    }
    case 'T': {
      auto count = reader.Int<uint32_t>();
      reader.Int<uint8_t>();  // CASCADE / RESTART IDENTITY flags
      for (uint32_t i = 0; i < count && !reader.failed(); ++i) {
        message.truncated.push_back(reader.Int<uint32_t>());
      }
      break;
    }
    default:
      return MakeError(ErrorCode::kPgProtocolError,
                       fmt::format("unknown pgoutput message type '{}'", type));
  }
  if (reader.failed()) {
    return MakeError(
        ErrorCode::kPgProtocolError,
        fmt::format("pgoutput message '{}' is cut short ({} bytes)", type, data.size()));
  }
  return message;
}

}  // namespace sluice
