#pragma once

#include <atomic>
#include <boost/asio/thread_pool.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "dataflow/operator.h"
#include "operators/enrich/lookup_backend.h"
#include "operators/enrich/lookup_cache.h"

namespace sluice {

/// What happens to the records of a lookup that timed out or failed.
enum class LookupFallback {
  kNull,        // the added columns are NULL (nothing is cached, the next batch asks again)
  kDeadLetter,  // the records go to port 1 with RECORD_LOOKUP_FAILED
  kFail,        // Process fails with LOOKUP_TIMEOUT / LOOKUP_FAILED: the pipeline stops
};

/// One column the enrichment adds: the dimension table's column and the field it becomes (its
/// type is made Nullable: a key that is not found gives NULL).
struct EnrichColumn {
  std::string source;
  std::string name;
  DataType type;
};

/// What an EnrichOperator is built from.
struct EnrichConfig {
  std::string name;
  Schema input_schema;
  std::vector<std::string> key_fields;   // input fields, matched with key_columns in order
  std::string table;                     // the dimension table
  std::vector<std::string> key_columns;  // its key columns
  std::vector<EnrichColumn> columns;
  size_t cache_max_entries = 100000;
  int64_t cache_ttl_ms = 300000;
  size_t max_in_flight = 4;  // lookups running at once (threads of the subtask's pool)
  size_t max_keys_per_lookup = 500;
  int64_t timeout_ms = 1000;
  LookupFallback fallback = LookupFallback::kNull;
  bool ordered = true;

  /// The table and columns a backend must read for this config.
  LookupTable lookup_table() const;
};

/// An enrich subtask's cache, lookup threads and counters.
class EnrichState : public OperatorState {
 public:
  /// Milliseconds on a monotonic clock (cache ages); tests inject their own.
  using Clock = std::function<int64_t()>;
  EnrichState(const EnrichConfig& config, Clock clock);
  ~EnrichState() override;

  uint64_t StateBytes() const override { return cache_.bytes(); }
  uint64_t StateEntries() const override { return cache_.size(); }

  // Counters for /metrics (read from any thread). Hits and misses count distinct keys per batch.
  uint64_t cache_hits() const { return cache_hits_.load(std::memory_order_relaxed); }
  uint64_t cache_misses() const { return cache_misses_.load(std::memory_order_relaxed); }
  uint64_t lookups() const { return lookups_.load(std::memory_order_relaxed); }
  uint64_t timeouts() const { return timeouts_.load(std::memory_order_relaxed); }
  uint64_t lookup_errors() const { return lookup_errors_.load(std::memory_order_relaxed); }

 private:
  friend class EnrichOperator;
  Clock clock_;
  LookupCache cache_;
  boost::asio::thread_pool pool_;
  std::atomic<uint64_t> cache_hits_{0};
  std::atomic<uint64_t> cache_misses_{0};
  std::atomic<uint64_t> lookups_{0};
  std::atomic<uint64_t> timeouts_{0};
  std::atomic<uint64_t> lookup_errors_{0};
};

/// Adds columns from a dimension table to each record, looked up by key (Flink's
/// AsyncDataStream.unorderedWait / orderedWait, at batch granularity): the distinct keys of a
/// batch missing from the cache are looked up in chunks that run concurrently on the subtask's
/// pool, each with a timeout and the configured fallback. A key not in the table (or a NULL key)
/// gives NULL columns.
///
/// Ordered: one batch out per batch in, rows in input order. Unordered: the rows whose keys were
/// all cached leave first, the looked-up rows follow in a second batch. Either way every lookup
/// of a batch has finished (or timed out) when Process returns, so nothing is in flight at a
/// checkpoint barrier. Port 1: dead letters (input fields + _error_code, _error_message) for
/// fallback dead_letter and for dimension values that do not fit their column type.
class EnrichOperator final : public Operator {
 public:
  /// `backend` reads config.lookup_table(); errors are kSpec* naming the bad key or column.
  static Result<std::unique_ptr<EnrichOperator>> Build(EnrichConfig config,
                                                       std::shared_ptr<LookupBackend> backend);

  const std::string& name() const override { return config_.name; }
  const Schema& input_schema() const override { return config_.input_schema; }
  std::vector<Schema> output_schemas() const override { return {output_schema_, dead_schema_}; }

  Result<std::unique_ptr<OperatorState>> CreateState(const OperatorContext& context) const override;
  /// The same with an injected clock.
  std::unique_ptr<EnrichState> CreateEnrichState(EnrichState::Clock clock) const;
  Status Process(OperatorState& state, Batch& input, Emitter& out) const override;

 private:
  struct Resolved;
  EnrichOperator(EnrichConfig config, std::shared_ptr<LookupBackend> backend,
                 std::vector<size_t> key_indices, Schema output_schema, Schema dead_schema);
  std::string KeyOf(const Batch& input, size_t row, bool& null_key) const;
  std::string NormalizedKey(const std::vector<std::string>& parts) const;
  /// Emits the `selected` rows with their added columns (port 0) and their dead letters (port 1);
  /// moves `input`'s columns when every row leaves here.
  void EmitRows(Batch& input, const std::vector<uint8_t>& selected,
                const std::vector<std::string>& row_keys, const Resolved& resolved,
                Emitter& out) const;

  EnrichConfig config_;
  std::shared_ptr<LookupBackend> backend_;
  std::vector<size_t> key_indices_;
  Schema output_schema_;
  Schema dead_schema_;
};

}  // namespace sluice
