#include "operators/validate/validate_operator.h"

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

StreamFieldSpec MakeField(std::string name, std::string_view type) {
  StreamFieldSpec field;
  field.name = std::move(name);
  field.type = Type(type);
  field.path = field.name;
  return field;
}

/// A stream of events (event_type, amount, user_id, day) and helpers to run batches through a
/// validate operator built from it.
class ValidateOperatorTest : public ::testing::Test {
 protected:
  ValidateOperatorTest() {
    stream_.name = "events";
    stream_.fields = {MakeField("event_type", "LowCardinality(String)"),
                      MakeField("amount", "Nullable(Decimal(10, 2))"),
                      MakeField("user_id", "Nullable(UInt64)"), MakeField("day", "Date")};
    stream_.fields[2].path = "user.id";
  }

  StreamFieldSpec& Field(std::string_view name) {
    for (StreamFieldSpec& field : stream_.fields) {
      if (field.name == name) return field;
    }
    throw std::runtime_error("no field");
  }

  Schema StreamSchema() const {
    Schema schema;
    for (const StreamFieldSpec& field : stream_.fields) schema.push_back({field.name, field.type});
    return schema;
  }

  /// One row per entry: event_type, amount, user_id, day (nullopt = NULL).
  Batch MakeBatch(const std::vector<std::vector<std::optional<std::string>>>& rows) {
    Batch batch(StreamSchema());
    for (const auto& row : rows) {
      for (size_t i = 0; i < batch.num_columns(); ++i) {
        std::optional<std::string> value = i < row.size() ? row[i] : std::nullopt;
        if (!value) {
          if (batch.column(i).nullable()) {
            batch.column(i).AppendNull();
          } else {
            AppendZeroValue(batch.column(i));
          }
          continue;
        }
        Status status = AppendTextValue(*value, batch.column(i));
        if (!status.ok()) throw SetupError(status.error());
      }
    }
    return batch;
  }

  ValidateOperator Build() {
    Result<ValidateOperator> built = ValidateOperator::Build(stream_, StreamSchema());
    if (!built.ok()) throw SetupError(built.error());
    return std::move(*built);
  }

  /// Runs `batch` through a fresh operator and state; returns the failures.
  std::vector<RowFailure> Run(Batch& batch) {
    ValidateOperator validate = Build();
    std::unique_ptr<ValidateState> state = validate.CreateState([this] { return now_ms_; });
    std::vector<RowFailure> failed;
    validate.Process(batch, failed, *state);
    return failed;
  }

  static std::vector<std::string> Column0(const Batch& batch) {
    std::vector<std::string> values;
    for (size_t row = 0; row < batch.num_rows(); ++row) {
      values.push_back(ValueToText(batch.column(0), row));
    }
    return values;
  }

  StreamSpec stream_;
  int64_t now_ms_ = 1'000'000;
};

TEST_F(ValidateOperatorTest, MaxLengthCountsCharactersNotBytes) {
  Field("event_type").max_length = 4;
  Batch batch = MakeBatch({{"caf\xC3\xA9"}, {"views"}, {"\xE2\x82\xAC\xE2\x82\xAC"}});
  std::vector<RowFailure> failed = Run(batch);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].row, 1u);
  EXPECT_EQ(failed[0].error.code, ErrorCode::kRecordTooLong);
  EXPECT_EQ(failed[0].error.where, "event_type");
  EXPECT_EQ(failed[0].error.message, "max_length 4: \"views\" has 5 characters");
  EXPECT_EQ(Column0(batch), (std::vector<std::string>{"caf\xC3\xA9", "\xE2\x82\xAC\xE2\x82\xAC"}));
}

TEST_F(ValidateOperatorTest, RegexMustMatchTheWholeValue) {
  Field("event_type").regex = "[a-z_]+";
  Batch batch = MakeBatch({{"add_to_cart"}, {"View"}, {"view!"}});
  std::vector<RowFailure> failed = Run(batch);
  ASSERT_EQ(failed.size(), 2u);
  EXPECT_EQ(failed[0].row, 1u);
  EXPECT_EQ(failed[0].error.code, ErrorCode::kRecordPatternMismatch);
  EXPECT_EQ(failed[0].error.message, "regex \"[a-z_]+\": \"View\" does not match");
  EXPECT_EQ(failed[1].row, 2u);
  EXPECT_EQ(batch.num_rows(), 1u);
}

TEST_F(ValidateOperatorTest, AllowedValuesOfTextAndNumbers) {
  Field("event_type").allowed = {"view", "purchase"};
  Field("user_id").allowed = {"1", "2"};
  Batch batch = MakeBatch({{"view", "1", "1"},
                           {"refund", "1", "1"},
                           {"view", "1", "3"},
                           {"purchase", "1", std::nullopt}});
  std::vector<RowFailure> failed = Run(batch);
  ASSERT_EQ(failed.size(), 2u);
  EXPECT_EQ(failed[0].row, 1u);
  EXPECT_EQ(failed[0].error.code, ErrorCode::kRecordValueNotAllowed);
  EXPECT_EQ(failed[0].error.message, "allowed: \"refund\" is not one of view, purchase");
  EXPECT_EQ(failed[1].row, 2u);
  EXPECT_EQ(failed[1].error.where, "user.id");
  EXPECT_EQ(failed[1].error.message, "allowed: \"3\" is not one of 1, 2");
  EXPECT_EQ(Column0(batch), (std::vector<std::string>{"view", "purchase"}));  // NULL passes
}

