#include "operators/window/window_operator.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <numeric>
#include <sstream>

#include "base/clock.h"
#include "state/posix_file.h"

namespace sluice {
namespace {

constexpr int64_t kMaxTime = std::numeric_limits<int64_t>::max();
constexpr size_t kDueChunk = 64 * 1024;
constexpr std::string_view kMetaFile = "window_meta";

int64_t FloorDiv(int64_t value, int64_t divisor) {
  int64_t quotient = value / divisor;
  return (value % divisor != 0 && (value < 0) != (divisor < 0)) ? quotient - 1 : quotient;
}

int64_t SaturatingAdd(int64_t a, int64_t b) {
  int64_t sum;
  if (__builtin_add_overflow(a, b, &sum)) return b > 0 ? kMaxTime : kNoTimer;
  return sum;
}

Error ConfigError(const WindowOperatorConfig& config, std::string message) {
  return MakeError(ErrorCode::kSpecInvalidValue, std::move(message),
                   "window '" + config.name + "'");
}

/// Milliseconds per unit of a time column, or the divisor for sub-millisecond DateTime64.
struct TimeScale {
  int64_t multiply = 1;
  int64_t divide = 1;
};

Result<TimeScale> ScaleOf(const DataType& type) {
  switch (type.kind) {
    case TypeKind::kDate:
    case TypeKind::kDate32:
      return TimeScale{86'400'000, 1};
    case TypeKind::kDateTime:
      return TimeScale{1000, 1};
    case TypeKind::kDateTime64: {
      TimeScale scale;
      for (int p = type.precision; p < 3; ++p) scale.multiply *= 10;
      for (int p = 3; p < type.precision; ++p) scale.divide *= 10;
      return scale;
    }
    default:
      return MakeError(ErrorCode::kSpecInvalidValue, "");
  }
}

std::string_view KindName(WindowKind kind) {
  switch (kind) {
    case WindowKind::kTumbling:
      return "tumbling";
    case WindowKind::kHopping:
      return "hopping";
    case WindowKind::kSession:
      return "session";
    case WindowKind::kGlobal:
      return "global";
  }
  return "";
}

const DataType* FieldType(const Schema& schema, const std::string& name) {
  for (const Field& field : schema) {
    if (field.name == name) return &field.type;
  }
  return nullptr;
}

/// One line naming everything a snapshot's bytes depend on: key fields and their types, event
/// or processing time, the windows, and each aggregate with its input type. Parallelism, state
/// backend, lateness and filters are not in it: a savepoint may change those.
std::string DescribeState(const WindowOperatorConfig& config) {
  auto type_of = [&](const std::string& name) {
    const DataType* type = FieldType(config.input_schema, name);
    return type == nullptr ? std::string("?") : type->ToString();
  };
  std::string out = "keys (";
  for (size_t i = 0; i < config.key_fields.size(); ++i) {
    if (i > 0) out += ", ";
    out += config.key_fields[i] + " " + type_of(config.key_fields[i]);
  }
  out += "); ";
  out += config.time_field.empty() ? "processing time" : "event time";
  out += "; " + std::string(KindName(config.kind)) + " window";
  switch (config.kind) {
    case WindowKind::kTumbling:
      out += " size " + std::to_string(config.size_ms) + " ms";
      break;
    case WindowKind::kHopping:
      out += " size " + std::to_string(config.size_ms) + " ms slide " +
             std::to_string(config.slide_ms) + " ms";
      break;
    case WindowKind::kSession:
      out += " gap " + std::to_string(config.gap_ms) + " ms";
      break;
    case WindowKind::kGlobal:
      break;
  }
  out += "; aggregates (";
  for (size_t i = 0; i < config.aggregates.size(); ++i) {
    const AggregateCall& call = config.aggregates[i];
    if (i > 0) out += ", ";
    out += call.output + " = " + call.function + "(";
    if (!call.field.empty()) out += call.field + " " + type_of(call.field);
    out += ")";
    if (call.function == "quantile") out += " level " + fmt::format("{}", call.level);
    if (call.function == "top_k") out += " k " + std::to_string(call.k);
  }
  out += ")";
  // Keys are split into key groups differently: a snapshot of either kind restores only into
  // the same.
  if (config.key_grouping.by_partition()) out += "; key groups by partition";
  return out;
}

}  // namespace

WindowState::WindowState(OperatorContext context, std::unique_ptr<WindowStore> store, Clock clock)
    : context_(std::move(context)), store_(std::move(store)), clock_(std::move(clock)) {}

WindowOperator::WindowOperator(WindowOperatorConfig config, KeyEncoder encoder,
                               std::shared_ptr<const AggregateLayout> layout, Schema output_schema)
    : config_(std::move(config)),
      encoder_(std::move(encoder)),
      layout_(std::move(layout)),
      output_schema_(std::move(output_schema)),
      state_description_(DescribeState(config_)) {
  if (!processing_time()) {
    for (size_t i = 0; i < config_.input_schema.size(); ++i) {
      if (config_.input_schema[i].name == config_.time_field) time_column_ = i;
    }
  }
}

Result<std::unique_ptr<WindowOperator>> WindowOperator::Make(WindowOperatorConfig config) {
  if (config.name.empty()) {
    return MakeError(ErrorCode::kSpecMissingKey, "a window operator needs a name");
  }
  switch (config.kind) {
    case WindowKind::kTumbling:
      if (config.size_ms <= 0) return ConfigError(config, "size must be positive");
      break;
    case WindowKind::kHopping:
      if (config.size_ms <= 0) return ConfigError(config, "size must be positive");
      if (config.slide_ms <= 0 || config.slide_ms > config.size_ms) {
        return ConfigError(config, "slide must be positive and at most the size (" +
                                       std::to_string(config.size_ms) + " ms)");
      }
      break;
    case WindowKind::kSession:
      if (config.gap_ms <= 0) return ConfigError(config, "gap must be positive");
      break;
    case WindowKind::kGlobal:
      if (config.trigger_count == 0 && config.trigger_interval_ms <= 0) {
        return ConfigError(config,
                           "a global window needs a count trigger, an interval trigger or both");
      }
      if (config.trigger_interval_ms < 0) {
        return ConfigError(config, "trigger interval must not be negative");
      }
      break;
  }
  if (config.allowed_lateness_ms < 0) {
    return ConfigError(config, "allowed lateness must not be negative");
  }
  if (!config.time_field.empty()) {
    auto it = std::find_if(config.input_schema.begin(), config.input_schema.end(),
                           [&](const Field& field) { return field.name == config.time_field; });
    if (it == config.input_schema.end()) {
      return MakeError(ErrorCode::kSpecUnknownReference,
                       "time field '" + config.time_field + "' is not a field of the input",
                       "window '" + config.name + "'");
    }
    if (it->type.kind == TypeKind::kNullable) {
      return ConfigError(config, "time field '" + config.time_field + "' is " +
                                     it->type.ToString() +
                                     ": a record without a time fits no window; make the field "
                                     "required (not Nullable)");
    }
    if (!ScaleOf(it->type.Storage()).ok()) {
      return ConfigError(config, "time field '" + config.time_field + "' has type " +
                                     it->type.ToString() +
                                     "; it must be Date, Date32, DateTime or DateTime64");
    }
  }
  Result<KeyEncoder> encoder = KeyEncoder::Make(config.input_schema, config.key_fields);
  if (!encoder.ok()) {
    return MakeError(encoder.error().code, encoder.error().message, "window '" + config.name + "'");
  }
  if (config.key_grouping.by_partition()) {
    // The partition number leads every key: a fixed-width integer of the grouping's width.
    const DataType* first = config.key_fields.empty()
                                ? nullptr
                                : FieldType(config.input_schema, config.key_fields.front());
    bool integer =
        first != nullptr && first->kind >= TypeKind::kInt8 && first->kind <= TypeKind::kUInt64;
    if (!integer || Column::FixedWidth(*first) != config.key_grouping.partition_width) {
      return ConfigError(config,
                         "state that follows Kafka partitions needs the partition number, a "
                         "non-nullable integer field, as the first key field");
    }
  }
  Result<std::shared_ptr<const AggregateLayout>> layout =
      AggregateLayout::Make(config.input_schema, config.aggregates);
  if (!layout.ok()) {
    return MakeError(layout.error().code, layout.error().message, "window '" + config.name + "'");
  }

  Schema output;
  for (size_t column : encoder->key_columns()) output.push_back(config.input_schema[column]);
  DataType time_type;
  time_type.kind = TypeKind::kDateTime64;
  time_type.precision = 3;
  output.push_back({"window_start", time_type});
  output.push_back({"window_end", time_type});
  for (size_t i = 0; i < (*layout)->size(); ++i) {
    output.push_back({config.aggregates[i].output, (*layout)->function(i).result_type()});
  }
  DataType version_type;
  version_type.kind = TypeKind::kUInt64;
  DataType deleted_type;
  deleted_type.kind = TypeKind::kUInt8;
  output.push_back({"_version", version_type});
  output.push_back({"_is_deleted", deleted_type});
  for (size_t i = 0; i < output.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (output[i].name == output[j].name) {
        return MakeError(ErrorCode::kSpecDuplicateName,
                         "output column '" + output[i].name + "' is defined twice",
                         "window '" + config.name + "'");
      }
    }
  }
  return std::unique_ptr<WindowOperator>(new WindowOperator(
      std::move(config), std::move(encoder).value(), std::move(layout).value(), std::move(output)));
}

