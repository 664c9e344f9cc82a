#include "expression/expression_nodes.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "expression/utf8.h"

namespace sluice {

Int128 PowerOfTen(int exponent) {
  Int128 value = 1;
  for (int i = 0; i < exponent; ++i) value *= 10;
  return value;
}

bool IsNumeric(ValueKind kind) {
  return kind == ValueKind::kBool || kind == ValueKind::kInt || kind == ValueKind::kDecimal ||
         kind == ValueKind::kFloat;
}

bool IsTime(ValueKind kind) {
  return kind == ValueKind::kDate || kind == ValueKind::kDateTime;
}

ValueType Named(ValueKind kind, int scale, std::string name, bool nullable) {
  return ValueType{kind, scale, std::move(name), nullable};
}

ValueType BoolType(bool nullable) {
  return Named(ValueKind::kBool, 0, "Bool", nullable);
}

Result<Plan> PlanCommon(const std::vector<ValueType>& types, std::string_view what) {
  Plan plan;
  const ValueType* first = nullptr;
  for (const ValueType& type : types) {
    if (type.kind != ValueKind::kNull) {
      first = &type;
      break;
    }
  }
  plan.conversions.resize(types.size());
  if (first == nullptr) {
    plan.result = Named(ValueKind::kNull, 0, "NULL");
    return plan;
  }
  auto mismatch = [&](const ValueType& other) {
    return MakeError(ErrorCode::kSpecInvalidExpression,
                     fmt::format("cannot {} {} with {}", what, first->name, other.name));
  };
  if (IsNumeric(first->kind)) {
    bool any_float = false;
    bool any_decimal = false;
    int scale = 0;
    for (const ValueType& type : types) {
      if (type.kind == ValueKind::kNull) continue;
      if (!IsNumeric(type.kind)) return mismatch(type);
      any_float = any_float || type.kind == ValueKind::kFloat;
      any_decimal = any_decimal || type.kind == ValueKind::kDecimal;
      if (type.kind == ValueKind::kDecimal) scale = std::max(scale, type.scale);
    }
    if (any_float) {
      plan.domain = Domain::kFloat;
      plan.result = Named(ValueKind::kFloat, 0, "Float64");
    } else if (any_decimal) {
      plan.result = Named(ValueKind::kDecimal, scale, fmt::format("Decimal(38, {})", scale));
    } else if (std::all_of(types.begin(), types.end(), [](const ValueType& type) {
                 return type.kind == ValueKind::kBool || type.kind == ValueKind::kNull;
               })) {
      plan.result = BoolType();
    } else {
      plan.result = Named(ValueKind::kInt, 0, "Int128");
    }
    for (size_t i = 0; i < types.size(); ++i) {
      const ValueType& type = types[i];
      Conversion& conversion = plan.conversions[i];
      conversion.from_float = type.kind == ValueKind::kFloat;
      int own_scale = type.kind == ValueKind::kDecimal ? type.scale : 0;
      conversion.divisor = static_cast<double>(PowerOfTen(own_scale));
      conversion.multiplier = PowerOfTen(scale - own_scale);
    }
    return plan;
  }
  if (IsTime(first->kind)) {
    bool any_datetime = false;
    int precision = 0;
    for (const ValueType& type : types) {
      if (type.kind == ValueKind::kNull) continue;
      if (!IsTime(type.kind)) return mismatch(type);
      if (type.kind == ValueKind::kDateTime) {
        any_datetime = true;
        precision = std::max(precision, type.scale);
      }
    }
    plan.result = any_datetime ? Named(ValueKind::kDateTime, precision,
                                       fmt::format("DateTime64({})", precision))
                               : Named(ValueKind::kDate, 0, "Date");
    for (size_t i = 0; i < types.size(); ++i) {
      const ValueType& type = types[i];
      if (type.kind == ValueKind::kDate) {
        plan.conversions[i].multiplier = any_datetime ? 86400 * PowerOfTen(precision) : 1;
      } else if (type.kind == ValueKind::kDateTime) {
        plan.conversions[i].multiplier = PowerOfTen(precision - type.scale);
      }
    }
    return plan;
  }
  for (const ValueType& type : types) {
    if (type.kind != ValueKind::kNull && type.kind != first->kind) return mismatch(type);
  }
  plan.domain = first->kind == ValueKind::kString ? Domain::kString : Domain::kExact;
  plan.result = *first;
  return plan;
}

bool Scale(Int128 value, Int128 multiplier, Int128& out) {
  if (multiplier == 1) {
    out = value;
    return true;
  }
  return !__builtin_mul_overflow(value, multiplier, &out);
}

double ToDouble(const Value& value, const Conversion& conversion) {
  if (conversion.from_float) return value.real;
  return static_cast<double>(value.integer) / conversion.divisor;
}

bool Convert(Value& value, Domain domain, const Conversion& conversion) {
  if (domain == Domain::kFloat) {
    value.real = ToDouble(value, conversion);
    return true;
  }
  if (domain == Domain::kExact) {
    Int128 scaled = 0;
    if (!Scale(value.integer, conversion.multiplier, scaled)) return false;
    value.integer = scaled;
  }
  return true;
}

namespace {

// Three-way comparison; `unordered` for NaN.
struct Ordering {
  int sign = 0;
  bool unordered = false;
};

bool Holds(CompareOp op, Ordering ordering) {
  if (ordering.unordered) return op == CompareOp::kNotEqual;
  switch (op) {
    case CompareOp::kEqual:
      return ordering.sign == 0;
    case CompareOp::kNotEqual:
      return ordering.sign != 0;
    case CompareOp::kLess:
      return ordering.sign < 0;
    case CompareOp::kLessEqual:
      return ordering.sign <= 0;
    case CompareOp::kGreater:
      return ordering.sign > 0;
    case CompareOp::kGreaterEqual:
      return ordering.sign >= 0;
  }
  return false;
}

template <typename T>
int Sign(T a, T b) {
  return a < b ? -1 : a > b ? 1 : 0;
}

class FieldNode final : public ExpressionNode {
 public:
  FieldNode(size_t column, TypeKind storage, ValueType type)
      : ExpressionNode(std::move(type)), column_(column), storage_(storage) {}

