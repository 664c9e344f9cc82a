#include <cmath>
#include <limits>
#include <string>
#include <type_traits>

#include "aggregate/function_base.h"
#include "aggregate/functions.h"
#include "aggregate/state_codec.h"

namespace sluice {
namespace {

/// count: rows added, NULL or not (the input column is not read).
class CountFunction final : public FunctionBase<uint64_t> {
 public:
  explicit CountFunction(std::string name)
      : FunctionBase(std::move(name), MakeType(TypeKind::kUInt64)) {}

  void AddBatch(char* const* places, size_t offset, const Column*, const int64_t*,
                size_t rows) const override {
    for (size_t row = 0; row < rows; ++row) ++At(places[row] + offset);
  }
  void Merge(char* place, const char* other) const override { At(place) += At(other); }
  void Serialize(const char* place, std::string& out) const override {
    StateWriter(out).Write(At(place));
  }
  Status Deserialize(char* place, std::string_view& in) const override {
    StateReader reader(in, name());
    if (!reader.Read(At(place))) return reader.Truncated();
    return {};
  }
  void Finalize(const char* place, Column& out) const override { out.AppendFixed(At(place)); }
};

/// The running total's type: Int64 for signed integers, UInt64 for unsigned ones, Float64 for
/// floats and Int128 (Decimal(38, S)) for Decimal, as ClickHouse's sum.
template <typename T>
using SumType = std::conditional_t<
    std::is_floating_point_v<T>, double,
    std::conditional_t<std::is_same_v<T, Int128>, Int128,
                       std::conditional_t<std::is_signed_v<T>, int64_t, uint64_t>>>;

/// Adds with two's complement wrap-around on overflow, as ClickHouse's sum does (signed
/// overflow would be undefined behaviour in C++).
template <typename Acc>
inline Acc WrappingAdd(Acc a, Acc b) {
  if constexpr (std::is_floating_point_v<Acc>) {
    return a + b;
  } else if constexpr (std::is_same_v<Acc, Int128>) {
    return static_cast<Int128>(static_cast<unsigned __int128>(a) +
                               static_cast<unsigned __int128>(b));
  } else {
    using Unsigned = std::make_unsigned_t<Acc>;
    return static_cast<Acc>(static_cast<Unsigned>(a) + static_cast<Unsigned>(b));
  }
}

template <typename Acc>
struct SumState {
  Acc sum{};
  bool any = false;
};

/// Writes and reads the `any` flag of a state, refusing anything but 0 and 1.
inline bool ReadFlag(StateReader& reader, bool& flag) {
  uint8_t byte = 0;
  if (!reader.Read(byte) || byte > 1) return false;
  flag = byte == 1;
  return true;
}

/// sum: the total of the non-NULL values; NULL (Nullable input) when there were none.
template <typename T>
class SumFunction final : public FunctionBase<SumState<SumType<T>>> {
  using Acc = SumType<T>;
  using Base = FunctionBase<SumState<Acc>>;

 public:
  SumFunction(std::string name, DataType result_type, bool nullable)
      : Base(std::move(name), std::move(result_type)), nullable_(nullable) {}

  void AddBatch(char* const* places, size_t offset, const Column* input, const int64_t*,
                size_t rows) const override {
    ForEachValue<T>(*input, rows, [&](size_t row, T value) {
      auto& state = Base::At(places[row] + offset);
      state.sum = WrappingAdd<Acc>(state.sum, static_cast<Acc>(value));
      state.any = true;
    });
  }
  void Merge(char* place, const char* other) const override {
    auto& state = Base::At(place);
    const auto& from = Base::At(other);
    state.sum = WrappingAdd<Acc>(state.sum, from.sum);
    state.any = state.any || from.any;
  }
  void Serialize(const char* place, std::string& out) const override {
    StateWriter writer(out);
    writer.Write(static_cast<uint8_t>(Base::At(place).any));
    writer.Write(Base::At(place).sum);
  }
  Status Deserialize(char* place, std::string_view& in) const override {
    StateReader reader(in, Base::name());
    auto& state = Base::At(place);
    if (!ReadFlag(reader, state.any)) return reader.Corrupt("bad flag byte or truncated");
    if (!reader.Read(state.sum)) return reader.Truncated();
    return {};
  }
  void Finalize(const char* place, Column& out) const override {
    const auto& state = Base::At(place);
    if (nullable_ && !state.any) {
      out.AppendNull();
    } else {
      out.AppendFixed(state.sum);
    }
  }

