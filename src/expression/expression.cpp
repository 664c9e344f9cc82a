#include "expression/expression.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <optional>

#include "base/strings.h"
#include "expression/expression_nodes.h"
#include "format/text_value.h"

namespace sluice {
namespace {

enum class TokenKind { kEnd, kIdentifier, kInteger, kDecimal, kFloat, kString, kSymbol };

struct Token {
  TokenKind kind = TokenKind::kEnd;
  std::string text;  // identifiers as written, numbers' digits, strings unquoted, symbols
  size_t position = 0;
};

std::string Lower(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower;
}

/// A compile-time failure with the position it refers to.
struct CompileError {
  std::string message;
  size_t position = 0;
};

/// A parsed sub-expression; string literals are remembered so that comparing one with a date
/// converts it at compile time.
struct Parsed {
  NodePtr node;
  size_t position = 0;
  std::optional<std::string> string_literal;
};

/// Recursive-descent parser that builds typed nodes as it goes, so every type error knows where
/// its operator was written. Precedence, loosest first: OR, AND, NOT, comparison / IN / IS,
/// + -, * /, unary minus.
class Parser {
 public:
  Parser(std::string_view text, const Schema& schema) : text_(text), schema_(schema) {}

  std::optional<Parsed> ParseCondition() {
    if (!Tokenize()) return std::nullopt;
    std::optional<Parsed> parsed = ParseOr();
    if (!parsed) return std::nullopt;
    if (Peek().kind != TokenKind::kEnd) {
      return Fail(fmt::format("unexpected '{}' after the end of the expression", Peek().text),
                  Peek().position);
    }
    ValueKind kind = parsed->node->type().kind;
    if (kind != ValueKind::kBool && kind != ValueKind::kNull) {
      return Fail(fmt::format("the expression is {}, not a condition (true or false)",
                              parsed->node->type().name),
                  0);
    }
    return parsed;
  }

  /// A value of any type (for map outputs).
  std::optional<Parsed> ParseValue() {
    if (!Tokenize()) return std::nullopt;
    std::optional<Parsed> parsed = ParseOr();
    if (!parsed) return std::nullopt;
    if (Peek().kind != TokenKind::kEnd) {
      return Fail(fmt::format("unexpected '{}' after the end of the expression", Peek().text),
                  Peek().position);
    }
    return parsed;
  }

  /// Converts the parsed value to the type it is written as.
  std::optional<NodePtr> CastTo(const NodePtr& root, const DataType& type) {
    Result<NodePtr> cast = MakeCastNode(root, type, scratch_count_++);
    if (!cast.ok()) return Fail(cast.error().message, 0);
    return *cast;
  }

  std::nullopt_t Fail(std::string message, size_t position) {
    if (error_.message.empty()) error_ = {std::move(message), position};
    return std::nullopt;
  }

  const CompileError& error() const { return error_; }
  size_t scratch_count() const { return scratch_count_; }
  std::vector<size_t>& fields() { return fields_; }

