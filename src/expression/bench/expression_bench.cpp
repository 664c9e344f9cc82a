// Rows per second of record conditions over one batch (Google Benchmark; not a test).
#include <benchmark/benchmark.h>

#include "expression/expression.h"

namespace sluice {
namespace {

Batch MakeBatch(size_t rows) {
  Batch batch({{"amount", *ParseDataType("Decimal(10, 2)")},
               {"event_type", *ParseDataType("LowCardinality(String)")},
               {"user_id", *ParseDataType("Nullable(UInt64)")}});
  static constexpr std::string_view kTypes[] = {"view", "add_to_cart", "purchase", "refund"};
  for (size_t row = 0; row < rows; ++row) {
    batch.column(0).AppendFixed<Int128>(static_cast<Int128>(row % 1000));
    batch.column(1).AppendString(kTypes[row % 4]);
    if (row % 10 == 0) {
      batch.column(2).AppendNull();
    } else {
      batch.column(2).AppendFixed<uint64_t>(row);
    }
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

}  // namespace
}  // namespace sluice

BENCHMARK_MAIN();
