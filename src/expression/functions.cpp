// The value functions of the expression language: casts, CASE / if / multiIf, string, date and
// numeric functions. Core operators and the first functions are in expression_nodes.cpp.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cfloat>
#include <cmath>
#include <optional>

#include "expression/expression_nodes.h"
#include "expression/utf8.h"
#include "format/text_value.h"

namespace sluice {
namespace {

constexpr Int128 kInt128Max = static_cast<Int128>(~static_cast<unsigned __int128>(0) >> 1);
constexpr Int128 kInt128Min = -kInt128Max - 1;
constexpr const char* kOutOfRange = "the value is out of range for its type";
constexpr const char* kNotConvertible = "the value cannot be converted to the target type";

Error ArgumentError(std::string_view function, std::string message) {
  return MakeError(ErrorCode::kSpecInvalidExpression,
                   fmt::format("{}(): {}", function, std::move(message)));
}

int64_t FloorDivide(Int128 value, Int128 divisor, Int128& remainder) {
  Int128 quotient = value / divisor;
  remainder = value % divisor;
  if (remainder < 0) {
    --quotient;
    remainder += divisor;
  }
  return static_cast<int64_t>(quotient);
}

Int128 FloorDivide(Int128 value, Int128 divisor) {
  Int128 quotient = value / divisor;
  if (value % divisor != 0 && (value < 0) != (divisor < 0)) --quotient;
  return quotient;
}

struct Civil {
  int64_t year = 0;
  unsigned month = 0;
  unsigned day = 0;
};

// Proleptic Gregorian date of a day number (Howard Hinnant's civil_from_days).
Civil CivilFromDays(int64_t days) {
  days += 719468;
  int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  int64_t day_of_era = days - era * 146097;
  int64_t year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  int64_t month_index = (5 * day_of_year + 2) / 153;
  Civil civil;
  civil.day = static_cast<unsigned>(day_of_year - (153 * month_index + 2) / 5 + 1);
  civil.month = static_cast<unsigned>(month_index < 10 ? month_index + 3 : month_index - 9);
  civil.year = year_of_era + era * 400 + (civil.month <= 2 ? 1 : 0);
  return civil;
}

void AppendInteger(Int128 value, std::string& out) {
  char digits[48];
  size_t count = 0;
  bool negative = value < 0;
  // Negating the smallest Int128 overflows: take digits from the negative value instead.
  do {
    int digit = static_cast<int>(value % 10);
    digits[count++] = static_cast<char>('0' + (digit < 0 ? -digit : digit));
    value /= 10;
  } while (value != 0);
  if (negative) out += '-';
  while (count > 0) out += digits[--count];
}

void AppendDecimal(Int128 value, int scale, std::string& out) {
  if (scale == 0) {
    AppendInteger(value, out);
    return;
  }
  std::string digits;
  AppendInteger(value < 0 ? -value : value, digits);
  if (digits.size() <= static_cast<size_t>(scale)) {
    digits.insert(0, static_cast<size_t>(scale) + 1 - digits.size(), '0');
  }
  if (value < 0) out += '-';
  out.append(digits, 0, digits.size() - static_cast<size_t>(scale));
  out += '.';
  out.append(digits, digits.size() - static_cast<size_t>(scale));
}

void AppendDate(int64_t days, std::string& out) {
  Civil civil = CivilFromDays(days);
  fmt::format_to(std::back_inserter(out), "{:04}-{:02}-{:02}", civil.year, civil.month, civil.day);
}

void AppendDateTime(Int128 ticks, int precision, std::string& out) {
  Int128 fraction = 0;
  int64_t seconds = FloorDivide(ticks, PowerOfTen(precision), fraction);
  Int128 seconds_of_day = 0;
  int64_t days = FloorDivide(seconds, 86400, seconds_of_day);
  AppendDate(days, out);
  int64_t second = static_cast<int64_t>(seconds_of_day);
  fmt::format_to(std::back_inserter(out), " {:02}:{:02}:{:02}", second / 3600, second / 60 % 60,
                 second % 60);
  if (precision > 0) {
    out += '.';
    std::string digits;
    AppendInteger(fraction, digits);
    out.append(static_cast<size_t>(precision) - digits.size(), '0');
    out += digits;
  }
}

/// Writes any non-NULL value as text (toString, concat, CAST AS String).
void AppendText(const Value& value, const ValueType& type, std::string& out) {
  switch (type.kind) {
    case ValueKind::kBool:
      out += value.integer != 0 ? "true" : "false";
      break;
    case ValueKind::kInt:
      AppendInteger(value.integer, out);
      break;
    case ValueKind::kDecimal:
      AppendDecimal(value.integer, type.scale, out);
      break;
    case ValueKind::kFloat:
      fmt::format_to(std::back_inserter(out), "{}", value.real);
      break;
    case ValueKind::kString:
      out += value.text;
      break;
    case ValueKind::kDate:
      AppendDate(static_cast<int64_t>(value.integer), out);
      break;
    case ValueKind::kDateTime:
      AppendDateTime(value.integer, type.scale, out);
      break;
    case ValueKind::kNull:
      break;
  }
}

/// CAST(x AS T) for every supported T: converts, then checks the value fits T.
class CastNode final : public ExpressionNode {
 public:
  CastNode(NodePtr operand, ValueType type, const DataType& storage, size_t scratch)
      : ExpressionNode(std::move(type)),
        operand_(std::move(operand)),
        from_(operand_->type()),
        storage_(storage),
        scratch_(scratch) {
    switch (storage.kind) {
      case TypeKind::kInt8:
        SetRange(INT8_MIN, INT8_MAX);
        break;
      case TypeKind::kInt16:
        SetRange(INT16_MIN, INT16_MAX);
        break;
      case TypeKind::kInt32:
        SetRange(INT32_MIN, INT32_MAX);
        break;
      case TypeKind::kInt64:
        SetRange(INT64_MIN, INT64_MAX);
        break;
      case TypeKind::kUInt8:
        SetRange(0, UINT8_MAX);
        break;
      case TypeKind::kUInt16:
        SetRange(0, UINT16_MAX);
        break;
      case TypeKind::kUInt32:
        SetRange(0, UINT32_MAX);
        break;
      case TypeKind::kUInt64:
        SetRange(0, UINT64_MAX);
        break;
      case TypeKind::kDecimal:
        SetRange(1 - PowerOfTen(storage.precision), PowerOfTen(storage.precision) - 1);
        break;
      case TypeKind::kDate:
        SetRange(0, DaysFromCivil(2149, 6, 6));
        break;
      case TypeKind::kDate32:
        SetRange(DaysFromCivil(1900, 1, 1), DaysFromCivil(2299, 12, 31));
        break;
      case TypeKind::kDateTime:
        SetRange(0, UINT32_MAX);
        break;
      case TypeKind::kDateTime64:
        SetRange(DaysFromCivil(1900, 1, 1) * 86400 * PowerOfTen(storage.precision),
                 (DaysFromCivil(2300, 1, 1) * 86400) * PowerOfTen(storage.precision) - 1);
        break;
      default:
        break;
    }
  }

