#include <bit>
#include <cmath>
#include <limits>
#include <string>
#include <type_traits>
#include <unordered_set>

#include "aggregate/function_base.h"
#include "aggregate/functions.h"
#include "aggregate/hyper_log_log.h"
#include "aggregate/space_saving.h"
#include "aggregate/state_codec.h"
#include "aggregate/t_digest.h"
#include "aggregate/value_hash.h"
#include "format/text_value.h"

namespace sluice {
namespace {

/// uniq: approximate distinct count (HyperLogLog, exact up to 256 values).
template <typename T>
class UniqFunction final : public FunctionBase<HyperLogLog> {
 public:
  explicit UniqFunction(std::string name)
      : FunctionBase(std::move(name), MakeType(TypeKind::kUInt64)) {}

  void AddBatch(char* const* places, size_t offset, const Column* input, const int64_t*,
                size_t rows) const override {
    ForEachInput<T>(*input, rows, [&](size_t row, T value) {
      At(places[row] + offset).Insert(HashValue(value));
    });
  }
  void Merge(char* place, const char* other) const override { At(place).Merge(At(other)); }
  void Serialize(const char* place, std::string& out) const override {
    StateWriter writer(out);
    At(place).Serialize(writer);
  }
  Status Deserialize(char* place, std::string_view& in) const override {
    StateReader reader(in, name());
    return At(place).Deserialize(reader);
  }
  void Finalize(const char* place, Column& out) const override {
    out.AppendFixed(At(place).Estimate());
  }
  size_t HeapBytes(const char* place) const override { return At(place).HeapBytes(); }
};

/// What count_distinct keeps per value: floats as their bits (so NaN equals itself and -0.0
/// is 0.0), other numbers as they are, text as an owned string.
template <typename T>
using DistinctKey = std::conditional_t<
    std::is_same_v<T, std::string_view>, std::string,
    std::conditional_t<std::is_same_v<T, float>, uint32_t,
                       std::conditional_t<std::is_same_v<T, double>, uint64_t, T>>>;

template <typename T>
DistinctKey<T> ToDistinctKey(T value) {
  if constexpr (std::is_floating_point_v<T>) {
    if (value == 0) value = 0;
    return std::bit_cast<DistinctKey<T>>(value);
  } else {
    return DistinctKey<T>(value);
  }
}

/// XXH3 of a key; transparent so that a string_view finds a std::string without a copy.
struct DistinctHash {
  using is_transparent = void;
  template <typename K>
  size_t operator()(const K& key) const {
    if constexpr (std::is_same_v<K, std::string>) {
      return HashValue(std::string_view(key));
    } else {
      return HashValue(key);
    }
  }
};

template <typename T>
using DistinctSet = std::unordered_set<DistinctKey<T>, DistinctHash, std::equal_to<>>;

/// count_distinct: the exact number of distinct values (a hash set of the values).
template <typename T>
class CountDistinctFunction final : public FunctionBase<DistinctSet<T>> {
  using Base = FunctionBase<DistinctSet<T>>;
  using Key = DistinctKey<T>;

 public:
  explicit CountDistinctFunction(std::string name)
      : Base(std::move(name), MakeType(TypeKind::kUInt64)) {}

