#include "operators/window/window_operator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <thread>
#include <variant>

namespace sluice {
namespace {

// Every case runs on both state backends: the same input must give the same rows.

DataType Type(std::string_view text) {
  Result<DataType> type = ParseDataType(text);
  if (!type.ok()) throw SetupError(type.error());
  return *type;
}

/// Input events: (user, event time in ms, amount).
struct Event {
  std::string user;
  int64_t ms;
  int64_t amount;
};

Schema EventSchema() {
  return {{"user", Type("String")}, {"ts", Type("DateTime64(3)")}, {"amount", Type("Int64")}};
}

Batch MakeBatch(const std::vector<Event>& events) {
  Batch batch(EventSchema());
  for (const Event& event : events) {
    batch.column(0).AppendString(event.user);
    batch.column(1).AppendFixed<int64_t>(event.ms);
    batch.column(2).AppendFixed<int64_t>(event.amount);
  }
  return batch;
}

std::string CellText(const Column& column, size_t row) {
  if (column.IsNull(row)) return "NULL";
  switch (column.storage().kind) {
    case TypeKind::kInt8:
      return std::to_string(column.FixedAt<int8_t>(row));
    case TypeKind::kInt16:
      return std::to_string(column.FixedAt<int16_t>(row));
    case TypeKind::kInt32:
      return std::to_string(column.FixedAt<int32_t>(row));
    case TypeKind::kInt64:
    case TypeKind::kDateTime64:
    case TypeKind::kDateTime:
      return std::to_string(column.FixedAt<int64_t>(row));
    case TypeKind::kUInt8:
    case TypeKind::kBool:
      return std::to_string(column.FixedAt<uint8_t>(row));
    case TypeKind::kUInt16:
      return std::to_string(column.FixedAt<uint16_t>(row));
    case TypeKind::kUInt32:
      return std::to_string(column.FixedAt<uint32_t>(row));
    case TypeKind::kUInt64:
      return std::to_string(column.FixedAt<uint64_t>(row));
    case TypeKind::kFloat64: {
      std::ostringstream text;
      text << column.FixedAt<double>(row);
      return text.str();
    }
    case TypeKind::kString:
      return std::string(column.StringAt(row));
    default:
      return "?";
  }
}

/// One output row as text: "a [0, 10000) count=2 total=15 v2", with " deleted" for a delete row.
std::vector<std::string> RowTexts(const Batch& batch) {
  std::vector<std::string> rows;
  const Schema& schema = batch.schema();
  for (size_t row = 0; row < batch.num_rows(); ++row) {
    std::string text;
    size_t start = 0;
    while (schema[start].name != "window_start") {
      text += (start == 0 ? "" : ",") + CellText(batch.column(start), row);
      ++start;
    }
    text += " [" + CellText(batch.column(start), row) + ", " +
            CellText(batch.column(start + 1), row) + ")";
    size_t version = schema.size() - 2;
    for (size_t i = start + 2; i < version; ++i) {
      text += " " + schema[i].name + "=" + CellText(batch.column(i), row);
    }
    text += " v" + CellText(batch.column(version), row);
    if (batch.column(version + 1).FixedAt<uint8_t>(row) != 0) text += " deleted";
    rows.push_back(text);
  }
  return rows;
}

/// Collects what an operator emits, port by port.
class Collector final : public Emitter {
 public:
  void Emit(size_t port, Batch batch) override {
    if (port == 0) {
      for (std::string& row : RowTexts(batch)) rows.push_back(std::move(row));
    } else {
      for (size_t row = 0; row < batch.num_rows(); ++row) {
        late.push_back(CellText(batch.column(0), row) + "@" + CellText(batch.column(1), row));
      }
    }
  }
  /// Rows emitted since the last call, sorted (order within one firing is not specified).
  std::vector<std::string> Take() {
    std::vector<std::string> taken = std::move(rows);
    rows.clear();
    std::sort(taken.begin(), taken.end());
    return taken;
  }

  std::vector<std::string> rows;
  std::vector<std::string> late;
};

/// One step of a script: a batch of events, a watermark, or end of input.
struct Watermark {
  int64_t ms;
};
struct EndOfInput {};
using Step = std::variant<std::vector<Event>, Watermark, EndOfInput>;

/// What a ReplacingMergeTree(_version, _is_deleted) table shows with FINAL: per key and window
/// start, the row of the highest version, unless that row is a delete.
class FinalTable {
 public:
  void Add(const std::vector<std::string>& rows) {
    for (const std::string& row : rows) {
      size_t bracket = row.find(" [");
      size_t comma = row.find(',', bracket);
      std::string id = row.substr(0, comma);
      size_t v = row.rfind(" v");
      uint64_t version = std::stoull(row.substr(v + 2));
      auto [it, inserted] = rows_.try_emplace(id, version, row);
      if (!inserted && version >= it->second.first) it->second = {version, row};
    }
  }
  std::vector<std::string> Rows() const {
    std::vector<std::string> out;
    for (const auto& [id, entry] : rows_) {
      if (entry.second.find(" deleted") == std::string::npos) out.push_back(entry.second);
    }
    return out;
  }

 private:
  std::map<std::string, std::pair<uint64_t, std::string>> rows_;
};

class WindowOperatorTest : public ::testing::TestWithParam<StateBackendKind> {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    directory_ =
        std::filesystem::temp_directory_path() /
        ("sluice_window_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::create_directories(directory_);
  }
  void TearDown() override { std::filesystem::remove_all(directory_); }

  WindowOperatorConfig Config(WindowKind kind) const {
    WindowOperatorConfig config;
    config.name = "per_user";
    config.input_schema = EventSchema();
    config.key_fields = {"user"};
    config.time_field = "ts";
    config.kind = kind;
    config.aggregates = {{"count", "count", "", 0.5, 10}, {"sum", "total", "amount", 0.5, 10}};
    config.backend = GetParam();
    return config;
  }

  std::unique_ptr<WindowOperator> Build(const WindowOperatorConfig& config) const {
    Result<std::unique_ptr<WindowOperator>> built = WindowOperator::Make(config);
    if (!built.ok()) throw SetupError(built.error());
    return std::move(built).value();
  }

  /// A fresh state for subtask `subtask` of `parallelism`.
  std::unique_ptr<WindowState> NewState(const WindowOperator& op, uint32_t subtask = 0,
                                        uint32_t parallelism = 1) {
    OperatorContext context;
    context.pipeline = "test";
    context.operator_id = op.name();
    context.subtask = subtask;
    context.parallelism = parallelism;
    context.key_groups = KeyGroupsOfSubtask(subtask, parallelism);
    context.state_directory = (directory_ / ("state_" + std::to_string(states_++))).string();
    std::filesystem::create_directories(context.state_directory);
    Result<std::unique_ptr<OperatorState>> state = op.CreateState(context);
    if (!state.ok()) throw SetupError(state.error());
    return std::unique_ptr<WindowState>(static_cast<WindowState*>(state->release()));
  }

  static void Run(const WindowOperator& op, WindowState& state, const std::vector<Step>& steps,
                  Collector& out) {
    for (const Step& step : steps) {
      Status status;
      if (const auto* events = std::get_if<std::vector<Event>>(&step)) {
        Batch batch = MakeBatch(*events);
        status = op.Process(state, batch, out);
      } else if (const auto* watermark = std::get_if<Watermark>(&step)) {
        status = op.OnWatermark(state, watermark->ms, out);
      } else {
        status = op.OnEndOfInput(state, out);
      }
      ASSERT_TRUE(status.ok()) << status.error().ToString();
    }
  }