 private:
  bool nullable_;
};

/// avg: numerator exact (Int128) for integers and Decimal so that no realistic window
/// overflows it, double for floats.
template <typename T>
using AvgNumerator = std::conditional_t<std::is_floating_point_v<T>, double, Int128>;

template <typename T>
struct AvgState {
  AvgNumerator<T> sum{};
  uint64_t count = 0;
};

/// avg: mean of the non-NULL values as Float64; NaN without values (NULL for Nullable input).
template <typename T>
class AvgFunction final : public FunctionBase<AvgState<T>> {
  using Base = FunctionBase<AvgState<T>>;
  using Acc = AvgNumerator<T>;

 public:
  AvgFunction(std::string name, bool nullable, double divisor)
      : Base(std::move(name), NullableIf(nullable, MakeType(TypeKind::kFloat64))),
        nullable_(nullable),
        divisor_(divisor) {}

  void AddBatch(char* const* places, size_t offset, const Column* input, const int64_t*,
                size_t rows) const override {
    ForEachValue<T>(*input, rows, [&](size_t row, T value) {
      auto& state = Base::At(places[row] + offset);
      state.sum = WrappingAdd<Acc>(state.sum, static_cast<Acc>(value));
      ++state.count;
    });
  }
  void Merge(char* place, const char* other) const override {
    auto& state = Base::At(place);
    state.sum = WrappingAdd<Acc>(state.sum, Base::At(other).sum);
    state.count += Base::At(other).count;
  }
  void Serialize(const char* place, std::string& out) const override {
    StateWriter writer(out);
    writer.Write(Base::At(place).sum);
    writer.Write(Base::At(place).count);
  }
  Status Deserialize(char* place, std::string_view& in) const override {
    StateReader reader(in, Base::name());
    auto& state = Base::At(place);
    if (!reader.Read(state.sum) || !reader.Read(state.count)) return reader.Truncated();
    return {};
  }
  void Finalize(const char* place, Column& out) const override {
    const auto& state = Base::At(place);
    if (state.count == 0 && nullable_) {
      out.AppendNull();
    } else if (state.count == 0) {
      out.AppendFixed(std::numeric_limits<double>::quiet_NaN());
    } else {
      out.AppendFixed(static_cast<double>(state.sum) / divisor_ / static_cast<double>(state.count));
    }
  }

 private:
  bool nullable_;
  double divisor_;  // 10^S for Decimal(P, S), 1 otherwise
};

template <typename T>
void WriteStored(StateWriter& writer, const Stored<T>& value) {
  if constexpr (std::is_same_v<T, std::string_view>) {
    writer.WriteBytes(value);
  } else {
    writer.Write(value);
  }
}

template <typename T>
bool ReadStored(StateReader& reader, Stored<T>& value) {
  if constexpr (std::is_same_v<T, std::string_view>) {
    std::string_view bytes;
    if (!reader.ReadBytes(bytes)) return false;
    value.assign(bytes);
    return true;
  } else {
    return reader.Read(value);
  }
}

/// Finishes a kept value: the value, or for a group without one NULL (Nullable result) or
/// the type's zero.
template <typename T>
void FinalizeStored(bool has, const Stored<T>& value, Column& out) {
  if (has) {
    AppendValue(out, value);
  } else if (out.nullable()) {
    out.AppendNull();
  } else {
    AppendValue(out, Stored<T>{});
  }
}

template <typename T>
struct ExtremeState {
  Stored<T> value{};
  bool has = false;
};

/// min and max: by the type's order (numbers, dates and Decimals by value, strings by bytes).
template <typename T, bool kMax>
class ExtremeFunction final : public FunctionBase<ExtremeState<T>> {
  using Base = FunctionBase<ExtremeState<T>>;