  void Eval(const Batch& batch, size_t row, EvalContext& context, Value& out) const override {
    Value value;
    operand_->Eval(batch, row, context, value);
    out.null = value.null;
    if (value.null) return;
    const char* failure = Cast(value, context, out);
    if (failure == nullptr && (out.integer < min_ || out.integer > max_)) failure = kOutOfRange;
    if (failure != nullptr) {
      out.null = true;
      context.failure = failure;
    }
  }

 private:
  void SetRange(Int128 min, Int128 max) {
    min_ = min;
    max_ = max;
  }

  // Fills `out` from `value`; the failure text, or nullptr.
  const char* Cast(const Value& value, EvalContext& context, Value& out) const {
    ValueKind to = type().kind;
    ValueKind from = from_.kind;
    out.integer = 0;
    switch (to) {
      case ValueKind::kBool:
        if (from == ValueKind::kString) {
          Result<bool> parsed = ParseBoolText(value.text);
          if (!parsed.ok()) return kNotConvertible;
          out.integer = *parsed ? 1 : 0;
        } else {
          out.integer = (from == ValueKind::kFloat ? value.real != 0 : value.integer != 0) ? 1 : 0;
        }
        return nullptr;
      case ValueKind::kInt:
        return ToInteger(value, out.integer);
      case ValueKind::kFloat:
        return ToFloat(value, out.real);
      case ValueKind::kDecimal:
        return ToDecimal(value, out.integer);
      case ValueKind::kDate:
        return ToDate(value, out.integer);
      case ValueKind::kDateTime:
        return ToDateTime(value, out.integer);
      case ValueKind::kString:
        return ToString(value, context, out.text);
      case ValueKind::kNull:
        break;
    }
    return kNotConvertible;
  }

  const char* ToInteger(const Value& value, Int128& out) const {
    switch (from_.kind) {
      case ValueKind::kBool:
      case ValueKind::kInt:
      case ValueKind::kDate:
        out = value.integer;
        return nullptr;
      case ValueKind::kDecimal:
        out = value.integer / PowerOfTen(from_.scale);  // truncates toward zero
        return nullptr;
      case ValueKind::kDateTime:
        out = FloorDivide(value.integer, PowerOfTen(from_.scale));  // seconds
        return nullptr;
      case ValueKind::kFloat:
        if (!std::isfinite(value.real) || std::fabs(value.real) >= 1.7e38) return kOutOfRange;
        out = static_cast<Int128>(std::trunc(value.real));
        return nullptr;
      case ValueKind::kString: {
        Result<Int128> parsed = ParseIntegerText(value.text);
        if (!parsed.ok()) return kNotConvertible;
        out = *parsed;
        return nullptr;
      }
      case ValueKind::kNull:
        break;
    }
    return kNotConvertible;
  }

  const char* ToFloat(const Value& value, double& out) const {
    switch (from_.kind) {
      case ValueKind::kFloat:
        out = value.real;
        break;
      case ValueKind::kString: {
        Result<double> parsed = ParseFloatText(value.text, TypeKind::kFloat64);
        if (!parsed.ok()) return kNotConvertible;
        out = *parsed;
        break;
      }
      case ValueKind::kDecimal:
      case ValueKind::kDateTime:
        out = static_cast<double>(value.integer) / static_cast<double>(PowerOfTen(from_.scale));
        break;
      default:
        out = static_cast<double>(value.integer);
        break;
    }
    if (storage_.kind == TypeKind::kFloat32 && std::isfinite(out) && std::fabs(out) > FLT_MAX) {
      return kOutOfRange;
    }
    return nullptr;
  }

  const char* ToDecimal(const Value& value, Int128& out) const {
    int scale = storage_.scale;
    switch (from_.kind) {
      case ValueKind::kBool:
      case ValueKind::kInt:
        return Scale(value.integer, PowerOfTen(scale), out) ? nullptr : kOutOfRange;
      case ValueKind::kDecimal:
        if (from_.scale <= scale) {
          return Scale(value.integer, PowerOfTen(scale - from_.scale), out) ? nullptr : kOutOfRange;
        }
        out = value.integer / PowerOfTen(from_.scale - scale);  // truncates toward zero
        return nullptr;
      case ValueKind::kFloat: {
        // Rounded to the scale: 0.1 + 0.2 becomes 0.30, not 0.29.
        long double scaled = std::round(static_cast<long double>(value.real) *
                                        static_cast<long double>(PowerOfTen(scale)));
        if (!std::isfinite(scaled) || std::fabs(scaled) >= 1e38L) return kOutOfRange;
        out = static_cast<Int128>(scaled);
        return nullptr;
      }
      case ValueKind::kString: {
        Result<Int128> parsed = ParseDecimalText(value.text, storage_.precision, scale);
        if (!parsed.ok()) return kNotConvertible;
        out = *parsed;
        return nullptr;
      }
      default:
        return kNotConvertible;
    }
  }

