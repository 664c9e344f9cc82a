#include <gtest/gtest.h>

#include <optional>

#include "expression/expression.h"
#include "format/text_value.h"

namespace sluice {
namespace {

DataType Type(std::string_view text) {
  Result<DataType> type = ParseDataType(text);
  if (!type.ok()) throw SetupError(type.error());
  return *type;
}

/// Golden tables of value expressions over three rows: each case is the expression, the column
/// type it computes and its values ("NULL" for SQL NULL, "!reason" for a row error).
class ValueExpressionTest : public ::testing::Test {
 protected:
  ValueExpressionTest()
      : batch_({{"event_type", Type("LowCardinality(String)")},
                {"amount", Type("Decimal(10, 2)")},
                {"quantity", Type("Nullable(Int32)")},
                {"ratio", Type("Float64")},
                {"day", Type("Date")},
                {"at", Type("DateTime64(3)")},
                {"note", Type("Nullable(String)")},
                {"big", Type("UInt64")},
                {"text", Type("String")}}) {
    AddRow({"purchase", "19.99", "2", "0.5", "2024-05-06", "2024-05-06 10:07:30.250", "gift",
            "18446744073709551615", "  Héllo wörld  "});
    AddRow({"purchase", "-0.05", std::nullopt, "2.5", "2024-01-01", "2024-01-01 00:00:00",
            std::nullopt, "1", "42"});
    AddRow({"view", "0", "0", "-2", "2023-12-31", "2023-12-31 23:59:59.999", "", "0", "abc"});
  }

  void AddRow(std::vector<std::optional<std::string>> values) {
    for (size_t i = 0; i < batch_.num_columns(); ++i) {
      Column& column = batch_.column(i);
      if (!values[i]) {
        column.AppendNull();
        continue;
      }
      Status status = AppendTextValue(*values[i], column);
      ASSERT_TRUE(status.ok()) << status.error().ToString();
    }
  }

  /// "Type: v0 | v1 | v2", or "error: message".
  std::string Values(std::string_view text, std::optional<std::string> type = std::nullopt) {
    std::optional<DataType> result_type;
    if (type) result_type = Type(*type);
    Result<Expression> expression = Expression::CompileValue(text, batch_.schema(), nullptr,
                                                             result_type ? &*result_type : nullptr);
    if (!expression.ok()) return "error: " + expression.error().message;
    Column column(expression->result_type());
    std::vector<ValueFailure> failures;
    expression->EvaluateInto(batch_, column, failures);
    EXPECT_EQ(column.size(), batch_.num_rows());
    std::string out = expression->result_type().ToString() + ":";
    size_t next_failure = 0;
    for (size_t row = 0; row < column.size(); ++row) {
      out += row == 0 ? " " : " | ";
      if (next_failure < failures.size() && failures[next_failure].row == row) {
        out += std::string("!") + failures[next_failure++].reason;
      } else {
        out += ValueToText(column, row);
      }
    }
    return out;
  }

