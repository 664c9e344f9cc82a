// Rows per second of record conditions and map values over one batch (Google Benchmark; not a
// test). The conditions are the baseline the value expressions compare with.
#include <benchmark/benchmark.h>

#include "expression/expression.h"

namespace sluice {
namespace {

Batch MakeBatch(size_t rows) {
  Batch batch({{"amount", *ParseDataType("Decimal(10, 2)")},
               {"event_type", *ParseDataType("LowCardinality(String)")},
               {"user_id", *ParseDataType("Nullable(UInt64)")},
               {"at", *ParseDataType("DateTime")}});
  static constexpr std::string_view kTypes[] = {"view", "add_to_cart", "purchase", "refund"};
  for (size_t row = 0; row < rows; ++row) {
    batch.column(0).AppendFixed<Int128>(static_cast<Int128>(row % 1000));
    batch.column(1).AppendString(kTypes[row % 4]);
    if (row % 10 == 0) {
      batch.column(2).AppendNull();
    } else {
      batch.column(2).AppendFixed<uint64_t>(row);
    }
    batch.column(3).AppendFixed<int64_t>(1714953600 + static_cast<int64_t>(row) * 7);
  }
  return batch;
}

void RunCondition(benchmark::State& state, std::string_view text) {
  Batch batch = MakeBatch(65536);
  Result<Expression> expression = Expression::CompileCondition(text, batch.schema());
  if (!expression.ok()) {
    state.SkipWithError(expression.error().message.c_str());
    return;
  }
  std::vector<uint8_t> result;
  for (auto _ : state) {
    expression->EvaluateCondition(batch, result);
    benchmark::DoNotOptimize(result.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * batch.num_rows()));
}

void BM_SimpleComparison(benchmark::State& state) {
  RunCondition(state, "amount > 0");
}
BENCHMARK(BM_SimpleComparison);

void BM_PurchaseRule(benchmark::State& state) {
  RunCondition(state, "event_type != 'purchase' OR amount > 0");
}
BENCHMARK(BM_PurchaseRule);

void BM_InListAndNull(benchmark::State& state) {
  RunCondition(state, "lower(event_type) IN ('view', 'purchase') AND user_id IS NOT NULL");
}
BENCHMARK(BM_InListAndNull);

void RunValue(benchmark::State& state, std::string_view text) {
  Batch batch = MakeBatch(65536);
  Result<Expression> expression = Expression::CompileValue(text, batch.schema());
  if (!expression.ok()) {
    state.SkipWithError(expression.error().message.c_str());
    return;
  }
  std::vector<ValueFailure> failures;
  for (auto _ : state) {
    Column column(expression->result_type());
    failures.clear();
    expression->EvaluateInto(batch, column, failures);
    benchmark::DoNotOptimize(column.values().data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * batch.num_rows()));
}

void BM_ValueDecimalTimesTwo(benchmark::State& state) {
  RunValue(state, "amount * 2");
}
BENCHMARK(BM_ValueDecimalTimesTwo);

void BM_ValueIfToString(benchmark::State& state) {
  RunValue(state, "if(amount > 500, 'big', 'small')");
}
BENCHMARK(BM_ValueIfToString);

void BM_ValueStartOfHour(benchmark::State& state) {
  RunValue(state, "toStartOfHour(at)");
}
BENCHMARK(BM_ValueStartOfHour);

void BM_ValueConcat(benchmark::State& state) {
  RunValue(state, "concat(upper(event_type), '-', coalesce(user_id, 0))");
}
BENCHMARK(BM_ValueConcat);

void BM_ValueCaseMultiBranch(benchmark::State& state) {
  RunValue(state,
           "CASE WHEN amount < 100 THEN 1 WHEN amount < 500 THEN 2 WHEN amount < 900 THEN 3 "
           "ELSE 4 END");
}
BENCHMARK(BM_ValueCaseMultiBranch);

}  // namespace
}  // namespace sluice

BENCHMARK_MAIN();