  void AddBatch(char* const* places, size_t offset, const Column* input, const int64_t*,
                size_t rows) const override {
    ForEachInput<T>(*input, rows, [&](size_t row, T value) {
      auto& set = Base::At(places[row] + offset);
      if constexpr (std::is_same_v<T, std::string_view>) {
        // Look up first: a value already seen costs no string copy.
        if (set.find(value) == set.end()) set.emplace(value);
      } else {
        set.insert(ToDistinctKey(value));
      }
    });
  }
  void Merge(char* place, const char* other) const override {
    Base::At(place).insert(Base::At(other).begin(), Base::At(other).end());
  }
  // Encoding: u64 count, then the keys (numbers, or u32 length and bytes).
  void Serialize(const char* place, std::string& out) const override {
    StateWriter writer(out);
    writer.Write(static_cast<uint64_t>(Base::At(place).size()));
    for (const Key& key : Base::At(place)) {
      if constexpr (std::is_same_v<Key, std::string>) {
        writer.WriteBytes(key);
      } else {
        writer.Write(key);
      }
    }
  }
  Status Deserialize(char* place, std::string_view& in) const override {
    StateReader reader(in, Base::name());
    auto& set = Base::At(place);
    set.clear();
    uint64_t count = 0;
    if (!reader.Read(count)) return reader.Truncated();
    size_t smallest = std::is_same_v<Key, std::string> ? sizeof(uint32_t) : sizeof(Key);
    if (count > reader.remaining() / smallest) return reader.Truncated();
    set.reserve(count);
    for (uint64_t i = 0; i < count; ++i) {
      Key key{};
      if constexpr (std::is_same_v<Key, std::string>) {
        std::string_view bytes;
        if (!reader.ReadBytes(bytes)) return reader.Truncated();
        key.assign(bytes);
      } else {
        if (!reader.Read(key)) return reader.Truncated();
      }
      if (!set.insert(std::move(key)).second) {
        return reader.Corrupt("count_distinct value listed twice");
      }
    }
    return {};
  }
  void Finalize(const char* place, Column& out) const override {
    out.AppendFixed(static_cast<uint64_t>(Base::At(place).size()));
  }
  size_t HeapBytes(const char* place) const override {
    const auto& set = Base::At(place);
    // Node per value (key and next pointer, plus the cached hash) and the bucket array.
    size_t bytes =
        set.size() * (sizeof(Key) + 2 * sizeof(void*)) + set.bucket_count() * sizeof(void*);
    if constexpr (std::is_same_v<Key, std::string>) {
      for (const Key& key : set) bytes += key.capacity() > 15 ? key.capacity() : 0;
    }
    return bytes;
  }
};

/// quantile: the value at `level` (t-digest, compression 100) as Float64.
template <typename T>
class QuantileFunction final : public FunctionBase<TDigest> {
 public:
  QuantileFunction(std::string name, bool nullable, double level, double divisor)
      : FunctionBase(std::move(name), NullableIf(nullable, MakeType(TypeKind::kFloat64))),
        nullable_(nullable),
        level_(level),
        divisor_(divisor) {}

  void AddBatch(char* const* places, size_t offset, const Column* input, const int64_t*,
                size_t rows) const override {
    ForEachValue<T>(*input, rows, [&](size_t row, T value) {
      double number = static_cast<double>(value);
      if constexpr (std::is_same_v<T, Int128>) number /= divisor_;
      At(places[row] + offset).Add(number);
    });
  }
  void Merge(char* place, const char* other) const override { At(place).Merge(At(other)); }
  void Serialize(const char* place, std::string& out) const override {
    StateWriter writer(out);
    At(place).Serialize(writer);
  }
  Status Deserialize(char* place, std::string_view& in) const override {
    StateReader reader(in, name());
    return At(place).Deserialize(reader);
  }
  void Finalize(const char* place, Column& out) const override {
    if (nullable_ && At(place).count() == 0) {
      out.AppendNull();
    } else {
      out.AppendFixed(At(place).Quantile(level_));
    }
  }
  size_t HeapBytes(const char* place) const override { return At(place).HeapBytes(); }

 private:
  bool nullable_;
  double level_;
  double divisor_;  // 10^S for Decimal(P, S)
};

/// top_k: the k most frequent values, most frequent first, as text (Array(String)).
template <typename T>
class TopKFunction final : public FunctionBase<SpaceSaving<Stored<T>>> {
  using Base = FunctionBase<SpaceSaving<Stored<T>>>;

 public:
  TopKFunction(std::string name, uint32_t k, DataType input_storage)
      : Base(std::move(name), ArrayOfStrings()),
        k_(k),
        capacity_(k * kCountersPerK),
        input_storage_(std::move(input_storage)) {}