  Batch batch_;
};

TEST_F(ValueExpressionTest, ArithmeticKeepsExactTypes) {
  EXPECT_EQ(Values("amount"), "Decimal(10, 2): 19.99 | -0.05 | 0.00");
  EXPECT_EQ(Values("amount * 2"), "Decimal(38, 2): 39.98 | -0.10 | 0.00");
  EXPECT_EQ(Values("amount * quantity"), "Nullable(Decimal(38, 2)): 39.98 | NULL | 0.00");
  EXPECT_EQ(Values("quantity + 1"), "Nullable(Int64): 3 | NULL | 1");
  EXPECT_EQ(Values("7 % 3"), "Int64: 1 | 1 | 1");
  EXPECT_EQ(Values("-7 % 3"), "Int64: -1 | -1 | -1");  // the dividend's sign, as in ClickHouse
  EXPECT_EQ(Values("amount % 0.5"), "Decimal(38, 2): 0.49 | -0.05 | 0.00");
  EXPECT_EQ(Values("ratio % 2"), "Float64: 0.5 | 0.5 | -0");
  EXPECT_EQ(Values("ratio / 2"), "Float64: 0.25 | 1.25 | -1");
  EXPECT_EQ(Values("modulo(big, 10)"), "Int64: 5 | 1 | 0");
}

TEST_F(ValueExpressionTest, FailuresAreRowErrorsInNonNullableOutputs) {
  EXPECT_EQ(Values("10 / quantity"), "Nullable(Float64): 5 | NULL | NULL");
  EXPECT_EQ(Values("10 % (quantity - 2)"), "Nullable(Int64): NULL | NULL | 0");
  EXPECT_EQ(Values("big + 1"), "Int64: !the value is out of range for its type | 2 | 1");
  EXPECT_EQ(Values("big + 1", "UInt64"), "UInt64: !the value is out of range for its type | 2 | 1");
  EXPECT_EQ(Values("big + 1", "Decimal(38, 0)"), "Decimal(38, 0): 18446744073709551616 | 2 | 1");
  EXPECT_EQ(Values("amount % (big - big)"),
            "Decimal(38, 2): !division by zero | !division by zero | !division by zero");
  EXPECT_EQ(Values("quantity", "Int32"), "Int32: 2 | !the value is NULL | 0");
  EXPECT_EQ(Values("toInt32(text)"),
            "Int32: !the value cannot be converted to the target type | "
            "42 | !the value cannot be converted to the target type");
  EXPECT_EQ(Values("toInt32(text)", "Nullable(Int32)"), "Nullable(Int32): NULL | 42 | NULL");
}

TEST_F(ValueExpressionTest, CastsConvertBetweenFamilies) {
  EXPECT_EQ(Values("CAST(amount AS Int64)"), "Int64: 19 | 0 | 0");  // truncates toward zero
  EXPECT_EQ(Values("cast(ratio as Decimal(9, 1))"), "Decimal(9, 1): 0.5 | 2.5 | -2.0");
  EXPECT_EQ(Values("toDecimal(ratio * 3, 2)"), "Decimal(38, 2): 1.50 | 7.50 | -6.00");
  EXPECT_EQ(Values("toDecimal64('1.005', 2)"), "Decimal(18, 2): 1.01 | 1.01 | 1.01");
  EXPECT_EQ(Values("toUInt8(quantity - 1)"),
            "Nullable(UInt8): 1 | NULL | NULL");  // -1 does not fit: NULL in a Nullable column
  EXPECT_EQ(Values("toFloat64(amount)"), "Float64: 19.99 | -0.05 | 0");
  EXPECT_EQ(Values("toString(amount)"), "String: 19.99 | -0.05 | 0.00");
  EXPECT_EQ(Values("toString(at)"),
            "String: 2024-05-06 10:07:30.250 | 2024-01-01 00:00:00.000 | 2023-12-31 23:59:59.999");
  EXPECT_EQ(Values("toString(day)"), "String: 2024-05-06 | 2024-01-01 | 2023-12-31");
  EXPECT_EQ(Values("toString(ratio > 1)"), "String: false | true | false");
  EXPECT_EQ(Values("toDate(at)"), "Date: 2024-05-06 | 2024-01-01 | 2023-12-31");
  EXPECT_EQ(Values("toDateTime(at)"),
            "DateTime: 2024-05-06 10:07:30 | 2024-01-01 00:00:00 | 2023-12-31 23:59:59");
  EXPECT_EQ(Values("toDateTime('2024-02-03 04:05:06')"),
            "DateTime: 2024-02-03 04:05:06 | 2024-02-03 04:05:06 | 2024-02-03 04:05:06");
  EXPECT_EQ(Values("toInt64(toDateTime(day))"), "Int64: 1714953600 | 1704067200 | 1703980800");
  EXPECT_EQ(Values("toDate('2024-02-30')"),
            "Date: !the value cannot be converted to the target type | !the value cannot be "
            "converted to the target type | !the value cannot be converted to the target type");
  EXPECT_EQ(Values("CAST(text AS FixedString(3))"),
            "FixedString(3): !the text is longer than the FixedString | 42 | abc");
  EXPECT_EQ(Values("CAST(NULL AS Nullable(String))"), "Nullable(String): NULL | NULL | NULL");
  EXPECT_EQ(Values("toBool(quantity)"), "Nullable(Bool): true | NULL | false");
}

TEST_F(ValueExpressionTest, ConditionalsPickTheFirstBranchThatHolds) {
  EXPECT_EQ(Values("CASE WHEN amount > 1 THEN 'big' WHEN amount < 0 THEN 'refund' ELSE 'zero' "
                   "END"),
            "String: big | refund | zero");
  EXPECT_EQ(Values("CASE event_type WHEN 'view' THEN 1 WHEN 'purchase' THEN 2 END"),
            "Nullable(Int64): 2 | 2 | 1");
  EXPECT_EQ(Values("CASE WHEN quantity > 1 THEN 'many' ELSE 'few' END"),
            "String: many | few | few");  // a NULL condition counts as false
  EXPECT_EQ(Values("if(ratio > 1, amount, 1)"), "Decimal(38, 2): 1.00 | -0.05 | 1.00");
  EXPECT_EQ(Values("if(ratio > 1, ratio, quantity)"), "Nullable(Float64): 2 | 2.5 | 0");
  EXPECT_EQ(Values("multiIf(ratio < 0, 'negative', ratio < 1, 'small', 'large')"),
            "String: small | large | negative");
  EXPECT_EQ(Values("coalesce(quantity, 0) + 1"), "Int64: 3 | 1 | 1");
  EXPECT_EQ(Values("coalesce(note, text)"), "String: gift | 42 | ");
}

TEST_F(ValueExpressionTest, StringFunctions) {
  EXPECT_EQ(Values("upper(event_type)"), "String: PURCHASE | PURCHASE | VIEW");
  EXPECT_EQ(Values("length(text)"), "UInt64: 15 | 2 | 3");
  EXPECT_EQ(Values("trim(text)"), "String: Héllo wörld | 42 | abc");
  EXPECT_EQ(Values("substring(trim(text), 2, 4)"), "String: éllo | 2 | bc");
  EXPECT_EQ(Values("substring(trim(text), -5)"), "String: wörld | 42 | abc");
  EXPECT_EQ(Values("substring(text, 0, 2)"), "String:  |  | ");
  EXPECT_EQ(Values("substring(text, 3, -3)"), "String: Héllo wörl |  | ");
  EXPECT_EQ(Values("concat(event_type, ':', quantity)"),
            "Nullable(String): purchase:2 | NULL | view:0");
  EXPECT_EQ(Values("concat(event_type, '/', amount, '/', day)"),
            "String: purchase/19.99/2024-05-06 | purchase/-0.05/2024-01-01 | view/0.00/2023-12-31");
  EXPECT_EQ(Values("replaceAll(event_type, 'r', 'R')"), "String: puRchase | puRchase | view");
  EXPECT_EQ(Values("startsWith(event_type, 'pur')"), "Bool: true | true | false");
  EXPECT_EQ(Values("endsWith(text, '  ')"), "Bool: true | false | false");
  EXPECT_EQ(Values("position(text, 'w')"), "UInt64: 9 | 0 | 0");  // code points, 1-based
  EXPECT_EQ(Values("lower(note)"), "Nullable(String): gift | NULL | ");
}

TEST_F(ValueExpressionTest, DateFunctions) {
  EXPECT_EQ(Values("toStartOfMinute(at)"),
            "DateTime64(3): 2024-05-06 10:07:00.000 | 2024-01-01 00:00:00.000 | 2023-12-31 "
            "23:59:00.000");
  EXPECT_EQ(Values("toStartOfFiveMinutes(at)"),
            "DateTime64(3): 2024-05-06 10:05:00.000 | 2024-01-01 00:00:00.000 | 2023-12-31 "
            "23:55:00.000");
  EXPECT_EQ(Values("toStartOfHour(toDateTime(at))"),
            "DateTime: 2024-05-06 10:00:00 | 2024-01-01 00:00:00 | 2023-12-31 23:00:00");
  EXPECT_EQ(Values("toStartOfDay(day)"),
            "DateTime: 2024-05-06 00:00:00 | 2024-01-01 00:00:00 | 2023-12-31 00:00:00");
  EXPECT_EQ(Values("toYYYYMM(at)"), "UInt32: 202405 | 202401 | 202312");
  EXPECT_EQ(Values("toHour(at)"), "UInt8: 10 | 0 | 23");
  EXPECT_EQ(Values("toYear(day) * 10000 + toMonth(day) * 100 + toDayOfMonth(day)"),
            "Int64: 20240506 | 20240101 | 20231231");
  EXPECT_EQ(Values("dateDiff('day', day, '2024-05-07')"),
            "error: dateDiff(): needs a Date or "
            "DateTime, got String (at character 1)");
  EXPECT_EQ(Values("dateDiff('day', day, toDate('2024-05-07'))"), "Int64: 1 | 127 | 128");
  EXPECT_EQ(Values("dateDiff('second', at, toDateTime('2024-01-01 00:00:00'))"),
            "Int64: -10922850 | 0 | 1");  // boundaries crossed, not elapsed time
  EXPECT_EQ(Values("dateDiff('hour', day, at)"), "Int64: 10 | 0 | 23");
  EXPECT_EQ(Values("dateDiff('minute', at, at)"), "Int64: 0 | 0 | 0");
}

TEST_F(ValueExpressionTest, NumericFunctions) {
  EXPECT_EQ(Values("round(ratio)"), "Float64: 0 | 2 | -2");  // floats: half to even
  EXPECT_EQ(Values("round(amount, 1)"), "Decimal(10, 2): 20.00 | -0.10 | 0.00");  // half away
  EXPECT_EQ(Values("round(big, -1)"), "UInt64: !the value is out of range for its type | 0 | 0");
  EXPECT_EQ(Values("floor(amount)"), "Decimal(10, 2): 19.00 | -1.00 | 0.00");
  EXPECT_EQ(Values("ceil(amount)"), "Decimal(10, 2): 20.00 | 0.00 | 0.00");
  EXPECT_EQ(Values("floor(ratio * 10, -1)"), "Float64: 0 | 20 | -20");
  EXPECT_EQ(Values("abs(amount)"), "Decimal(10, 2): 19.99 | 0.05 | 0.00");
  EXPECT_EQ(Values("greatest(amount, ratio, 1)"), "Float64: 19.99 | 2.5 | 1");
  EXPECT_EQ(Values("least(quantity, 1)"), "Int64: 1 | 1 | 0");  // NULL arguments are skipped
  EXPECT_EQ(Values("greatest(day, toDate(at))"), "Date: 2024-05-06 | 2024-01-01 | 2023-12-31");
}

TEST_F(ValueExpressionTest, CompileErrorsNameTheProblem) {
  size_t offset = 0;
  Result<Expression> now = Expression::CompileValue("toDate(now())", batch_.schema(), &offset);
  ASSERT_FALSE(now.ok());
  EXPECT_EQ(now.error().code, ErrorCode::kSpecInvalidExpression);
  EXPECT_NE(now.error().message.find("now() is not allowed"), std::string::npos);
  EXPECT_EQ(offset, 7u);
  EXPECT_EQ(Values("NULL"),
            "error: the expression is always NULL: give it a type, e.g. CAST(NULL AS "
            "Nullable(String)) (at character 1)");
  EXPECT_EQ(Values("CAST(amount AS Decimal(10)"),
            "error: expected ')', found 'end of the expression' (at character 27)");
  EXPECT_EQ(Values("CAST(amount AS Strin)").substr(0, 36), "error: invalid type 'Strin': unknown");
  EXPECT_EQ(Values("CASE WHEN amount THEN 1 END"),
            "error: a branch needs a condition, got Decimal(10, 2) (at character 1)");
  EXPECT_EQ(Values("CASE WHEN ratio > 1 THEN 1 ELSE 'x' END"),
            "error: cannot mix integer with String (at character 1)");
  EXPECT_EQ(Values("CASE WHEN ratio > 1 THEN 1"),
            "error: expected END, found 'end of the expression' (at character 27)");
  EXPECT_EQ(Values("toDecimal(amount)"),
            "error: todecimal(): takes (value, scale), got 1 arguments (at character 1)");
  EXPECT_EQ(Values("round(ratio, quantity)"),
            "error: round(): the digits must be an integer literal from -38 to 38 (at character "
            "1)");
  EXPECT_EQ(Values("dateDiff('week', day, day)"),
            "error: dateDiff(): unknown unit 'week' (units: second, minute, hour, day) (at "
            "character 1)");
  EXPECT_EQ(
      Values("toStartOfHour(amount)"),
      "error: tostartofhour(): needs a Date or DateTime, got Decimal(10, 2) (at character 1)");
  EXPECT_EQ(Values("toDecimal(day, 2)"),
            "error: cannot convert Date to Decimal(38, 2) (at "
            "character 1)");
  EXPECT_EQ(Values("concat(text)"), "error: concat(): needs at least 2 arguments (at character 1)");
  EXPECT_EQ(Values("amount", "Array(String)"),
            "error: expressions cannot use values of type Array(String) (at character 1)");
}

}  // namespace
}  // namespace sluice