 public:
  using Base::Base;

  void AddBatch(char* const* places, size_t offset, const Column* input, const int64_t*,
                size_t rows) const override {
    ForEachInput<T>(*input, rows,
                    [&](size_t row, T value) { Update(Base::At(places[row] + offset), value); });
  }
  void Merge(char* place, const char* other) const override {
    const auto& from = Base::At(other);
    if (from.has) Update(Base::At(place), from.value);
  }
  void Serialize(const char* place, std::string& out) const override {
    StateWriter writer(out);
    writer.Write(static_cast<uint8_t>(Base::At(place).has));
    WriteStored<T>(writer, Base::At(place).value);
  }
  Status Deserialize(char* place, std::string_view& in) const override {
    StateReader reader(in, Base::name());
    auto& state = Base::At(place);
    if (!ReadFlag(reader, state.has)) return reader.Corrupt("bad flag byte or truncated");
    if (!ReadStored<T>(reader, state.value)) return reader.Truncated();
    return {};
  }
  void Finalize(const char* place, Column& out) const override {
    FinalizeStored<T>(Base::At(place).has, Base::At(place).value, out);
  }
  size_t HeapBytes(const char* place) const override {
    if constexpr (std::is_same_v<T, std::string_view>) {
      return Base::At(place).value.capacity() > 15 ? Base::At(place).value.capacity() : 0;
    } else {
      (void)place;
      return 0;
    }
  }

 private:
  template <typename V>
  static void Update(ExtremeState<T>& state, const V& value) {
    if (!state.has || (kMax ? state.value < value : value < state.value)) {
      state.value = value;
      state.has = true;
    }
  }
};

template <typename T>
struct TimedState {
  Stored<T> value{};
  int64_t time = 0;
  bool has = false;
};

/// first and last: the value with the earliest (latest) event time; of equal times the first
/// (last) one seen, and in Merge `place` counts as seen before `other`.
template <typename T, bool kLast>
class TimedFunction final : public FunctionBase<TimedState<T>> {
  using Base = FunctionBase<TimedState<T>>;

 public:
  using Base::Base;

  void AddBatch(char* const* places, size_t offset, const Column* input, const int64_t* event_times,
                size_t rows) const override {
    ForEachInput<T>(*input, rows, [&](size_t row, T value) {
      // Without event times the order of arrival decides.
      Update(Base::At(places[row] + offset), value, event_times ? event_times[row] : 0);
    });
  }
  void Merge(char* place, const char* other) const override {
    const auto& from = Base::At(other);
    if (from.has) Update(Base::At(place), from.value, from.time);
  }
  void Serialize(const char* place, std::string& out) const override {
    StateWriter writer(out);
    const auto& state = Base::At(place);
    writer.Write(static_cast<uint8_t>(state.has));
    writer.Write(state.time);
    WriteStored<T>(writer, state.value);
  }
  Status Deserialize(char* place, std::string_view& in) const override {
    StateReader reader(in, Base::name());
    auto& state = Base::At(place);
    if (!ReadFlag(reader, state.has)) return reader.Corrupt("bad flag byte or truncated");
    if (!reader.Read(state.time) || !ReadStored<T>(reader, state.value)) {
      return reader.Truncated();
    }
    return {};
  }
  void Finalize(const char* place, Column& out) const override {
    FinalizeStored<T>(Base::At(place).has, Base::At(place).value, out);
  }
  size_t HeapBytes(const char* place) const override {
    if constexpr (std::is_same_v<T, std::string_view>) {
      return Base::At(place).value.capacity() > 15 ? Base::At(place).value.capacity() : 0;
    } else {
      (void)place;
      return 0;
    }
  }