 private:
  bool Tokenize() {
    size_t at = 0;
    while (true) {
      while (at < text_.size() && std::isspace(static_cast<unsigned char>(text_[at]))) ++at;
      if (at >= text_.size()) break;
      char c = text_[at];
      size_t start = at;
      if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        while (at < text_.size() &&
               (std::isalnum(static_cast<unsigned char>(text_[at])) || text_[at] == '_')) {
          ++at;
        }
        tokens_.push_back(
            {TokenKind::kIdentifier, std::string(text_.substr(start, at - start)), start});
      } else if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') {
        TokenKind kind = TokenKind::kInteger;
        while (at < text_.size() && std::isdigit(static_cast<unsigned char>(text_[at]))) ++at;
        if (at < text_.size() && text_[at] == '.') {
          kind = TokenKind::kDecimal;
          ++at;
          while (at < text_.size() && std::isdigit(static_cast<unsigned char>(text_[at]))) ++at;
        }
        if (at < text_.size() && (text_[at] == 'e' || text_[at] == 'E')) {
          kind = TokenKind::kFloat;
          ++at;
          if (at < text_.size() && (text_[at] == '+' || text_[at] == '-')) ++at;
          while (at < text_.size() && std::isdigit(static_cast<unsigned char>(text_[at]))) ++at;
        }
        tokens_.push_back({kind, std::string(text_.substr(start, at - start)), start});
      } else if (c == '\'') {
        std::string value;
        ++at;
        while (true) {
          if (at >= text_.size()) {
            Fail("the string is not closed (a quote inside a string is written '')", start);
            return false;
          }
          if (text_[at] == '\'') {
            if (at + 1 < text_.size() && text_[at + 1] == '\'') {
              value += '\'';
              at += 2;
              continue;
            }
            ++at;
            break;
          }
          value += text_[at++];
        }
        tokens_.push_back({TokenKind::kString, std::move(value), start});
      } else {
        static constexpr std::string_view kSymbols[] = {
            "==", "!=", "<>", "<=", ">=", "=", "<", ">", "+", "-", "*", "/", "%", "(", ")", ","};
        std::string_view matched;
        for (std::string_view symbol : kSymbols) {
          if (text_.substr(at).starts_with(symbol)) {
            matched = symbol;
            break;
          }
        }
        if (matched.empty()) {
          Fail(fmt::format("unexpected character '{}'", c), start);
          return false;
        }
        at += matched.size();
        tokens_.push_back({TokenKind::kSymbol, std::string(matched), start});
      }
    }
    tokens_.push_back({TokenKind::kEnd, "end of the expression", text_.size()});
    return true;
  }

  const Token& Peek() const { return tokens_[next_]; }
  const Token& Take() { return tokens_[next_++]; }

  bool IsKeyword(const Token& token, std::string_view keyword) const {
    return token.kind == TokenKind::kIdentifier && Lower(token.text) == keyword;
  }
  bool IsSymbol(const Token& token, std::string_view symbol) const {
    return token.kind == TokenKind::kSymbol && token.text == symbol;
  }

  bool Expect(std::string_view symbol) {
    if (IsSymbol(Peek(), symbol)) {
      ++next_;
      return true;
    }
    Fail(fmt::format("expected '{}', found '{}'", symbol, Peek().text), Peek().position);
    return false;
  }

  // Wraps a builder's type error with the position of the operator it is about.
  std::optional<Parsed> Built(Result<NodePtr> node, size_t position) {
    if (!node.ok()) return Fail(node.error().message, position);
    return Parsed{std::move(*node), position, std::nullopt};
  }

  std::optional<Parsed> ParseOr() {
    std::optional<Parsed> left = ParseAnd();
    while (left && IsKeyword(Peek(), "or")) {
      size_t position = Take().position;
      std::optional<Parsed> right = ParseAnd();
      if (!right) return std::nullopt;
      left = Built(MakeLogicalNode(false, left->node, right->node), position);
    }
    return left;
  }

  std::optional<Parsed> ParseAnd() {
    std::optional<Parsed> left = ParseNot();
    while (left && IsKeyword(Peek(), "and")) {
      size_t position = Take().position;
      std::optional<Parsed> right = ParseNot();
      if (!right) return std::nullopt;
      left = Built(MakeLogicalNode(true, left->node, right->node), position);
    }
    return left;
  }

  std::optional<Parsed> ParseNot() {
    if (!IsKeyword(Peek(), "not")) return ParsePredicate();
    size_t position = Take().position;
    std::optional<Parsed> operand = ParseNot();
    if (!operand) return std::nullopt;
    return Built(MakeNotNode(operand->node), position);
  }

  std::optional<Parsed> ParsePredicate() {
    std::optional<Parsed> left = ParseAdditive();
    if (!left) return std::nullopt;
    const Token& token = Peek();
    static constexpr std::pair<std::string_view, CompareOp> kComparisons[] = {
        {"=", CompareOp::kEqual},     {"==", CompareOp::kEqual},
        {"!=", CompareOp::kNotEqual}, {"<>", CompareOp::kNotEqual},
        {"<", CompareOp::kLess},      {"<=", CompareOp::kLessEqual},
        {">", CompareOp::kGreater},   {">=", CompareOp::kGreaterEqual}};
    for (auto [symbol, op] : kComparisons) {
      if (!IsSymbol(token, symbol)) continue;
      size_t position = Take().position;
      std::optional<Parsed> right = ParseAdditive();
      if (!right) return std::nullopt;
      return Compare(op, *left, *right, position);
    }
    if (IsKeyword(token, "is")) {
      size_t position = Take().position;
      bool negated = false;
      if (IsKeyword(Peek(), "not")) {
        Take();
        negated = true;
      }
      if (!IsKeyword(Peek(), "null")) {
        return Fail(fmt::format("expected NULL after IS, found '{}'", Peek().text),
                    Peek().position);
      }
      Take();
      return Parsed{MakeIsNullNode(left->node, negated), position, std::nullopt};
    }
    bool negated_in = IsKeyword(token, "not") && next_ + 1 < tokens_.size() &&
                      IsKeyword(tokens_[next_ + 1], "in");
    if (IsKeyword(token, "in") || negated_in) {
      size_t position = Take().position;
      if (negated_in) Take();
      return ParseIn(*left, negated_in, position);
    }
    return left;
  }

