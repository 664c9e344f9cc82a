#include "sinks/kafka/kafka_sink.h"

#include <fmt/format.h>

#include "format/text_value.h"
#include "sinks/dead_letter/dead_letter_sink.h"

namespace sluice {
namespace {

void AppendJsonValue(const Column& column, size_t row, std::string& out) {
  if (column.IsNull(row)) {
    out += "null";
    return;
  }
  switch (column.storage().kind) {
    case TypeKind::kInt8:
    case TypeKind::kInt16:
    case TypeKind::kInt32:
    case TypeKind::kInt64:
    case TypeKind::kUInt8:
    case TypeKind::kUInt16:
    case TypeKind::kUInt32:
    case TypeKind::kUInt64:
    case TypeKind::kDecimal:
    case TypeKind::kBool:
      out += ValueToText(column, row);
      return;
    case TypeKind::kFloat32:
    case TypeKind::kFloat64: {
      // JSON has no NaN or infinities: those go as text.
      std::string text = ValueToText(column, row);
      bool finite = text.find_first_of("in") == std::string::npos;
      if (finite) {
        out += text;
      } else {
        AppendJsonString(out, text);
      }
      return;
    }
    case TypeKind::kArray: {
      out += '[';
      for (int32_t i = column.offsets()[row]; i < column.offsets()[row + 1]; ++i) {
        if (i > column.offsets()[row]) out += ',';
        AppendJsonValue(column.child(0), static_cast<size_t>(i), out);
      }
      out += ']';
      return;
    }
    case TypeKind::kMap: {
      out += '{';
      for (int32_t i = column.offsets()[row]; i < column.offsets()[row + 1]; ++i) {
        if (i > column.offsets()[row]) out += ',';
        AppendJsonString(out, ValueToText(column.child(0), static_cast<size_t>(i)));
        out += ':';
        AppendJsonValue(column.child(1), static_cast<size_t>(i), out);
      }
      out += '}';
      return;
    }
    case TypeKind::kTuple: {
      out += '[';
      for (size_t i = 0; i < column.child_count(); ++i) {
        if (i > 0) out += ',';
        AppendJsonValue(column.child(i), row, out);
      }
      out += ']';
      return;
    }
    default:
      AppendJsonString(out, ValueToText(column, row));
      return;
  }
}

}  // namespace

std::string RowToJson(const Batch& batch, size_t row) {
  std::string out = "{";
  for (size_t i = 0; i < batch.num_columns(); ++i) {
    if (i > 0) out += ',';
    AppendJsonString(out, batch.schema()[i].name);
    out += ':';
    AppendJsonValue(batch.column(i), row, out);
  }
  out += '}';
  return out;
}

KafkaSink::KafkaSink(KafkaSinkConfig config) : config_(std::move(config)) {}

KafkaSink::~KafkaSink() {
  if (producer_ != nullptr) rd_kafka_destroy(producer_);
}

Status KafkaSink::Open() {
  std::vector<std::pair<std::string, std::string>> properties = {
      {"bootstrap.servers", fmt::format("{}", fmt::join(config_.brokers, ","))},
      // Retries inside the producer never write a message twice, and keep its order.
      {"enable.idempotence", "true"},
      {"linger.ms", "5"},
  };
  for (const auto& property : config_.properties) properties.push_back(property);
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char error_text[512];
  for (const auto& [key, value] : properties) {
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), error_text, sizeof(error_text)) !=
        RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return MakeError(ErrorCode::kKafkaClientError,
                       fmt::format("property {}={}: {}", key, value, error_text), config_.topic);
    }
  }
  rd_kafka_conf_set_opaque(conf, this);
  rd_kafka_conf_set_dr_msg_cb(conf, &KafkaSink::OnDelivery);
  producer_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error_text, sizeof(error_text));
  if (producer_ == nullptr) {
    return MakeError(ErrorCode::kKafkaClientError,
                     fmt::format("cannot create the Kafka producer: {}", error_text),
                     config_.topic);
  }
  return {};
}

