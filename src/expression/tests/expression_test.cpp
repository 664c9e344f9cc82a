#include "expression/expression.h"

#include <gtest/gtest.h>

#include <optional>

#include "format/text_value.h"

namespace sluice {
namespace {

DataType Type(std::string_view text) {
  Result<DataType> type = ParseDataType(text);
  if (!type.ok()) throw SetupError(type.error());
  return *type;
}

/// A batch of events; std::nullopt is NULL in a nullable column, text goes through the decoders'
/// text conversion.
class ExpressionTest : public ::testing::Test {
 protected:
  ExpressionTest()
      : batch_({{"event_type", Type("LowCardinality(String)")},
                {"amount", Type("Decimal(10, 2)")},
                {"quantity", Type("Nullable(Int32)")},
                {"ratio", Type("Float64")},
                {"day", Type("Date")},
                {"at", Type("DateTime64(3)")},
                {"active", Type("Bool")},
                {"note", Type("Nullable(String)")},
                {"big", Type("UInt64")},
                {"tags", Type("Array(String)")}}) {}

  void AddRow(std::vector<std::optional<std::string>> values) {
    for (size_t i = 0; i + 1 < batch_.num_columns(); ++i) {
      Column& column = batch_.column(i);
      if (i >= values.size() || !values[i]) {
        column.AppendNull();
        continue;
      }
      Status status = AppendTextValue(*values[i], column);
      ASSERT_TRUE(status.ok()) << status.error().ToString();
    }
    batch_.column(batch_.num_columns() - 1).CloseNestedRow();
  }

  // Fills the standard rows used by most tests.
  void AddStandardRows() {
    AddRow({"purchase", "19.99", "2", "0.5", "2024-05-06", "2024-05-06 10:00:00.250", "true",
            "gift", "18446744073709551615"});
    AddRow({"purchase", "0", std::nullopt, "1.5", "2024-01-01", "2024-01-01 00:00:00", "false",
            std::nullopt, "1"});
    AddRow({"view", "0", "0", "-2", "2023-12-31", "2023-12-31 23:59:59.999", "false", "", "0"});
  }

  /// The rows for which `text` holds, or the compile error.
  std::string Rows(std::string_view text) {
    Result<Expression> expression = Expression::CompileCondition(text, batch_.schema());
    if (!expression.ok()) return "error: " + expression.error().message;
    std::vector<uint8_t> result;
    expression->EvaluateCondition(batch_, result);
    std::string rows;
    for (size_t row = 0; row < result.size(); ++row) {
      if (result[row] != 0) rows += std::to_string(row);
    }
    return rows;
  }

  Error CompileError(std::string_view text, size_t* offset = nullptr) {
    Result<Expression> expression = Expression::CompileCondition(text, batch_.schema(), offset);
    EXPECT_FALSE(expression.ok()) << text;
    return expression.ok() ? Error{} : expression.error();
  }