  void Eval(const Batch& batch, size_t row, EvalContext&, Value& out) const override {
    const Column& column = batch.column(column_);
    out.null = column.IsNull(row);
    if (out.null) return;
    switch (storage_) {
      case TypeKind::kInt8:
        out.integer = column.FixedAt<int8_t>(row);
        break;
      case TypeKind::kInt16:
        out.integer = column.FixedAt<int16_t>(row);
        break;
      case TypeKind::kInt32:
      case TypeKind::kDate:
      case TypeKind::kDate32:
        out.integer = column.FixedAt<int32_t>(row);
        break;
      case TypeKind::kInt64:
      case TypeKind::kDateTime:
      case TypeKind::kDateTime64:
        out.integer = column.FixedAt<int64_t>(row);
        break;
      case TypeKind::kUInt8:
      case TypeKind::kBool:
        out.integer = column.FixedAt<uint8_t>(row);
        break;
      case TypeKind::kUInt16:
        out.integer = column.FixedAt<uint16_t>(row);
        break;
      case TypeKind::kUInt32:
        out.integer = column.FixedAt<uint32_t>(row);
        break;
      case TypeKind::kUInt64:
        out.integer = column.FixedAt<uint64_t>(row);
        break;
      case TypeKind::kFloat32:
        out.real = column.FixedAt<float>(row);
        break;
      case TypeKind::kFloat64:
        out.real = column.FixedAt<double>(row);
        break;
      case TypeKind::kDecimal:
        out.integer = column.FixedAt<Int128>(row);
        break;
      case TypeKind::kFixedString: {
        // The zero padding added on append is not part of the value.
        std::string_view text = column.StringAt(row);
        while (!text.empty() && text.back() == '\0') text.remove_suffix(1);
        out.text = text;
        break;
      }
      default:
        out.text = column.StringAt(row);
        break;
    }
  }