Result<std::unique_ptr<OperatorState>> WindowOperator::CreateState(
    const OperatorContext& context) const {
  std::unique_ptr<WindowStore> store;
  if (config_.backend == StateBackendKind::kMemory) {
    store = MakeMemoryWindowStore(
        layout_, context.state_directory.empty() ? "" : context.state_directory + "/window_chain",
        config_.key_grouping);
  } else {
    if (context.state_directory.empty()) {
      return ConfigError(config_, "the RocksDB state backend needs a state directory");
    }
    Result<std::unique_ptr<WindowStore>> opened = MakeRocksDbWindowStore(
        layout_, context.state_directory + "/window_state", config_.key_grouping);
    if (!opened.ok()) return opened.error();
    store = std::move(opened).value();
  }
  auto state =
      std::unique_ptr<WindowState>(new WindowState(context, std::move(store), WallClockMillis));
  if (config_.key_grouping.by_partition())
    state->group_watermarks_.assign(kKeyGroupCount, kNoTimer);
  return std::unique_ptr<OperatorState>(std::move(state));
}

size_t WindowOperator::WindowsPerRecord() const {
  if (config_.kind != WindowKind::kHopping) return 1;
  return static_cast<size_t>((config_.size_ms + config_.slide_ms - 1) / config_.slide_ms);
}