  Batch batch_;
};

TEST_F(ExpressionTest, ComparesNumbersExactlyAcrossKinds) {
  AddStandardRows();
  EXPECT_EQ(Rows("amount > 0"), "0");
  EXPECT_EQ(Rows("amount = 19.99"), "0");
  EXPECT_EQ(Rows("amount = 19.990"), "0");             // decimal scales line up
  EXPECT_EQ(Rows("amount < 20"), "012");               // decimal with integer
  EXPECT_EQ(Rows("amount > 19.989999"), "0");          // finer literal than the column
  EXPECT_EQ(Rows("ratio >= 0.5"), "01");               // float with decimal
  EXPECT_EQ(Rows("ratio < -1e0"), "2");                // float literal
  EXPECT_EQ(Rows("big > 18446744073709551614"), "0");  // beyond Int64, still exact
  EXPECT_EQ(Rows("quantity == 2"), "0");
  EXPECT_EQ(Rows("quantity <> 2"), "2");
  EXPECT_EQ(Rows("active = true"), "0");
  EXPECT_EQ(Rows("active"), "0");
  EXPECT_EQ(Rows("NOT active AND amount = 0"), "12");
}

TEST_F(ExpressionTest, ComparesStringsAndDates) {
  AddStandardRows();
  EXPECT_EQ(Rows("event_type = 'purchase'"), "01");
  EXPECT_EQ(Rows("event_type < 'q'"), "01");
  EXPECT_EQ(Rows("note = ''"), "2");
  EXPECT_EQ(Rows("day >= '2024-01-01'"), "01");
  EXPECT_EQ(Rows("'2024-01-01' > day"), "2");
  EXPECT_EQ(Rows("at > '2024-01-01'"), "0");  // date-only literal: midnight
  EXPECT_EQ(Rows("at = '2024-05-06T10:00:00.25Z'"), "0");
  EXPECT_EQ(Rows("at >= day"), "012");  // a date is its midnight
  EXPECT_EQ(Rows("day IN ('2023-12-31', '2024-01-01')"), "12");
  EXPECT_EQ(Rows("'it''s' = 'it''s'"), "012");
}

TEST_F(ExpressionTest, NullFollowsSqlRules) {
  AddStandardRows();
  EXPECT_EQ(Rows("quantity > 0"), "0");        // NULL > 0 is NULL: fails
  EXPECT_EQ(Rows("NOT (quantity > 0)"), "2");  // NOT NULL is still NULL
  EXPECT_EQ(Rows("quantity IS NULL"), "1");
  EXPECT_EQ(Rows("quantity IS NOT NULL"), "02");
  EXPECT_EQ(Rows("quantity > 0 OR amount = 0"), "012");    // NULL OR true is true
  EXPECT_EQ(Rows("quantity > 0 AND true"), "0");           // NULL AND true is NULL
  EXPECT_EQ(Rows("NOT (quantity > 0 AND false)"), "012");  // NULL AND false is false
  EXPECT_EQ(Rows("quantity = NULL"), "");
  EXPECT_EQ(Rows("quantity IN (0, NULL)"), "2");  // no match with a NULL in the list: NULL
  EXPECT_EQ(Rows("quantity NOT IN (0, NULL)"), "");
  EXPECT_EQ(Rows("quantity NOT IN (0, 5)"), "0");
  EXPECT_EQ(Rows("coalesce(quantity, 7) = 7"), "1");
  EXPECT_EQ(Rows("coalesce(note, 'none') = 'none'"), "1");
  EXPECT_EQ(Rows("quantity + 1 > 0"), "02");  // arithmetic with NULL is NULL
}

TEST_F(ExpressionTest, ArithmeticAndFunctions) {
  AddStandardRows();
  EXPECT_EQ(Rows("amount * 2 = 39.98"), "0");
  EXPECT_EQ(Rows("amount * quantity = 39.98"), "0");
  EXPECT_EQ(Rows("amount + 0.01 = 20"), "0");
  EXPECT_EQ(Rows("amount - 20 < 0"), "012");
  EXPECT_EQ(Rows("quantity / 0 IS NULL"), "012");  // division by zero has no value
  EXPECT_EQ(Rows("7 / 2 = 3.5"), "012");           // '/' is never integer division
  EXPECT_EQ(Rows("-ratio = 2"), "2");
  EXPECT_EQ(Rows("abs(ratio) = 2"), "2");
  EXPECT_EQ(Rows("abs(-amount) = 19.99"), "0");
  EXPECT_EQ(Rows("2 + 3 * 4 = 14"), "012");  // * binds tighter than +
  EXPECT_EQ(Rows("(2 + 3) * 4 = 20"), "012");
  EXPECT_EQ(Rows("length(event_type) = 8"), "01");
  EXPECT_EQ(Rows("upper(event_type) = 'VIEW'"), "2");
  EXPECT_EQ(Rows("LOWER(upper(event_type)) IN ('view')"), "2");
  EXPECT_EQ(Rows("length(note) = 0"), "2");
}

TEST_F(ExpressionTest, KeywordsAreCaseInsensitiveAndPrecedenceIsSql) {
  AddStandardRows();
  EXPECT_EQ(Rows("event_type != 'purchase' or amount > 0"), "02");
  // AND binds tighter than OR: true OR (false AND false).
  EXPECT_EQ(Rows("event_type = 'view' OR active AND amount = 0"), "2");
  EXPECT_EQ(Rows("not event_type = 'view'"), "01");
  EXPECT_EQ(Rows("TRUE"), "012");
}

TEST_F(ExpressionTest, ErrorsNameThePositionAndTheProblem) {
  size_t offset = 0;
  Error unknown = CompileError("amout > 0", &offset);
  EXPECT_EQ(unknown.code, ErrorCode::kSpecInvalidExpression);
  EXPECT_EQ(unknown.message, "unknown field 'amout' (did you mean 'amount'?) (at character 1)");
  EXPECT_EQ(offset, 0u);

  Error far = CompileError("event_type = 'x' AND zzzzzzzz = 1", &offset);
  EXPECT_NE(far.message.find("unknown field 'zzzzzzzz' (fields: event_type, amount"),
            std::string::npos)
      << far.message;
  EXPECT_EQ(offset, 21u);

  Error mismatch = CompileError("event_type > 5", &offset);
  EXPECT_EQ(mismatch.message,
            "cannot compare LowCardinality(String) with integer (at character 12)");
  EXPECT_EQ(offset, 11u);

  EXPECT_EQ(CompileError("amount + 'x' > 0").message,
            "'+' needs numbers, got String (at character 8)");
  EXPECT_EQ(CompileError("amount AND active").message,
            "AND needs conditions on both sides, got Decimal(10, 2) (at character 8)");
  EXPECT_EQ(CompileError("amount").message,
            "the expression is Decimal(10, 2), not a condition (true or false) (at character 1)");
  EXPECT_EQ(CompileError("lenght(note) > 1").message,
            "unknown function 'lenght' (did you mean 'length'?) (at character 1)");
  EXPECT_EQ(CompileError("length(note, note) > 1").message,
            "length(): takes 1 argument, got 2 (at character 1)");
  EXPECT_EQ(CompileError("event_type = 'open").message,
            "the string is not closed (a quote inside a string is written '') (at character 14)");
  EXPECT_EQ(CompileError("(amount > 0").message,
            "expected ')', found 'end of the expression' "
            "(at character 12)");
  EXPECT_EQ(CompileError("amount > 0 0").message,
            "unexpected '0' after the end of the expression (at character 12)");
  EXPECT_EQ(CompileError("amount > ").message, "the expression ends too early (at character 10)");
  EXPECT_EQ(CompileError("amount ; 1").message, "unexpected character ';' (at character 8)");
  EXPECT_EQ(CompileError("quantity IS 5").message,
            "expected NULL after IS, found '5' (at character 13)");
  EXPECT_EQ(CompileError("day > '2024-13-01'").message.substr(0, 22), "\"2024-13-01\" is not a ");
  EXPECT_EQ(CompileError("day > 5").message, "cannot compare Date with integer (at character 5)");
  EXPECT_EQ(CompileError("size(tags) > 0").message.substr(0, 25), "unknown function 'size' (");
  EXPECT_EQ(CompileError("tags = 'a'").message,
            "field 'tags': expressions cannot use values of type Array(String) (at character 1)");
  EXPECT_EQ(CompileError("coalesce(note, 1) = 1").message,
            "coalesce(): cannot mix Nullable(String) with integer (at character 1)");
}

TEST_F(ExpressionTest, EvaluatesAnEmptyBatch) {
  Result<Expression> expression = Expression::CompileCondition("amount > 0", batch_.schema());
  ASSERT_TRUE(expression.ok());
  std::vector<uint8_t> result(5, 1);
  expression->EvaluateCondition(batch_, result);
  EXPECT_TRUE(result.empty());
  EXPECT_EQ(expression->text(), "amount > 0");
}

}  // namespace
}  // namespace sluice