 private:
  size_t column_;
  TypeKind storage_;
};

class LiteralNode final : public ExpressionNode {
 public:
  LiteralNode(ValueType type, Value value, std::string text)
      : ExpressionNode(std::move(type)), value_(value), text_(std::move(text)) {
    value_.text = text_;
  }

  void Eval(const Batch&, size_t, EvalContext&, Value& out) const override { out = value_; }
  const Value* constant() const override { return &value_; }

 private:
  Value value_;
  std::string text_;
};

class CompareNode final : public ExpressionNode {
 public:
  CompareNode(CompareOp op, NodePtr left, NodePtr right, Plan plan)
      : ExpressionNode(BoolType()),
        op_(op),
        left_(std::move(left)),
        right_(std::move(right)),
        plan_(std::move(plan)) {}

  void Eval(const Batch& batch, size_t row, EvalContext& context, Value& out) const override {
    Value a;
    Value b;
    left_->Eval(batch, row, context, a);
    if (a.null) {
      out.null = true;
      return;
    }
    right_->Eval(batch, row, context, b);
    if (b.null) {
      out.null = true;
      return;
    }
    out.null = false;
    out.integer = Holds(op_, Order(a, b)) ? 1 : 0;
  }

 private:
  Ordering Order(const Value& a, const Value& b) const {
    const Conversion& ca = plan_.conversions[0];
    const Conversion& cb = plan_.conversions[1];
    switch (plan_.domain) {
      case Domain::kString: {
        int compared = a.text.compare(b.text);
        return {compared < 0 ? -1 : compared > 0 ? 1 : 0, false};
      }
      case Domain::kFloat: {
        double x = ToDouble(a, ca);
        double y = ToDouble(b, cb);
        if (std::isnan(x) || std::isnan(y)) return {0, true};
        return {Sign(x, y), false};
      }
      case Domain::kExact: {
        Int128 x = 0;
        Int128 y = 0;
        if (Scale(a.integer, ca.multiplier, x) && Scale(b.integer, cb.multiplier, y)) {
          return {Sign(x, y), false};
        }
        // Only values near the Int128 limits get here; long double orders them correctly.
        long double lx =
            static_cast<long double>(a.integer) * static_cast<long double>(ca.multiplier);
        long double ly =
            static_cast<long double>(b.integer) * static_cast<long double>(cb.multiplier);
        return {Sign(lx, ly), false};
      }
    }
    return {};
  }

  CompareOp op_;
  NodePtr left_;
  NodePtr right_;
  Plan plan_;
};

class ArithmeticNode final : public ExpressionNode {
 public:
  ArithmeticNode(ArithmeticOp op, NodePtr left, NodePtr right, Plan plan, ValueType result)
      : ExpressionNode(std::move(result)),
        op_(op),
        left_(std::move(left)),
        right_(std::move(right)),
        plan_(std::move(plan)) {}

