#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "core/batch.h"

namespace sluice {

class ExpressionNode;

/// A row whose value could not be computed for a non-Nullable output: its index in the batch
/// and why ("division by zero", "the value is NULL", ...; static text).
struct ValueFailure {
  size_t row = 0;
  const char* reason = "";
};

/// A record-level condition such as `event_type != 'purchase' OR amount > 0`, or a value such as
/// `toStartOfHour(at)`, compiled once against a schema and evaluated over whole batches.
/// Immutable after compiling: one instance may be evaluated from several threads at once.
///
/// The language: field names of the schema; integer, decimal (exact, `12.50`) and float (`1e3`)
/// literals; 'strings' ('' is a quote); true, false, NULL; `= == != <> < <= > >=`; AND, OR, NOT;
/// `+ - * / %`; `x [NOT] IN (a, b, ...)`; `x IS [NOT] NULL`; parentheses; CASE ... END;
/// CAST(x AS Type); the functions of src/expression/README.md. Keywords and function names are
/// case-insensitive. Types and NULL follow SQL: src/expression/README.md.
class Expression {
 public:
  /// Compiles `text`, which must be a condition (true/false/NULL). Errors are
  /// kSpecInvalidExpression and say what is wrong at which character (1-based); `error_offset`,
  /// when given, receives that position 0-based so callers can point into their own file.
  static Result<Expression> CompileCondition(std::string_view text, const Schema& schema,
                                             size_t* error_offset = nullptr);

  /// Compiles `text` as a value. Its column type is `result_type` when given (the value is
  /// converted as by CAST), else the type the expression computes (see README: integers Int64,
  /// Nullable when a NULL can come from the input). Errors as for CompileCondition.
  static Result<Expression> CompileValue(std::string_view text, const Schema& schema,
                                         size_t* error_offset = nullptr,
                                         const DataType* result_type = nullptr);

  /// For each row of `batch` (which has the schema compiled against): 1 when the condition holds,
  /// 0 when it is false or NULL. `result` is resized to the batch's row count.
  void EvaluateCondition(const Batch& batch, std::vector<uint8_t>& result) const;

  /// Appends one value per row of `batch` to `out`, a column of result_type(). A row whose value
  /// is NULL while `out` is not Nullable (a failed cast, an overflow, a NULL input) gets a zero
  /// placeholder and is added to `failures`, for the caller to remove and report.
  void EvaluateInto(const Batch& batch, Column& out, std::vector<ValueFailure>& failures) const;

  /// The column type of the value (Bool for conditions).
  const DataType& result_type() const { return result_type_; }
  const std::string& text() const { return text_; }
  /// Schema positions of the fields the expression reads, in order of first mention (to show
  /// their values when a record fails).
  const std::vector<size_t>& fields() const { return fields_; }

 private:
  Expression(std::string text, std::shared_ptr<const ExpressionNode> root, DataType result_type,
             size_t scratch_count, std::vector<size_t> fields);

  std::string text_;
  std::shared_ptr<const ExpressionNode> root_;
  DataType result_type_;
  size_t scratch_count_ = 0;
  std::vector<size_t> fields_;
};

}  // namespace sluice