bool WindowOperator::TooLate(const WindowState& state, int64_t end) const {
  return SaturatingAdd(end - 1, config_.allowed_lateness_ms) <= state.watermark_;
}

void WindowOperator::ComputeTimes(WindowState& state, const Batch& input) const {
  size_t rows = input.num_rows();
  state.times_.resize(rows);
  if (processing_time()) {
    // A record is never late in processing time: it belongs after every window already fired.
    int64_t now = std::max(state.clock_(), SaturatingAdd(state.watermark_, 1));
    std::fill(state.times_.begin(), state.times_.end(), now);
    return;
  }
  const Column& column = input.column(time_column_);
  TimeScale scale = ScaleOf(column.storage()).value();
  bool narrow = Column::FixedWidth(column.storage()) == 4;
  for (size_t row = 0; row < rows; ++row) {
    int64_t value = narrow ? column.FixedAt<int32_t>(row) : column.FixedAt<int64_t>(row);
    state.times_[row] = scale.divide == 1 ? value * scale.multiply : FloorDiv(value, scale.divide);
  }
}

void WindowOperator::Reschedule(WindowState& state, KeyState& key_state,
                                WindowEntry& window) const {
  int64_t fire = window.end - 1;
  int64_t timer = fire > state.watermark_ ? fire : SaturatingAdd(fire, config_.allowed_lateness_ms);
  if (timer == window.timer) return;
  window.timer = timer;
  state.store_->Schedule(key_state, timer, window.start);
}

namespace {

void MarkPending(std::vector<KeyState*>& pending, KeyState& key_state) {
  if (key_state.pending_fire) return;
  key_state.pending_fire = true;
  pending.push_back(&key_state);
}

}  // namespace

Status WindowOperator::ResolveKeys(WindowState& state, const Batch& input) const {
  // Lateness depends on time alone: too-late rows are marked before any key is looked up, so
  // they create no state.
  size_t rows = input.num_rows();
  for (size_t row = 0; row < rows; ++row) {
    int64_t time = state.times_[row];
    int64_t latest_end = kMaxTime;
    switch (config_.kind) {
      case WindowKind::kTumbling:
        latest_end = FloorDiv(time, config_.size_ms) * config_.size_ms + config_.size_ms;
        break;
      case WindowKind::kHopping:
        latest_end = FloorDiv(time, config_.slide_ms) * config_.slide_ms + config_.size_ms;
        break;
      case WindowKind::kSession:
        latest_end = SaturatingAdd(time, config_.gap_ms);
        break;
      case WindowKind::kGlobal:
        latest_end = kMaxTime;
        break;
    }
    state.late_[row] = TooLate(state, latest_end) ? 1 : 0;
  }
  // Keys are encoded into one buffer, then looked up together: the memory store overlaps the
  // cache misses of many lookups, the RocksDB store reads each key once.
  state.key_buffer_.clear();
  state.key_ends_.clear();
  for (size_t row = 0; row < rows; ++row) {
    if (state.late_[row] == 0) {
      encoder_.Encode(input, row, state.key_bytes_);
      state.key_buffer_ += state.key_bytes_;
    }
    state.key_ends_.push_back(state.key_buffer_.size());
  }
  state.keys_.clear();
  size_t begin = 0;
  for (size_t row = 0; row < rows; ++row) {
    if (state.late_[row] == 0) {
      state.keys_.emplace_back(state.key_buffer_.data() + begin, state.key_ends_[row] - begin);
    }
    begin = state.key_ends_[row];
  }
  state.resolved_.clear();
  Status acquired = state.store_->AcquireAll(state.keys_, state.resolved_);
  if (!acquired.ok()) return acquired;
  state.key_states_.assign(rows, nullptr);
  size_t next = 0;
  for (size_t row = 0; row < rows; ++row) {
    if (state.late_[row] == 0) state.key_states_[row] = state.resolved_[next++];
  }
  return {};
}