  const char* ToDate(const Value& value, Int128& out) const {
    switch (from_.kind) {
      case ValueKind::kInt:
      case ValueKind::kDate:
        out = value.integer;
        return nullptr;
      case ValueKind::kDateTime:
        out = FloorDivide(value.integer, 86400 * PowerOfTen(from_.scale));
        return nullptr;
      case ValueKind::kString: {
        Result<int32_t> parsed = ParseDateText(value.text, storage_.kind);
        if (!parsed.ok()) return kNotConvertible;
        out = *parsed;
        return nullptr;
      }
      default:
        return kNotConvertible;
    }
  }

  const char* ToDateTime(const Value& value, Int128& out) const {
    int precision = storage_.kind == TypeKind::kDateTime64 ? storage_.precision : 0;
    Int128 per_second = PowerOfTen(precision);
    switch (from_.kind) {
      case ValueKind::kInt:
        return Scale(value.integer, per_second, out) ? nullptr : kOutOfRange;
      case ValueKind::kDate:
        return Scale(value.integer, 86400 * per_second, out) ? nullptr : kOutOfRange;
      case ValueKind::kDecimal:
      case ValueKind::kDateTime:
        if (from_.scale <= precision) {
          return Scale(value.integer, PowerOfTen(precision - from_.scale), out) ? nullptr
                                                                                : kOutOfRange;
        }
        out = FloorDivide(value.integer, PowerOfTen(from_.scale - precision));
        return nullptr;
      case ValueKind::kFloat: {
        long double ticks =
            std::floor(static_cast<long double>(value.real) * static_cast<long double>(per_second));
        if (!std::isfinite(ticks) || std::fabs(ticks) >= 1e38L) return kOutOfRange;
        out = static_cast<Int128>(ticks);
        return nullptr;
      }
      case ValueKind::kString: {
        Result<int64_t> parsed = ParseDateTimeText(value.text, storage_.kind, precision);
        if (!parsed.ok()) return kNotConvertible;
        out = *parsed;
        return nullptr;
      }
      default:
        return kNotConvertible;
    }
  }

  const char* ToString(const Value& value, EvalContext& context, std::string_view& out) const {
    if (from_.kind == ValueKind::kString) {
      out = value.text;
    } else {
      std::string& buffer = context.strings[scratch_];
      buffer.clear();
      AppendText(value, from_, buffer);
      out = buffer;
    }
    if (storage_.kind == TypeKind::kFixedString && out.size() > storage_.fixed_size) {
      return "the text is longer than the FixedString";
    }
    if (storage_.kind == TypeKind::kUuid && !IsCanonicalUuid(out)) return kNotConvertible;
    return nullptr;
  }

  NodePtr operand_;
  ValueType from_;
  DataType storage_;
  size_t scratch_;
  // Bounds of out.integer for integer, Decimal, Date and DateTime targets.
  Int128 min_ = kInt128Min;
  Int128 max_ = kInt128Max;
};

/// CASE WHEN / if / multiIf: the first branch whose condition holds.
class CaseNode final : public ExpressionNode {
 public:
  CaseNode(std::vector<NodePtr> conditions, std::vector<NodePtr> values, Plan plan)
      : ExpressionNode(plan.result),
        conditions_(std::move(conditions)),
        values_(std::move(values)),
        plan_(std::move(plan)) {}

  void Eval(const Batch& batch, size_t row, EvalContext& context, Value& out) const override {
    size_t branch = 0;
    for (; branch < conditions_.size(); ++branch) {
      Value condition;
      conditions_[branch]->Eval(batch, row, context, condition);
      if (!condition.null && condition.integer != 0) break;
    }
    // The ELSE value, when there is one, sits after the paired values.
    if (branch >= values_.size()) {
      out.null = true;
      return;
    }
    values_[branch]->Eval(batch, row, context, out);
    if (!out.null && !Convert(out, plan_.domain, plan_.conversions[branch])) {
      out.null = true;
      context.failure = "arithmetic overflow";
    }
  }

 private:
  std::vector<NodePtr> conditions_;
  std::vector<NodePtr> values_;
  Plan plan_;
};

/// Applies `compute` to the operands' values when none is NULL (the common shape of functions).
template <typename Compute>
class FunctionNode final : public ExpressionNode {
 public:
  FunctionNode(ValueType type, std::vector<NodePtr> operands, Compute compute)
      : ExpressionNode(std::move(type)), operands_(std::move(operands)), compute_(compute) {}

  void Eval(const Batch& batch, size_t row, EvalContext& context, Value& out) const override {
    Value values[4];
    for (size_t i = 0; i < operands_.size(); ++i) {
      operands_[i]->Eval(batch, row, context, values[i]);
      if (values[i].null) {
        out.null = true;
        return;
      }
    }
    out.null = false;
    compute_(values, context, out);
  }

 private:
  std::vector<NodePtr> operands_;
  Compute compute_;
};

template <typename Compute>
NodePtr MakeFunction(ValueType type, std::vector<NodePtr> operands, Compute compute) {
  type.nullable = std::any_of(operands.begin(), operands.end(),
                              [](const NodePtr& operand) { return operand->type().nullable; });
  return std::make_shared<FunctionNode<Compute>>(std::move(type), std::move(operands), compute);
}

/// concat(a, b, ...): text of every argument; NULL when one is NULL.
class ConcatNode final : public ExpressionNode {
 public:
  ConcatNode(std::vector<NodePtr> operands, size_t scratch, bool nullable)
      : ExpressionNode(Named(ValueKind::kString, 0, "String", nullable)),
        operands_(std::move(operands)),
        scratch_(scratch) {}

  void Eval(const Batch& batch, size_t row, EvalContext& context, Value& out) const override {
    std::string& buffer = context.strings[scratch_];
    buffer.clear();
    for (const NodePtr& operand : operands_) {
      Value value;
      operand->Eval(batch, row, context, value);
      if (value.null) {
        out.null = true;
        return;
      }
      AppendText(value, operand->type(), buffer);
    }
    out.null = false;
    out.text = buffer;
  }

