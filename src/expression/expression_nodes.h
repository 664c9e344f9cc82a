#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "core/batch.h"

namespace sluice {

// Internal to the expression module: typed values and the evaluation tree the parser builds.
// Types are settled when an expression is compiled, so evaluation never looks at them again:
// each node knows how to turn its operands into the domain it compares or computes in.

/// The families of values an expression computes with.
enum class ValueKind : uint8_t { kNull, kBool, kInt, kDecimal, kFloat, kString, kDate, kDateTime };

/// A value's static type: its kind, the Decimal scale or DateTime precision, and the name used
/// in messages (the column's ClickHouse type, or "integer", "string", ...).
struct ValueType {
  ValueKind kind = ValueKind::kNull;
  int scale = 0;
  std::string name;
  /// Whether a NULL can come from the input (a Nullable field, a NULL literal, a CASE without
  /// ELSE). Failures (overflow, division by zero, a failed cast) also give NULL but do not make
  /// a type nullable: in a non-Nullable output they are row errors.
  bool nullable = false;
};

/// One value during evaluation. Which member holds it follows from the static type: `integer`
/// for Bool (0/1), Int, Decimal (value * 10^scale), Date (days) and DateTime (ticks); `real` for
/// Float; `text` for String.
struct Value {
  bool null = false;
  Int128 integer = 0;
  double real = 0;
  std::string_view text;
};

/// Per-evaluation scratch: the strings computed by lower() and upper() live here, one per node,
/// so the compiled tree stays immutable and shareable between threads.
struct EvalContext {
  std::vector<std::string> strings;
  /// Why the last failing node gave NULL ("division by zero", ...), for row errors; static text.
  const char* failure = nullptr;
};

/// A node of the evaluation tree.
class ExpressionNode {
 public:
  explicit ExpressionNode(ValueType type) : type_(std::move(type)) {}
  virtual ~ExpressionNode() = default;

  const ValueType& type() const { return type_; }
  /// Computes the node for one row; `batch` has the schema the expression was compiled for.
  virtual void Eval(const Batch& batch, size_t row, EvalContext& context, Value& out) const = 0;
  /// The value of a literal, for arguments that must be constant (round's digits, dateDiff's
  /// unit); nullptr for anything computed.
  virtual const Value* constant() const { return nullptr; }
  /// Set by the builder before the node is shared.
  void set_nullable(bool nullable) { type_.nullable = nullable; }

 private:
  ValueType type_;
};

using NodePtr = std::shared_ptr<const ExpressionNode>;

enum class CompareOp { kEqual, kNotEqual, kLess, kLessEqual, kGreater, kGreaterEqual };
enum class ArithmeticOp { kAdd, kSubtract, kMultiply, kDivide, kModulo };

// Shared by the node builders (expression_nodes.cpp, functions.cpp).

bool IsNumeric(ValueKind kind);
bool IsTime(ValueKind kind);
ValueType Named(ValueKind kind, int scale, std::string name, bool nullable = false);
ValueType BoolType(bool nullable = false);
Int128 PowerOfTen(int exponent);

/// How one operand enters the domain an operation works in: exact values are scaled integers
/// (numbers to a common Decimal scale, dates and times to ticks of a common precision), the
/// rest are doubles or text.
enum class Domain { kExact, kFloat, kString };

struct Conversion {
  Int128 multiplier = 1;  // kExact: value.integer * multiplier
  double divisor = 1;     // kFloat from an integer kind: value.integer / divisor
  bool from_float = false;
};

struct Plan {
  Domain domain = Domain::kExact;
  std::vector<Conversion> conversions;  // one per operand
  ValueType result;                     // the common type
};

/// The common domain of operands of one family (numbers, dates and times, strings, booleans);
/// an error names the first operand that does not fit ("cannot <what> A with B").
Result<Plan> PlanCommon(const std::vector<ValueType>& types, std::string_view what);
/// value * multiplier, false on overflow.
bool Scale(Int128 value, Int128 multiplier, Int128& out);
double ToDouble(const Value& value, const Conversion& conversion);
/// Brings `value` (non-NULL) into the plan's domain; false on overflow.
bool Convert(Value& value, Domain domain, const Conversion& conversion);

/// The static type of a column, or an error naming why expressions cannot use it.
Result<ValueType> ValueTypeOf(const DataType& type);

NodePtr MakeFieldNode(size_t column, const DataType& type, ValueType value_type);
NodePtr MakeLiteralNode(ValueType type, Value value, std::string text = {});
/// A constant NULL of `type` (e.g. the result of comparing with NULL).
NodePtr MakeNullNode(ValueType type);

// The builders check operand types; their errors carry the message only (the parser adds
// where the operator was written).
Result<NodePtr> MakeCompareNode(CompareOp op, NodePtr left, NodePtr right);
Result<NodePtr> MakeArithmeticNode(ArithmeticOp op, NodePtr left, NodePtr right);
Result<NodePtr> MakeNegateNode(NodePtr operand);
Result<NodePtr> MakeLogicalNode(bool is_and, NodePtr left, NodePtr right);
Result<NodePtr> MakeNotNode(NodePtr operand);
NodePtr MakeIsNullNode(NodePtr operand, bool negated);
/// `name` is lower-case (see FunctionNames); functions that build text take slots in
/// EvalContext::strings by incrementing `scratch_count`.
Result<NodePtr> MakeFunctionNode(std::string_view name, std::vector<NodePtr> arguments,
                                 size_t& scratch_count);

/// now(), today(), rand() ...: refused, since a replayed batch must map to the same values.
bool IsNondeterministicFunction(std::string_view lower_name);

/// length, lower, upper, abs and coalesce (expression_nodes.cpp); MakeFunctionNode passes them on.
Result<NodePtr> MakeCoreFunctionNode(std::string_view name, std::vector<NodePtr> arguments,
                                     size_t scratch);

/// The function names MakeFunctionNode knows, as documented (compare lower-cased).
const std::vector<std::string>& FunctionNames();

/// CAST(operand AS target): explicit conversion, NULL (a failure) when the value does not fit
/// `target`; the result is nullable when the operand is or `target` is Nullable.
Result<NodePtr> MakeCastNode(NodePtr operand, const DataType& target, size_t scratch);

/// `CASE WHEN c1 THEN v1 ... ELSE e END`, if() and multiIf(): `conditions` and `values` pair up;
/// `otherwise` may be null (no ELSE: NULL). A NULL condition counts as false.
Result<NodePtr> MakeCaseNode(std::vector<NodePtr> conditions, std::vector<NodePtr> values,
                             NodePtr otherwise);

/// The column type a value of `type` is written to when no type is given (an integer computed
/// in Int128 is written as Int64, a string as String ...); an error for NULL-only values.
Result<DataType> ResultDataType(const ValueType& type);

/// Appends `value` of a node cast to `column`'s type (see MakeCastNode) to `column`.
void AppendValue(const Value& value, Column& column);

}  // namespace sluice
