#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

#include "base/result.h"
#include "core/column.h"

namespace sluice {

/// Appends fixed-width values to a state encoding in little-endian order, whatever the host's
/// order, so that checkpoints move between machines.
class StateWriter {
 public:
  explicit StateWriter(std::string& out) : out_(out) {}

  template <typename T>
  void Write(T value) {
    static_assert(std::is_arithmetic_v<T> || std::is_same_v<T, Int128>);
    if constexpr (std::is_floating_point_v<T>) {
      using Bits = std::conditional_t<sizeof(T) == 8, uint64_t, uint32_t>;
      Write(std::bit_cast<Bits>(value));
    } else if constexpr (std::endian::native == std::endian::little) {
      size_t at = out_.size();
      out_.resize(at + sizeof(T));
      std::memcpy(out_.data() + at, &value, sizeof(T));
    } else {
      using Unsigned =
          std::conditional_t<std::is_same_v<T, Int128>, unsigned __int128, std::make_unsigned_t<T>>;
      auto bits = static_cast<Unsigned>(value);
      for (size_t i = 0; i < sizeof(T); ++i) out_.push_back(static_cast<char>(bits >> (8 * i)));
    }
  }

  /// A length (u32) and the bytes.
  void WriteBytes(std::string_view bytes) {
    Write(static_cast<uint32_t>(bytes.size()));
    out_.append(bytes);
  }

 private:
  std::string& out_;
};

/// Reads what StateWriter wrote from the front of `in`, advancing it; every read checks the
/// bytes left, so a truncated or corrupt state is an error and never a read past the end.
class StateReader {
 public:
  StateReader(std::string_view& in, std::string_view function) : in_(in), function_(function) {}

  template <typename T>
  bool Read(T& value) {
    static_assert(std::is_arithmetic_v<T> || std::is_same_v<T, Int128>);
    if constexpr (std::is_floating_point_v<T>) {
      using Bits = std::conditional_t<sizeof(T) == 8, uint64_t, uint32_t>;
      Bits bits;
      if (!Read(bits)) return false;
      value = std::bit_cast<T>(bits);
      return true;
    } else {
      if (in_.size() < sizeof(T)) return false;
      if constexpr (std::endian::native == std::endian::little) {
        std::memcpy(&value, in_.data(), sizeof(T));
      } else {
        using Unsigned = std::conditional_t<std::is_same_v<T, Int128>, unsigned __int128,
                                            std::make_unsigned_t<T>>;
        Unsigned bits = 0;
        for (size_t i = 0; i < sizeof(T); ++i) {
          bits |= static_cast<Unsigned>(static_cast<uint8_t>(in_[i])) << (8 * i);
        }
        value = static_cast<T>(bits);
      }
      in_.remove_prefix(sizeof(T));
      return true;
    }
  }

  /// A length (u32) and that many bytes, as a view into the input.
  bool ReadBytes(std::string_view& bytes) {
    uint32_t size = 0;
    if (!Read(size) || in_.size() < size) return false;
    bytes = in_.substr(0, size);
    in_.remove_prefix(size);
    return true;
  }

  /// Bytes left in the input, for checking a count against them before allocating.
  size_t remaining() const { return in_.size(); }

  /// The kAggregateStateCorrupt error naming the function and what is wrong.
  Error Corrupt(std::string_view what) const;
  Error Truncated() const { return Corrupt("the state is truncated"); }

 private:
  std::string_view& in_;
  std::string_view function_;
};

}  // namespace sluice
