// AddBatch throughput of each aggregate function over 65536-row batches: all rows in one group,
// and rows spread at random over a million groups (the window operator's case: many keys, each
// state in its own place). Also the window operator's target mix, count + sum + uniq + p95 over
// a million keys, with the four states of a key side by side in one allocation.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <memory>
#include <new>
#include <random>
#include <string>
#include <vector>

#include "aggregate/aggregate_function.h"

namespace sluice {
namespace {

constexpr size_t kRows = 65536;
constexpr size_t kManyGroups = size_t{1} << 20;

DataType TypeOf(const std::string& text) {
  return *ParseDataType(text);
}

/// A batch's worth of input of the given type, values drawn from `distinct` possibilities.
Column MakeInput(const std::string& type, uint64_t distinct, uint64_t seed) {
  std::mt19937_64 random(seed);
  Column column(TypeOf(type));
  column.Reserve(kRows);
  for (size_t row = 0; row < kRows; ++row) {
    uint64_t draw = random() % distinct;
    if (type == "Int64") {
      column.AppendFixed(static_cast<int64_t>(draw));
    } else if (type == "Float64") {
      column.AppendFixed(static_cast<double>(draw) * 0.37);
    } else {
      column.AppendString("user-" + std::to_string(draw));
    }
  }
  return column;
}

/// States of `groups` groups of several functions: one block per group holding every function's
/// state at its offset, as the window operator lays them out.
class StateBlocks {
 public:
  StateBlocks(const std::vector<const AggregateFunction*>& functions, size_t groups)
      : functions_(functions), groups_(groups) {
    for (const AggregateFunction* function : functions_) {
      size_t align = function->state_alignment();
      stride_ = (stride_ + align - 1) / align * align;
      offsets_.push_back(stride_);
      stride_ += function->state_size();
    }
    stride_ = (stride_ + 15) / 16 * 16;
    memory_ = static_cast<char*>(::operator new(stride_* groups_, std::align_val_t(16)));
    for (size_t group = 0; group < groups_; ++group) {
      for (size_t i = 0; i < functions_.size(); ++i) functions_[i]->Create(at(group) + offsets_[i]);
    }
  }
  ~StateBlocks() {
    for (size_t group = 0; group < groups_; ++group) {
      for (size_t i = 0; i < functions_.size(); ++i)
        functions_[i]->Destroy(at(group) + offsets_[i]);
    }
    ::operator delete(memory_, std::align_val_t(16));
  }
  StateBlocks(const StateBlocks&) = delete;
  StateBlocks& operator=(const StateBlocks&) = delete;

  char* at(size_t group) { return memory_ + group * stride_; }
  size_t offset(size_t function) const { return offsets_[function]; }

 private:
  std::vector<const AggregateFunction*> functions_;
  size_t groups_;
  size_t stride_ = 0;
  std::vector<size_t> offsets_;
  char* memory_ = nullptr;
};

struct BenchCase {
  const char* function;
  const char* type;
};

constexpr BenchCase kCases[] = {
    {"count", "Int64"}, {"sum", "Int64"},        {"avg", "Float64"},          {"min", "Int64"},
    {"max", "String"},  {"first", "Int64"},      {"last", "String"},          {"uniq", "Int64"},
    {"uniq", "String"}, {"quantile", "Float64"}, {"count_distinct", "Int64"}, {"top_k", "Int64"},
};

/// range(0): case index; range(1): number of groups.
void BM_AddBatch(benchmark::State& state) {
  const BenchCase& bench_case = kCases[state.range(0)];
  size_t groups = static_cast<size_t>(state.range(1));
  state.SetLabel(std::string(bench_case.function) + "(" + bench_case.type + ")");
  AggregateCall call{bench_case.function, "out", "x", 0.95, 10};
  DataType type = TypeOf(bench_case.type);
  auto function = std::move(MakeAggregateFunction(call, &type).value());
  // Values: few distinct per group would flatter the sketches; 100 k distinct overall.
  Column input = MakeInput(bench_case.type, 100000, 1);
  std::vector<int64_t> times(kRows);
  for (size_t row = 0; row < kRows; ++row) times[row] = static_cast<int64_t>(row);

  StateBlocks blocks({function.get()}, groups);
  std::mt19937_64 random(2);
  std::vector<std::vector<char*>> places(4, std::vector<char*>(kRows));
  for (auto& batch_places : places) {
    for (char*& place : batch_places) place = blocks.at(random() % groups);
  }
  size_t batch = 0;
  for (auto _ : state) {
    function->AddBatch(places[batch++ % places.size()].data(), 0, &input, times.data(), kRows);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kRows));
}

void ManyAndOneGroup(benchmark::internal::Benchmark* bench) {
  for (int64_t i = 0; i < static_cast<int64_t>(std::size(kCases)); ++i) {
    bench->Args({i, 1});
    bench->Args({i, static_cast<int64_t>(kManyGroups)});
  }
}
// A fixed number of batches keeps the memory of the growing states (quantile buffers, exact
// sets) bounded and equal between runs.
BENCHMARK(BM_AddBatch)->Apply(ManyAndOneGroup)->Iterations(200)->Unit(benchmark::kMillisecond);

/// The window operator's target: count + sum + uniq + quantile(0.95) per key over 1 M keys.
void BM_WindowMix(benchmark::State& state) {
  DataType int64 = TypeOf("Int64");
  DataType float64 = TypeOf("Float64");
  auto count = std::move(MakeAggregateFunction({"count", "n", ""}, nullptr).value());
  auto sum = std::move(MakeAggregateFunction({"sum", "s", "x"}, &int64).value());
  auto uniq = std::move(MakeAggregateFunction({"uniq", "u", "x"}, &int64).value());
  auto p95 = std::move(MakeAggregateFunction({"quantile", "p", "x", 0.95}, &float64).value());
  StateBlocks blocks({count.get(), sum.get(), uniq.get(), p95.get()}, kManyGroups);
  Column users = MakeInput("Int64", 100000, 3);
  Column latencies = MakeInput("Float64", 100000, 4);
  std::mt19937_64 random(5);
  std::vector<char*> places(kRows);
  for (char*& place : places) place = blocks.at(random() % kManyGroups);
  for (auto _ : state) {
    count->AddBatch(places.data(), blocks.offset(0), nullptr, nullptr, kRows);
    sum->AddBatch(places.data(), blocks.offset(1), &users, nullptr, kRows);
    uniq->AddBatch(places.data(), blocks.offset(2), &users, nullptr, kRows);
    p95->AddBatch(places.data(), blocks.offset(3), &latencies, nullptr, kRows);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kRows));
}
BENCHMARK(BM_WindowMix)->Iterations(200)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace sluice

BENCHMARK_MAIN();
