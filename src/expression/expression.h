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

/// A record-level condition such as `event_type != 'purchase' OR amount > 0`, compiled once
/// against a schema and evaluated over whole batches. Immutable after compiling: one instance may
/// be evaluated from several threads at once.
///
/// The language: field names of the schema; integer, decimal (exact, `12.50`) and float (`1e3`)
/// literals; 'strings' ('' is a quote); true, false, NULL; `= == != <> < <= > >=`; AND, OR, NOT;
/// `+ - * /`; `x [NOT] IN (a, b, ...)`; `x IS [NOT] NULL`; parentheses; length(s) (code points),
/// lower(s), upper(s), abs(n), coalesce(a, b, ...). Keywords and function names are
/// case-insensitive. Types and NULL follow SQL: src/expression/README.md.
class Expression {
 public:
  /// Compiles `text`, which must be a condition (true/false/NULL). Errors are
  /// kSpecInvalidExpression and say what is wrong at which character (1-based); `error_offset`,
  /// when given, receives that position 0-based so callers can point into their own file.
  static Result<Expression> CompileCondition(std::string_view text, const Schema& schema,
                                             size_t* error_offset = nullptr);

  /// For each row of `batch` (which has the schema compiled against): 1 when the condition holds,
  /// 0 when it is false or NULL. `result` is resized to the batch's row count.
  void EvaluateCondition(const Batch& batch, std::vector<uint8_t>& result) const;

  const std::string& text() const { return text_; }
  /// Schema positions of the fields the expression reads, in order of first mention (to show
  /// their values when a record fails).
  const std::vector<size_t>& fields() const { return fields_; }

 private:
  Expression(std::string text, std::shared_ptr<const ExpressionNode> root, size_t scratch_count,
             std::vector<size_t> fields);

  std::string text_;
  std::shared_ptr<const ExpressionNode> root_;
  size_t scratch_count_ = 0;
  std::vector<size_t> fields_;
};

}  // namespace sluice