Status WindowOperator::AssignFixedWindows(WindowState& state, const Batch& input) const {
  int64_t size = config_.size_ms;
  int64_t slide = config_.kind == WindowKind::kHopping ? config_.slide_ms : size;
  size_t per_record = WindowsPerRecord();
  WindowStore& store = *state.store_;
  for (size_t row = 0; row < input.num_rows(); ++row) {
    int64_t time = state.times_[row];
    if (state.late_[row] != 0) continue;
    int64_t last_start = FloorDiv(time, slide) * slide;
    KeyState& key_state = *state.key_states_[row];
    for (size_t j = 0; j < per_record; ++j) {
      int64_t start = last_start - static_cast<int64_t>(j) * slide;
      int64_t end = start + size;
      // Windows past their lateness keep the scratch place: the record counts only in the
      // windows still open.
      if (end <= time || TooLate(state, end)) break;
      WindowEntry* window = key_state.Find(start);
      if (window == nullptr) {
        WindowEntry created;
        created.start = start;
        created.end = end;
        created.states = store.arena().New();
        key_state.windows.push_back(created);
        window = &key_state.windows.back();
        Reschedule(state, key_state, *window);
      }
      ++window->count;
      state.places_[j][row] = window->states;
      if (end - 1 <= state.watermark_) MarkPending(state.pending_, key_state);
    }
  }
  return {};
}

Status WindowOperator::AssignGlobal(WindowState& state, const Batch& input) const {
  WindowStore& store = *state.store_;
  int64_t interval = config_.trigger_interval_ms;
  for (size_t row = 0; row < input.num_rows(); ++row) {
    int64_t time = state.times_[row];
    KeyState& key_state = *state.key_states_[row];
    if (key_state.windows.empty()) {
      WindowEntry created;
      created.start = 0;
      created.end = SaturatingAdd(time, 1);
      created.states = store.arena().New();
      key_state.windows.push_back(created);
    }
    WindowEntry& window = key_state.windows.front();
    window.end = std::max(window.end, SaturatingAdd(time, 1));
    ++window.count;
    state.places_[0][row] = window.states;
    if (window.timer == kNoTimer) {
      // Interval triggers fire at the end of the interval the first unfired record falls in;
      // without one, the window fires by count and once more at the end of the input.
      window.timer = interval > 0 ? SaturatingAdd(FloorDiv(time, interval) * interval, interval - 1)
                                  : kMaxTime;
      store.Schedule(key_state, window.timer, window.start);
    }
    if (config_.trigger_count > 0) MarkPending(state.pending_, key_state);
  }
  return {};
}

