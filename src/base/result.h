#pragma once

#include <string>
#include <utility>
#include <variant>

#include "base/error_codes.h"

namespace sluice {

/// A failure with its registry code and a message a person can act on. `where` names the place
/// (file:line:column, field path, record offset) when there is one.
struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
  std::string where;
  /// The code of the system that reported the failure, e.g. ClickHouse's error code; 0 if none.
  int32_t upstream_code = 0;

  /// "where: message [CODE_NAME]", or without the location when there is none.
  std::string ToString() const;
};

/// The value of an operation that can fail on bad input, returned on hot paths instead of
/// throwing. Accessing the value of a failed result is a programming error (asserted).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : state_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return std::holds_alternative<T>(state_); }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<T>(state_); }
  const T& value() const& { return std::get<T>(state_); }
  T&& value() && { return std::get<T>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { return std::get<Error>(state_); }

 private:
  std::variant<T, Error> state_;
};

/// Result of an operation with no value.
template <>
class [[nodiscard]] Result<void> {
 public:
  // User-provided, so that `return {};` does not zero-fill the whole Error before constructing
  // it, as value-initialization of a defaulted constructor does: on the per-value decode paths
  // that `rep stos` was ~8 % of JSON decoding.
  Result() {}  // NOLINT(modernize-use-equals-default)
  Result(Error error) : error_(std::move(error)), failed_(true) {}  // NOLINT

  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool failed_ = false;
};

using Status = Result<void>;

inline Error MakeError(ErrorCode code, std::string message, std::string where = {}) {
  return Error{code, std::move(message), std::move(where)};
}

/// Thrown only during setup (spec loading, opening the warehouse), never on a record path.
class SetupError : public std::exception {
 public:
  explicit SetupError(Error error) : error_(std::move(error)), text_(error_.ToString()) {}
  const Error& error() const { return error_; }
  const char* what() const noexcept override { return text_.c_str(); }

 private:
  Error error_;
  std::string text_;
};

}  // namespace sluice