 private:
  std::vector<NodePtr> operands_;
  size_t scratch_;
};

/// greatest / least: NULL arguments are skipped (as in ClickHouse since 24.12).
class ExtremeNode final : public ExpressionNode {
 public:
  ExtremeNode(std::vector<NodePtr> operands, Plan plan, bool greatest)
      : ExpressionNode(plan.result),
        operands_(std::move(operands)),
        plan_(std::move(plan)),
        greatest_(greatest) {}

  void Eval(const Batch& batch, size_t row, EvalContext& context, Value& out) const override {
    out.null = true;
    for (size_t i = 0; i < operands_.size(); ++i) {
      Value value;
      operands_[i]->Eval(batch, row, context, value);
      if (value.null) continue;
      if (!Convert(value, plan_.domain, plan_.conversions[i])) {
        context.failure = "arithmetic overflow";
        continue;
      }
      if (out.null || Better(value, out)) out = value;
    }
  }

 private:
  bool Better(const Value& candidate, const Value& current) const {
    int order = 0;
    switch (plan_.domain) {
      case Domain::kFloat:
        // NaN never wins, so one NaN does not hide the real values.
        if (std::isnan(candidate.real)) return false;
        if (std::isnan(current.real)) return true;
        order = candidate.real < current.real ? -1 : candidate.real > current.real ? 1 : 0;
        break;
      case Domain::kExact:
        order = candidate.integer < current.integer   ? -1
                : candidate.integer > current.integer ? 1
                                                      : 0;
        break;
      case Domain::kString:
        order = candidate.text.compare(current.text);
        break;
    }
    return greatest_ ? order > 0 : order < 0;
  }

  std::vector<NodePtr> operands_;
  Plan plan_;
  bool greatest_;
};

enum class Rounding { kRound, kFloor, kCeil };

/// round / floor / ceil to `digits` decimal places (negative: tens, hundreds ...).
class RoundNode final : public ExpressionNode {
 public:
  RoundNode(NodePtr operand, Rounding rounding, int digits)
      : ExpressionNode(operand->type()),
        operand_(std::move(operand)),
        rounding_(rounding),
        digits_(digits) {
    int scale = type().kind == ValueKind::kDecimal ? type().scale : 0;
    step_ = digits_ >= scale ? 1 : PowerOfTen(std::min(scale - digits_, 38));
  }

  void Eval(const Batch& batch, size_t row, EvalContext& context, Value& out) const override {
    operand_->Eval(batch, row, context, out);
    if (out.null) return;
    if (type().kind == ValueKind::kFloat) {
      double factor = std::pow(10.0, digits_);
      double scaled = out.real * factor;
      // Floats round half to even (ClickHouse's banker's rounding for floats).
      scaled = rounding_ == Rounding::kRound   ? std::nearbyint(scaled)
               : rounding_ == Rounding::kFloor ? std::floor(scaled)
                                               : std::ceil(scaled);
      out.real = scaled / factor;
      return;
    }
    if (step_ == 1) return;
    Int128 remainder = out.integer % step_;
    Int128 down = out.integer - remainder;  // toward zero
    Int128 result = down;
    if (rounding_ == Rounding::kRound) {
      // Exact numbers round half away from zero.
      Int128 twice = remainder < 0 ? -remainder * 2 : remainder * 2;
      if (twice >= step_) result = remainder < 0 ? down - step_ : down + step_;
    } else if (rounding_ == Rounding::kFloor && remainder < 0) {
      result = down - step_;
    } else if (rounding_ == Rounding::kCeil && remainder > 0) {
      result = down + step_;
    }
    out.integer = result;
  }