Status WindowOperator::AssignSessions(WindowState& state, const Batch& input, Batch& output) const {
  // A record opens [t, t + gap) and merges with every window of its key that it touches (Flink's
  // rule: touching windows merge). Merged-away windows' blocks are freed during the pass, so rows
  // point at a session id, resolved to the surviving window's block once all merges are done.
  struct Session {
    KeyState* key_state;
    int64_t start;
    uint32_t parent;
  };
  std::vector<Session> sessions;
  std::map<std::pair<KeyState*, int64_t>, uint32_t> session_of;
  std::vector<uint32_t> row_session(input.num_rows(), 0);
  auto root = [&](uint32_t id) {
    while (sessions[id].parent != id) {
      sessions[id].parent = sessions[sessions[id].parent].parent;
      id = sessions[id].parent;
    }
    return id;
  };
  auto id_of = [&](KeyState* key_state, int64_t start) {
    auto [it, inserted] = session_of.try_emplace({key_state, start}, 0);
    if (inserted) {
      it->second = static_cast<uint32_t>(sessions.size());
      sessions.push_back({key_state, start, it->second});
    }
    return it->second;
  };

  WindowStore& store = *state.store_;
  int64_t gap = config_.gap_ms;
  std::vector<size_t> touching;
  for (size_t row = 0; row < input.num_rows(); ++row) {
    int64_t time = state.times_[row];
    if (state.late_[row] != 0) continue;
    int64_t end = SaturatingAdd(time, gap);
    KeyState& key_state = *state.key_states_[row];
    auto& windows = key_state.windows;
    touching.clear();
    int64_t new_start = time;
    int64_t new_end = end;
    for (size_t i = 0; i < windows.size(); ++i) {
      if (windows[i].start <= end && windows[i].end >= time) {
        touching.push_back(i);
        new_start = std::min(new_start, windows[i].start);
        new_end = std::max(new_end, windows[i].end);
      }
    }
    if (touching.empty()) {
      WindowEntry created;
      created.start = time;
      created.end = end;
      created.states = store.arena().New();
      windows.push_back(created);
      touching.push_back(windows.size() - 1);
    }
    // The survivor keeps the merged start if one of the windows already has it, so its row in
    // the table is updated rather than deleted and written again.
    size_t survivor = touching.front();
    for (size_t i : touching) {
      if (windows[i].start == new_start) survivor = i;
    }
    uint32_t survivor_id = id_of(&key_state, windows[survivor].start);
    survivor_id = root(survivor_id);
    for (size_t i : touching) {
      const WindowEntry& window = windows[i];
      if (window.start != new_start && window.emitted_version > 0) {
        // Its row at the old start is superseded: a delete row outranks every version emitted
        // for it (those are at most its count).
        AppendRow(key_state, window, window.count + 1, true, output);
      }
    }
    for (size_t i : touching) {
      if (i == survivor) continue;
      const WindowEntry& window = windows[i];
      layout_->Merge(windows[survivor].states, window.states);
      windows[survivor].count += window.count;
      auto found = session_of.find({&key_state, window.start});
      if (found != session_of.end()) {
        sessions[root(found->second)].parent = survivor_id;
        session_of.erase(found);
      }
    }
    // Remove merged windows, highest index first so the others keep their place.
    std::sort(touching.begin(), touching.end(), std::greater<>());
    WindowEntry merged = windows[survivor];
    for (size_t i : touching) {
      if (i != survivor) store.arena().Delete(windows[i].states);
      windows.erase(windows.begin() + static_cast<std::ptrdiff_t>(i));
    }
    if (merged.start != new_start) {
      // Timers name a window by its start: one set for the old start would find nothing.
      session_of.erase({&key_state, merged.start});
      merged.emitted_version = 0;
      merged.timer = kNoTimer;
    }
    merged.start = new_start;
    merged.end = new_end;
    ++merged.count;
    windows.push_back(merged);
    session_of[{&key_state, new_start}] = survivor_id;
    sessions[survivor_id].start = new_start;
    row_session[row] = survivor_id;
    Reschedule(state, key_state, windows.back());
    if (new_end - 1 <= state.watermark_) MarkPending(state.pending_, key_state);
  }
  for (size_t row = 0; row < input.num_rows(); ++row) {
    if (state.late_[row] != 0) continue;
    const Session& session = sessions[root(row_session[row])];
    state.places_[0][row] = session.key_state->Find(session.start)->states;
  }
  return {};
}

void WindowOperator::AppendRow(const KeyState& key_state, const WindowEntry& window,
                               uint64_t version, bool deleted, Batch& output) const {
  // Key columns are decoded from KeyEncoder's bytes: a null flag, then the fixed-width value or a
  // 4-byte length and the bytes.
  std::string_view key = key_state.key;
  size_t column = 0;
  for (size_t input_column : encoder_.key_columns()) {
    Column& out = output.column(column++);
    bool present = key.front() != '\0';
    key.remove_prefix(1);
    if (!present) {
      out.AppendNull();
      continue;
    }
    const DataType& storage = config_.input_schema[input_column].type.Storage();
    size_t width = Column::FixedWidth(storage);
    if (storage.kind == TypeKind::kFixedString || width == 0) {
      size_t length = width;
      if (width == 0) {
        uint32_t prefix;
        std::memcpy(&prefix, key.data(), 4);
        key.remove_prefix(4);
        length = prefix;
      }
      out.AppendString(key.substr(0, length));
      key.remove_prefix(length);
      continue;
    }
    switch (width) {
      case 1:
        out.AppendFixed(static_cast<uint8_t>(key[0]));
        break;
      case 2: {
        uint16_t value;
        std::memcpy(&value, key.data(), 2);
        out.AppendFixed(value);
        break;
      }
      case 4: {
        uint32_t value;
        std::memcpy(&value, key.data(), 4);
        out.AppendFixed(value);
        break;
      }
      case 8: {
        uint64_t value;
        std::memcpy(&value, key.data(), 8);
        out.AppendFixed(value);
        break;
      }
      default: {
        Int128 value;
        std::memcpy(&value, key.data(), 16);
        out.AppendFixed(value);
        break;
      }
    }
    key.remove_prefix(width);
  }
  output.column(column++).AppendFixed<int64_t>(window.start);
  output.column(column++).AppendFixed<int64_t>(window.end);
  for (size_t i = 0; i < layout_->size(); ++i) {
    layout_->function(i).Finalize(window.states + layout_->offset(i), output.column(column++));
  }
  output.column(column++).AppendFixed<uint64_t>(version);
  output.column(column).AppendFixed<uint8_t>(deleted ? 1 : 0);
}