  void Eval(const Batch& batch, size_t row, EvalContext& context, Value& out) const override {
    Value a;
    Value b;
    left_->Eval(batch, row, context, a);
    right_->Eval(batch, row, context, b);
    out.null = a.null || b.null;
    if (out.null) return;
    if (type().kind == ValueKind::kFloat) {
      double x = ToDouble(a, plan_.conversions[0]);
      double y = ToDouble(b, plan_.conversions[1]);
      switch (op_) {
        case ArithmeticOp::kAdd:
          out.real = x + y;
          break;
        case ArithmeticOp::kSubtract:
          out.real = x - y;
          break;
        case ArithmeticOp::kMultiply:
          out.real = x * y;
          break;
        case ArithmeticOp::kDivide:
        case ArithmeticOp::kModulo:
          // Division by zero has no value, as in SQL.
          out.null = y == 0;
          if (out.null) {
            context.failure = "division by zero";
            return;
          }
          out.real = op_ == ArithmeticOp::kDivide ? x / y : std::fmod(x, y);
          break;
      }
      return;
    }
    // Exact arithmetic; an overflow has no value rather than a wrong one.
    Int128 x = 0;
    Int128 y = 0;
    bool overflow = !Scale(a.integer, plan_.conversions[0].multiplier, x) ||
                    !Scale(b.integer, plan_.conversions[1].multiplier, y);
    switch (op_) {
      case ArithmeticOp::kAdd:
        overflow = overflow || __builtin_add_overflow(x, y, &out.integer);
        break;
      case ArithmeticOp::kSubtract:
        overflow = overflow || __builtin_sub_overflow(x, y, &out.integer);
        break;
      case ArithmeticOp::kMultiply:
      case ArithmeticOp::kDivide:
        overflow = overflow || __builtin_mul_overflow(x, y, &out.integer);
        break;
      case ArithmeticOp::kModulo:
        if (!overflow && y == 0) {
          out.null = true;
          context.failure = "division by zero";
          return;
        }
        // The remainder takes the dividend's sign (as in C and ClickHouse); -1 divides all.
        out.integer = overflow || y == -1 ? 0 : x % y;
        break;
    }
    out.null = overflow;
    if (overflow) context.failure = "arithmetic overflow";
  }

 private:
  ArithmeticOp op_;
  NodePtr left_;
  NodePtr right_;
  Plan plan_;
};

class NegateNode final : public ExpressionNode {
 public:
  explicit NegateNode(NodePtr operand) : ExpressionNode(operand->type()), operand_(operand) {}

  void Eval(const Batch& batch, size_t row, EvalContext& context, Value& out) const override {
    operand_->Eval(batch, row, context, out);
    out.integer = -out.integer;
    out.real = -out.real;
  }

 private:
  NodePtr operand_;
};

class LogicalNode final : public ExpressionNode {
 public:
  LogicalNode(bool is_and, NodePtr left, NodePtr right)
      : ExpressionNode(BoolType()),
        is_and_(is_and),
        left_(std::move(left)),
        right_(std::move(right)) {}

  void Eval(const Batch& batch, size_t row, EvalContext& context, Value& out) const override {
    // SQL's three-valued logic: false decides AND, true decides OR, even against NULL.
    Int128 decisive = is_and_ ? 0 : 1;
    Value a;
    left_->Eval(batch, row, context, a);
    if (!a.null && a.integer == decisive) {
      out.null = false;
      out.integer = decisive;
      return;
    }
    Value b;
    right_->Eval(batch, row, context, b);
    if (!b.null && b.integer == decisive) {
      out.null = false;
      out.integer = decisive;
      return;
    }
    out.null = a.null || b.null;
    out.integer = 1 - decisive;
  }

 private:
  bool is_and_;
  NodePtr left_;
  NodePtr right_;
};

class NotNode final : public ExpressionNode {
 public:
  explicit NotNode(NodePtr operand) : ExpressionNode(BoolType()), operand_(std::move(operand)) {}

  void Eval(const Batch& batch, size_t row, EvalContext& context, Value& out) const override {
    operand_->Eval(batch, row, context, out);
    out.integer = out.integer == 0 ? 1 : 0;
  }

 private:
  NodePtr operand_;
};

class IsNullNode final : public ExpressionNode {
 public:
  IsNullNode(NodePtr operand, bool negated)
      : ExpressionNode(BoolType()), operand_(std::move(operand)), negated_(negated) {}

  void Eval(const Batch& batch, size_t row, EvalContext& context, Value& out) const override {
    Value value;
    operand_->Eval(batch, row, context, value);
    out.null = false;
    out.integer = value.null != negated_ ? 1 : 0;
  }