  // `x IN (a, b)` is `x = a OR x = b`, which gives SQL's NULL rules for IN exactly.
  std::optional<Parsed> ParseIn(const Parsed& left, bool negated, size_t position) {
    if (!Expect("(")) return std::nullopt;
    std::optional<Parsed> any;
    while (true) {
      std::optional<Parsed> item = ParseAdditive();
      if (!item) return std::nullopt;
      std::optional<Parsed> equal = Compare(CompareOp::kEqual, left, *item, item->position);
      if (!equal) return std::nullopt;
      any = any ? Built(MakeLogicalNode(false, any->node, equal->node), position) : equal;
      if (!any) return std::nullopt;
      if (IsSymbol(Peek(), ",")) {
        Take();
        continue;
      }
      if (!Expect(")")) return std::nullopt;
      break;
    }
    if (negated) return Built(MakeNotNode(any->node), position);
    any->position = position;
    return any;
  }

  std::optional<Parsed> Compare(CompareOp op, const Parsed& left, const Parsed& right,
                                size_t position) {
    NodePtr left_node = left.node;
    NodePtr right_node = right.node;
    // A date or time compared with a string literal reads the literal as a date or time.
    if (!ConvertDateLiteral(left_node, right, right_node)) return std::nullopt;
    if (!ConvertDateLiteral(right_node, left, left_node)) return std::nullopt;
    return Built(MakeCompareNode(op, left_node, right_node), position);
  }

  bool ConvertDateLiteral(const NodePtr& time_side, const Parsed& literal, NodePtr& replaced) {
    ValueKind kind = time_side->type().kind;
    if ((kind != ValueKind::kDate && kind != ValueKind::kDateTime) || !literal.string_literal) {
      return true;
    }
    const std::string& text = *literal.string_literal;
    Value value;
    ValueType type;
    if (kind == ValueKind::kDate) {
      Result<int32_t> days = ParseDateText(text, TypeKind::kDate32);
      if (!days.ok()) {
        Fail(days.error().message, literal.position);
        return false;
      }
      value.integer = *days;
      type = ValueType{ValueKind::kDate, 0, "Date"};
    } else {
      int precision = time_side->type().scale;
      Result<int64_t> ticks = ParseDateTimeText(text, TypeKind::kDateTime64, precision);
      if (!ticks.ok()) {
        Fail(ticks.error().message, literal.position);
        return false;
      }
      value.integer = *ticks;
      type = ValueType{ValueKind::kDateTime, precision, fmt::format("DateTime64({})", precision)};
    }
    replaced = MakeLiteralNode(std::move(type), value);
    return true;
  }

  std::optional<Parsed> ParseAdditive() {
    std::optional<Parsed> left = ParseMultiplicative();
    while (left && (IsSymbol(Peek(), "+") || IsSymbol(Peek(), "-"))) {
      const Token& token = Take();
      ArithmeticOp op = token.text == "+" ? ArithmeticOp::kAdd : ArithmeticOp::kSubtract;
      std::optional<Parsed> right = ParseMultiplicative();
      if (!right) return std::nullopt;
      left = Built(MakeArithmeticNode(op, left->node, right->node), token.position);
    }
    return left;
  }