void WindowOperator::FirePending(WindowState& state, Batch& output) const {
  for (KeyState* key_state : state.pending_) {
    key_state->pending_fire = false;
    for (WindowEntry& window : key_state->windows) {
      bool fire;
      if (config_.kind == WindowKind::kGlobal) {
        uint64_t every = config_.trigger_count;
        fire = window.count / every > window.emitted_version / every;
      } else {
        fire = window.end - 1 <= state.watermark_ && window.count > window.emitted_version;
      }
      if (!fire) continue;
      AppendRow(*key_state, window, window.count, false, output);
      window.emitted_version = window.count;
    }
  }
  state.pending_.clear();
}

Status WindowOperator::Process(OperatorState& base, Batch& input, Emitter& out) const {
  WindowState& state = static_cast<WindowState&>(base);
  size_t rows = input.num_rows();
  if (rows == 0) return {};
  if (config_.key_grouping.by_partition()) {
    // One partition's records: they are late, and fire, by that partition's watermark.
    Result<uint32_t> group = BatchKeyGroup(input);
    if (!group.ok()) return group.error();
    state.watermark_ = state.group_watermarks_[*group];
  }
  ComputeTimes(state, input);
  state.late_.assign(rows, 0);
  // Rows that aggregate into no window (too late, or a hopping window already freed) add to a
  // scratch block that is thrown away.
  char* scratch = state.store_->arena().New();
  state.places_.resize(WindowsPerRecord());
  for (std::vector<char*>& places : state.places_) places.assign(rows, scratch);

  Batch output(output_schema_);
  Status assigned = ResolveKeys(state, input);
  if (assigned.ok()) {
    switch (config_.kind) {
      case WindowKind::kTumbling:
      case WindowKind::kHopping:
        assigned = AssignFixedWindows(state, input);
        break;
      case WindowKind::kSession:
        assigned = AssignSessions(state, input, output);
        break;
      case WindowKind::kGlobal:
        assigned = AssignGlobal(state, input);
        break;
    }
  }
  if (assigned.ok()) {
    for (size_t i = 0; i < layout_->size(); ++i) {
      size_t column = layout_->input_column(i);
      const Column* values = column == SIZE_MAX ? nullptr : &input.column(column);
      for (const std::vector<char*>& places : state.places_) {
        layout_->function(i).AddBatch(places.data(), layout_->offset(i), values,
                                      state.times_.data(), rows);
      }
    }
    FirePending(state, output);
  }
  state.store_->arena().Delete(scratch);
  if (!assigned.ok()) return assigned;

  size_t late = static_cast<size_t>(std::count(state.late_.begin(), state.late_.end(), 1));
  if (output.num_rows() > 0) out.Emit(0, std::move(output));
  if (late > 0) {
    state.late_records_ += late;
    Batch late_rows = input;
    late_rows.Filter(state.late_);
    out.Emit(1, std::move(late_rows));
  }
  return state.store_->Flush();
}

Result<uint32_t> WindowOperator::BatchKeyGroup(const Batch& input) const {
  const Column& partitions = input.column(encoder_.key_columns().front());
  size_t width = config_.key_grouping.partition_width;
  const char* values = reinterpret_cast<const char*>(partitions.values().data());
  for (size_t row = 1; row < input.num_rows(); ++row) {
    if (std::memcmp(values, values + row * width, width) != 0) {
      return MakeError(ErrorCode::kInternal,
                       "a batch holds records of several partitions; with key groups by "
                       "partition each batch must hold one partition's",
                       "window '" + config_.name + "'");
    }
  }
  std::string key;
  encoder_.Encode(input, 0, key);
  return config_.key_grouping.Of(key);
}