 private:
  template <typename V>
  static void Update(TimedState<T>& state, const V& value, int64_t time) {
    if (!state.has || (kLast ? time >= state.time : time < state.time)) {
      state.value = value;
      state.time = time;
      state.has = true;
    }
  }
};

bool IsNumericKind(TypeKind kind) {
  switch (kind) {
    case TypeKind::kInt8:
    case TypeKind::kInt16:
    case TypeKind::kInt32:
    case TypeKind::kInt64:
    case TypeKind::kUInt8:
    case TypeKind::kUInt16:
    case TypeKind::kUInt32:
    case TypeKind::kUInt64:
    case TypeKind::kBool:
    case TypeKind::kFloat32:
    case TypeKind::kFloat64:
    case TypeKind::kDecimal:
      return true;
    default:
      return false;
  }
}

/// Builds Function<T> for the storage type of `input`, or nullptr when `input` is not one of
/// the scalar kinds aggregates take.
template <template <typename> class Function, bool kStrings, typename... Args>
std::unique_ptr<AggregateFunction> MakeForStorage(const DataType& input, Args&&... args) {
  return VisitStorageType(
      input.Storage().kind, [&](auto tag) -> std::unique_ptr<AggregateFunction> {
        using T = typename decltype(tag)::type;
        if constexpr (std::is_void_v<T> || (!kStrings && std::is_same_v<T, std::string_view>)) {
          return nullptr;
        } else {
          return std::make_unique<Function<T>>(std::forward<Args>(args)...);
        }
      });
}

template <typename T>
using MinFunction = ExtremeFunction<T, false>;
template <typename T>
using MaxFunction = ExtremeFunction<T, true>;
template <typename T>
using FirstFunction = TimedFunction<T, false>;
template <typename T>
using LastFunction = TimedFunction<T, true>;

}  // namespace

std::unique_ptr<AggregateFunction> MakeCount(const AggregateCall& call) {
  return std::make_unique<CountFunction>(call.function);
}

std::unique_ptr<AggregateFunction> MakeSum(const AggregateCall& call, const DataType& input) {
  const DataType& storage = input.Storage();
  if (!IsNumericKind(storage.kind)) return nullptr;
  return VisitStorageType(storage.kind, [&](auto tag) -> std::unique_ptr<AggregateFunction> {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_void_v<T> || std::is_same_v<T, std::string_view>) {
      return nullptr;
    } else {
      using Acc = SumType<T>;
      DataType result;
      if constexpr (std::is_same_v<Acc, Int128>) {
        result = MakeType(TypeKind::kDecimal);
        result.precision = 38;
        result.scale = storage.scale;
      } else if constexpr (std::is_same_v<Acc, double>) {
        result = MakeType(TypeKind::kFloat64);
      } else if constexpr (std::is_same_v<Acc, int64_t>) {
        result = MakeType(TypeKind::kInt64);
      } else {
        result = MakeType(TypeKind::kUInt64);
      }
      return std::make_unique<SumFunction<T>>(
          call.function, NullableIf(input.IsNullable(), std::move(result)), input.IsNullable());
    }
  });
}

std::unique_ptr<AggregateFunction> MakeAvg(const AggregateCall& call, const DataType& input) {
  const DataType& storage = input.Storage();
  if (!IsNumericKind(storage.kind)) return nullptr;
  double divisor = storage.kind == TypeKind::kDecimal ? std::pow(10.0, storage.scale) : 1.0;
  return MakeForStorage<AvgFunction, false>(input, call.function, input.IsNullable(), divisor);
}

std::unique_ptr<AggregateFunction> MakeMin(const AggregateCall& call, const DataType& input) {
  return MakeForStorage<MinFunction, true>(input, call.function, input);
}

std::unique_ptr<AggregateFunction> MakeMax(const AggregateCall& call, const DataType& input) {
  return MakeForStorage<MaxFunction, true>(input, call.function, input);
}

std::unique_ptr<AggregateFunction> MakeFirst(const AggregateCall& call, const DataType& input) {
  return MakeForStorage<FirstFunction, true>(input, call.function, input);
}

std::unique_ptr<AggregateFunction> MakeLast(const AggregateCall& call, const DataType& input) {
  return MakeForStorage<LastFunction, true>(input, call.function, input);
}

}  // namespace sluice