 private:
  NodePtr operand_;
  bool negated_;
};

class NullNode final : public ExpressionNode {
 public:
  explicit NullNode(ValueType type) : ExpressionNode(std::move(type)) {}
  void Eval(const Batch&, size_t, EvalContext&, Value& out) const override { out.null = true; }
};

class LengthNode final : public ExpressionNode {
 public:
  explicit LengthNode(NodePtr operand)
      : ExpressionNode(Named(ValueKind::kInt, 0, "UInt64", operand->type().nullable)),
        operand_(std::move(operand)) {}

  void Eval(const Batch& batch, size_t row, EvalContext& context, Value& out) const override {
    Value value;
    operand_->Eval(batch, row, context, value);
    out.null = value.null;
    if (!out.null) out.integer = static_cast<Int128>(Utf8Length(value.text));
  }

 private:
  NodePtr operand_;
};

class ChangeCaseNode final : public ExpressionNode {
 public:
  ChangeCaseNode(NodePtr operand, bool lower, size_t scratch)
      : ExpressionNode(Named(ValueKind::kString, 0, "String", operand->type().nullable)),
        operand_(std::move(operand)),
        lower_(lower),
        scratch_(scratch) {}

  void Eval(const Batch& batch, size_t row, EvalContext& context, Value& out) const override {
    Value value;
    operand_->Eval(batch, row, context, value);
    out.null = value.null;
    if (out.null) return;
    std::string& buffer = context.strings[scratch_];
    if (lower_) {
      Utf8Lower(value.text, buffer);
    } else {
      Utf8Upper(value.text, buffer);
    }
    out.text = buffer;
  }

 private:
  NodePtr operand_;
  bool lower_;
  size_t scratch_;
};

class AbsNode final : public ExpressionNode {
 public:
  explicit AbsNode(NodePtr operand) : ExpressionNode(operand->type()), operand_(operand) {}

  void Eval(const Batch& batch, size_t row, EvalContext& context, Value& out) const override {
    operand_->Eval(batch, row, context, out);
    if (out.integer < 0) out.integer = -out.integer;
    out.real = std::fabs(out.real);
  }

 private:
  NodePtr operand_;
};

class CoalesceNode final : public ExpressionNode {
 public:
  CoalesceNode(std::vector<NodePtr> arguments, Plan plan)
      : ExpressionNode(plan.result), arguments_(std::move(arguments)), plan_(std::move(plan)) {}

  void Eval(const Batch& batch, size_t row, EvalContext& context, Value& out) const override {
    for (size_t i = 0; i < arguments_.size(); ++i) {
      arguments_[i]->Eval(batch, row, context, out);
      if (out.null) continue;
      if (!Convert(out, plan_.domain, plan_.conversions[i])) {
        out.null = true;
        context.failure = "arithmetic overflow";
      }
      return;
    }
    out.null = true;
  }