Status WindowOperator::FireDue(WindowState& state, int64_t limit, Emitter& out,
                               std::optional<uint32_t> key_group) const {
  WindowStore& store = *state.store_;
  while (true) {
    state.due_.clear();
    Status popped = store.PopDue(limit, kDueChunk, state.due_, key_group);
    if (!popped.ok()) return popped;
    if (state.due_.empty()) return {};
    Batch output(output_schema_);
    for (size_t i = 0; i < output.num_columns(); ++i) output.column(i).Reserve(state.due_.size());
    for (const DueTimer& due : state.due_) {
      KeyState& key_state = *due.key_state;
      WindowEntry* window = key_state.Find(due.start);
      if (window == nullptr || window->timer != due.timer) continue;
      window->timer = kNoTimer;
      if (window->count > window->emitted_version) {
        AppendRow(key_state, *window, window->count, false, output);
        window->emitted_version = window->count;
      }
      if (config_.kind == WindowKind::kGlobal) continue;
      int64_t free_at = SaturatingAdd(window->end - 1, config_.allowed_lateness_ms);
      if (free_at <= limit) {
        store.arena().Delete(window->states);
        key_state.windows.erase(key_state.windows.begin() + (window - key_state.windows.data()));
      } else {
        window->timer = free_at;
        store.Schedule(key_state, free_at, window->start);
      }
    }
    if (output.num_rows() > 0) out.Emit(0, std::move(output));
    Status flushed = store.Flush();
    if (!flushed.ok()) return flushed;
  }
}

Status WindowOperator::OnWatermark(OperatorState& base, int64_t watermark_ms, Emitter& out) const {
  WindowState& state = static_cast<WindowState&>(base);
  // Key groups by partition fire on their own watermarks only (OnKeyGroupWatermark).
  if (config_.key_grouping.by_partition()) return {};
  if (processing_time() || watermark_ms <= state.watermark_) return {};
  state.watermark_ = watermark_ms;
  return FireDue(state, watermark_ms, out);
}

Status WindowOperator::OnProcessingTime(OperatorState& base, int64_t now_ms, Emitter& out) const {
  WindowState& state = static_cast<WindowState&>(base);
  if (!processing_time() || now_ms <= state.watermark_) return {};
  state.watermark_ = now_ms;
  return FireDue(state, now_ms, out);
}

Status WindowOperator::OnKeyGroupWatermark(OperatorState& base, uint32_t key_group,
                                           int64_t watermark_ms, Emitter& out) const {
  WindowState& state = static_cast<WindowState&>(base);
  if (!config_.key_grouping.by_partition()) return OnWatermark(base, watermark_ms, out);
  int64_t& group_watermark = state.group_watermarks_[key_group % kKeyGroupCount];
  if (processing_time() || watermark_ms <= group_watermark) return {};
  group_watermark = watermark_ms;
  state.watermark_ = watermark_ms;
  return FireDue(state, watermark_ms, out, key_group);
}

Status WindowOperator::OnEndOfInput(OperatorState& base, Emitter& out) const {
  WindowState& state = static_cast<WindowState&>(base);
  std::fill(state.group_watermarks_.begin(), state.group_watermarks_.end(), kMaxTime);
  state.watermark_ = kMaxTime;
  return FireDue(state, kMaxTime, out);
}

Status WindowOperator::Snapshot(const OperatorState& state, const std::string& directory) const {
  Result<SnapshotCompletion> completion = BeginSnapshot(state, directory);
  if (!completion.ok()) return completion.error();
  return *completion ? (*completion)() : Status();
}

Result<Operator::SnapshotCompletion> WindowOperator::BeginSnapshot(
    const OperatorState& base, const std::string& directory) const {
  const WindowState& state = static_cast<const WindowState&>(base);
  Result<std::function<Status()>> stored = state.store_->BeginSnapshot(directory);
  if (!stored.ok()) return stored.error();
  const KeyGroupRange& groups = state.context_.key_groups;
  std::string meta = "watermark " + std::to_string(state.watermark_) + "\nkey_groups " +
                     std::to_string(groups.begin) + " " + std::to_string(groups.end) + "\nstate " +
                     state_description_ + "\n";
  if (!state.group_watermarks_.empty()) {
    meta += "group_watermarks";
    for (uint32_t group = groups.begin; group < groups.end; ++group) {
      if (state.group_watermarks_[group] == kNoTimer) continue;
      meta += " " + std::to_string(group) + ":" + std::to_string(state.group_watermarks_[group]);
    }
    meta += "\n";
  }
  return SnapshotCompletion(
      [store_rest = std::move(*stored), directory, meta = std::move(meta)]() -> Status {
        if (store_rest) {
          if (Status written = store_rest(); !written.ok()) return written;
        }
        return WriteFileAtomically(directory, std::string(kMetaFile), meta);
      });
}