 private:
  NodePtr operand_;
  Rounding rounding_;
  int digits_;
  Int128 step_ = 1;
};

// Ticks per second of a time value and the factor that turns it into ticks (Date: days).
struct TimeScale {
  Int128 per_second = 1;
  Int128 multiplier = 1;
};

TimeScale TimeScaleOf(const ValueType& type) {
  if (type.kind == ValueKind::kDate) return {1, 86400};
  return {PowerOfTen(type.scale), 1};
}

ValueType DateTimeResult(const ValueType& input) {
  if (input.kind == ValueKind::kDateTime) return input;
  return Named(ValueKind::kDateTime, 0, "DateTime", input.nullable);
}

Result<NodePtr> NeedTime(std::string_view name, const NodePtr& operand) {
  if (!IsTime(operand->type().kind)) {
    return ArgumentError(name,
                         fmt::format("needs a Date or DateTime, got {}", operand->type().name));
  }
  return operand;
}

Result<NodePtr> StartOf(std::string_view name, NodePtr operand, int64_t unit_seconds) {
  Result<NodePtr> checked = NeedTime(name, operand);
  if (!checked.ok()) return checked;
  TimeScale scale = TimeScaleOf(operand->type());
  Int128 step = unit_seconds * scale.per_second;
  ValueType result = DateTimeResult(operand->type());
  return MakeFunction(result, {std::move(operand)},
                      [scale, step](Value* values, EvalContext&, Value& out) {
                        Int128 ticks = values[0].integer * scale.multiplier;
                        out.integer = FloorDivide(ticks, step) * step;
                      });
}

enum class DatePart { kYear, kMonth, kDayOfMonth, kHour, kMinute, kSecond, kYearMonth };

Result<NodePtr> PartOf(std::string_view name, NodePtr operand, DatePart part) {
  Result<NodePtr> checked = NeedTime(name, operand);
  if (!checked.ok()) return checked;
  TimeScale scale = TimeScaleOf(operand->type());
  static constexpr std::string_view kTypes[] = {"UInt16", "UInt8", "UInt8", "UInt8",
                                                "UInt8",  "UInt8", "UInt32"};
  ValueType result = Named(ValueKind::kInt, 0, std::string(kTypes[static_cast<int>(part)]), false);
  return MakeFunction(
      result, {std::move(operand)}, [scale, part](Value* values, EvalContext&, Value& out) {
        Int128 ticks = values[0].integer * scale.multiplier;
        Int128 seconds = FloorDivide(ticks, scale.per_second);
        Int128 second_of_day = 0;
        int64_t days = FloorDivide(seconds, 86400, second_of_day);
        switch (part) {
          case DatePart::kHour:
            out.integer = second_of_day / 3600;
            return;
          case DatePart::kMinute:
            out.integer = second_of_day / 60 % 60;
            return;
          case DatePart::kSecond:
            out.integer = second_of_day % 60;
            return;
          default:
            break;
        }
        Civil civil = CivilFromDays(days);
        out.integer = part == DatePart::kYear         ? civil.year
                      : part == DatePart::kMonth      ? civil.month
                      : part == DatePart::kDayOfMonth ? civil.day
                                                      : civil.year * 100 + civil.month;
      });
}

Result<NodePtr> DateDiff(std::vector<NodePtr> arguments) {
  const Value* unit = arguments[0]->constant();
  if (unit == nullptr || arguments[0]->type().kind != ValueKind::kString) {
    return ArgumentError("dateDiff",
                         "the unit must be a string literal: 'second', 'minute', "
                         "'hour' or 'day'");
  }
  static constexpr std::pair<std::string_view, int64_t> kUnits[] = {
      {"second", 1}, {"minute", 60}, {"hour", 3600}, {"day", 86400}};
  int64_t unit_seconds = 0;
  for (auto [name, seconds] : kUnits) {
    if (unit->text == name) unit_seconds = seconds;
  }
  if (unit_seconds == 0) {
    return ArgumentError("dateDiff", fmt::format("unknown unit '{}' (units: second, minute, "
                                                 "hour, day)",
                                                 unit->text));
  }
  for (size_t i = 1; i < 3; ++i) {
    Result<NodePtr> checked = NeedTime("dateDiff", arguments[i]);
    if (!checked.ok()) return checked;
  }
  TimeScale first = TimeScaleOf(arguments[1]->type());
  TimeScale second = TimeScaleOf(arguments[2]->type());
  std::vector<NodePtr> operands = {arguments[1], arguments[2]};
  // Counts unit boundaries crossed from a to b, as ClickHouse does.
  return MakeFunction(Named(ValueKind::kInt, 0, "Int64"), std::move(operands),
                      [first, second, unit_seconds](Value* values, EvalContext&, Value& out) {
                        Int128 a = FloorDivide(values[0].integer * first.multiplier,
                                               first.per_second * unit_seconds);
                        Int128 b = FloorDivide(values[1].integer * second.multiplier,
                                               second.per_second * unit_seconds);
                        out.integer = b - a;
                      });
}

Result<NodePtr> NeedString(std::string_view name, const std::vector<NodePtr>& arguments) {
  for (const NodePtr& argument : arguments) {
    ValueKind kind = argument->type().kind;
    if (kind != ValueKind::kString && kind != ValueKind::kNull) {
      return ArgumentError(name, fmt::format("needs strings, got {}", argument->type().name));
    }
  }
  return arguments.empty() ? NodePtr() : arguments[0];
}

Result<NodePtr> NeedInteger(std::string_view name, const NodePtr& argument) {
  if (argument->type().kind != ValueKind::kInt && argument->type().kind != ValueKind::kNull) {
    return ArgumentError(name, fmt::format("needs an integer, got {}", argument->type().name));
  }
  return argument;
}

// substring(s, offset[, length]) over code points, 1-based; a negative offset counts from the
// end, a negative length leaves that many code points off the end (ClickHouse's rules).
void Substring(std::string_view text, Int128 offset, std::optional<Int128> length,
               std::string_view& out) {
  size_t characters = Utf8Length(text);
  Int128 start = 0;  // 0-based code point
  if (offset > 0) {
    start = offset - 1;
  } else if (offset < 0) {
    start = static_cast<Int128>(characters) + offset;
    if (start < 0) start = 0;
  } else {
    out = {};
    return;
  }
  if (start >= static_cast<Int128>(characters)) {
    out = {};
    return;
  }
  Int128 end = static_cast<Int128>(characters);
  if (length) {
    end = *length >= 0 ? std::min(end, start + *length) : end + *length;
  }
  if (offset < 0 && -offset > static_cast<Int128>(characters) && length && *length >= 0) {
    // An offset before the start still counts its length from that virtual position.
    end = std::min<Int128>(static_cast<Int128>(characters),
                           static_cast<Int128>(characters) + offset + *length);
  }
  if (end <= start) {
    out = {};
    return;
  }
  size_t from = Utf8Advance(text, 0, static_cast<size_t>(start));
  size_t to = Utf8Advance(text, from, static_cast<size_t>(end - start));
  out = text.substr(from, to - from);
}

Result<NodePtr> MakeStringFunction(std::string_view name, std::vector<NodePtr> arguments,
                                   size_t& scratch_count) {
  if (name == "concat") {
    if (arguments.size() < 2) return ArgumentError(name, "needs at least 2 arguments");
    bool nullable = false;
    for (const NodePtr& argument : arguments) {
      if (argument->type().kind == ValueKind::kNull) {
        return MakeNullNode(Named(ValueKind::kString, 0, "String"));
      }
      nullable = nullable || argument->type().nullable;
    }
    return NodePtr(std::make_shared<ConcatNode>(std::move(arguments), scratch_count++, nullable));
  }
  if (name == "substring") {
    if (arguments.size() != 2 && arguments.size() != 3) {
      return ArgumentError(name, "takes (text, offset) or (text, offset, length)");
    }
    Result<NodePtr> text = NeedString(name, {arguments[0]});
    if (!text.ok()) return text;
    for (size_t i = 1; i < arguments.size(); ++i) {
      Result<NodePtr> number = NeedInteger(name, arguments[i]);
      if (!number.ok()) return number;
    }
    bool with_length = arguments.size() == 3;
    return MakeFunction(Named(ValueKind::kString, 0, "String"), std::move(arguments),
                        [with_length](Value* values, EvalContext&, Value& out) {
                          std::optional<Int128> length;
                          if (with_length) length = values[2].integer;
                          Substring(values[0].text, values[1].integer, length, out.text);
                        });
  }
  size_t expected = name == "replaceall" ? 3 : name == "trim" ? 1 : 2;
  if (arguments.size() != expected) {
    return ArgumentError(name, fmt::format("takes {} argument{}, got {}", expected,
                                           expected == 1 ? "" : "s", arguments.size()));
  }
  Result<NodePtr> checked = NeedString(name, arguments);
  if (!checked.ok()) return checked;
  if (name == "trim") {
    return MakeFunction(Named(ValueKind::kString, 0, "String"), std::move(arguments),
                        [](Value* values, EvalContext&, Value& out) {
                          std::string_view text = values[0].text;
                          size_t first = text.find_first_not_of(" \t\n\r\f\v");
                          size_t last = text.find_last_not_of(" \t\n\r\f\v");
                          out.text = first == std::string_view::npos
                                         ? std::string_view()
                                         : text.substr(first, last - first + 1);
                        });
  }
  if (name == "replaceall") {
    size_t scratch = scratch_count++;
    return MakeFunction(Named(ValueKind::kString, 0, "String"), std::move(arguments),
                        [scratch](Value* values, EvalContext& context, Value& out) {
                          std::string_view text = values[0].text;
                          std::string_view from = values[1].text;
                          if (from.empty()) {
                            out.text = text;
                            return;
                          }
                          std::string& buffer = context.strings[scratch];
                          buffer.clear();
                          size_t at = 0;
                          for (size_t hit = text.find(from); hit != std::string_view::npos;
                               hit = text.find(from, at)) {
                            buffer.append(text.substr(at, hit - at));
                            buffer.append(values[2].text);
                            at = hit + from.size();
                          }
                          buffer.append(text.substr(at));
                          out.text = buffer;
                        });
  }
  if (name == "startswith" || name == "endswith") {
    bool starts = name == "startswith";
    return MakeFunction(BoolType(), std::move(arguments),
                        [starts](Value* values, EvalContext&, Value& out) {
                          out.integer = starts ? values[0].text.starts_with(values[1].text)
                                               : values[0].text.ends_with(values[1].text);
                        });
  }
  // position(haystack, needle): 1-based code point of the first match, 0 for none.
  return MakeFunction(
      Named(ValueKind::kInt, 0, "UInt64"), std::move(arguments),
      [](Value* values, EvalContext&, Value& out) {
        size_t hit = values[0].text.find(values[1].text);
        out.integer = hit == std::string_view::npos
                          ? 0
                          : static_cast<Int128>(Utf8Length(values[0].text.substr(0, hit)) + 1);
      });
}

Result<NodePtr> MakeNumericFunction(std::string_view name, std::vector<NodePtr> arguments) {
  if (name == "greatest" || name == "least") {
    if (arguments.empty()) return ArgumentError(name, "needs at least one argument");
    std::vector<ValueType> types;
    for (const NodePtr& argument : arguments) types.push_back(argument->type());
    Result<Plan> plan = PlanCommon(types, "compare");
    if (!plan.ok()) return ArgumentError(name, plan.error().message);
    if (plan->result.kind == ValueKind::kNull) return MakeNullNode(plan->result);
    plan->result.nullable = std::all_of(arguments.begin(), arguments.end(),
                                        [](const NodePtr& a) { return a->type().nullable; });
    return NodePtr(
        std::make_shared<ExtremeNode>(std::move(arguments), std::move(*plan), name == "greatest"));
  }
  if (name == "modulo") {
    if (arguments.size() != 2) return ArgumentError(name, "takes 2 arguments");
    return MakeArithmeticNode(ArithmeticOp::kModulo, arguments[0], arguments[1]);
  }
  // round, floor, ceil
  if (arguments.empty() || arguments.size() > 2) {
    return ArgumentError(name, "takes (number) or (number, digits)");
  }
  int digits = 0;
  if (arguments.size() == 2) {
    const Value* constant = arguments[1]->constant();
    if (constant == nullptr || arguments[1]->type().kind != ValueKind::kInt ||
        constant->integer < -38 || constant->integer > 38) {
      return ArgumentError(name, "the digits must be an integer literal from -38 to 38");
    }
    digits = static_cast<int>(constant->integer);
  }
  ValueKind kind = arguments[0]->type().kind;
  if (kind == ValueKind::kNull) return arguments[0];
  if (!IsNumeric(kind) || kind == ValueKind::kBool) {
    return ArgumentError(name, fmt::format("needs a number, got {}", arguments[0]->type().name));
  }
  Rounding rounding = name == "round"   ? Rounding::kRound
                      : name == "floor" ? Rounding::kFloor
                                        : Rounding::kCeil;
  return NodePtr(std::make_shared<RoundNode>(std::move(arguments[0]), rounding, digits));
}

/// The cast functions: name → target type ("" when the type comes from arguments).
struct CastFunction {
  std::string_view name;
  std::string_view type;
};

constexpr CastFunction kCastFunctions[] = {
    {"toInt8", "Int8"},       {"toInt16", "Int16"},   {"toInt32", "Int32"},
    {"toInt64", "Int64"},     {"toUInt8", "UInt8"},   {"toUInt16", "UInt16"},
    {"toUInt32", "UInt32"},   {"toUInt64", "UInt64"}, {"toFloat32", "Float32"},
    {"toFloat64", "Float64"}, {"toString", "String"}, {"toBool", "Bool"},
    {"toDate", "Date"},       {"toDate32", "Date32"}, {"toDateTime", "DateTime"},
    {"toDateTime64", ""},     {"toDecimal", ""},      {"toDecimal32", ""},
    {"toDecimal64", ""},      {"toDecimal128", ""},
};

std::string Lower(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower;
}

Result<NodePtr> MakeCastFunction(std::string_view lower, std::string_view type_name,
                                 std::vector<NodePtr> arguments, size_t& scratch_count) {
  bool parameterized = type_name.empty();
  size_t expected = parameterized ? 2 : 1;
  if (arguments.size() != expected) {
    return ArgumentError(
        lower, parameterized
                   ? fmt::format("takes (value, {}), got {} arguments",
                                 lower == "todatetime64" ? "precision" : "scale", arguments.size())
                   : fmt::format("takes 1 argument, got {}", arguments.size()));
  }
  std::string type_text(type_name);
  if (parameterized) {
    const Value* constant = arguments[1]->constant();
    if (constant == nullptr || arguments[1]->type().kind != ValueKind::kInt) {
      return ArgumentError(lower, "the second argument must be an integer literal");
    }
    int number = static_cast<int>(constant->integer);
    if (lower == "todatetime64") {
      type_text = fmt::format("DateTime64({})", number);
    } else {
      int precision = lower == "todecimal32" ? 9 : lower == "todecimal64" ? 18 : 38;
      type_text = fmt::format("Decimal({}, {})", precision, number);
    }
  }
  Result<DataType> type = ParseDataType(type_text);
  if (!type.ok()) return ArgumentError(lower, type.error().message);
  return MakeCastNode(std::move(arguments[0]), *type, scratch_count++);
}

constexpr std::string_view kNondeterministic[] = {
    "now",    "now64",        "today",          "yesterday",  "rand",
    "rand64", "randConstant", "generateUUIDv4", "nowInBlock", "currentDatabase"};

}  // namespace

bool IsNondeterministicFunction(std::string_view lower_name) {
  for (std::string_view name : kNondeterministic) {
    if (Lower(name) == lower_name) return true;
  }
  return false;
}

const std::vector<std::string>& FunctionNames() {
  static const std::vector<std::string> kNames = [] {
    std::vector<std::string> names = {"length",
                                      "lower",
                                      "upper",
                                      "abs",
                                      "coalesce",
                                      "if",
                                      "multiIf",
                                      "concat",
                                      "substring",
                                      "trim",
                                      "replaceAll",
                                      "startsWith",
                                      "endsWith",
                                      "position",
                                      "round",
                                      "floor",
                                      "ceil",
                                      "greatest",
                                      "least",
                                      "modulo",
                                      "toStartOfMinute",
                                      "toStartOfFiveMinutes",
                                      "toStartOfHour",
                                      "toStartOfDay",
                                      "toYYYYMM",
                                      "toYear",
                                      "toMonth",
                                      "toDayOfMonth",
                                      "toHour",
                                      "toMinute",
                                      "toSecond",
                                      "dateDiff"};
    for (const CastFunction& cast : kCastFunctions) names.emplace_back(cast.name);
    return names;
  }();
  return kNames;
}

Result<NodePtr> MakeFunctionNode(std::string_view name, std::vector<NodePtr> arguments,
                                 size_t& scratch_count) {
  if (name == "length" || name == "lower" || name == "upper" || name == "abs" ||
      name == "coalesce") {
    return MakeCoreFunctionNode(name, std::move(arguments), scratch_count++);
  }
  if (name == "if") {
    if (arguments.size() != 3) return ArgumentError(name, "takes (condition, then, else)");
    return MakeCaseNode({arguments[0]}, {arguments[1]}, arguments[2]);
  }
  if (name == "multiif") {
    if (arguments.size() < 3 || arguments.size() % 2 == 0) {
      return ArgumentError("multiIf",
                           "takes (condition, value, ..., else): an odd number of "
                           "3 or more arguments");
    }
    std::vector<NodePtr> conditions;
    std::vector<NodePtr> values;
    for (size_t i = 0; i + 1 < arguments.size(); i += 2) {
      conditions.push_back(arguments[i]);
      values.push_back(arguments[i + 1]);
    }
    return MakeCaseNode(std::move(conditions), std::move(values), arguments.back());
  }
  for (const CastFunction& cast : kCastFunctions) {
    if (Lower(cast.name) == name) {
      return MakeCastFunction(name, cast.type, std::move(arguments), scratch_count);
    }
  }
  if (name == "concat" || name == "substring" || name == "trim" || name == "replaceall" ||
      name == "startswith" || name == "endswith" || name == "position") {
    return MakeStringFunction(name, std::move(arguments), scratch_count);
  }
  if (name == "round" || name == "floor" || name == "ceil" || name == "greatest" ||
      name == "least" || name == "modulo") {
    return MakeNumericFunction(name, std::move(arguments));
  }
  if (name == "datediff") {
    if (arguments.size() != 3) return ArgumentError("dateDiff", "takes (unit, start, end)");
    return DateDiff(std::move(arguments));
  }
  if (arguments.size() != 1) {
    return ArgumentError(name, fmt::format("takes 1 argument, got {}", arguments.size()));
  }
  static constexpr std::pair<std::string_view, int64_t> kStarts[] = {{"tostartofminute", 60},
                                                                     {"tostartoffiveminutes", 300},
                                                                     {"tostartofhour", 3600},
                                                                     {"tostartofday", 86400}};
  for (auto [start, seconds] : kStarts) {
    if (name == start) return StartOf(name, std::move(arguments[0]), seconds);
  }
  static constexpr std::pair<std::string_view, DatePart> kParts[] = {
      {"toyear", DatePart::kYear},
      {"tomonth", DatePart::kMonth},
      {"todayofmonth", DatePart::kDayOfMonth},
      {"tohour", DatePart::kHour},
      {"tominute", DatePart::kMinute},
      {"tosecond", DatePart::kSecond},
      {"toyyyymm", DatePart::kYearMonth}};
  for (auto [part_name, part] : kParts) {
    if (name == part_name) {
      Result<NodePtr> node = PartOf(name, std::move(arguments[0]), part);
      return node;
    }
  }
  return ArgumentError(name, "is not a function");
}

Result<NodePtr> MakeCastNode(NodePtr operand, const DataType& target, size_t scratch) {
  Result<ValueType> type = ValueTypeOf(target);
  if (!type.ok()) return type.error();
  const ValueType& from = operand->type();
  type->nullable = target.IsNullable() || from.nullable;
  if (from.kind == ValueKind::kNull) return MakeNullNode(std::move(*type));
  ValueKind to = type->kind;
  bool from_time = IsTime(from.kind);
  bool allowed = true;
  if (to == ValueKind::kDecimal || to == ValueKind::kBool) allowed = !from_time;
  if (to == ValueKind::kDate) {
    allowed = from_time || from.kind == ValueKind::kInt || from.kind == ValueKind::kString;
  }
  if (to == ValueKind::kDateTime) allowed = from.kind != ValueKind::kBool;
  if (!allowed) {
    return MakeError(ErrorCode::kSpecInvalidExpression,
                     fmt::format("cannot convert {} to {}", from.name, type->name));
  }
  return NodePtr(
      std::make_shared<CastNode>(std::move(operand), std::move(*type), target.Storage(), scratch));
}

Result<NodePtr> MakeCaseNode(std::vector<NodePtr> conditions, std::vector<NodePtr> values,
                             NodePtr otherwise) {
  for (const NodePtr& condition : conditions) {
    ValueKind kind = condition->type().kind;
    if (kind != ValueKind::kBool && kind != ValueKind::kNull) {
      return MakeError(ErrorCode::kSpecInvalidExpression,
                       fmt::format("a branch needs a condition, got {}", condition->type().name));
    }
  }
  if (otherwise) values.push_back(otherwise);
  std::vector<ValueType> types;
  bool nullable = !otherwise;
  for (const NodePtr& value : values) {
    types.push_back(value->type());
    nullable = nullable || value->type().nullable || value->type().kind == ValueKind::kNull;
  }
  Result<Plan> plan = PlanCommon(types, "mix");
  if (!plan.ok()) return plan.error();
  if (plan->result.kind == ValueKind::kNull) return MakeNullNode(plan->result);
  plan->result.nullable = nullable;
  return NodePtr(
      std::make_shared<CaseNode>(std::move(conditions), std::move(values), std::move(*plan)));
}

Result<DataType> ResultDataType(const ValueType& type) {
  std::string name;
  Result<DataType> declared = ParseDataType(type.name);
  std::optional<DataType> own;
  if (declared.ok()) own = declared->Storage();
  auto own_if = [&](std::initializer_list<TypeKind> kinds) -> std::optional<DataType> {
    if (!own) return std::nullopt;
    for (TypeKind kind : kinds) {
      if (own->kind == kind) return own;
    }
    return std::nullopt;
  };
  std::optional<DataType> result;
  switch (type.kind) {
    case ValueKind::kNull:
      return MakeError(ErrorCode::kSpecInvalidExpression,
                       "the expression is always NULL: give it a type, e.g. CAST(NULL AS "
                       "Nullable(String))");
    case ValueKind::kBool:
      name = "Bool";
      break;
    case ValueKind::kInt:
      result = own_if({TypeKind::kInt8, TypeKind::kInt16, TypeKind::kInt32, TypeKind::kInt64,
                       TypeKind::kUInt8, TypeKind::kUInt16, TypeKind::kUInt32, TypeKind::kUInt64});
      name = "Int64";
      break;
    case ValueKind::kFloat:
      result = own_if({TypeKind::kFloat32, TypeKind::kFloat64});
      name = "Float64";
      break;
    case ValueKind::kDecimal:
      if (own && own->kind == TypeKind::kDecimal && own->scale == type.scale) result = own;
      name = fmt::format("Decimal(38, {})", type.scale);
      break;
    case ValueKind::kString:
      result = own_if({TypeKind::kFixedString, TypeKind::kUuid});
      name = declared.ok() && declared->kind == TypeKind::kLowCardinality ? "LowCardinality(String)"
                                                                          : "String";
      if (type.nullable && name != "String") name = "LowCardinality(Nullable(String))";
      break;
    case ValueKind::kDate:
      result = own_if({TypeKind::kDate, TypeKind::kDate32});
      name = "Date";
      break;
    case ValueKind::kDateTime:
      if (own && ((own->kind == TypeKind::kDateTime && type.scale == 0) ||
                  (own->kind == TypeKind::kDateTime64 && own->precision == type.scale))) {
        result = own;
      }
      name = type.scale == 0 ? "DateTime" : fmt::format("DateTime64({})", type.scale);
      break;
  }
  if (!result) {
    Result<DataType> parsed = ParseDataType(name);
    if (!parsed.ok()) return parsed.error();
    if (parsed->IsNullable() || parsed->kind == TypeKind::kLowCardinality) return parsed;
    result = *parsed;
  }
  if (!type.nullable) return *result;
  DataType nullable;
  nullable.kind = TypeKind::kNullable;
  nullable.children.push_back(std::move(*result));
  return nullable;
}

void AppendValue(const Value& value, Column& column) {
  if (value.null) {
    column.AppendNull();
    return;
  }
  switch (column.storage().kind) {
    case TypeKind::kInt8:
      column.AppendFixed(static_cast<int8_t>(value.integer));
      break;
    case TypeKind::kInt16:
      column.AppendFixed(static_cast<int16_t>(value.integer));
      break;
    case TypeKind::kInt32:
    case TypeKind::kDate:
    case TypeKind::kDate32:
      column.AppendFixed(static_cast<int32_t>(value.integer));
      break;
    case TypeKind::kInt64:
    case TypeKind::kDateTime:
    case TypeKind::kDateTime64:
      column.AppendFixed(static_cast<int64_t>(value.integer));
      break;
    case TypeKind::kUInt8:
    case TypeKind::kBool:
      column.AppendFixed(static_cast<uint8_t>(value.integer));
      break;
    case TypeKind::kUInt16:
      column.AppendFixed(static_cast<uint16_t>(value.integer));
      break;
    case TypeKind::kUInt32:
      column.AppendFixed(static_cast<uint32_t>(value.integer));
      break;
    case TypeKind::kUInt64:
      column.AppendFixed(static_cast<uint64_t>(value.integer));
      break;
    case TypeKind::kFloat32:
      column.AppendFixed(static_cast<float>(value.real));
      break;
    case TypeKind::kFloat64:
      column.AppendFixed(value.real);
      break;
    case TypeKind::kDecimal:
      column.AppendFixed(value.integer);
      break;
    default:
      // An empty view may have no data pointer; the column copies from it with memcpy.
      column.AppendString(value.text.empty() ? std::string_view("") : value.text);
      break;
  }
}

}  // namespace sluice