  std::optional<Parsed> ParseMultiplicative() {
    std::optional<Parsed> left = ParseUnary();
    while (left && (IsSymbol(Peek(), "*") || IsSymbol(Peek(), "/") || IsSymbol(Peek(), "%"))) {
      const Token& token = Take();
      ArithmeticOp op = token.text == "*"   ? ArithmeticOp::kMultiply
                        : token.text == "/" ? ArithmeticOp::kDivide
                                            : ArithmeticOp::kModulo;
      std::optional<Parsed> right = ParseUnary();
      if (!right) return std::nullopt;
      left = Built(MakeArithmeticNode(op, left->node, right->node), token.position);
    }
    return left;
  }

  std::optional<Parsed> ParseUnary() {
    if (!IsSymbol(Peek(), "-")) return ParsePrimary();
    size_t position = Take().position;
    std::optional<Parsed> operand = ParseUnary();
    if (!operand) return std::nullopt;
    return Built(MakeNegateNode(operand->node), position);
  }

  std::optional<Parsed> ParsePrimary() {
    const Token& token = Take();
    switch (token.kind) {
      case TokenKind::kInteger:
      case TokenKind::kDecimal:
      case TokenKind::kFloat:
        return NumberLiteral(token);
      case TokenKind::kString:
        return Parsed{
            MakeLiteralNode(ValueType{ValueKind::kString, 0, "String"}, Value{}, token.text),
            token.position, token.text};
      case TokenKind::kIdentifier:
        return Identifier(token);
      case TokenKind::kSymbol:
        if (token.text == "(") {
          std::optional<Parsed> inner = ParseOr();
          if (!inner || !Expect(")")) return std::nullopt;
          inner->position = token.position;
          return inner;
        }
        break;
      case TokenKind::kEnd:
        return Fail("the expression ends too early", token.position);
    }
    return Fail(fmt::format("unexpected '{}'", token.text), token.position);
  }

  std::optional<Parsed> NumberLiteral(const Token& token) {
    Value value;
    ValueType type;
    if (token.kind == TokenKind::kFloat) {
      Result<double> real = ParseFloatText(token.text, TypeKind::kFloat64);
      if (!real.ok()) return Fail(real.error().message, token.position);
      value.real = *real;
      type = ValueType{ValueKind::kFloat, 0, "Float64"};
    } else {
      // Decimal literals keep the digits written after the point as their scale: exact.
      size_t point = token.text.find('.');
      int scale = point == std::string::npos ? 0 : static_cast<int>(token.text.size() - point - 1);
      if (token.text == ".") return Fail("unexpected '.'", token.position);
      Result<Int128> exact = ParseDecimalText(token.text, 38, std::min(scale, 38));
      if (!exact.ok() || scale > 38) {
        return Fail(fmt::format("the number {} has more than 38 digits", token.text),
                    token.position);
      }
      value.integer = *exact;
      type = scale == 0 ? ValueType{ValueKind::kInt, 0, "integer"}
                        : ValueType{ValueKind::kDecimal, scale, "decimal"};
    }
    return Parsed{MakeLiteralNode(std::move(type), value), token.position, std::nullopt};
  }

  std::optional<Parsed> Identifier(const Token& token) {
    std::string lower = Lower(token.text);
    if (lower == "true" || lower == "false") {
      Value value;
      value.integer = lower == "true" ? 1 : 0;
      return Parsed{MakeLiteralNode(ValueType{ValueKind::kBool, 0, "Bool"}, value), token.position,
                    std::nullopt};
    }
    if (lower == "null") {
      return Parsed{MakeNullNode(ValueType{ValueKind::kNull, 0, "NULL"}), token.position,
                    std::nullopt};
    }
    if (lower == "case") return ParseCase(token);
    if (lower == "cast" && IsSymbol(Peek(), "(")) return ParseCast(token);
    if (IsSymbol(Peek(), "(")) return Function(token, lower);
    for (size_t i = 0; i < schema_.size(); ++i) {
      if (schema_[i].name != token.text) continue;
      Result<ValueType> type = ValueTypeOf(schema_[i].type);
      if (!type.ok()) {
        return Fail(fmt::format("field '{}': {}", token.text, type.error().message),
                    token.position);
      }
      if (std::find(fields_.begin(), fields_.end(), i) == fields_.end()) fields_.push_back(i);
      return Parsed{MakeFieldNode(i, schema_[i].type, std::move(*type)), token.position,
                    std::nullopt};
    }
    static constexpr std::string_view kKeywords[] = {"and",  "or",   "not",  "in",  "is",
                                                     "when", "then", "else", "end", "as"};
    for (std::string_view keyword : kKeywords) {
      if (lower == keyword) {
        return Fail(fmt::format("unexpected keyword {}", token.text), token.position);
      }
    }
    std::vector<std::string> names;
    for (const Field& field : schema_) names.push_back(field.name);
    std::string suggestion = SuggestClosest(token.text, names);
    return Fail(
        suggestion.empty()
            ? fmt::format("unknown field '{}' (fields: {})", token.text, Join(names, ", "))
            : fmt::format("unknown field '{}' (did you mean '{}'?)", token.text, suggestion),
        token.position);
  }