  /// Runs `steps` on one fresh subtask and returns every row emitted.
  std::vector<std::string> RunAll(const WindowOperatorConfig& config,
                                  const std::vector<Step>& steps) {
    std::unique_ptr<WindowOperator> op = Build(config);
    std::unique_ptr<WindowState> state = NewState(*op);
    Collector out;
    Run(*op, *state, steps, out);
    return out.Take();
  }

  std::string NewSnapshotDirectory() {
    std::string path = (directory_ / ("snapshot_" + std::to_string(states_++))).string();
    std::filesystem::create_directories(path);
    return path;
  }

  /// Runs the first half of `script` on `from` split over `before` subtasks, snapshots them,
  /// restores into `after` subtasks of `into`, runs the rest, and compares with one
  /// uninterrupted subtask of `into`.
  void ExpectRescaledRunEqualsUninterrupted(const WindowOperator& from, uint32_t before,
                                            const WindowOperator& into, uint32_t after,
                                            const std::vector<Step>& script);

  std::filesystem::path directory_;
  int states_ = 0;
};

using Rows = std::vector<std::string>;

/// The rows only one of two sorted lists holds, for readable failure messages.
std::string Difference(const Rows& left, const Rows& right) {
  Rows only_left;
  Rows only_right;
  std::set_difference(left.begin(), left.end(), right.begin(), right.end(),
                      std::back_inserter(only_left));
  std::set_difference(right.begin(), right.end(), left.begin(), left.end(),
                      std::back_inserter(only_right));
  std::string text = "only in the first:";
  for (const std::string& row : only_left) text += "\n  " + row;
  text += "\nonly in the second:";
  for (const std::string& row : only_right) text += "\n  " + row;
  return text;
}

/// Compares two row lists, printing only what differs.
void ExpectSameRows(const Rows& actual, const Rows& expected, const std::string& context) {
  EXPECT_TRUE(actual == expected) << context << ": " << Difference(actual, expected);
}

TEST_P(WindowOperatorTest, OutOfOrderEventsInsideTheBoundLandInTheirWindows) {
  std::unique_ptr<WindowOperator> op = Build([&] {
    WindowOperatorConfig config = Config(WindowKind::kTumbling);
    config.size_ms = 10'000;
    return config;
  }());
  std::unique_ptr<WindowState> state = NewState(*op);
  Collector out;
  Run(*op, *state,
      {std::vector<Event>{{"a", 1000, 5}, {"a", 12'000, 7}, {"b", 5000, 1}, {"a", 3000, 10}}}, out);
  EXPECT_EQ(out.Take(), Rows{}) << "nothing fires before the watermark";
  Run(*op, *state, {Watermark{9999}}, out);
  EXPECT_EQ(out.Take(),
            (Rows{"a [0, 10000) count=2 total=15 v2", "b [0, 10000) count=1 total=1 v1"}));
  Run(*op, *state, {std::vector<Event>{{"a", 11'000, 1}}, Watermark{19'999}}, out);
  EXPECT_EQ(out.Take(), (Rows{"a [10000, 20000) count=2 total=8 v2"}));
  EXPECT_EQ(state->late_records(), 0u);
  if (GetParam() == StateBackendKind::kMemory) {
    EXPECT_EQ(state->StateEntries(), 0u) << "windows past their lateness are freed";
  }
}

TEST_P(WindowOperatorTest, EventAtTheEndOfAWindowGoesToTheNext) {
  WindowOperatorConfig config = Config(WindowKind::kTumbling);
  config.size_ms = 10'000;
  EXPECT_EQ(RunAll(config, {std::vector<Event>{{"a", 9999, 1}, {"a", 10'000, 2}, {"a", 0, 4}},
                            Watermark{9999}, Watermark{19'999}}),
            (Rows{"a [0, 10000) count=2 total=5 v2", "a [10000, 20000) count=1 total=2 v1"}));
}

TEST_P(WindowOperatorTest, LateEventWithinAllowedLatenessUpdatesTheResultWithAHigherVersion) {
  WindowOperatorConfig config = Config(WindowKind::kTumbling);
  config.size_ms = 10'000;
  config.allowed_lateness_ms = 5000;
  std::unique_ptr<WindowOperator> op = Build(config);
  std::unique_ptr<WindowState> state = NewState(*op);
  Collector out;
  Run(*op, *state, {std::vector<Event>{{"a", 1000, 5}, {"a", 2000, 5}}, Watermark{12'000}}, out);
  EXPECT_EQ(out.Take(), (Rows{"a [0, 10000) count=2 total=10 v2"}));
  Run(*op, *state, {std::vector<Event>{{"a", 4000, 1}}}, out);
  EXPECT_EQ(out.Take(), (Rows{"a [0, 10000) count=3 total=11 v3"}))
      << "a late record fires its window again at once";
  Run(*op, *state, {Watermark{14'999}, std::vector<Event>{{"a", 5000, 1}}}, out);
  EXPECT_EQ(out.Take(), Rows{}) << "past end + lateness the window is gone";
  EXPECT_EQ(out.late, (std::vector<std::string>{"a@5000"}));
  EXPECT_EQ(state->late_records(), 1u);
}

TEST_P(WindowOperatorTest, TooLateEventsGoToTheLateOutputAndAreCounted) {
  WindowOperatorConfig config = Config(WindowKind::kTumbling);
  config.size_ms = 10'000;
  std::unique_ptr<WindowOperator> op = Build(config);
  std::unique_ptr<WindowState> state = NewState(*op);
  Collector out;
  Run(*op, *state,
      {std::vector<Event>{{"a", 1000, 1}}, Watermark{9999},
       std::vector<Event>{{"a", 9999, 2}, {"b", 10'000, 3}, {"c", 0, 4}}, EndOfInput{}},
      out);
  EXPECT_EQ(out.Take(),
            (Rows{"a [0, 10000) count=1 total=1 v1", "b [10000, 20000) count=1 total=3 v1"}));
  EXPECT_EQ(out.late, (std::vector<std::string>{"a@9999", "c@0"}));
  EXPECT_EQ(state->late_records(), 2u);
}

TEST_P(WindowOperatorTest, SessionsMergeWhenWithinTheGap) {
  WindowOperatorConfig config = Config(WindowKind::kSession);
  config.gap_ms = 1000;
  EXPECT_EQ(RunAll(config, {std::vector<Event>{{"a", 0, 1}, {"a", 2000, 2}, {"b", 500, 7}},
                            std::vector<Event>{{"a", 1000, 4}, {"a", 5000, 8}}, Watermark{10'000}}),
            (Rows{"a [0, 3000) count=3 total=7 v3", "a [5000, 6000) count=1 total=8 v1",
                  "b [500, 1500) count=1 total=7 v1"}))
      << "a@1000 touches [0, 1000) and [2000, 3000): the three merge";
}

TEST_P(WindowOperatorTest, LateRecordBridgingTwoFiredSessionsDeletesTheSupersededStart) {
  WindowOperatorConfig config = Config(WindowKind::kSession);
  config.gap_ms = 1000;
  config.allowed_lateness_ms = 10'000;
  std::unique_ptr<WindowOperator> op = Build(config);
  std::unique_ptr<WindowState> state = NewState(*op);
  Collector out;
  Run(*op, *state,
      {std::vector<Event>{{"a", 0, 1}, {"a", 500, 1}, {"a", 2500, 10}}, Watermark{4000}}, out);
  EXPECT_EQ(out.Take(),
            (Rows{"a [0, 1500) count=2 total=2 v2", "a [2500, 3500) count=1 total=10 v1"}));
  Run(*op, *state, {std::vector<Event>{{"a", 1500, 100}}}, out);
  EXPECT_EQ(out.Take(), (Rows{"a [0, 3500) count=4 total=112 v4",
                              "a [2500, 3500) count=1 total=10 v2 deleted"}));
  Run(*op, *state, {EndOfInput{}}, out);
  EXPECT_EQ(out.Take(), Rows{});
}

TEST_P(WindowOperatorTest, HoppingWindowsOverlap) {
  WindowOperatorConfig config = Config(WindowKind::kHopping);
  config.size_ms = 10'000;
  config.slide_ms = 5000;
  EXPECT_EQ(RunAll(config, {std::vector<Event>{{"a", 7000, 1}, {"a", 2000, 10}}, Watermark{9999},
                            Watermark{20'000}}),
            (Rows{"a [-5000, 5000) count=1 total=10 v1", "a [0, 10000) count=2 total=11 v2",
                  "a [5000, 15000) count=1 total=1 v1"}));
}

TEST_P(WindowOperatorTest, GlobalWindowFiresEveryCountRecordsPerKey) {
  WindowOperatorConfig config = Config(WindowKind::kGlobal);
  config.trigger_count = 3;
  std::vector<Step> steps;
  for (int64_t i = 1; i <= 7; ++i) steps.push_back(std::vector<Event>{{"a", i * 1000, i}});
  steps.push_back(std::vector<Event>{{"b", 500, 1}});
  steps.push_back(EndOfInput{});
  EXPECT_EQ(RunAll(config, steps),
            (Rows{"a [0, 3001) count=3 total=6 v3", "a [0, 6001) count=6 total=21 v6",
                  "a [0, 7001) count=7 total=28 v7", "b [0, 501) count=1 total=1 v1"}));
}

TEST_P(WindowOperatorTest, GlobalWindowIntervalTriggerFiresOnTheWatermark) {
  WindowOperatorConfig config = Config(WindowKind::kGlobal);
  config.trigger_interval_ms = 10'000;
  EXPECT_EQ(RunAll(config, {std::vector<Event>{{"a", 1000, 1}, {"a", 3000, 2}}, Watermark{9999},
                            Watermark{30'000}, std::vector<Event>{{"a", 31'000, 4}}, EndOfInput{}}),
            (Rows{"a [0, 3001) count=2 total=3 v2", "a [0, 31001) count=3 total=7 v3"}));
}

TEST_P(WindowOperatorTest, ProcessingTimeTumblingWindowsFireOnTheWallClock) {
  WindowOperatorConfig config = Config(WindowKind::kTumbling);
  config.time_field.clear();
  config.size_ms = 10'000;
  std::unique_ptr<WindowOperator> op = Build(config);
  std::unique_ptr<WindowState> state = NewState(*op);
  int64_t now = 1000;
  state->SetClock([&] { return now; });
  Collector out;
  Batch first = MakeBatch({{"a", 0, 1}, {"a", 0, 2}});
  ASSERT_TRUE(op->Process(*state, first, out).ok());
  ASSERT_TRUE(op->OnWatermark(*state, 50'000, out).ok());
  EXPECT_EQ(out.Take(), Rows{}) << "event-time watermarks do not drive processing time";
  ASSERT_TRUE(op->OnProcessingTime(*state, 9999, out).ok());
  EXPECT_EQ(out.Take(), (Rows{"a [0, 10000) count=2 total=3 v2"}));
  now = 12'000;
  Batch second = MakeBatch({{"a", 0, 4}});
  ASSERT_TRUE(op->Process(*state, second, out).ok());
  ASSERT_TRUE(op->OnEndOfInput(*state, out).ok());
  EXPECT_EQ(out.Take(), (Rows{"a [10000, 20000) count=1 total=4 v1"}));
  EXPECT_TRUE(out.late.empty());
}

TEST_P(WindowOperatorTest, EndOfInputFiresEveryOpenWindow) {
  WindowOperatorConfig config = Config(WindowKind::kTumbling);
  config.size_ms = 60'000;
  config.key_fields.clear();
  EXPECT_EQ(RunAll(config, {std::vector<Event>{{"a", 1000, 1}, {"b", 61'000, 2}, {"c", 2000, 3}},
                            EndOfInput{}}),
            (Rows{" [0, 60000) count=2 total=4 v2", " [60000, 120000) count=1 total=2 v1"}));
}

/// A longer mixed input: 40 users, events out of order, some late within the allowed lateness
/// and some too late, watermarks between batches. Used for the determinism and restore cases.
std::vector<Step> LongScript() {
  std::mt19937_64 random(42);
  std::vector<Step> steps;
  int64_t time = 0;
  for (int batch = 0; batch < 30; ++batch) {
    std::vector<Event> events;
    for (int i = 0; i < 50; ++i) {
      time += static_cast<int64_t>(random() % 300);
      // Mostly within the watermark's bound of 5 s; one in ten up to 20 s behind.
      int64_t jitter =
          static_cast<int64_t>(random() % 10 == 0 ? random() % 20'000 : random() % 8000);
      events.push_back({"user" + std::to_string(random() % 40), time - jitter,
                        static_cast<int64_t>(random() % 100)});
    }
    steps.push_back(events);
    steps.push_back(Watermark{time - 5000});
  }
  steps.push_back(EndOfInput{});
  return steps;
}

/// The same script with every batch cut into pieces of `piece` events.
std::vector<Step> Resplit(const std::vector<Step>& steps, size_t piece) {
  std::vector<Step> out;
  for (const Step& step : steps) {
    const auto* events = std::get_if<std::vector<Event>>(&step);
    if (events == nullptr) {
      out.push_back(step);
      continue;
    }
    for (size_t at = 0; at < events->size(); at += piece) {
      out.push_back(std::vector<Event>(
          events->begin() + static_cast<std::ptrdiff_t>(at),
          events->begin() + static_cast<std::ptrdiff_t>(std::min(at + piece, events->size()))));
    }
  }
  return out;
}

std::vector<WindowOperatorConfig> DeterminismConfigs(const WindowOperatorConfig& base) {
  std::vector<WindowOperatorConfig> configs;
  WindowOperatorConfig tumbling = base;
  tumbling.kind = WindowKind::kTumbling;
  tumbling.size_ms = 5000;
  tumbling.allowed_lateness_ms = 2000;
  configs.push_back(tumbling);
  WindowOperatorConfig hopping = tumbling;
  hopping.kind = WindowKind::kHopping;
  hopping.size_ms = 6000;
  hopping.slide_ms = 2000;
  configs.push_back(hopping);
  WindowOperatorConfig session = tumbling;
  session.kind = WindowKind::kSession;
  session.gap_ms = 700;
  session.allowed_lateness_ms = 3000;
  configs.push_back(session);
  return configs;
}

TEST_P(WindowOperatorTest, SameInputWithDifferentBatchSplitsGivesTheSameFinalRows) {
  std::vector<Step> script = LongScript();
  for (const WindowOperatorConfig& config : DeterminismConfigs(Config(WindowKind::kTumbling))) {
    FinalTable whole;
    whole.Add(RunAll(config, script));
    FinalTable single;
    single.Add(RunAll(config, Resplit(script, 1)));
    FinalTable sevens;
    sevens.Add(RunAll(config, Resplit(script, 7)));
    ASSERT_GT(whole.Rows().size(), 100u);
    std::string kind = "window kind " + std::to_string(static_cast<int>(config.kind));
    ExpectSameRows(whole.Rows(), single.Rows(), kind + ", one event per batch");
    ExpectSameRows(whole.Rows(), sevens.Rows(), kind + ", seven events per batch");
  }
}

TEST_P(WindowOperatorTest, EveryRecordIsCountedOnceOrSentToTheLateOutput) {
  std::vector<Step> script = LongScript();
  size_t events = 0;
  for (const Step& step : script) {
    if (const auto* batch = std::get_if<std::vector<Event>>(&step)) events += batch->size();
  }
  for (const WindowOperatorConfig& config : DeterminismConfigs(Config(WindowKind::kTumbling))) {
    if (config.kind == WindowKind::kHopping) continue;  // a record counts in several windows
    std::unique_ptr<WindowOperator> op = Build(config);
    std::unique_ptr<WindowState> state = NewState(*op);
    Collector out;
    Run(*op, *state, script, out);
    FinalTable table;
    table.Add(out.Take());
    size_t counted = 0;
    for (const std::string& row : table.Rows()) {
      size_t at = row.find("count=") + 6;
      counted += std::stoull(row.substr(at, row.find(' ', at) - at));
    }
    EXPECT_GT(out.late.size(), 0u) << "the script has too-late records";
    EXPECT_EQ(counted + out.late.size(), events) << static_cast<int>(config.kind);
  }
}

TEST_P(WindowOperatorTest, BothBackendsEmitTheSameRows) {
  std::vector<Step> script = LongScript();
  for (WindowOperatorConfig config : DeterminismConfigs(Config(WindowKind::kTumbling))) {
    config.backend = StateBackendKind::kMemory;
    Rows memory = RunAll(config, script);
    config.backend = StateBackendKind::kRocksDb;
    Rows rocksdb = RunAll(config, script);
    ExpectSameRows(memory, rocksdb, "window kind " + std::to_string(static_cast<int>(config.kind)));
  }
}

TEST_P(WindowOperatorTest, SnapshotRestoreAndContinueEqualsAnUninterruptedRun) {
  std::vector<Step> script = LongScript();
  size_t cut = script.size() / 2;
  for (const WindowOperatorConfig& config : DeterminismConfigs(Config(WindowKind::kTumbling))) {
    std::unique_ptr<WindowOperator> op = Build(config);
    Collector uninterrupted;
    std::unique_ptr<WindowState> reference = NewState(*op);
    Run(*op, *reference, script, uninterrupted);

    Collector resumed;
    std::unique_ptr<WindowState> before = NewState(*op);
    Run(*op, *before, std::vector<Step>(script.begin(), script.begin() + cut), resumed);
    std::string snapshot = NewSnapshotDirectory();
    ASSERT_TRUE(op->Snapshot(*before, snapshot).ok());
    before.reset();
    std::unique_ptr<WindowState> after = NewState(*op);
    Status restored = op->Restore(*after, {snapshot});
    ASSERT_TRUE(restored.ok()) << restored.error().ToString();
    EXPECT_GT(after->StateEntries(), 0u);
    Run(*op, *after, std::vector<Step>(script.begin() + cut, script.end()), resumed);
    ExpectSameRows(resumed.Take(), uninterrupted.Take(),
                   "window kind " + std::to_string(static_cast<int>(config.kind)));
    EXPECT_EQ(resumed.late, uninterrupted.late);
  }
}

/// Runs `script` over `states` (one per subtask of their count), sending each event to the
/// subtask that owns its key group, as the runtime does.
void RunPartitioned(const WindowOperator& op, const KeyEncoder& encoder,
                    std::vector<std::unique_ptr<WindowState>>& states,
                    const std::vector<Step>& script, Collector& out) {
  uint32_t parallelism = static_cast<uint32_t>(states.size());
  std::string key;
  for (const Step& step : script) {
    const auto* events = std::get_if<std::vector<Event>>(&step);
    if (events == nullptr) {
      for (auto& state : states) {
        Status status = std::holds_alternative<Watermark>(step)
                            ? op.OnWatermark(*state, std::get<Watermark>(step).ms, out)
                            : op.OnEndOfInput(*state, out);
        ASSERT_TRUE(status.ok()) << status.error().ToString();
      }
      continue;
    }
    std::vector<std::vector<Event>> parts(parallelism);
    Batch all = MakeBatch(*events);
    for (size_t row = 0; row < events->size(); ++row) {
      encoder.Encode(all, row, key);
      parts[SubtaskOfKeyGroup(KeyGroupOf(KeyHash(key)), parallelism)].push_back((*events)[row]);
    }
    for (uint32_t subtask = 0; subtask < parallelism; ++subtask) {
      Batch batch = MakeBatch(parts[subtask]);
      Status status = op.Process(*states[subtask], batch, out);
      ASSERT_TRUE(status.ok()) << status.error().ToString();
    }
  }
}

TEST_P(WindowOperatorTest, SnapshotOfTwoSubtasksRestoresIntoThreeWithTheSameResults) {
  std::vector<Step> script = LongScript();
  size_t cut = script.size() / 2;
  for (const WindowOperatorConfig& config : DeterminismConfigs(Config(WindowKind::kTumbling))) {
    std::unique_ptr<WindowOperator> op = Build(config);
    Result<KeyEncoder> encoder = KeyEncoder::Make(config.input_schema, config.key_fields);
    ASSERT_TRUE(encoder.ok());
    Collector uninterrupted;
    std::unique_ptr<WindowState> reference = NewState(*op);
    Run(*op, *reference, script, uninterrupted);

    Collector rescaled;
    std::vector<std::unique_ptr<WindowState>> two;
    for (uint32_t subtask = 0; subtask < 2; ++subtask) two.push_back(NewState(*op, subtask, 2));
    RunPartitioned(*op, *encoder, two, std::vector<Step>(script.begin(), script.begin() + cut),
                   rescaled);
    std::vector<std::string> snapshots;
    for (auto& state : two) {
      snapshots.push_back(NewSnapshotDirectory());
      ASSERT_TRUE(op->Snapshot(*state, snapshots.back()).ok());
    }
    two.clear();
    std::vector<std::unique_ptr<WindowState>> three;
    uint64_t entries = 0;
    for (uint32_t subtask = 0; subtask < 3; ++subtask) {
      three.push_back(NewState(*op, subtask, 3));
      Status restored = op->Restore(*three.back(), snapshots);
      ASSERT_TRUE(restored.ok()) << restored.error().ToString();
      entries += three.back()->StateEntries();
    }
    EXPECT_GT(entries, 0u);
    RunPartitioned(*op, *encoder, three, std::vector<Step>(script.begin() + cut, script.end()),
                   rescaled);
    ExpectSameRows(rescaled.Take(), uninterrupted.Take(),
                   "window kind " + std::to_string(static_cast<int>(config.kind)));
    std::sort(rescaled.late.begin(), rescaled.late.end());
    std::sort(uninterrupted.late.begin(), uninterrupted.late.end());
    EXPECT_EQ(rescaled.late, uninterrupted.late);
  }
}

void WindowOperatorTest::ExpectRescaledRunEqualsUninterrupted(const WindowOperator& from,
                                                              uint32_t before,
                                                              const WindowOperator& into,
                                                              uint32_t after,
                                                              const std::vector<Step>& script) {
  const WindowOperatorConfig& config = into.config();
  size_t cut = script.size() / 2;
  Result<KeyEncoder> encoder = KeyEncoder::Make(config.input_schema, config.key_fields);
  ASSERT_TRUE(encoder.ok());
  Collector uninterrupted;
  std::unique_ptr<WindowState> reference = NewState(into, 0, 1);
  Run(into, *reference, script, uninterrupted);

  Collector rescaled;
  std::vector<std::unique_ptr<WindowState>> old_states;
  for (uint32_t subtask = 0; subtask < before; ++subtask) {
    old_states.push_back(NewState(from, subtask, before));
  }
  RunPartitioned(from, *encoder, old_states,
                 std::vector<Step>(script.begin(), script.begin() + cut), rescaled);
  std::vector<std::string> snapshots;
  for (auto& old_state : old_states) {
    snapshots.push_back(NewSnapshotDirectory());
    ASSERT_TRUE(from.Snapshot(*old_state, snapshots.back()).ok());
  }
  old_states.clear();
  std::vector<std::unique_ptr<WindowState>> new_states;
  for (uint32_t subtask = 0; subtask < after; ++subtask) {
    new_states.push_back(NewState(into, subtask, after));
    Status restored = into.Restore(*new_states.back(), snapshots);
    ASSERT_TRUE(restored.ok()) << restored.error().ToString();
  }
  RunPartitioned(into, *encoder, new_states, std::vector<Step>(script.begin() + cut, script.end()),
                 rescaled);
  ExpectSameRows(rescaled.Take(), uninterrupted.Take(),
                 "window kind " + std::to_string(static_cast<int>(config.kind)));
  std::sort(rescaled.late.begin(), rescaled.late.end());
  std::sort(uninterrupted.late.begin(), uninterrupted.late.end());
  EXPECT_EQ(rescaled.late, uninterrupted.late);
}

TEST_P(WindowOperatorTest, SameParallelismRestoresEachSubtaskFromItsOwnSnapshot) {
  // The RocksDB store opens its own old checkpoint in place here instead of copying keys.
  for (const WindowOperatorConfig& config : DeterminismConfigs(Config(WindowKind::kTumbling))) {
    std::unique_ptr<WindowOperator> op = Build(config);
    ExpectRescaledRunEqualsUninterrupted(*op, 2, *op, 2, LongScript());
  }
}

TEST_P(WindowOperatorTest, SnapshotOfTheOtherBackendRestoresWithTheSameResults) {
  // Both backends encode a key's windows the same way: a savepoint may switch backends.
  for (const WindowOperatorConfig& config : DeterminismConfigs(Config(WindowKind::kTumbling))) {
    WindowOperatorConfig other = config;
    other.backend = config.backend == StateBackendKind::kMemory ? StateBackendKind::kRocksDb
                                                                : StateBackendKind::kMemory;
    std::unique_ptr<WindowOperator> from = Build(other);
    std::unique_ptr<WindowOperator> into = Build(config);
    for (uint32_t before : {1u, 2u}) {
      ExpectRescaledRunEqualsUninterrupted(*from, before, *into, 2, LongScript());
    }
  }
}

TEST_P(WindowOperatorTest, SnapshotOfOtherAggregatesIsRefusedAsAMismatch) {
  WindowOperatorConfig config = Config(WindowKind::kTumbling);
  config.size_ms = 10'000;
  std::unique_ptr<WindowOperator> op = Build(config);
  std::unique_ptr<WindowState> state = NewState(*op);
  Collector out;
  Run(*op, *state, {std::vector<Event>{{"a", 1000, 5}}}, out);
  std::string snapshot = NewSnapshotDirectory();
  ASSERT_TRUE(op->Snapshot(*state, snapshot).ok());

  config.aggregates.push_back({"max", "largest", "amount", 0.5, 10});
  std::unique_ptr<WindowOperator> changed = Build(config);
  std::unique_ptr<WindowState> restored = NewState(*changed);
  Status status = changed->Restore(*restored, {snapshot});
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kSavepointMismatch);
  EXPECT_NE(status.error().message.find("largest = max(amount Int64)"), std::string::npos)
      << status.error().message;

  // Parallelism and lateness are not part of what a snapshot must match.
  config = Config(WindowKind::kTumbling);
  config.size_ms = 10'000;
  config.allowed_lateness_ms = 5000;
  std::unique_ptr<WindowOperator> later = Build(config);
  std::unique_ptr<WindowState> two = NewState(*later, 1, 2);
  Status accepted = later->Restore(*two, {snapshot});
  EXPECT_TRUE(accepted.ok()) << accepted.error().ToString();
}

TEST_P(WindowOperatorTest, CorruptSnapshotIsRefusedWithItsCode) {
  WindowOperatorConfig config = Config(WindowKind::kTumbling);
  config.size_ms = 10'000;
  std::unique_ptr<WindowOperator> op = Build(config);
  std::unique_ptr<WindowState> state = NewState(*op);
  Collector out;
  Run(*op, *state, {std::vector<Event>{{"a", 1000, 5}}}, out);
  std::string snapshot = NewSnapshotDirectory();
  ASSERT_TRUE(op->Snapshot(*state, snapshot).ok());
  std::filesystem::remove(snapshot + "/window_meta");
  std::unique_ptr<WindowState> restored = NewState(*op);
  Status status = op->Restore(*restored, {snapshot});
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kWindowStateCorrupt);
}

TEST_P(WindowOperatorTest, StateSizeIsReported) {
  WindowOperatorConfig config = Config(WindowKind::kTumbling);
  config.size_ms = 10'000;
  std::unique_ptr<WindowOperator> op = Build(config);
  std::unique_ptr<WindowState> state = NewState(*op);
  Collector out;
  Run(*op, *state, {std::vector<Event>{{"a", 1000, 5}, {"b", 1000, 5}, {"a", 11'000, 1}}}, out);
  if (GetParam() == StateBackendKind::kMemory) {
    EXPECT_EQ(state->StateEntries(), 3u) << "three windows";
  }
  EXPECT_GT(state->StateBytes(), 0u);
}

constexpr auto kCopyAll =
    std::filesystem::copy_options::recursive | std::filesystem::copy_options::overwrite_existing;

/// The memory backend's incremental snapshots: a chain of pieces, one per snapshot, that a
/// restore composes (each piece replaces or removes keys of the ones before).
/// Records of Kafka partitions: (partition, user, event time), keyed by partition and user with
/// the partition as key group: the state a partition's records build moves with the partition.
Batch PartitionBatch(int32_t partition, const std::vector<std::pair<std::string, int64_t>>& rows) {
  Batch batch(
      {{"partition", Type("Int32")}, {"user", Type("String")}, {"ts", Type("DateTime64(3)")}});
  for (const auto& [user, ms] : rows) {
    batch.column(0).AppendFixed<int32_t>(partition);
    batch.column(1).AppendString(user);
    batch.column(2).AppendFixed<int64_t>(ms);
  }
  return batch;
}

/// One-second windows counting per partition and user, the partition (Int32) as key group.
WindowOperatorConfig PartitionConfig(StateBackendKind backend) {
  WindowOperatorConfig config;
  config.name = "per_partition_user";
  config.input_schema = PartitionBatch(0, {}).schema();
  config.key_fields = {"partition", "user"};
  config.time_field = "ts";
  config.size_ms = 1000;
  config.aggregates = {{"count", "count", "", 0.5, 10}};
  config.backend = backend;
  config.key_grouping.partition_width = 4;
  return config;
}

TEST_P(WindowOperatorTest, PartitionKeyGroupMovesToAnotherSubtaskWithItsOpenWindows) {
  std::unique_ptr<WindowOperator> op = Build(PartitionConfig(GetParam()));
  // Partition 1's windows [0, 1000) and [1000, 2000) are open when it moves.
  std::vector<Batch> before = {PartitionBatch(0, {{"a", 100}, {"b", 200}}),
                               PartitionBatch(1, {{"a", 150}, {"c", 1100}, {"c", 1200}})};
  std::vector<Batch> after = {PartitionBatch(1, {{"a", 900}, {"c", 1300}, {"d", 2500}}),
                              PartitionBatch(0, {{"a", 400}, {"b", 1500}})};

  Collector reference;
  std::unique_ptr<WindowState> one = NewState(*op);
  for (const std::vector<Batch>* part : {&before, &after}) {
    for (Batch batch : *part) ASSERT_TRUE(op->Process(*one, batch, reference).ok());
  }
  ASSERT_TRUE(op->OnEndOfInput(*one, reference).ok());

  // A holds both partitions, then hands partition 1 to B through a snapshot.
  Collector moved;
  std::unique_ptr<WindowState> a = NewState(*op);
  for (Batch batch : before) ASSERT_TRUE(op->Process(*a, batch, moved).ok());
  std::string snapshot = NewSnapshotDirectory();
  ASSERT_TRUE(op->Snapshot(*a, snapshot).ok());
  std::unique_ptr<WindowState> b = NewState(*op);
  Status adopted = op->AdoptKeyGroup(*b, 1, {snapshot});
  ASSERT_TRUE(adopted.ok()) << adopted.error().ToString();
  EXPECT_EQ(b->StateEntries(), 2u);  // (1,a) in [0, 1000), (1,c) in [1000, 2000)
  ASSERT_TRUE(op->DropKeyGroup(*a, 1).ok());
  ASSERT_TRUE(op->Process(*b, after[0], moved).ok());
  ASSERT_TRUE(op->Process(*a, after[1], moved).ok());
  ASSERT_TRUE(op->OnEndOfInput(*a, moved).ok());
  ASSERT_TRUE(op->OnEndOfInput(*b, moved).ok());
  ExpectSameRows(moved.Take(), reference.Take(), "partition 1 moved from A to B");

  // A's next snapshot (an incremental piece on the memory backend) no longer holds
  // partition 1: a restore of it fires only partition 0's windows.
  std::unique_ptr<WindowState> c = NewState(*op);
  std::unique_ptr<WindowState> a2 = NewState(*op);
  for (Batch batch : before) ASSERT_TRUE(op->Process(*a2, batch, moved).ok());
  ASSERT_TRUE(op->Snapshot(*a2, NewSnapshotDirectory()).ok());
  ASSERT_TRUE(op->DropKeyGroup(*a2, 1).ok());
  std::string after_drop = NewSnapshotDirectory();
  ASSERT_TRUE(op->Snapshot(*a2, after_drop).ok());
  ASSERT_TRUE(op->Restore(*c, {after_drop}).ok());
  Collector restored;
  ASSERT_TRUE(op->OnEndOfInput(*c, restored).ok());
  EXPECT_EQ(restored.Take(),
            (std::vector<std::string>{"0,a [0, 1000) count=1 v1", "0,b [0, 1000) count=1 v1"}));
}

TEST_P(WindowOperatorTest, EachPartitionKeyGroupIsLateAndFiresByItsOwnWatermark) {
  std::unique_ptr<WindowOperator> op = Build(PartitionConfig(GetParam()));
  std::unique_ptr<WindowState> a = NewState(*op);
  Collector out;
  Batch p0 = PartitionBatch(0, {{"a", 100}, {"a", 5100}});
  Batch p1 = PartitionBatch(1, {{"b", 200}});
  ASSERT_TRUE(op->Process(*a, p0, out).ok());
  ASSERT_TRUE(op->Process(*a, p1, out).ok());
  // Partition 0 is far ahead: only its own window fires; the subtask-wide watermark is ignored.
  ASSERT_TRUE(op->OnKeyGroupWatermark(*a, 0, 5000, out).ok());
  ASSERT_TRUE(op->OnWatermark(*a, 5000, out).ok());
  EXPECT_EQ(out.Take(), (std::vector<std::string>{"0,a [0, 1000) count=1 v1"}));
  // Partition 1 is behind: a record at 300 ms is on time there.
  Batch p1_more = PartitionBatch(1, {{"b", 300}});
  ASSERT_TRUE(op->Process(*a, p1_more, out).ok());
  EXPECT_TRUE(out.late.empty());
  ASSERT_TRUE(op->OnKeyGroupWatermark(*a, 1, 1500, out).ok());
  EXPECT_EQ(out.Take(), (std::vector<std::string>{"1,b [0, 1000) count=2 v2"}));

  // Partition 1 moves with its watermark: a record at 800 ms is as late at the new owner.
  std::string snapshot = NewSnapshotDirectory();
  ASSERT_TRUE(op->Snapshot(*a, snapshot).ok());
  std::unique_ptr<WindowState> b = NewState(*op);
  ASSERT_TRUE(op->AdoptKeyGroup(*b, 1, {snapshot}).ok());
  Batch p1_late = PartitionBatch(1, {{"b", 800}});
  ASSERT_TRUE(op->Process(*b, p1_late, out).ok());
  EXPECT_EQ(out.late, (std::vector<std::string>{"1@b"}));
}

class SnapshotChainTest : public WindowOperatorTest {
 protected:
  /// The pieces a snapshot's manifest lists.
  static size_t ChainLength(const std::string& snapshot) {
    std::ifstream manifest(snapshot + "/window_chain");
    size_t pieces = 0;
    for (std::string line; std::getline(manifest, line);) {
      if (line.rfind("piece ", 0) == 0) ++pieces;
    }
    return pieces;
  }

  static std::string PieceFile(const std::string& snapshot, size_t index) {
    std::ifstream manifest(snapshot + "/window_chain");
    size_t seen = 0;
    for (std::string line; std::getline(manifest, line);) {
      if (line.rfind("piece ", 0) != 0) continue;
      if (seen++ == index) return snapshot + "/" + line.substr(6, line.find(' ', 6) - 6);
    }
    return "";
  }

  /// Runs the script's first `cut` steps with a snapshot after every step, returning the
  /// snapshot folders (each a chain extending the one before, compacted now and then).
  std::vector<std::string> SnapshotEveryStep(const WindowOperator& op,
                                             const std::vector<Step>& script, size_t cut,
                                             Collector& out) {
    std::unique_ptr<WindowState> state = NewState(op);
    std::vector<std::string> snapshots;
    for (size_t step = 0; step < cut; ++step) {
      Run(op, *state, {script[step]}, out);
      snapshots.push_back(NewSnapshotDirectory());
      Status saved = op.Snapshot(*state, snapshots.back());
      EXPECT_TRUE(saved.ok()) << saved.error().ToString();
    }
    return snapshots;
  }

  /// Runs `script` with a snapshot after every step up to `barrier`, begins one more after it,
  /// runs the rest of the script while that snapshot's completion runs on another thread
  /// (`concurrent`) or only afterwards, and expects a run resumed from it to give `expected`.
  void ExpectSnapshotHoldsItsBarrier(const WindowOperator& op, const std::vector<Step>& script,
                                     size_t barrier, bool concurrent, const Rows& expected,
                                     const std::string& context) {
    std::string name = context + (concurrent ? ", written concurrently" : ", written afterwards") +
                       ", barrier after step " + std::to_string(barrier);
    std::unique_ptr<WindowState> state = NewState(op);
    Collector out;
    for (size_t step = 0; step < barrier; ++step) {
      Run(op, *state, {script[step]}, out);
      ASSERT_TRUE(op.Snapshot(*state, NewSnapshotDirectory()).ok()) << name;
    }
    Run(op, *state, {script[barrier]}, out);
    std::string snapshot = NewSnapshotDirectory();
    Result<Operator::SnapshotCompletion> completion = op.BeginSnapshot(*state, snapshot);
    ASSERT_TRUE(completion.ok()) << name << ": " << completion.error().ToString();
    ASSERT_TRUE(*completion) << name;
    Status written;
    std::thread writer;
    if (concurrent) writer = std::thread([&] { written = (*completion)(); });
    Run(op, *state,
        std::vector<Step>(script.begin() + static_cast<long>(barrier) + 1, script.end()), out);
    if (concurrent) {
      writer.join();
    } else {
      written = (*completion)();
    }
    ASSERT_TRUE(written.ok()) << name << ": " << written.error().ToString();

    Collector resumed;
    Run(op, *NewState(op),
        std::vector<Step>(script.begin(), script.begin() + static_cast<long>(barrier) + 1),
        resumed);
    ExpectSameRows(ResumeFrom(op, snapshot, script, barrier + 1, resumed), expected, name);
  }

  /// A fresh subtask restored from `snapshot` that runs the script from `from` to the end.
  Rows ResumeFrom(const WindowOperator& op, const std::string& snapshot,
                  const std::vector<Step>& script, size_t from, Collector& out) {
    std::unique_ptr<WindowState> state = NewState(op);
    Status restored = op.Restore(*state, {snapshot});
    EXPECT_TRUE(restored.ok()) << restored.error().ToString();
    Run(op, *state, std::vector<Step>(script.begin() + static_cast<long>(from), script.end()), out);
    return out.Take();
  }
};

TEST_P(SnapshotChainTest, IncrementalChainRestoresAsAFullSnapshotDoes) {
  std::vector<Step> script = LongScript();
  size_t cut = script.size() / 2;
  for (const WindowOperatorConfig& config : DeterminismConfigs(Config(WindowKind::kTumbling))) {
    std::string name = "window kind " + std::to_string(static_cast<int>(config.kind));
    std::unique_ptr<WindowOperator> op = Build(config);
    Collector uninterrupted;
    std::unique_ptr<WindowState> reference = NewState(*op);
    Run(*op, *reference, script, uninterrupted);
    Rows expected = uninterrupted.Take();

    Collector before;
    std::vector<std::string> snapshots = SnapshotEveryStep(*op, script, cut, before);
    size_t longest = 0;
    for (const std::string& snapshot : snapshots)
      longest = std::max(longest, ChainLength(snapshot));
    EXPECT_GT(longest, 1u) << name << ": no snapshot was incremental";
    EXPECT_EQ(ChainLength(snapshots.front()), 1u) << name << ": the first snapshot is a base";

    // Every snapshot of the run, chained or compacted, and taken before later ones compacted
    // the chain away, resumes to the uninterrupted run's rows.
    for (size_t taken : {size_t{0}, cut / 2, cut - 1}) {
      // The rows up to the snapshot, from a run without snapshots, then the resumed rest.
      Collector resumed;
      Run(*op, *NewState(*op),
          std::vector<Step>(script.begin(), script.begin() + static_cast<long>(taken) + 1),
          resumed);
      ExpectSameRows(ResumeFrom(*op, snapshots[taken], script, taken + 1, resumed), expected,
                     name + ", snapshot after step " + std::to_string(taken) + " (" +
                         std::to_string(ChainLength(snapshots[taken])) + " pieces)");
    }

    // The same chain read by the RocksDB backend and split over two subtasks.
    WindowOperatorConfig rocksdb_config = config;
    rocksdb_config.backend = StateBackendKind::kRocksDb;
    std::unique_ptr<WindowOperator> rocksdb = Build(rocksdb_config);
    Collector memory_out;
    Collector rocksdb_out;
    Rows from_memory = ResumeFrom(*op, snapshots[cut - 1], script, cut, memory_out);
    Rows from_rocksdb = ResumeFrom(*rocksdb, snapshots[cut - 1], script, cut, rocksdb_out);
    ExpectSameRows(from_rocksdb, from_memory, name + ", chain restored into RocksDB");
  }
}

// The capture is copy-on-write: the snapshot's completion encodes the keys on the writer thread
// while the subtask goes on with the records after the barrier, changing, firing and dropping
// keys the completion has not reached (the subtask encodes those itself first). Whether the
// completion runs only after the rest of the script or at the same time, the snapshot holds the
// state at its barrier: resuming from it gives the uninterrupted run's rows.
TEST_P(SnapshotChainTest, SnapshotHoldsTheStateAtItsBarrierWhileTheSubtaskGoesOn) {
  std::vector<Step> script = LongScript();
  for (const WindowOperatorConfig& config : DeterminismConfigs(Config(WindowKind::kTumbling))) {
    std::unique_ptr<WindowOperator> op = Build(config);
    Rows expected = RunAll(config, script);
    for (bool concurrent : {false, true}) {
      // A base (the first snapshot) and a delta (after incremental snapshots at every step).
      for (size_t barrier : {size_t{0}, script.size() / 2}) {
        ExpectSnapshotHoldsItsBarrier(
            *op, script, barrier, concurrent, expected,
            "window kind " + std::to_string(static_cast<int>(config.kind)));
      }
    }
  }
}

// The same with thousands of keys, so that the completion and the subtask may meet on them (which
// of the two encodes a key varies from run to run; each round is another chance): the subtask
// changes every key again, then fires every window and drops every key, while the completion
// writes the barrier's base or a delta of all of them.
TEST_P(SnapshotChainTest, SnapshotOfManyKeysHoldsItsBarrierWhileTheSubtaskGoesOn) {
  constexpr int kUsers = 6000;
  auto every_user = [&](int64_t ms, int64_t amount) {
    std::vector<Event> events;
    for (int user = 0; user < kUsers; ++user) {
      events.push_back({"user" + std::to_string(user), ms + user % 7, amount + user % 13});
    }
    return events;
  };
  std::vector<Step> script = {every_user(1'000, 1),  every_user(2'000, 2), every_user(3'000, 3),
                              every_user(61'000, 4), Watermark{60'500},    every_user(62'000, 5),
                              Watermark{200'000},    EndOfInput{}};
  WindowOperatorConfig config = Config(WindowKind::kTumbling);
  config.size_ms = 60'000;
  std::unique_ptr<WindowOperator> op = Build(config);
  Rows expected = RunAll(config, script);
  for (int round = 0; round < 3; ++round) {
    for (size_t barrier : {size_t{0}, size_t{1}}) {
      ExpectSnapshotHoldsItsBarrier(*op, script, barrier, true, expected,
                                    "round " + std::to_string(round));
    }
  }
  ExpectSnapshotHoldsItsBarrier(*op, script, 1, false, expected, "many keys");
}

// A completion dropped without running leaves a chain the next snapshot does not extend, and
// the subtask stops copying for it; a completion run after its store is gone fails rather than
// reading freed state.
TEST_P(SnapshotChainTest, DroppedOrOrphanedCompletionsAreSafe) {
  std::vector<Step> script = LongScript();
  std::unique_ptr<WindowOperator> op =
      Build(DeterminismConfigs(Config(WindowKind::kTumbling)).front());
  Collector uninterrupted;
  Run(*op, *NewState(*op), script, uninterrupted);
  Rows expected = uninterrupted.Take();

  std::unique_ptr<WindowState> state = NewState(*op);
  Collector out;
  size_t barrier = script.size() / 2;
  Run(*op, *state, std::vector<Step>(script.begin(), script.begin() + 2), out);
  ASSERT_TRUE(op->Snapshot(*state, NewSnapshotDirectory()).ok());
  {
    Result<Operator::SnapshotCompletion> dropped =
        op->BeginSnapshot(*state, NewSnapshotDirectory());
    ASSERT_TRUE(dropped.ok());
  }
  Run(*op, *state,
      std::vector<Step>(script.begin() + 2, script.begin() + static_cast<long>(barrier) + 1), out);
  std::string snapshot = NewSnapshotDirectory();
  ASSERT_TRUE(op->Snapshot(*state, snapshot).ok());
  EXPECT_EQ(ChainLength(snapshot), 1u) << "the snapshot after a dropped one is a base";
  Collector resumed;
  Run(*op, *NewState(*op),
      std::vector<Step>(script.begin(), script.begin() + static_cast<long>(barrier) + 1), resumed);
  ExpectSameRows(ResumeFrom(*op, snapshot, script, barrier + 1, resumed), expected,
                 "resumed from the base after a dropped completion");

  Result<Operator::SnapshotCompletion> orphan = op->BeginSnapshot(*state, NewSnapshotDirectory());
  ASSERT_TRUE(orphan.ok());
  state.reset();
  Status written = (*orphan)();
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error().code, ErrorCode::kCheckpointFailed) << written.error().ToString();
}

TEST_P(SnapshotChainTest, MissingOrTornPieceIsRefusedNotRestoredInPart) {
  // Forty keys, then a few changed per batch: the deltas stay small and the chain long (a chain
  // is compacted once its deltas hold more records than there are keys).
  std::vector<Step> script;
  std::vector<Event> first;
  for (int user = 0; user < 40; ++user) first.push_back({"user" + std::to_string(user), 1000, 1});
  script.push_back(first);
  for (int batch = 1; batch < 6; ++batch) {
    script.push_back(std::vector<Event>{{"user" + std::to_string(batch), 1000 + batch, 2},
                                        {"new" + std::to_string(batch), 1000 + batch, 3}});
  }
  WindowOperatorConfig config = Config(WindowKind::kTumbling);
  config.size_ms = 10'000;
  std::unique_ptr<WindowOperator> op = Build(config);
  Collector out;
  std::vector<std::string> snapshots = SnapshotEveryStep(*op, script, script.size(), out);
  const std::string& chained = snapshots.back();
  ASSERT_EQ(ChainLength(chained), 6u);
  auto expect_refused = [&](const std::string& snapshot, const std::string& what) {
    std::unique_ptr<WindowState> state = NewState(*op);
    Status status = op->Restore(*state, {snapshot});
    ASSERT_FALSE(status.ok()) << what;
    EXPECT_EQ(status.error().code, ErrorCode::kWindowSnapshotIncomplete)
        << what << ": " << status.error().ToString();
  };
  // The snapshots share their pieces (hard links): each case spoils another snapshot's copy.
  std::string copy_of = [&](const std::string& from) {
    std::string to = NewSnapshotDirectory();
    std::filesystem::copy(from, to, kCopyAll);
    return to;
  }(chained);
  std::filesystem::resize_file(PieceFile(copy_of, 1),
                               std::filesystem::file_size(PieceFile(copy_of, 1)) - 1);
  expect_refused(copy_of, "a torn delta");

  std::string missing = NewSnapshotDirectory();
  std::filesystem::copy(chained, missing, kCopyAll);
  std::filesystem::remove(PieceFile(missing, 0));
  expect_refused(missing, "a missing base");

  std::string flipped = NewSnapshotDirectory();
  std::filesystem::copy(chained, flipped, kCopyAll);
  {
    std::fstream piece(PieceFile(flipped, 2), std::ios::in | std::ios::out | std::ios::binary);
    piece.seekp(20);
    piece.put('\x7f');
  }
  expect_refused(flipped, "a changed byte in a delta");

  std::string no_manifest = NewSnapshotDirectory();
  std::filesystem::copy(chained, no_manifest, kCopyAll);
  std::filesystem::remove(no_manifest + "/window_chain");
  expect_refused(no_manifest, "no manifest");

  std::string cut_manifest = NewSnapshotDirectory();
  std::filesystem::copy(chained, cut_manifest, kCopyAll);
  std::filesystem::resize_file(cut_manifest + "/window_chain",
                               std::filesystem::file_size(cut_manifest + "/window_chain") - 6);
  expect_refused(cut_manifest, "a truncated manifest");

  // The untouched snapshot still restores.
  std::unique_ptr<WindowState> state = NewState(*op);
  Status status = op->Restore(*state, {chained});
  EXPECT_TRUE(status.ok()) << status.error().ToString();
}

INSTANTIATE_TEST_SUITE_P(Memory, SnapshotChainTest, ::testing::Values(StateBackendKind::kMemory),
                         [](const ::testing::TestParamInfo<StateBackendKind>&) {
                           return "Memory";
                         });

INSTANTIATE_TEST_SUITE_P(Backends, WindowOperatorTest,
                         ::testing::Values(StateBackendKind::kMemory, StateBackendKind::kRocksDb),
                         [](const ::testing::TestParamInfo<StateBackendKind>& info) {
                           return info.param == StateBackendKind::kMemory ? "Memory" : "RocksDb";
                         });

WindowOperatorConfig ValidConfig() {
  WindowOperatorConfig config;
  config.name = "w";
  config.input_schema = EventSchema();
  config.key_fields = {"user"};
  config.time_field = "ts";
  config.size_ms = 1000;
  config.aggregates = {{"count", "count", "", 0.5, 10}};
  return config;
}

Error MakeFails(const WindowOperatorConfig& config) {
  Result<std::unique_ptr<WindowOperator>> built = WindowOperator::Make(config);
  if (built.ok()) return MakeError(ErrorCode::kOk, "built");
  return built.error();
}

TEST(WindowOperatorConfigTest, BadSettingsAreNamedInTheError) {
  WindowOperatorConfig config = ValidConfig();
  ASSERT_TRUE(WindowOperator::Make(config).ok());

  config.size_ms = 0;
  Error error = MakeFails(config);
  EXPECT_EQ(error.code, ErrorCode::kSpecInvalidValue);
  EXPECT_NE(error.message.find("size"), std::string::npos);
  EXPECT_EQ(error.where, "window 'w'");

  config = ValidConfig();
  config.kind = WindowKind::kHopping;
  config.slide_ms = 2000;
  EXPECT_NE(MakeFails(config).message.find("slide"), std::string::npos);

  config = ValidConfig();
  config.kind = WindowKind::kGlobal;
  EXPECT_NE(MakeFails(config).message.find("trigger"), std::string::npos);

  config = ValidConfig();
  config.time_field = "amount";
  EXPECT_NE(MakeFails(config).message.find("must be Date"), std::string::npos);

  config = ValidConfig();
  config.time_field = "when";
  EXPECT_EQ(MakeFails(config).code, ErrorCode::kSpecUnknownReference);

  config = ValidConfig();
  config.input_schema[1].type = Type("Nullable(DateTime64(3))");
  EXPECT_NE(MakeFails(config).message.find("Nullable"), std::string::npos);

  config = ValidConfig();
  config.aggregates[0].output = "window_start";
  EXPECT_EQ(MakeFails(config).code, ErrorCode::kSpecDuplicateName);

  config = ValidConfig();
  config.key_fields = {"nobody"};
  EXPECT_EQ(MakeFails(config).code, ErrorCode::kSpecInvalidValue);
}

TEST(WindowOperatorConfigTest, PartitionKeyGroupsNeedTheIntegerPartitionAsFirstKey) {
  WindowOperatorConfig config = ValidConfig();
  config.key_grouping.partition_width = 8;
  Error error = MakeFails(config);  // the first key is the String user
  EXPECT_EQ(error.code, ErrorCode::kSpecInvalidValue);
  EXPECT_NE(error.message.find("first key field"), std::string::npos) << error.message;
  config.key_fields = {"amount", "user"};  // Int64: 8 bytes
  EXPECT_TRUE(WindowOperator::Make(config).ok());
  config.key_grouping.partition_width = 4;
  EXPECT_EQ(MakeFails(config).code, ErrorCode::kSpecInvalidValue);
}

TEST(WindowOperatorConfigTest, OutputSchemaHasKeysWindowAggregatesAndVersionColumns) {
  Result<std::unique_ptr<WindowOperator>> op = WindowOperator::Make(ValidConfig());
  ASSERT_TRUE(op.ok());
  std::vector<Schema> schemas = (*op)->output_schemas();
  ASSERT_EQ(schemas.size(), 2u);
  std::vector<std::string> names;
  for (const Field& field : schemas[0]) names.push_back(field.name + " " + field.type.ToString());
  EXPECT_EQ(names, (std::vector<std::string>{"user String", "window_start DateTime64(3)",
                                             "window_end DateTime64(3)", "count UInt64",
                                             "_version UInt64", "_is_deleted UInt8"}));
  EXPECT_EQ(schemas[1].size(), EventSchema().size());
}

}  // namespace
}  // namespace sluice
