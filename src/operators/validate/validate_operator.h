#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/result.h"
#include "config/spec.h"
#include "core/batch.h"
#include "expression/expression.h"

namespace re2 {
class RE2;
}  // namespace re2

namespace sluice {

/// A row the validate operator removed: its index in the batch as the batch came in, and why
/// (a kRecord* code; `where` is the field's path for field rules, empty for record rules).
struct RowFailure {
  size_t row = 0;
  Error error;
};

/// What a ValidateOperator remembers between batches: the deduplication keys of the window.
/// One state per operator instance (per worker thread); not thread-safe.
class ValidateState {
 public:
  /// Milliseconds on a monotonic clock; tests inject their own.
  using Clock = std::function<int64_t()>;

  explicit ValidateState(Clock clock) : clock_(std::move(clock)) {}

  /// Keys remembered now (each expires one window after it was first accepted).
  size_t remembered_keys() const { return first_accepted_.size(); }

 private:
  friend class ValidateOperator;

  Clock clock_;
  std::unordered_map<std::string, int64_t> first_accepted_;
  // (time, key) in acceptance order, to forget keys once their window has passed.
  std::deque<std::pair<int64_t, std::string>> expiry_;
};

/// Cleans and checks the records of one stream: per-field trim and lowercase, then min/max,
/// max_length, regex and allowed values, then the stream's record rules, then deduplication.
/// Built once from the StreamSpec; immutable afterwards (shareable between threads), with its
/// changing memory in a separate ValidateState (DuckDB's operator/state split).
class ValidateOperator {
 public:
  /// `schema` is the stream's batch schema (its fields, as the decoders produce them). Errors
  /// (kSpec*) are rules that do not fit their fields; the spec loader reports these with
  /// positions first, so they only reach here from specs built in C++.
  static Result<ValidateOperator> Build(const StreamSpec& stream, const Schema& schema);

  /// A fresh state; without a clock, std::chrono::steady_clock.
  std::unique_ptr<ValidateState> CreateState(ValidateState::Clock clock = {}) const;

  /// Cleans `batch` in place, removes the rows that fail a check (keeping the order of the rest)
  /// and appends one RowFailure per removed row to `failed`, in row order, with the row's index
  /// in the batch as it came in. A row is reported for the first check it fails: fields in
  /// stream order, then record rules in order, then deduplication. Only rows that pass every
  /// check are remembered for deduplication. Nulls pass field checks (`required` is the
  /// decoder's job) and are never duplicates.
  void Process(Batch& batch, std::vector<RowFailure>& failed, ValidateState& state) const;

  /// Nothing to do: no cleaning, field rule, record rule or deduplication.
  bool empty() const { return fields_.empty() && rules_.empty() && !deduplicate_; }

 private:
  struct FieldCheck {
    size_t column = 0;
    std::string name;
    std::string path;  // the field's path in the record, for Error::where
    bool trim = false;
    bool lowercase = false;
    std::optional<uint32_t> max_length;
    std::string regex_text;
    std::shared_ptr<const re2::RE2> regex;
    std::vector<std::string> allowed_text;  // as written, for messages
    std::vector<std::string> allowed;       // text values, or the raw bytes of fixed-width ones
    std::optional<Expression> min;          // "<field> IS NULL OR <field> >= <min>"
    std::optional<Expression> max;
    std::string min_text;
    std::string max_text;
  };
  struct RecordRule {
    std::string name;
    std::string message;
    Expression condition;
  };
  struct Deduplicate {
    size_t column = 0;
    std::string name;
    int64_t window_ms = 0;
  };

  void Clean(Batch& batch, const FieldCheck& check) const;
  void CheckField(const Batch& batch, const FieldCheck& check, std::vector<uint8_t>& keep,
                  std::vector<RowFailure>& failures) const;
  void CheckDuplicates(const Batch& batch, std::vector<uint8_t>& keep,
                       std::vector<RowFailure>& failures, ValidateState& state) const;

  std::vector<FieldCheck> fields_;
  std::vector<RecordRule> rules_;
  std::optional<Deduplicate> deduplicate_;
};

}  // namespace sluice
