#include "operators/enrich/enrich_operator.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <chrono>
#include <future>
#include <unordered_map>
#include <unordered_set>

#include "base/strings.h"
#include "format/text_value.h"
#include "operators/dead_letter_port.h"

namespace sluice {
namespace {

// Separates the parts of a composite key (ASCII unit separator): key text containing it could
// make two composite keys look alike, which keys of real dimension tables do not contain.
constexpr char kKeySeparator = '\x1f';

int64_t SteadyMilliseconds() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

DataType MakeNullable(DataType type) {
  if (type.IsNullable()) return type;
  if (type.kind == TypeKind::kLowCardinality && !type.children.empty()) {
    type.children[0] = MakeNullable(type.children[0]);
    return type;
  }
  DataType nullable;
  nullable.kind = TypeKind::kNullable;
  nullable.children.push_back(std::move(type));
  return nullable;
}

}  // namespace

LookupTable EnrichConfig::lookup_table() const {
  LookupTable lookup{table, key_columns, {}};
  for (const EnrichColumn& column : columns) lookup.value_columns.push_back(column.source);
  return lookup;
}

/// The answer for each distinct key of a batch: a row (found or not), or why it failed.
struct EnrichOperator::Resolved {
  std::unordered_map<std::string, std::shared_ptr<const CachedRow>> rows;
  std::unordered_map<std::string, std::string> failed;
};

EnrichState::EnrichState(const EnrichConfig& config, Clock clock)
    : clock_(std::move(clock)),
      cache_(config.cache_max_entries, config.cache_ttl_ms),
      pool_(config.max_in_flight) {}

EnrichState::~EnrichState() {
  // Lookups that timed out may still run; they end by their own statement timeout.
  pool_.stop();
  pool_.join();
}

EnrichOperator::EnrichOperator(EnrichConfig config, std::shared_ptr<LookupBackend> backend,
                               std::vector<size_t> key_indices, Schema output_schema,
                               Schema dead_schema)
    : config_(std::move(config)),
      backend_(std::move(backend)),
      key_indices_(std::move(key_indices)),
      output_schema_(std::move(output_schema)),
      dead_schema_(std::move(dead_schema)) {}

Result<std::unique_ptr<EnrichOperator>> EnrichOperator::Build(
    EnrichConfig config, std::shared_ptr<LookupBackend> backend) {
  const std::string& where = config.name;
  if (config.key_fields.empty() || config.key_fields.size() != config.key_columns.size()) {
    return MakeError(ErrorCode::kSpecInvalidValue,
                     fmt::format("{} key field(s) for {} key column(s): give one field per key "
                                 "column",
                                 config.key_fields.size(), config.key_columns.size()),
                     where);
  }
  if (config.columns.empty()) {
    return MakeError(ErrorCode::kSpecMissingKey, "an enrichment needs at least one column", where);
  }
  if (config.max_in_flight == 0 || config.max_keys_per_lookup == 0 || config.timeout_ms <= 0 ||
      config.cache_ttl_ms < 0) {
    return MakeError(ErrorCode::kSpecInvalidValue,
                     "max_in_flight, max_keys_per_lookup and timeout must be positive", where);
  }
  std::vector<std::string> names;
  for (const Field& field : config.input_schema) names.push_back(field.name);
  std::vector<size_t> key_indices;
  for (const std::string& key : config.key_fields) {
    auto found = std::find(names.begin(), names.end(), key);
    if (found == names.end()) {
      std::string suggestion = SuggestClosest(key, names);
      return MakeError(
          ErrorCode::kSpecUnknownReference,
          suggestion.empty()
              ? fmt::format("unknown key field '{}'", key)
              : fmt::format("unknown key field '{}' (did you mean '{}'?)", key, suggestion),
          where);
    }
    key_indices.push_back(static_cast<size_t>(found - names.begin()));
  }
  Schema output_schema = config.input_schema;
  for (const EnrichColumn& column : config.columns) {
    if (std::find(names.begin(), names.end(), column.name) != names.end()) {
      return MakeError(ErrorCode::kSpecDuplicateName,
                       fmt::format("the column '{}' is already a field of the input or of the "
                                   "enrichment",
                                   column.name),
                       where);
    }
    names.push_back(column.name);
    output_schema.push_back({column.name, MakeNullable(column.type)});
  }
  Result<Schema> dead_schema = DeadLetterSchema(config.input_schema);
  if (!dead_schema.ok()) {
    Error error = dead_schema.error();
    error.where = where;
    return error;
  }
  return std::unique_ptr<EnrichOperator>(
      new EnrichOperator(std::move(config), std::move(backend), std::move(key_indices),
                         std::move(output_schema), std::move(*dead_schema)));
}

Result<std::unique_ptr<OperatorState>> EnrichOperator::CreateState(const OperatorContext&) const {
  return std::unique_ptr<OperatorState>(CreateEnrichState(SteadyMilliseconds));
}

std::unique_ptr<EnrichState> EnrichOperator::CreateEnrichState(EnrichState::Clock clock) const {
  return std::make_unique<EnrichState>(config_, std::move(clock));
}

std::string EnrichOperator::NormalizedKey(const std::vector<std::string>& parts) const {
  // The backend writes keys its own way (PostgreSQL "10.5", ClickHouse "10.50"): reading them
  // into the key field's type and writing them back gives the text the batch's keys have.
  std::string key;
  for (size_t i = 0; i < parts.size() && i < key_indices_.size(); ++i) {
    if (i > 0) key += kKeySeparator;
    Column column(config_.input_schema[key_indices_[i]].type.Storage());
    if (AppendTextValue(parts[i], column).ok()) {
      key += ValueToText(column, 0);
    } else {
      key += parts[i];
    }
  }
  return key;
}

Status EnrichOperator::Process(OperatorState& state_base, Batch& input, Emitter& out) const {
  auto& state = static_cast<EnrichState&>(state_base);
  size_t rows = input.num_rows();
  if (rows == 0) return {};
  int64_t now = state.clock_();
  std::vector<std::string> row_keys(rows);
  std::vector<uint8_t> null_key(rows, 0);
  Resolved resolved;
  std::vector<std::vector<std::string>> missing;
  std::vector<std::string> missing_keys;
  std::unordered_set<std::string> seen;
  std::vector<std::string> parts(key_indices_.size());
  for (size_t row = 0; row < rows; ++row) {
    std::string& key = row_keys[row];
    for (size_t i = 0; i < key_indices_.size(); ++i) {
      const Column& column = input.column(key_indices_[i]);
      if (column.IsNull(row)) {
        null_key[row] = 1;
        break;
      }
      parts[i] = ValueToText(column, row);
      if (i > 0) key += kKeySeparator;
      key += parts[i];
    }
    if (null_key[row] != 0 || !seen.insert(key).second) continue;
    if (std::shared_ptr<const CachedRow> cached = state.cache_.Get(key, now)) {
      resolved.rows.emplace(key, std::move(cached));
      state.cache_hits_.fetch_add(1, std::memory_order_relaxed);
    } else {
      missing.push_back(parts);
      missing_keys.push_back(key);
      state.cache_misses_.fetch_add(1, std::memory_order_relaxed);
    }
  }

  std::vector<uint8_t> selected(rows, 1);
  if (!config_.ordered && !missing.empty()) {
    // Unordered: what the cache answered leaves now, before waiting for the lookups.
    std::vector<uint8_t> ready(rows, 0);
    bool any = false;
    for (size_t row = 0; row < rows; ++row) {
      ready[row] = null_key[row] != 0 || resolved.rows.count(row_keys[row]) != 0;
      selected[row] = !ready[row];
      any = any || ready[row] != 0;
    }
    if (any) EmitRows(input, ready, row_keys, resolved, out);
  }

  // Chunks run up to max_in_flight at a time; chunk c starts in wave c / max_in_flight, so its
  // deadline allows for the waves before it.
  struct Pending {
    std::future<Result<std::vector<LookupRow>>> answer;
    size_t begin = 0;
    size_t end = 0;
    std::chrono::steady_clock::time_point deadline;
  };
  std::vector<Pending> pending;
  auto start = std::chrono::steady_clock::now();
  for (size_t begin = 0; begin < missing.size(); begin += config_.max_keys_per_lookup) {
    size_t end = std::min(missing.size(), begin + config_.max_keys_per_lookup);
    auto promise = std::make_shared<std::promise<Result<std::vector<LookupRow>>>>();
    size_t wave = pending.size() / config_.max_in_flight;
    pending.push_back(
        {promise->get_future(), begin, end,
         start + std::chrono::milliseconds(config_.timeout_ms * static_cast<int64_t>(wave + 1))});
    std::vector<std::vector<std::string>> keys(missing.begin() + static_cast<ptrdiff_t>(begin),
                                               missing.begin() + static_cast<ptrdiff_t>(end));
    boost::asio::post(state.pool_, [promise, backend = backend_, keys = std::move(keys),
                                    timeout = config_.timeout_ms] {
      promise->set_value(backend->Lookup(keys, timeout));
    });
    state.lookups_.fetch_add(1, std::memory_order_relaxed);
  }
  std::unordered_map<std::string, size_t> missing_index;
  for (size_t i = 0; i < missing_keys.size(); ++i) missing_index.emplace(missing_keys[i], i);
  auto not_found = std::make_shared<const CachedRow>();
  for (Pending& lookup : pending) {
    Error error;
    bool failed = false;
    if (lookup.answer.wait_until(lookup.deadline) != std::future_status::ready) {
      failed = true;
      error = MakeError(ErrorCode::kLookupTimeout, fmt::format("lookup in {} timed out after {} ms",
                                                               config_.table, config_.timeout_ms));
    } else {
      Result<std::vector<LookupRow>> answer = lookup.answer.get();
      if (!answer.ok()) {
        failed = true;
        error = answer.error();
      } else {
        for (LookupRow& row : *answer) {
          std::string key = NormalizedKey(row.key);
          auto index = missing_index.find(key);
          if (index == missing_index.end() || index->second < lookup.begin ||
              index->second >= lookup.end) {
            continue;  // a row for another key (composite keys match each part separately)
          }
          auto cached = std::make_shared<CachedRow>();
          cached->found = true;
          cached->values = std::move(row.values);
          state.cache_.Put(key, cached, now);
          resolved.rows[key] = std::move(cached);
        }
        for (size_t i = lookup.begin; i < lookup.end; ++i) {
          if (resolved.rows.count(missing_keys[i]) != 0) continue;
          state.cache_.Put(missing_keys[i], not_found, now);
          resolved.rows.emplace(missing_keys[i], not_found);
        }
      }
    }
    if (!failed) continue;
    if (error.code == ErrorCode::kLookupTimeout) {
      state.timeouts_.fetch_add(1, std::memory_order_relaxed);
    } else {
      state.lookup_errors_.fetch_add(1, std::memory_order_relaxed);
    }
    switch (config_.fallback) {
      case LookupFallback::kFail:
        error.where = config_.name;
        return error;
      case LookupFallback::kNull:
        for (size_t i = lookup.begin; i < lookup.end; ++i) {
          resolved.rows.emplace(missing_keys[i], not_found);
        }
        break;
      case LookupFallback::kDeadLetter:
        for (size_t i = lookup.begin; i < lookup.end; ++i) {
          resolved.failed.emplace(missing_keys[i], error.message);
        }
        break;
    }
  }
  EmitRows(input, selected, row_keys, resolved, out);
  return {};
}

void EnrichOperator::EmitRows(Batch& input, const std::vector<uint8_t>& selected,
                              const std::vector<std::string>& row_keys, const Resolved& resolved,
                              Emitter& out) const {
  size_t rows = input.num_rows();
  size_t added = config_.columns.size();
  size_t input_fields = config_.input_schema.size();
  std::vector<Column> values;
  for (size_t j = 0; j < added; ++j) values.emplace_back(output_schema_[input_fields + j].type);
  std::vector<RowError> dead;
  std::vector<uint8_t> keep(rows, 0);
  std::vector<uint8_t> keep_chosen;
  for (size_t row = 0; row < rows; ++row) {
    if (selected[row] == 0) continue;
    size_t at = keep_chosen.size();
    keep_chosen.push_back(1);
    keep[row] = 1;
    const CachedRow* cached = nullptr;
    auto failed = resolved.failed.find(row_keys[row]);
    if (failed != resolved.failed.end()) {
      dead.push_back({row, ErrorCode::kRecordLookupFailed, failed->second});
    } else if (auto found = resolved.rows.find(row_keys[row]); found != resolved.rows.end()) {
      cached = found->second.get();
    }
    for (size_t j = 0; j < added; ++j) {
      Column& column = values[j];
      if (cached == nullptr || !cached->found || !cached->values[j]) {
        column.AppendNull();
        continue;
      }
      std::string_view text = *cached->values[j];
      // PostgreSQL writes booleans as t / f.
      if (column.storage().kind == TypeKind::kBool && (text == "t" || text == "f")) {
        text = text == "t" ? "true" : "false";
      }
      Status appended = AppendTextValue(text, column);
      if (!appended.ok()) {
        column.Truncate(at);
        column.AppendNull();
        if (dead.empty() || dead.back().row != row) {
          dead.push_back({row, appended.error().code,
                          fmt::format("column '{}' from {}: {}", config_.columns[j].name,
                                      config_.table, appended.error().message)});
        }
      }
    }
    if (!dead.empty() && dead.back().row == row) {
      keep_chosen[at] = 0;
      keep[row] = 0;
    }
  }
  if (!dead.empty()) out.Emit(1, DeadLetterBatch(input, dead_schema_, dead));
  size_t kept = static_cast<size_t>(std::count(keep.begin(), keep.end(), uint8_t{1}));
  if (kept == 0) return;
  Batch enriched(output_schema_);
  if (kept == rows) {
    // Every row leaves in this one batch: the input's columns are moved, not copied.
    for (size_t i = 0; i < input_fields; ++i) enriched.column(i) = std::move(input.column(i));
  } else {
    Batch part = input;
    part.Filter(keep);
    for (size_t i = 0; i < input_fields; ++i) enriched.column(i) = std::move(part.column(i));
  }
  for (size_t j = 0; j < added; ++j) {
    if (!dead.empty()) values[j].Filter(keep_chosen);
    enriched.column(input_fields + j) = std::move(values[j]);
  }
  out.Emit(0, std::move(enriched));
}

}  // namespace sluice
