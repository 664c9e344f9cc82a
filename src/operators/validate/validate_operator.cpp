#include "operators/validate/validate_operator.h"

#include <fmt/format.h>
#include <re2/re2.h>

#include <algorithm>
#include <chrono>

#include "base/strings.h"
#include "expression/utf8.h"
#include "format/text_value.h"

namespace sluice {
namespace {

bool IsTextKind(TypeKind kind) {
  return kind == TypeKind::kString || kind == TypeKind::kFixedString || kind == TypeKind::kUuid;
}

bool IsDateKind(TypeKind kind) {
  return kind == TypeKind::kDate || kind == TypeKind::kDate32 || kind == TypeKind::kDateTime ||
         kind == TypeKind::kDateTime64;
}

// The text of a String, FixedString or UUID row, without FixedString's zero padding.
std::string_view TextAt(const Column& column, size_t row) {
  std::string_view text = column.StringAt(row);
  if (column.storage().kind == TypeKind::kFixedString) {
    while (!text.empty() && text.back() == '\0') text.remove_suffix(1);
  }
  return text;
}

// The bytes that identify a row's value: its text, or its fixed-width bytes.
std::string_view KeyBytes(const Column& column, size_t row) {
  if (IsTextKind(column.storage().kind)) return TextAt(column, row);
  size_t width = Column::FixedWidth(column.storage());
  return {reinterpret_cast<const char*>(column.values().data()) + row * width, width};
}

std::string QuoteLiteral(std::string_view text) {
  std::string quoted = "'";
  for (char c : text) {
    quoted += c;
    if (c == '\'') quoted += '\'';
  }
  return quoted + "'";
}

// The allowed values as written, cut so that a long list stays a readable message.
std::string ListForMessage(const std::vector<std::string>& values) {
  std::string text;
  for (const std::string& value : values) {
    std::string next = (text.empty() ? "" : ", ") + value;
    if (text.size() + next.size() > 80) return text + ", ...";
    text += next;
  }
  return text;
}

std::string DurationText(int64_t milliseconds) {
  if (milliseconds == 0) return "0s";
  if (milliseconds % 86'400'000 == 0) return fmt::format("{}d", milliseconds / 86'400'000);
  if (milliseconds % 3'600'000 == 0) return fmt::format("{}h", milliseconds / 3'600'000);
  if (milliseconds % 60'000 == 0) return fmt::format("{}m", milliseconds / 60'000);
  if (milliseconds % 1000 == 0) return fmt::format("{}s", milliseconds / 1000);
  return fmt::format("{}ms", milliseconds);
}

Error SpecError(const StreamSpec& stream, const std::string& field, std::string message) {
  return MakeError(ErrorCode::kSpecInvalidValue,
                   fmt::format("stream {}, field {}: {}", stream.name, field, std::move(message)));
}

}  // namespace

Result<ValidateOperator> ValidateOperator::Build(const StreamSpec& stream, const Schema& schema) {
  auto column_of = [&](const std::string& name) -> std::optional<size_t> {
    for (size_t i = 0; i < schema.size(); ++i) {
      if (schema[i].name == name) return i;
    }
    return std::nullopt;
  };
  ValidateOperator result;
  for (const StreamFieldSpec& field : stream.fields) {
    if (!field.HasRules()) continue;
    std::optional<size_t> column = column_of(field.name);
    if (!column) {
      return MakeError(ErrorCode::kInternal, fmt::format("stream {}: the batch has no column {}",
                                                         stream.name, field.name));
    }
    const DataType& type = schema[*column].type;
    TypeKind kind = type.Storage().kind;
    FieldCheck check;
    check.column = *column;
    check.name = field.name;
    check.path = field.path.empty() ? field.name : field.path;
    if ((field.trim || field.lowercase || field.max_length) && !IsTextKind(kind)) {
      return SpecError(stream, field.name, "trim, lowercase and max_length need a text field");
    }
    check.trim = field.trim;
    check.lowercase = field.lowercase;
    check.max_length = field.max_length;
    if (!field.regex.empty()) {
      if (!IsTextKind(kind)) return SpecError(stream, field.name, "regex needs a text field");
      auto regex = std::make_shared<re2::RE2>(field.regex, re2::RE2::Quiet);
      if (!regex->ok()) {
        return SpecError(stream, field.name, "invalid regex: " + regex->error());
      }
      check.regex = std::move(regex);
      check.regex_text = field.regex;
    }
    for (const std::string& value : field.allowed) {
      Column converted(type);
      Status status = AppendTextValue(value, converted);
      if (!status.ok()) {
        return SpecError(stream, field.name,
                         fmt::format("allowed value '{}': {}", value, status.error().message));
      }
      check.allowed.emplace_back(KeyBytes(converted, 0));
      check.allowed_text.push_back(value);
    }
    // Bounds compare through the expression language, which orders numbers of every kind
    // exactly and reads date literals as dates.
    auto bound = [&](const std::optional<std::string>& text,
                     std::string_view op) -> Result<std::optional<Expression>> {
      if (!text) return std::optional<Expression>();
      std::string literal = IsDateKind(kind) ? QuoteLiteral(*text) : *text;
      Result<Expression> expression = Expression::CompileCondition(
          fmt::format("{0} IS NULL OR {0} {1} {2}", field.name, op, literal), schema);
      if (!expression.ok()) {
        return SpecError(stream, field.name,
                         fmt::format("bound '{}': {}", *text, expression.error().message));
      }
      return std::optional<Expression>(std::move(*expression));
    };
    Result<std::optional<Expression>> min = bound(field.min, ">=");
    if (!min.ok()) return min.error();
    Result<std::optional<Expression>> max = bound(field.max, "<=");
    if (!max.ok()) return max.error();
    check.min = std::move(*min);
    check.max = std::move(*max);
    check.min_text = field.min.value_or("");
    check.max_text = field.max.value_or("");
    result.fields_.push_back(std::move(check));
  }
  for (const RecordRuleSpec& rule : stream.rules) {
    Result<Expression> condition = Expression::CompileCondition(rule.condition, schema);
    if (!condition.ok()) {
      return MakeError(condition.error().code, fmt::format("stream {}, rule {}: {}", stream.name,
                                                           rule.name, condition.error().message));
    }
    result.rules_.push_back(
        {rule.name, rule.message.empty() ? rule.condition : rule.message, std::move(*condition)});
  }
  if (stream.deduplicate) {
    std::optional<size_t> column = column_of(stream.deduplicate->key);
    if (!column) {
      return MakeError(ErrorCode::kSpecUnknownReference,
                       fmt::format("stream {}: no field {} to deduplicate on", stream.name,
                                   stream.deduplicate->key));
    }
    result.deduplicate_ =
        Deduplicate{*column, stream.deduplicate->key, stream.deduplicate->window.count()};
  }
  return result;
}

std::unique_ptr<ValidateState> ValidateOperator::CreateState(ValidateState::Clock clock) const {
  if (!clock) {
    clock = [] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::steady_clock::now().time_since_epoch())
          .count();
    };
  }
  return std::make_unique<ValidateState>(std::move(clock));
}