  // CASE [operand] WHEN a THEN x [WHEN ...] [ELSE y] END; with an operand, WHEN a means
  // operand = a.
  std::optional<Parsed> ParseCase(const Token& token) {
    std::optional<Parsed> operand;
    if (!IsKeyword(Peek(), "when")) {
      operand = ParseOr();
      if (!operand) return std::nullopt;
    }
    std::vector<NodePtr> conditions;
    std::vector<NodePtr> values;
    while (IsKeyword(Peek(), "when")) {
      size_t position = Take().position;
      std::optional<Parsed> condition = ParseOr();
      if (!condition) return std::nullopt;
      if (operand) {
        condition = Compare(CompareOp::kEqual, *operand, *condition, position);
        if (!condition) return std::nullopt;
      }
      if (!IsKeyword(Peek(), "then")) {
        return Fail(fmt::format("expected THEN, found '{}'", Peek().text), Peek().position);
      }
      Take();
      std::optional<Parsed> value = ParseOr();
      if (!value) return std::nullopt;
      conditions.push_back(condition->node);
      values.push_back(value->node);
    }
    if (conditions.empty()) {
      return Fail(fmt::format("expected WHEN, found '{}'", Peek().text), Peek().position);
    }
    NodePtr otherwise;
    if (IsKeyword(Peek(), "else")) {
      Take();
      std::optional<Parsed> value = ParseOr();
      if (!value) return std::nullopt;
      otherwise = value->node;
    }
    if (!IsKeyword(Peek(), "end")) {
      return Fail(fmt::format("expected END, found '{}'", Peek().text), Peek().position);
    }
    Take();
    return Built(MakeCaseNode(std::move(conditions), std::move(values), std::move(otherwise)),
                 token.position);
  }

  // CAST(x AS Type): the type is the text up to the closing parenthesis, read by ParseDataType.
  std::optional<Parsed> ParseCast(const Token& token) {
    Take();  // (
    std::optional<Parsed> operand = ParseOr();
    if (!operand) return std::nullopt;
    if (!IsKeyword(Peek(), "as")) {
      return Fail(fmt::format("expected AS, found '{}'", Peek().text), Peek().position);
    }
    Take();
    size_t start = Peek().position;
    int depth = 0;
    while (Peek().kind != TokenKind::kEnd && !(depth == 0 && IsSymbol(Peek(), ")"))) {
      if (IsSymbol(Peek(), "(")) ++depth;
      if (IsSymbol(Peek(), ")")) --depth;
      Take();
    }
    size_t end = Peek().position;
    if (!Expect(")")) return std::nullopt;
    Result<DataType> type = ParseDataType(Trim(text_.substr(start, end - start)));
    if (!type.ok()) return Fail(type.error().message, start);
    return Built(MakeCastNode(operand->node, *type, scratch_count_++), token.position);
  }

  std::optional<Parsed> Function(const Token& token, const std::string& lower) {
    if (IsNondeterministicFunction(lower)) {
      return Fail(fmt::format("{}() is not allowed: its value changes from run to run, so a batch "
                              "replayed after a failure would map differently (use a field of "
                              "the record, e.g. its event time)",
                              token.text),
                  token.position);
    }
    const std::vector<std::string>& known = FunctionNames();
    if (std::none_of(known.begin(), known.end(),
                     [&](const std::string& name) { return Lower(name) == lower; })) {
      std::string suggestion = SuggestClosest(lower, known);
      return Fail(
          suggestion.empty()
              ? fmt::format("unknown function '{}' (functions: {})", token.text, Join(known, ", "))
              : fmt::format("unknown function '{}' (did you mean '{}'?)", token.text, suggestion),
          token.position);
    }
    Take();  // (
    std::vector<NodePtr> arguments;
    if (!IsSymbol(Peek(), ")")) {
      while (true) {
        std::optional<Parsed> argument = ParseOr();
        if (!argument) return std::nullopt;
        arguments.push_back(argument->node);
        if (!IsSymbol(Peek(), ",")) break;
        Take();
      }
    }
    if (!Expect(")")) return std::nullopt;
    return Built(MakeFunctionNode(lower, std::move(arguments), scratch_count_), token.position);
  }