Result<WindowOperator::SnapshotMeta> WindowOperator::ReadMeta(const std::string& directory) const {
  std::string path = directory + "/" + std::string(kMetaFile);
  std::ifstream file(path);
  std::string word;
  SnapshotMeta meta;
  if (!(file >> word >> meta.watermark) || word != "watermark") {
    return MakeError(ErrorCode::kWindowStateCorrupt,
                     "the window snapshot's meta file is missing or unreadable", path);
  }
  // Snapshots written before the key-group range and the state description were recorded
  // lack them: such a snapshot may hold any key group and is read whole.
  for (std::string line; std::getline(file >> std::ws, line);) {
    std::istringstream fields(line);
    fields >> word;
    if (word == "key_groups") {
      if (!(fields >> meta.key_groups.begin >> meta.key_groups.end) ||
          meta.key_groups.begin >= meta.key_groups.end || meta.key_groups.end > kKeyGroupCount) {
        return MakeError(ErrorCode::kWindowStateCorrupt,
                         "the window snapshot's key-group range is unreadable: " + line, path);
      }
    } else if (word == "group_watermarks") {
      uint32_t group = 0;
      char colon = 0;
      int64_t watermark = 0;
      while (fields >> group >> colon >> watermark) {
        if (colon != ':' || group >= kKeyGroupCount) break;
        meta.group_watermarks.emplace_back(group, watermark);
      }
      if (!fields.eof()) {
        return MakeError(ErrorCode::kWindowStateCorrupt,
                         "the window snapshot's group watermarks are unreadable: " + line, path);
      }
    } else if (word == "state") {
      std::string described = line.substr(std::min(line.size(), word.size() + 1));
      if (described != state_description_) {
        return MakeError(ErrorCode::kSavepointMismatch,
                         "window '" + config_.name + "' was saved with " + described +
                             "; the pipeline now has " + state_description_ +
                             ". A savepoint restores only into the same keys, time, windows "
                             "and aggregates (parallelism and state backend may change)",
                         path);
      }
    }
  }
  return meta;
}

Status WindowOperator::CheckSnapshots(const std::vector<std::string>& directories) const {
  for (const std::string& directory : directories) {
    if (Result<SnapshotMeta> meta = ReadMeta(directory); !meta.ok()) return meta.error();
  }
  return {};
}

Status WindowOperator::Restore(OperatorState& base,
                               const std::vector<std::string>& directories) const {
  WindowState& state = static_cast<WindowState&>(base);
  const KeyGroupRange& mine = state.context_.key_groups;
  // The restored watermark is the lowest of the old subtasks': no key becomes late that was not
  // late before; sources replay from their positions and raise it again.
  int64_t watermark = kMaxTime;
  std::vector<StateSnapshot> snapshots;
  for (const std::string& directory : directories) {
    Result<SnapshotMeta> meta = ReadMeta(directory);
    if (!meta.ok()) return meta.error();
    watermark = std::min(watermark, meta->watermark);
    // Snapshots of other key groups hold nothing for this subtask.
    if (meta->key_groups.end <= mine.begin || meta->key_groups.begin >= mine.end) continue;
    snapshots.push_back({directory, meta->key_groups});
    RestoreGroupWatermarks(state, *meta, mine);
  }
  if (!directories.empty()) state.watermark_ = watermark;
  return state.store_->Restore(snapshots, mine);
}

void WindowOperator::RestoreGroupWatermarks(WindowState& state, const SnapshotMeta& meta,
                                            KeyGroupRange key_groups) const {
  if (state.group_watermarks_.empty()) return;
  for (const auto& [group, watermark] : meta.group_watermarks) {
    if (key_groups.Contains(group)) state.group_watermarks_[group] = watermark;
  }
}

Status WindowOperator::DropKeyGroup(OperatorState& base, uint32_t key_group) const {
  WindowState& state = static_cast<WindowState&>(base);
  if (!state.group_watermarks_.empty()) {
    state.group_watermarks_[key_group % kKeyGroupCount] = kNoTimer;
  }
  return state.store_->DropKeyGroups({key_group, key_group + 1});
}

Status WindowOperator::AdoptKeyGroup(OperatorState& base, uint32_t key_group,
                                     const std::vector<std::string>& directories) const {
  WindowState& state = static_cast<WindowState&>(base);
  std::vector<StateSnapshot> snapshots;
  for (const std::string& directory : directories) {
    Result<SnapshotMeta> meta = ReadMeta(directory);
    if (!meta.ok()) return meta.error();
    if (!meta->key_groups.Contains(key_group)) continue;
    snapshots.push_back({directory, meta->key_groups});
    // The group goes on from its previous owner's watermark: its records replayed from the
    // committed offset are late, or not, exactly as they were there.
    RestoreGroupWatermarks(state, *meta, {key_group, key_group + 1});
  }
  return state.store_->AddKeyGroups(snapshots, {key_group, key_group + 1});
}

}  // namespace sluice
