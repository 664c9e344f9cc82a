#include "operators/map/map_operator.h"

#include <gtest/gtest.h>

#include "format/text_value.h"
#include "operators/filter/filter_operator.h"

namespace sluice {
namespace {

DataType Type(std::string_view text) {
  return *ParseDataType(text);
}

/// Keeps every emitted batch by port.
class CollectingEmitter : public Emitter {
 public:
  void Emit(size_t port, Batch batch) override { batches.emplace_back(port, std::move(batch)); }
  std::vector<std::pair<size_t, Batch>> batches;
};

Schema Orders() {
  return {{"order_id", Type("UInt64")},
          {"amount", Type("Decimal(10, 2)")},
          {"quantity", Type("Nullable(Int32)")},
          {"currency", Type("String")}};
}

Batch OrderBatch() {
  Batch batch(Orders());
  const std::vector<std::vector<std::string>> rows = {
      {"1", "10.00", "2", "eur"}, {"2", "5.50", "", "usd"}, {"3", "7.25", "0", "eur"}};
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) {
      if (row[i].empty()) {
        batch.column(i).AppendNull();
      } else {
        EXPECT_TRUE(AppendTextValue(row[i], batch.column(i)).ok());
      }
    }
  }
  return batch;
}

std::string Row(const Batch& batch, size_t row) {
  std::string text;
  for (size_t i = 0; i < batch.num_columns(); ++i) {
    if (i > 0) text += ",";
    text += ValueToText(batch.column(i), row);
  }
  return text;
}

TEST(MapOperatorTest, ComputesOutputsAndReplacesFieldsInPlace) {
  auto map = MapOperator::Build({"prices",
                                 Orders(),
                                 {{"currency", "upper(currency)", std::nullopt},
                                  {"unit_price", "amount / coalesce(quantity, 1)", std::nullopt},
                                  {"big", "amount > 6", std::nullopt}},
                                 true});
  ASSERT_TRUE(map.ok()) << map.error().ToString();
  std::vector<Schema> schemas = (*map)->output_schemas();
  ASSERT_EQ(schemas.size(), 2u);
  ASSERT_EQ(schemas[0].size(), 6u);
  EXPECT_EQ(schemas[0][3].name, "currency");
  EXPECT_EQ(schemas[0][4].name, "unit_price");
  EXPECT_EQ(schemas[0][4].type.ToString(), "Float64");
  EXPECT_EQ(schemas[0][5].type.ToString(), "Bool");
  EXPECT_EQ(schemas[1].back().name, "_error_message");

  auto state = (*map)->CreateState({});
  ASSERT_TRUE(state.ok());
  Batch input = OrderBatch();
  CollectingEmitter out;
  ASSERT_TRUE((*map)->Process(**state, input, out).ok());
  // unit_price is not Nullable (coalesce never gives NULL), so 7.25 / 0 is a row error.
  ASSERT_EQ(out.batches.size(), 2u);
  EXPECT_EQ(out.batches[0].first, 1u);
  EXPECT_EQ(Row(out.batches[0].second, 0),
            "3,7.25,0,eur,215,output 'unit_price' = amount / coalesce(quantity, 1): division by "
            "zero");
  const Batch& mapped = out.batches[1].second;
  EXPECT_EQ(out.batches[1].first, 0u);
  ASSERT_EQ(mapped.num_rows(), 2u);
  EXPECT_EQ(Row(mapped, 0), "1,10.00,2,EUR,5,true");
  EXPECT_EQ(Row(mapped, 1), "2,5.50,NULL,USD,5.5,false");
  // The input's own Nullable field passes through untouched.
  EXPECT_EQ(mapped.schema()[2].type.ToString(), "Nullable(Int32)");
}