TEST_F(ValidateOperatorTest, MinAndMaxCompareNumbersAndDates) {
  Field("amount").min = "0";
  Field("amount").max = "1000.5";
  Field("day").min = "2024-01-01";
  Batch batch = MakeBatch({{"a", "0", "1", "2024-01-01"},
                           {"b", "-0.01", "1", "2024-01-01"},
                           {"c", "1000.50", "1", "2024-06-01"},
                           {"d", "1000.51", "1", "2024-06-01"},
                           {"e", std::nullopt, "1", "2024-06-01"},
                           {"f", "5", "1", "2023-12-31"}});
  std::vector<RowFailure> failed = Run(batch);
  ASSERT_EQ(failed.size(), 3u);
  EXPECT_EQ(failed[0].row, 1u);
  EXPECT_EQ(failed[0].error.code, ErrorCode::kRecordOutOfRange);
  EXPECT_EQ(failed[0].error.message, "\"-0.01\" is below min 0");
  EXPECT_EQ(failed[1].row, 3u);
  EXPECT_EQ(failed[1].error.message, "\"1000.51\" is above max 1000.5");
  EXPECT_EQ(failed[2].row, 5u);
  EXPECT_EQ(failed[2].error.where, "day");
  EXPECT_EQ(failed[2].error.message, "\"2023-12-31\" is below min 2024-01-01");
  EXPECT_EQ(Column0(batch), (std::vector<std::string>{"a", "c", "e"}));
}

TEST_F(ValidateOperatorTest, TrimAndLowercaseHappenBeforeTheChecksAndAreKept) {
  StreamFieldSpec& event_type = Field("event_type");
  event_type.trim = true;
  event_type.lowercase = true;
  event_type.allowed = {"view", "\xC3\xA9v\xC3\xA9nement"};
  event_type.max_length = 9;
  Batch batch = MakeBatch({{"  VIEW\t"}, {"\xC3\x89V\xC3\x89NEMENT "}, {" Purchase "}});
  std::vector<RowFailure> failed = Run(batch);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].row, 2u);
  EXPECT_EQ(failed[0].error.message,
            "allowed: \"purchase\" is not one of view, \xC3\xA9v\xC3\xA9nement");
  EXPECT_EQ(Column0(batch), (std::vector<std::string>{"view", "\xC3\xA9v\xC3\xA9nement"}));
}

TEST_F(ValidateOperatorTest, RecordRuleWithNulls) {
  stream_.rules = {{"purchase_has_amount",
                    "event_type != 'purchase' OR amount > 0",
                    "a purchase needs a positive amount",
                    {}}};
  Batch batch = MakeBatch({{"view", std::nullopt},
                           {"purchase", "10"},
                           {"purchase", std::nullopt},  // NULL > 0 is NULL: the rule fails
                           {"purchase", "0"}});
  std::vector<RowFailure> failed = Run(batch);
  ASSERT_EQ(failed.size(), 2u);
  EXPECT_EQ(failed[0].row, 2u);
  EXPECT_EQ(failed[0].error.code, ErrorCode::kRecordConditionFailed);
  EXPECT_EQ(failed[0].error.message,
            "rule purchase_has_amount: a purchase needs a positive amount (event_type = "
            "\"purchase\", amount = \"NULL\")");
  EXPECT_EQ(failed[1].row, 3u);
  EXPECT_EQ(Column0(batch), (std::vector<std::string>{"view", "purchase"}));
}

TEST_F(ValidateOperatorTest, RowIndicesStayOriginalAfterManyFailuresAndOrderIsKept) {
  Field("event_type").regex = "[a-z]+";
  Field("amount").min = "0";
  stream_.rules = {{"small", "amount < 100", "", {}}};
  std::vector<std::vector<std::optional<std::string>>> rows;
  std::vector<size_t> expected_failed;
  std::vector<std::string> expected_kept;
  for (int i = 0; i < 40; ++i) {
    std::string name = "e" + std::string(1, static_cast<char>('a' + i % 26));
    std::string amount = std::to_string(i);
    if (i % 5 == 1) name = "BAD";     // regex
    if (i % 7 == 2) amount = "-1";    // min
    if (i % 11 == 3) amount = "500";  // rule
    rows.push_back({name, amount});
    if (i % 5 == 1 || i % 7 == 2 || i % 11 == 3) {
      expected_failed.push_back(static_cast<size_t>(i));
    } else {
      expected_kept.push_back(name);
    }
  }
  Batch batch = MakeBatch(rows);
  std::vector<RowFailure> failed = Run(batch);
  std::vector<size_t> failed_rows;
  for (const RowFailure& failure : failed) failed_rows.push_back(failure.row);
  EXPECT_EQ(failed_rows, expected_failed);
  EXPECT_EQ(Column0(batch), expected_kept);
  // Row 1 breaks the regex only; row 16 (16 % 5 == 1, 16 % 7 == 2) reports its first failure.
  EXPECT_EQ(failed[0].error.code, ErrorCode::kRecordPatternMismatch);
  auto row16 = std::find_if(failed.begin(), failed.end(),
                            [](const RowFailure& failure) { return failure.row == 16; });
  ASSERT_NE(row16, failed.end());
  EXPECT_EQ(row16->error.code, ErrorCode::kRecordPatternMismatch);
  auto row14 = std::find_if(failed.begin(), failed.end(),
                            [](const RowFailure& failure) { return failure.row == 14; });
  ASSERT_NE(row14, failed.end());
  EXPECT_EQ(row14->error.code, ErrorCode::kRecordConditionFailed);
  EXPECT_EQ(row14->error.message, "rule small: amount < 100 (amount = \"500.00\")");
}