void KafkaSink::OnDelivery(rd_kafka_t* /*producer*/, const rd_kafka_message_t* message,
                           void* opaque) {
  auto* self = static_cast<KafkaSink*>(opaque);
  if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    ++self->delivered_;
    return;
  }
  std::lock_guard lock(self->failure_mutex_);
  if (self->failed_++ == 0) self->first_failure_ = rd_kafka_err2str(message->err);
}

Status KafkaSink::Produce(const std::string& value, const std::string& key,
                          const std::string& identity) {
  // The producev macros cast their arguments without parentheses: pass plain variables.
  void* payload = const_cast<char*>(value.data());
  size_t payload_size = value.size();
  const void* key_data = key.empty() ? nullptr : key.data();
  size_t key_size = key.size();
  const char* topic = config_.topic.c_str();
  const char* identity_data = identity.data();
  auto identity_size = static_cast<ssize_t>(identity.size());
  while (true) {
    rd_kafka_resp_err_t error = rd_kafka_producev(
        producer_, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_VALUE(payload, payload_size), RD_KAFKA_V_KEY(key_data, key_size),
        RD_KAFKA_V_HEADER("sluice-identity", identity_data, identity_size), RD_KAFKA_V_END);
    if (error == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      // Backpressure: serve delivery reports until the queue has room.
      rd_kafka_poll(producer_, 100);
      continue;
    }
    if (error != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return MakeError(
          ErrorCode::kKafkaDeliveryFailed,
          fmt::format("producing to {} failed: {}", config_.topic, rd_kafka_err2str(error)),
          config_.topic);
    }
    return {};
  }
}

Status KafkaSink::Write(const Batch& batch, const std::string& identity) {
  size_t key_column = batch.num_columns();
  for (size_t i = 0; i < batch.num_columns() && !config_.key_field.empty(); ++i) {
    if (batch.schema()[i].name == config_.key_field) key_column = i;
  }
  if (!config_.key_field.empty() && key_column == batch.num_columns()) {
    return MakeError(ErrorCode::kKafkaClientError,
                     fmt::format("the rows have no key field '{}'", config_.key_field),
                     config_.topic);
  }
  for (size_t row = 0; row < batch.num_rows(); ++row) {
    std::string key =
        key_column < batch.num_columns() ? ValueToText(batch.column(key_column), row) : "";
    if (Status produced = Produce(RowToJson(batch, row), key, identity); !produced.ok()) {
      return produced;
    }
  }
  rd_kafka_poll(producer_, 0);
  return {};
}

Status KafkaSink::Write(const std::vector<DeadLetter>& dead_letters, const std::string& identity) {
  Batch batch(DeadLetterSchema());
  for (const DeadLetter& letter : dead_letters) AppendDeadLetter(letter, config_.stream, batch);
  for (size_t row = 0; row < batch.num_rows(); ++row) {
    if (Status produced = Produce(RowToJson(batch, row), "", identity); !produced.ok()) {
      return produced;
    }
  }
  rd_kafka_poll(producer_, 0);
  return {};
}

Status KafkaSink::Flush() {
  rd_kafka_resp_err_t flushed =
      rd_kafka_flush(producer_, static_cast<int>(config_.flush_timeout.count()));
  std::lock_guard lock(failure_mutex_);
  if (failed_ > 0) {
    Error error = MakeError(ErrorCode::kKafkaDeliveryFailed,
                            fmt::format("{} message(s) to {} were not delivered; the first: {}",
                                        failed_, config_.topic, first_failure_),
                            config_.topic);
    failed_ = 0;
    first_failure_.clear();
    return error;
  }
  if (flushed != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return MakeError(
        ErrorCode::kKafkaDeliveryFailed,
        fmt::format("{} message(s) to {} still unacknowledged after {} ms",
                    rd_kafka_outq_len(producer_), config_.topic, config_.flush_timeout.count()),
        config_.topic);
  }
  return {};
}

}  // namespace sluice