TEST(MapOperatorTest, RowsWithoutAValueGoToTheDeadLetterPort) {
  auto map = MapOperator::Build({"per_item",
                                 Orders(),
                                 {{"unit_price", "amount / quantity", Type("Float64")},
                                  {"label", "concat(currency, '-', order_id)", std::nullopt}},
                                 false});
  ASSERT_TRUE(map.ok()) << map.error().ToString();
  auto state = (*map)->CreateState({});
  Batch input = OrderBatch();
  CollectingEmitter out;
  ASSERT_TRUE((*map)->Process(**state, input, out).ok());
  ASSERT_EQ(out.batches.size(), 2u);
  // Dead letters first, then the good rows: row 1 (NULL quantity) and row 2 (division by zero).
  ASSERT_EQ(out.batches[0].first, 1u);
  const Batch& dead = out.batches[0].second;
  ASSERT_EQ(dead.num_rows(), 2u);
  EXPECT_EQ(Row(dead, 0),
            "2,5.50,NULL,usd,215,output 'unit_price' = amount / quantity: the value is NULL");
  EXPECT_EQ(Row(dead, 1),
            "3,7.25,0,eur,215,output 'unit_price' = amount / quantity: division by zero");
  ASSERT_EQ(out.batches[1].first, 0u);
  const Batch& mapped = out.batches[1].second;
  ASSERT_EQ(mapped.num_columns(), 2u);
  ASSERT_EQ(mapped.num_rows(), 1u);
  EXPECT_EQ(Row(mapped, 0), "5,eur-1");
  EXPECT_EQ(static_cast<MapState&>(**state).rows_failed(), 2u);
}

TEST(MapOperatorTest, BuildErrorsNameTheOutputAndTheCharacter) {
  auto bad = MapOperator::Build({"m", Orders(), {{"x", "amount + nope", std::nullopt}}, true});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kSpecInvalidExpression);
  EXPECT_EQ(bad.error().where, "m.outputs[0]");
  EXPECT_EQ(bad.error().message,
            "'x': unknown field 'nope' (fields: order_id, amount, quantity, "
            "currency) (at character 10)");
  auto twice = MapOperator::Build(
      {"m", Orders(), {{"x", "1", std::nullopt}, {"x", "2", std::nullopt}}, true});
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().code, ErrorCode::kSpecDuplicateName);
  auto nondeterministic =
      MapOperator::Build({"m", Orders(), {{"at", "now()", std::nullopt}}, true});
  ASSERT_FALSE(nondeterministic.ok());
  EXPECT_NE(nondeterministic.error().message.find("now() is not allowed"), std::string::npos);
}

TEST(FilterOperatorTest, KeepsMatchingRowsInOrderAndCountsTheRest) {
  auto filter = FilterOperator::Build({"euro_only", Orders(), "currency = 'eur'"});
  ASSERT_TRUE(filter.ok()) << filter.error().ToString();
  auto state = (*filter)->CreateState({});
  ASSERT_TRUE(state.ok());
  CollectingEmitter out;
  Batch input = OrderBatch();
  ASSERT_TRUE((*filter)->Process(**state, input, out).ok());
  ASSERT_EQ(out.batches.size(), 1u);
  const Batch& kept = out.batches[0].second;
  ASSERT_EQ(kept.num_rows(), 2u);
  EXPECT_EQ(Row(kept, 0), "1,10.00,2,eur");
  EXPECT_EQ(Row(kept, 1), "3,7.25,0,eur");
  EXPECT_EQ(static_cast<FilterState&>(**state).rows_filtered(), 1u);

  // NULL conditions drop the row; a batch with nothing left emits nothing.
  auto positive = FilterOperator::Build({"positive", Orders(), "quantity > 5"});
  ASSERT_TRUE(positive.ok());
  auto positive_state = (*positive)->CreateState({});
  Batch again = OrderBatch();
  CollectingEmitter none;
  ASSERT_TRUE((*positive)->Process(**positive_state, again, none).ok());
  EXPECT_TRUE(none.batches.empty());
  EXPECT_EQ(static_cast<FilterState&>(**positive_state).rows_filtered(), 3u);
}

TEST(FilterOperatorTest, BuildErrorsCarryThePosition) {
  auto bad = FilterOperator::Build({"f", Orders(), "amount >"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().where, "f.condition");
  EXPECT_EQ(bad.error().message, "the expression ends too early (at character 9)");
  auto not_condition = FilterOperator::Build({"f", Orders(), "amount + 1"});
  ASSERT_FALSE(not_condition.ok());
  EXPECT_EQ(not_condition.error().code, ErrorCode::kSpecInvalidExpression);
}

}  // namespace
}  // namespace sluice