  void AddBatch(char* const* places, size_t offset, const Column* input, const int64_t*,
                size_t rows) const override {
    ForEachInput<T>(*input, rows, [&](size_t row, T value) {
      Base::At(places[row] + offset).Insert(value, HashValue(value), capacity_);
    });
  }
  void Merge(char* place, const char* other) const override {
    Base::At(place).Merge(Base::At(other), capacity_);
  }
  void Serialize(const char* place, std::string& out) const override {
    StateWriter writer(out);
    Base::At(place).Serialize(writer);
  }
  Status Deserialize(char* place, std::string_view& in) const override {
    StateReader reader(in, Base::name());
    return Base::At(place).Deserialize(reader, capacity_, [](T value) { return HashValue(value); });
  }
  void Finalize(const char* place, Column& out) const override {
    auto ranked = Base::At(place).Ranked();
    size_t shown = std::min<size_t>(ranked.size(), k_);
    Column& texts = out.child(0);
    if constexpr (std::is_same_v<T, std::string_view>) {
      for (size_t i = 0; i < shown; ++i) texts.AppendString(ranked[i].key);
    } else {
      // Numbers, dates and Decimals are written as the decoders read them back.
      Column values(input_storage_);
      for (size_t i = 0; i < shown; ++i) {
        values.AppendFixed(ranked[i].key);
        texts.AppendString(ValueToText(values, i));
      }
    }
    out.CloseNestedRow();
  }
  size_t HeapBytes(const char* place) const override { return Base::At(place).HeapBytes(); }

 private:
  static DataType ArrayOfStrings() {
    DataType type = MakeType(TypeKind::kArray);
    type.children.push_back(MakeType(TypeKind::kString));
    return type;
  }

  uint32_t k_;
  uint32_t capacity_;  // counters per group
  DataType input_storage_;
};

bool IsNumberKind(TypeKind kind) {
  return kind != TypeKind::kString && kind != TypeKind::kFixedString && kind != TypeKind::kUuid &&
         !IsDateKind(kind);
}

template <template <typename> class Function, typename... Args>
std::unique_ptr<AggregateFunction> MakeTyped(const DataType& input, Args&&... args) {
  return VisitStorageType(input.Storage().kind,
                          [&](auto tag) -> std::unique_ptr<AggregateFunction> {
                            using T = typename decltype(tag)::type;
                            if constexpr (std::is_void_v<T>) {
                              return nullptr;
                            } else {
                              return std::make_unique<Function<T>>(std::forward<Args>(args)...);
                            }
                          });
}

}  // namespace

std::unique_ptr<AggregateFunction> MakeUniq(const AggregateCall& call, const DataType& input) {
  return MakeTyped<UniqFunction>(input, call.function);
}

std::unique_ptr<AggregateFunction> MakeCountDistinct(const AggregateCall& call,
                                                     const DataType& input) {
  return MakeTyped<CountDistinctFunction>(input, call.function);
}

std::unique_ptr<AggregateFunction> MakeQuantile(const AggregateCall& call, const DataType& input) {
  const DataType& storage = input.Storage();
  if (!IsNumberKind(storage.kind)) return nullptr;
  double divisor = storage.kind == TypeKind::kDecimal ? std::pow(10.0, storage.scale) : 1.0;
  return VisitStorageType(storage.kind, [&](auto tag) -> std::unique_ptr<AggregateFunction> {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_void_v<T> || std::is_same_v<T, std::string_view>) {
      return nullptr;
    } else {
      return std::make_unique<QuantileFunction<T>>(call.function, input.IsNullable(), call.level,
                                                   divisor);
    }
  });
}

std::unique_ptr<AggregateFunction> MakeTopK(const AggregateCall& call, const DataType& input) {
  return MakeTyped<TopKFunction>(input, call.function, call.k, input.Storage());
}

}  // namespace sluice