 private:
  std::vector<NodePtr> arguments_;
  Plan plan_;
};

Error ArgumentError(std::string_view function, std::string message) {
  return MakeError(ErrorCode::kSpecInvalidExpression,
                   fmt::format("{}(): {}", function, std::move(message)));
}

}  // namespace

Result<ValueType> ValueTypeOf(const DataType& type) {
  const DataType& storage = type.Storage();
  std::string name = type.ToString();
  bool nullable = type.IsNullable();
  switch (storage.kind) {
    case TypeKind::kInt8:
    case TypeKind::kInt16:
    case TypeKind::kInt32:
    case TypeKind::kInt64:
    case TypeKind::kUInt8:
    case TypeKind::kUInt16:
    case TypeKind::kUInt32:
    case TypeKind::kUInt64:
      return Named(ValueKind::kInt, 0, name, nullable);
    case TypeKind::kFloat32:
    case TypeKind::kFloat64:
      return Named(ValueKind::kFloat, 0, name, nullable);
    case TypeKind::kDecimal:
      return Named(ValueKind::kDecimal, storage.scale, name, nullable);
    case TypeKind::kBool:
      return Named(ValueKind::kBool, 0, name, nullable);
    case TypeKind::kString:
    case TypeKind::kFixedString:
    case TypeKind::kUuid:
      return Named(ValueKind::kString, 0, name, nullable);
    case TypeKind::kDate:
    case TypeKind::kDate32:
      return Named(ValueKind::kDate, 0, name, nullable);
    case TypeKind::kDateTime:
      return Named(ValueKind::kDateTime, 0, name, nullable);
    case TypeKind::kDateTime64:
      return Named(ValueKind::kDateTime, storage.precision, name, nullable);
    default:
      return MakeError(ErrorCode::kSpecInvalidExpression,
                       fmt::format("expressions cannot use values of type {}", name));
  }
}

NodePtr MakeFieldNode(size_t column, const DataType& type, ValueType value_type) {
  return std::make_shared<FieldNode>(column, type.Storage().kind, std::move(value_type));
}

NodePtr MakeLiteralNode(ValueType type, Value value, std::string text) {
  return std::make_shared<LiteralNode>(std::move(type), value, std::move(text));
}

NodePtr MakeNullNode(ValueType type) {
  type.nullable = true;
  return std::make_shared<NullNode>(std::move(type));
}

Result<NodePtr> MakeCompareNode(CompareOp op, NodePtr left, NodePtr right) {
  Result<Plan> plan = PlanCommon({left->type(), right->type()}, "compare");
  if (!plan.ok()) return plan.error();
  // Comparing with NULL is NULL whatever the other side holds.
  if (plan->result.kind == ValueKind::kNull || left->type().kind == ValueKind::kNull ||
      right->type().kind == ValueKind::kNull) {
    return MakeNullNode(BoolType());
  }
  bool nullable = left->type().nullable || right->type().nullable;
  auto node =
      std::make_shared<CompareNode>(op, std::move(left), std::move(right), std::move(*plan));
  node->set_nullable(nullable);
  return NodePtr(std::move(node));
}

Result<NodePtr> MakeArithmeticNode(ArithmeticOp op, NodePtr left, NodePtr right) {
  static constexpr std::string_view kSymbols[] = {"+", "-", "*", "/", "%"};
  std::string_view symbol = kSymbols[static_cast<int>(op)];
  for (const NodePtr& operand : {left, right}) {
    ValueKind kind = operand->type().kind;
    if (kind != ValueKind::kNull && (!IsNumeric(kind) || kind == ValueKind::kBool)) {
      return MakeError(ErrorCode::kSpecInvalidExpression,
                       fmt::format("'{}' needs numbers, got {}", symbol, operand->type().name));
    }
  }
  if (left->type().kind == ValueKind::kNull || right->type().kind == ValueKind::kNull) {
    return MakeNullNode(Named(ValueKind::kNull, 0, "NULL"));
  }
  Result<Plan> plan = PlanCommon({left->type(), right->type()}, "combine");
  if (!plan.ok()) return plan.error();
  ValueType result = plan->result;
  bool to_float = op == ArithmeticOp::kDivide || result.kind == ValueKind::kFloat;
  if (!to_float && op == ArithmeticOp::kMultiply && result.kind == ValueKind::kDecimal) {
    // A product's scale is the sum of the operands' scales; operands keep their own.
    int scale = left->type().scale + right->type().scale;
    if (scale > 38) {
      to_float = true;
    } else {
      result = Named(ValueKind::kDecimal, scale, fmt::format("Decimal(38, {})", scale));
      plan->conversions[0].multiplier = 1;
      plan->conversions[1].multiplier = 1;
    }
  }
  if (to_float) {
    result = Named(ValueKind::kFloat, 0, "Float64");
    plan->domain = Domain::kFloat;
  }
  result.nullable = left->type().nullable || right->type().nullable;
  return NodePtr(std::make_shared<ArithmeticNode>(op, std::move(left), std::move(right),
                                                  std::move(*plan), std::move(result)));
}

Result<NodePtr> MakeNegateNode(NodePtr operand) {
  ValueKind kind = operand->type().kind;
  if (kind == ValueKind::kNull) return operand;
  if (!IsNumeric(kind) || kind == ValueKind::kBool) {
    return MakeError(ErrorCode::kSpecInvalidExpression,
                     fmt::format("'-' needs a number, got {}", operand->type().name));
  }
  // A negative literal stays a literal, for arguments that must be constant (round(x, -2)).
  if (const Value* constant = operand->constant()) {
    Value negated = *constant;
    negated.integer = -negated.integer;
    negated.real = -negated.real;
    return MakeLiteralNode(operand->type(), negated);
  }
  return NodePtr(std::make_shared<NegateNode>(std::move(operand)));
}

Result<NodePtr> MakeLogicalNode(bool is_and, NodePtr left, NodePtr right) {
  for (const NodePtr& operand : {left, right}) {
    ValueKind kind = operand->type().kind;
    if (kind != ValueKind::kBool && kind != ValueKind::kNull) {
      return MakeError(ErrorCode::kSpecInvalidExpression,
                       fmt::format("{} needs conditions on both sides, got {}",
                                   is_and ? "AND" : "OR", operand->type().name));
    }
  }
  bool nullable = left->type().nullable || right->type().nullable;
  auto node = std::make_shared<LogicalNode>(is_and, std::move(left), std::move(right));
  node->set_nullable(nullable);
  return NodePtr(std::move(node));
}

Result<NodePtr> MakeNotNode(NodePtr operand) {
  ValueKind kind = operand->type().kind;
  if (kind == ValueKind::kNull) return MakeNullNode(BoolType());
  if (kind != ValueKind::kBool) {
    return MakeError(ErrorCode::kSpecInvalidExpression,
                     fmt::format("NOT needs a condition, got {}", operand->type().name));
  }
  bool nullable = operand->type().nullable;
  auto node = std::make_shared<NotNode>(std::move(operand));
  node->set_nullable(nullable);
  return NodePtr(std::move(node));
}

NodePtr MakeIsNullNode(NodePtr operand, bool negated) {
  return std::make_shared<IsNullNode>(std::move(operand), negated);
}

Result<NodePtr> MakeCoreFunctionNode(std::string_view name, std::vector<NodePtr> arguments,
                                     size_t scratch) {
  if (name == "coalesce") {
    if (arguments.empty()) return ArgumentError(name, "needs at least one argument");
    std::vector<ValueType> types;
    for (const NodePtr& argument : arguments) types.push_back(argument->type());
    Result<Plan> plan = PlanCommon(types, "mix");
    if (!plan.ok()) return ArgumentError(name, plan.error().message);
    if (plan->result.kind == ValueKind::kNull) return MakeNullNode(plan->result);
    // Nullable only when every argument may be NULL.
    plan->result.nullable =
        std::all_of(arguments.begin(), arguments.end(),
                    [](const NodePtr& argument) { return argument->type().nullable; });
    return NodePtr(std::make_shared<CoalesceNode>(std::move(arguments), std::move(*plan)));
  }
  if (arguments.size() != 1) {
    return ArgumentError(name, fmt::format("takes 1 argument, got {}", arguments.size()));
  }
  NodePtr operand = std::move(arguments[0]);
  ValueKind kind = operand->type().kind;
  if (name == "abs") {
    if (kind == ValueKind::kNull) return operand;
    if (!IsNumeric(kind) || kind == ValueKind::kBool) {
      return ArgumentError(name, fmt::format("needs a number, got {}", operand->type().name));
    }
    return NodePtr(std::make_shared<AbsNode>(std::move(operand)));
  }
  if (kind != ValueKind::kString && kind != ValueKind::kNull) {
    return ArgumentError(name, fmt::format("needs a string, got {}", operand->type().name));
  }
  if (name == "length") return NodePtr(std::make_shared<LengthNode>(std::move(operand)));
  return NodePtr(std::make_shared<ChangeCaseNode>(std::move(operand), name == "lower", scratch));
}

}  // namespace sluice