void ValidateOperator::Process(Batch& batch, std::vector<RowFailure>& failed,
                               ValidateState& state) const {
  size_t rows = batch.num_rows();
  if (rows == 0 || empty()) return;
  for (const FieldCheck& check : fields_) {
    if (check.trim || check.lowercase) Clean(batch, check);
  }
  std::vector<uint8_t> keep(rows, 1);
  std::vector<RowFailure> failures;
  for (const FieldCheck& check : fields_) CheckField(batch, check, keep, failures);
  std::vector<uint8_t> passed;
  for (const RecordRule& rule : rules_) {
    rule.condition.EvaluateCondition(batch, passed);
    for (size_t row = 0; row < rows; ++row) {
      if (keep[row] == 0 || passed[row] != 0) continue;
      keep[row] = 0;
      // The values the condition read, so the dead-letter row says why it failed.
      std::vector<std::string> values;
      for (size_t column : rule.condition.fields()) {
        values.push_back(fmt::format("{} = {}", batch.schema()[column].name,
                                     QuoteForMessage(ValueToText(batch.column(column), row))));
      }
      failures.push_back({row, MakeError(ErrorCode::kRecordConditionFailed,
                                         fmt::format("rule {}: {} ({})", rule.name, rule.message,
                                                     Join(values, ", ")))});
    }
  }
  if (deduplicate_) CheckDuplicates(batch, keep, failures, state);
  if (failures.empty()) return;
  std::stable_sort(failures.begin(), failures.end(),
                   [](const RowFailure& a, const RowFailure& b) { return a.row < b.row; });
  batch.Filter(keep);
  for (RowFailure& failure : failures) failed.push_back(std::move(failure));
}

