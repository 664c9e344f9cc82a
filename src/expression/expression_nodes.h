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
};

/// A node of the evaluation tree.
class ExpressionNode {
 public:
  explicit ExpressionNode(ValueType type) : type_(std::move(type)) {}
  virtual ~ExpressionNode() = default;

  const ValueType& type() const { return type_; }
  /// Computes the node for one row; `batch` has the schema the expression was compiled for.
  virtual void Eval(const Batch& batch, size_t row, EvalContext& context, Value& out) const = 0;

 private:
  ValueType type_;
};

using NodePtr = std::shared_ptr<const ExpressionNode>;

enum class CompareOp { kEqual, kNotEqual, kLess, kLessEqual, kGreater, kGreaterEqual };
enum class ArithmeticOp { kAdd, kSubtract, kMultiply, kDivide };

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
/// `name` is lower-case: length, lower, upper, abs or coalesce; `scratch` is the node's slot in
/// EvalContext::strings (lower, upper).
Result<NodePtr> MakeFunctionNode(std::string_view name, std::vector<NodePtr> arguments,
                                 size_t scratch);

/// The function names MakeFunctionNode knows, for suggestions.
const std::vector<std::string>& FunctionNames();

}  // namespace sluice