TEST_F(ValidateOperatorTest, DeduplicatesWithinTheWindowOnly) {
  stream_.deduplicate = DeduplicateSpec{"user_id", std::chrono::minutes(10), {}};
  ValidateOperator validate = Build();
  std::unique_ptr<ValidateState> state = validate.CreateState([this] { return now_ms_; });
  std::vector<RowFailure> failed;

  // Repeats inside one batch: the first is kept; NULL keys are never duplicates.
  Batch first = MakeBatch({{"a", "1", "7"},
                           {"b", "1", "7"},
                           {"c", "1", "8"},
                           {"d", "1", std::nullopt},
                           {"e", "1", std::nullopt}});
  validate.Process(first, failed, *state);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].row, 1u);
  EXPECT_EQ(failed[0].error.code, ErrorCode::kRecordDuplicate);
  EXPECT_EQ(failed[0].error.message, "deduplicate: user_id \"7\" was accepted 0s ago (window 10m)");
  EXPECT_EQ(Column0(first), (std::vector<std::string>{"a", "c", "d", "e"}));
  EXPECT_EQ(state->remembered_keys(), 2u);

  // Nine minutes later, still inside the window.
  now_ms_ += 9 * 60'000;
  failed.clear();
  Batch second = MakeBatch({{"f", "1", "8"}, {"g", "1", "9"}});
  validate.Process(second, failed, *state);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].row, 0u);
  EXPECT_EQ(failed[0].error.message, "deduplicate: user_id \"8\" was accepted 9m ago (window 10m)");

  // Past the window of 7 and 8 (accepted at 0), inside the window of 9 (accepted at 9m).
  now_ms_ += 60'000;
  failed.clear();
  Batch third = MakeBatch({{"h", "1", "7"}, {"i", "1", "8"}, {"j", "1", "9"}});
  validate.Process(third, failed, *state);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].row, 2u);
  EXPECT_EQ(Column0(third), (std::vector<std::string>{"h", "i"}));
  EXPECT_EQ(state->remembered_keys(), 3u);
}

TEST_F(ValidateOperatorTest, RowsFailingOtherChecksAreNotRememberedAsKeys) {
  stream_.deduplicate = DeduplicateSpec{"user_id", std::chrono::minutes(1), {}};
  Field("amount").min = "0";
  Batch batch = MakeBatch({{"a", "-1", "5"}, {"b", "1", "5"}});
  std::vector<RowFailure> failed = Run(batch);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].error.code, ErrorCode::kRecordOutOfRange);
  EXPECT_EQ(Column0(batch), (std::vector<std::string>{"b"}));
}

TEST_F(ValidateOperatorTest, NothingToDoLeavesTheBatchAlone) {
  ValidateOperator validate = Build();
  EXPECT_TRUE(validate.empty());
  Batch batch = MakeBatch({{"a"}, {"b"}});
  std::vector<RowFailure> failed;
  validate.Process(batch, failed, *validate.CreateState());
  EXPECT_TRUE(failed.empty());
  EXPECT_EQ(batch.num_rows(), 2u);
}

TEST_F(ValidateOperatorTest, BuildRejectsRulesThatDoNotFitTheirFields) {
  Field("amount").regex = "x";
  Result<ValidateOperator> regex_on_number = ValidateOperator::Build(stream_, StreamSchema());
  ASSERT_FALSE(regex_on_number.ok());
  EXPECT_EQ(regex_on_number.error().code, ErrorCode::kSpecInvalidValue);
  Field("amount").regex.clear();

  Field("event_type").regex = "(";
  EXPECT_FALSE(ValidateOperator::Build(stream_, StreamSchema()).ok());
  Field("event_type").regex.clear();

  stream_.rules = {{"r", "amout > 0", "", {}}};
  Result<ValidateOperator> bad_rule = ValidateOperator::Build(stream_, StreamSchema());
  ASSERT_FALSE(bad_rule.ok());
  EXPECT_EQ(bad_rule.error().code, ErrorCode::kSpecInvalidExpression);
  EXPECT_NE(bad_rule.error().message.find("did you mean 'amount'"), std::string::npos);
}

}  // namespace
}  // namespace sluice