void ValidateOperator::Clean(Batch& batch, const FieldCheck& check) const {
  const Column& column = batch.column(check.column);
  Column cleaned(column.type());
  cleaned.Reserve(column.size());
  std::string lowered;
  for (size_t row = 0; row < column.size(); ++row) {
    if (column.IsNull(row)) {
      cleaned.AppendNull();
      continue;
    }
    std::string_view text = TextAt(column, row);
    if (check.trim) text = Trim(text);
    if (check.lowercase) {
      Utf8Lower(text, lowered);
      text = lowered;
    }
    cleaned.AppendString(text);
  }
  batch.column(check.column) = std::move(cleaned);
}

void ValidateOperator::CheckField(const Batch& batch, const FieldCheck& check,
                                  std::vector<uint8_t>& keep,
                                  std::vector<RowFailure>& failures) const {
  const Column& column = batch.column(check.column);
  size_t rows = column.size();
  auto fail = [&](size_t row, ErrorCode code, std::string message) {
    keep[row] = 0;
    failures.push_back({row, MakeError(code, std::move(message), check.path)});
  };
  bool text_kind = IsTextKind(column.storage().kind);
  if (check.max_length || check.regex || !check.allowed.empty()) {
    for (size_t row = 0; row < rows; ++row) {
      if (keep[row] == 0 || column.IsNull(row)) continue;
      std::string_view value = text_kind ? TextAt(column, row) : KeyBytes(column, row);
      if (check.max_length) {
        size_t length = Utf8Length(value);
        if (length > *check.max_length) {
          fail(row, ErrorCode::kRecordTooLong,
               fmt::format("max_length {}: {} has {} characters", *check.max_length,
                           QuoteForMessage(value), length));
          continue;
        }
      }
      if (check.regex && !re2::RE2::FullMatch(value, *check.regex)) {
        fail(row, ErrorCode::kRecordPatternMismatch,
             fmt::format("regex {}: {} does not match", QuoteForMessage(check.regex_text),
                         QuoteForMessage(value)));
        continue;
      }
      if (!check.allowed.empty() &&
          std::find(check.allowed.begin(), check.allowed.end(), value) == check.allowed.end()) {
        fail(row, ErrorCode::kRecordValueNotAllowed,
             fmt::format("allowed: {} is not one of {}", QuoteForMessage(ValueToText(column, row)),
                         ListForMessage(check.allowed_text)));
      }
    }
  }
  std::vector<uint8_t> passed;
  for (const auto* bound : {&check.min, &check.max}) {
    if (!*bound) continue;
    bool is_min = bound == &check.min;
    (*bound)->EvaluateCondition(batch, passed);
    for (size_t row = 0; row < rows; ++row) {
      if (keep[row] == 0 || passed[row] != 0) continue;
      fail(row, ErrorCode::kRecordOutOfRange,
           fmt::format("{} is {} {} {}", QuoteForMessage(ValueToText(column, row)),
                       is_min ? "below" : "above", is_min ? "min" : "max",
                       is_min ? check.min_text : check.max_text));
    }
  }
}

void ValidateOperator::CheckDuplicates(const Batch& batch, std::vector<uint8_t>& keep,
                                       std::vector<RowFailure>& failures,
                                       ValidateState& state) const {
  const Deduplicate& deduplicate = *deduplicate_;
  int64_t now = state.clock_();
  // Forget keys whose window has passed; an entry whose key was accepted again later is stale.
  while (!state.expiry_.empty() && now - state.expiry_.front().first >= deduplicate.window_ms) {
    auto& [accepted, key] = state.expiry_.front();
    auto found = state.first_accepted_.find(key);
    if (found != state.first_accepted_.end() && found->second == accepted) {
      state.first_accepted_.erase(found);
    }
    state.expiry_.pop_front();
  }
  const Column& column = batch.column(deduplicate.column);
  for (size_t row = 0; row < batch.num_rows(); ++row) {
    if (keep[row] == 0 || column.IsNull(row)) continue;
    std::string key(KeyBytes(column, row));
    auto [found, inserted] = state.first_accepted_.try_emplace(key, now);
    if (!inserted && now - found->second < deduplicate.window_ms) {
      keep[row] = 0;
      failures.push_back(
          {row, MakeError(ErrorCode::kRecordDuplicate,
                          fmt::format("deduplicate: {} {} was accepted {} ago (window {})",
                                      deduplicate.name, QuoteForMessage(ValueToText(column, row)),
                                      DurationText(now - found->second),
                                      DurationText(deduplicate.window_ms)),
                          deduplicate.name)});
      continue;
    }
    found->second = now;
    state.expiry_.emplace_back(now, std::move(key));
  }
}

}  // namespace sluice