  std::string_view text_;
  const Schema& schema_;
  std::vector<Token> tokens_;
  size_t next_ = 0;
  size_t scratch_count_ = 0;
  std::vector<size_t> fields_;
  CompileError error_;
};

}  // namespace

Expression::Expression(std::string text, std::shared_ptr<const ExpressionNode> root,
                       DataType result_type, size_t scratch_count, std::vector<size_t> fields)
    : text_(std::move(text)),
      root_(std::move(root)),
      result_type_(std::move(result_type)),
      scratch_count_(scratch_count),
      fields_(std::move(fields)) {}

namespace {

Error CompileFailure(const CompileError& error, size_t* error_offset) {
  if (error_offset != nullptr) *error_offset = error.position;
  return MakeError(ErrorCode::kSpecInvalidExpression,
                   fmt::format("{} (at character {})", error.message, error.position + 1));
}

}  // namespace

Result<Expression> Expression::CompileCondition(std::string_view text, const Schema& schema,
                                                size_t* error_offset) {
  Parser parser(text, schema);
  std::optional<Parsed> parsed = parser.ParseCondition();
  if (!parsed) return CompileFailure(parser.error(), error_offset);
  return Expression(std::string(text), std::move(parsed->node), *ParseDataType("Bool"),
                    parser.scratch_count(), std::move(parser.fields()));
}

Result<Expression> Expression::CompileValue(std::string_view text, const Schema& schema,
                                            size_t* error_offset, const DataType* result_type) {
  Parser parser(text, schema);
  std::optional<Parsed> parsed = parser.ParseValue();
  if (!parsed) return CompileFailure(parser.error(), error_offset);
  DataType type;
  if (result_type != nullptr) {
    type = *result_type;
  } else {
    Result<DataType> inferred = ResultDataType(parsed->node->type());
    if (!inferred.ok()) {
      parser.Fail(inferred.error().message, 0);
      return CompileFailure(parser.error(), error_offset);
    }
    type = std::move(*inferred);
  }
  // Every value passes through a cast to its column type, which range-checks what was computed
  // wider (integers in Int128) and converts when the caller asked for a type.
  std::optional<NodePtr> root = parser.CastTo(parsed->node, type);
  if (!root) return CompileFailure(parser.error(), error_offset);
  return Expression(std::string(text), std::move(*root), std::move(type), parser.scratch_count(),
                    std::move(parser.fields()));
}

void Expression::EvaluateCondition(const Batch& batch, std::vector<uint8_t>& result) const {
  size_t rows = batch.num_rows();
  result.resize(rows);
  EvalContext context;
  context.strings.resize(scratch_count_);
  Value value;
  for (size_t row = 0; row < rows; ++row) {
    root_->Eval(batch, row, context, value);
    result[row] = !value.null && value.integer != 0 ? 1 : 0;
  }
}

void Expression::EvaluateInto(const Batch& batch, Column& out,
                              std::vector<ValueFailure>& failures) const {
  size_t rows = batch.num_rows();
  out.Reserve(out.size() + rows);
  EvalContext context;
  context.strings.resize(scratch_count_);
  bool nullable = out.nullable();
  Value value;
  for (size_t row = 0; row < rows; ++row) {
    context.failure = nullptr;
    root_->Eval(batch, row, context, value);
    if (value.null && !nullable) {
      failures.push_back({row, context.failure != nullptr ? context.failure : "the value is NULL"});
      // A placeholder keeps the rows aligned; the caller removes the failed rows.
      value = Value{};
    }
    AppendValue(value, out);
  }
}

}  // namespace sluice
