// What checkpoints and parallelism cost the keyed window stage: tumbling 1-minute windows over
// 1 M distinct keys with count, sum, uniq and quantile(0.95), the events of window_bench.
//
//   window_job_bench checkpoint [events (4000000)] [repeats (3)]
//       the same job through the JobExecutor with a checkpoint every second and with none
//       (only the final one), alternating, medians and their ratio; once with one subtask and
//       once with one per core (when the snapshot writers have no core to themselves);
//   window_job_bench state [largest key count (10000000)]
//       one window operator holding 10 k, 100 k, 1 M, 10 M keys: snapshot time, size, restore;
//   window_job_bench scaling [events (4000000)] [repeats (3)]
//       one subtask against two (events split by key group as the runtime does), each subtask
//       on its own thread: events/s in all and per core, operator calls only; then the whole job
//       (source thread, exchange, subtasks) at parallelism 1 and 2.
//
// The job's tables go to a sink that counts rows and drops them: what is measured is the
// operator, the exchange and the checkpoints (state snapshots, pre-committed batches written into
// the checkpoint folder), not ClickHouse inserts, which are the same rows in both runs.

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "operators/window/window_operator.h"
#include "runtime/job_builder.h"
#include "runtime/job_executor.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

constexpr uint64_t kKeys = 1'000'000;
constexpr int64_t kBaseMs = 1'700'000'040'000;  // a whole minute
constexpr int64_t kSpanMs = 5 * 60'000;         // the events cover five windows
constexpr size_t kBatchRows = 8192;

// The i-th event: the formulas of window_bench.
uint64_t KeyOf(uint64_t i, uint64_t keys) {
  return (i * 11400714819323198485ull) % keys;
}
int64_t TimeOf(uint64_t i, uint64_t events, int64_t span_ms = kSpanMs) {
  return kBaseMs + static_cast<int64_t>(i * static_cast<uint64_t>(span_ms) / events);
}

DataType Type(std::string_view text) {
  return ParseDataType(text).value();
}

Schema EventSchema() {
  return {{"key", Type("UInt64")},
          {"ts", Type("DateTime64(3)")},
          {"amount", Type("Int64")},
          {"item", Type("UInt64")}};
}

std::vector<AggregateCall> Aggregates() {
  return {{"count", "events", "", 0.5, 10},
          {"sum", "total", "amount", 0.5, 10},
          {"uniq", "items", "item", 0.5, 10},
          {"quantile", "p95", "amount", 0.95, 10}};
}

/// Events [first, last) of a run of `events` over `keys` keys (scrambled as window_bench does,
/// or in turn) spread over `span_ms`.
Batch MakeEvents(uint64_t first, uint64_t last, uint64_t events, uint64_t keys,
                 int64_t span_ms = kSpanMs, bool scrambled = true) {
  Batch batch(EventSchema());
  for (size_t c = 0; c < batch.num_columns(); ++c) batch.column(c).Reserve(last - first);
  for (uint64_t i = first; i < last; ++i) {
    batch.column(0).AppendFixed<uint64_t>(scrambled ? KeyOf(i, keys) : i % keys);
    batch.column(1).AppendFixed<int64_t>(TimeOf(i, events, span_ms));
    batch.column(2).AppendFixed<int64_t>(static_cast<int64_t>(i % 1000));
    batch.column(3).AppendFixed<uint64_t>((i * 7) % 100'003);
  }
  return batch;
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

std::string Figures(const std::vector<double>& values, double scale) {
  std::string text;
  for (double value : values) {
    text += (text.empty() ? "" : " ") + std::to_string(static_cast<long long>(value * scale));
  }
  return text;
}

void Check(const Status& status, const char* what) {
  if (status.ok()) return;
  std::fprintf(stderr, "%s failed: %s\n", what, status.error().ToString().c_str());
  std::exit(1);
}

/// A bounded source of the benchmark's events, 8192 per poll; its position is the next event.
class EventSource final : public Source {
 public:
  explicit EventSource(uint64_t events) : events_(events) {}

  Status Open() override { return {}; }
  Result<PollStatus> Poll(Batch& batch, std::vector<DeadLetter>&) override {
    if (next_ >= events_) return PollStatus::kFinished;
    uint64_t last = std::min(events_, next_ + kBatchRows);
    batch = MakeEvents(next_, last, events_, kKeys);
    last_identity_ = std::to_string(next_);
    next_ = last;
    return PollStatus::kData;
  }
  std::string Position() const override { return std::to_string(next_); }
  Status Restore(const std::string& position) override {
    next_ = std::stoull(position);
    return {};
  }
  std::string LastPollIdentity() const override { return last_identity_; }
  uint64_t bytes_read() const override { return next_ * 32; }

 private:
  uint64_t events_;
  uint64_t next_ = 0;
  std::string last_identity_;
};

/// Counts the rows committed to a table and drops them.
class CountingSink final : public Sink {
 public:
  explicit CountingSink(std::atomic<uint64_t>& rows) : rows_(rows) {}
  Status Write(const Batch& batch, const std::string&) override {
    rows_ += batch.num_rows();
    return {};
  }
  Status Flush() override { return {}; }

 private:
  std::atomic<uint64_t>& rows_;
};

/// CPU seconds (user + system) the whole process has used so far.
double ProcessCpuSeconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& time) { return time.tv_sec + time.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

struct JobRun {
  double seconds = 0;
  double cpu_seconds = 0;  // every thread of the job
  uint64_t checkpoints = 0;
  uint64_t rows = 0;
};

/// Runs the whole job over `events` and returns the wall time from start to the final commit.
JobRun RunJob(uint64_t events, int64_t checkpoint_interval_ms, uint32_t parallelism,
              const fs::path& folder) {
  fs::remove_all(folder);
  JobBuilder builder("bench");
  builder
      .AddSource("events", std::make_unique<EventSource>(events), EventSchema(),
                 WatermarkStrategy{"ts", 1000, 60'000})
      .KeyBy({"key"})
      .Window(WindowAssigner::Tumbling(60'000))
      .Aggregate(Aggregates(), {"per_key_minute", "per_key_minute_late", 0, parallelism,
                                StateBackendKind::kMemory});
  Result<JobGraph> graph = builder.Build();
  Check(graph.ok() ? Status() : Status(graph.error()), "building the job");
  std::atomic<uint64_t> rows{0};
  JobOptions options;
  options.checkpoint_directory = (folder / "checkpoints").string();
  options.checkpoint_interval_ms = checkpoint_interval_ms;
  options.checkpoints_retained = 2;
  options.state_directory = (folder / "state").string();
  options.tables = {"per_key_minute", "per_key_minute_late"};
  options.make_sink = [&rows](const std::string&) { return std::make_unique<CountingSink>(rows); };

  auto begin = SteadyClock::now();
  double cpu_begin = ProcessCpuSeconds();
  Result<std::unique_ptr<JobExecutor>> job =
      JobExecutor::Start(std::move(graph).value(), std::move(options));
  Check(job.ok() ? Status() : Status(job.error()), "starting the job");
  Check((*job)->WaitFinished(), "running the job");
  JobRun run;
  run.seconds = std::chrono::duration<double>(SteadyClock::now() - begin).count();
  run.cpu_seconds = ProcessCpuSeconds() - cpu_begin;
  run.checkpoints = (*job)->last_committed_checkpoint();
  Check((*job)->Stop(), "stopping the job");
  run.rows = rows.load();
  fs::remove_all(folder);
  return run;
}

void CheckpointCost(uint64_t events, int repeats, uint32_t parallelism, const fs::path& folder) {
  std::printf("checkpoint cost: the whole job, parallelism %u, %llu events, %d runs each\n",
              parallelism, static_cast<unsigned long long>(events), repeats);
  std::vector<double> none;
  std::vector<double> every_second;
  std::vector<double> none_cpu;
  std::vector<double> every_second_cpu;
  uint64_t checkpoints = 0;
  std::vector<double> checkpoints_per_second;
  uint64_t rows_none = 0;
  uint64_t rows_checkpointed = 0;
  for (int r = 0; r < repeats; ++r) {
    JobRun plain = RunJob(events, 3'600'000, parallelism, folder);
    JobRun checkpointed = RunJob(events, 1000, parallelism, folder);
    none.push_back(events / plain.seconds);
    every_second.push_back(events / checkpointed.seconds);
    none_cpu.push_back(events / plain.cpu_seconds);
    every_second_cpu.push_back(events / checkpointed.cpu_seconds);
    checkpoints = checkpointed.checkpoints;
    checkpoints_per_second.push_back(static_cast<double>(checkpointed.checkpoints) /
                                     checkpointed.seconds);
    rows_none = plain.rows;
    rows_checkpointed = checkpointed.rows;
  }
  std::printf("%-34s %14s %12s %14s  %s\n", "run", "events/s", "checkpoints", "result rows",
              "each run (events/s)");
  std::printf("%-34s %14.0f %12d %14llu  %s\n", "no checkpoint until the end", Median(none), 1,
              static_cast<unsigned long long>(rows_none), Figures(none, 1).c_str());
  std::printf("%-34s %14.0f %12llu %14llu  %s\n", "a checkpoint every second", Median(every_second),
              static_cast<unsigned long long>(checkpoints),
              static_cast<unsigned long long>(rows_checkpointed), Figures(every_second, 1).c_str());
  std::printf("throughput lost to checkpoints: %.1f %% (wall time)\n",
              100.0 * (1.0 - Median(every_second) / Median(none)));
  std::printf("checkpoints completed per second of run (interval 1 s): median %.2f (%s, x100)\n",
              Median(checkpoints_per_second), Figures(checkpoints_per_second, 100).c_str());
  std::printf(
      "events per CPU second (all threads): none %.0f (%s), every second %.0f (%s): "
      "%.1f %% more CPU per event\n\n",
      Median(none_cpu), Figures(none_cpu, 1).c_str(), Median(every_second_cpu),
      Figures(every_second_cpu, 1).c_str(),
      100.0 * (Median(none_cpu) / Median(every_second_cpu) - 1.0));
}

std::unique_ptr<WindowOperator> MakeOperator() {
  WindowOperatorConfig config;
  config.name = "per_key_minute";
  config.input_schema = EventSchema();
  config.key_fields = {"key"};
  config.time_field = "ts";
  config.kind = WindowKind::kTumbling;
  config.size_ms = 60'000;
  config.aggregates = Aggregates();
  Result<std::unique_ptr<WindowOperator>> op = WindowOperator::Make(config);
  Check(op.ok() ? Status() : Status(op.error()), "making the operator");
  return std::move(op).value();
}

/// Counts what an operator emits.
class CountingEmitter final : public Emitter {
 public:
  void Emit(size_t port, Batch batch) override {
    if (port == 0) rows += batch.num_rows();
  }
  uint64_t rows = 0;
};

uint64_t FolderBytes(const fs::path& folder) {
  uint64_t bytes = 0;
  for (const auto& entry : fs::recursive_directory_iterator(folder)) {
    if (entry.is_regular_file()) bytes += entry.file_size();
  }
  return bytes;
}

double SecondsSince(SteadyClock::time_point begin) {
  return std::chrono::duration<double>(SteadyClock::now() - begin).count();
}

/// Snapshots `state` into a new folder `name`, timing apart what the subtask's thread spends at
/// the barrier and the completion (encoding, writing, syncing) the runtime runs on another
/// thread. Returns the folder.
fs::path TimedSnapshot(const WindowOperator& op, const OperatorState& state, const fs::path& folder,
                       const std::string& name, double& barrier_seconds, double& write_seconds) {
  fs::path directory = folder / name;
  fs::remove_all(directory);
  fs::create_directories(directory);
  auto begin = SteadyClock::now();
  Result<Operator::SnapshotCompletion> completion = op.BeginSnapshot(state, directory.string());
  Check(completion.ok() ? Status() : Status(completion.error()), "snapshot barrier");
  barrier_seconds = SecondsSince(begin);
  begin = SteadyClock::now();
  if (*completion) Check((*completion)(), "snapshot write");
  write_seconds = SecondsSince(begin);
  return directory;
}

void StateSize(uint64_t largest, const fs::path& folder) {
  std::printf(
      "checkpoint time against state size: one subtask, every key one open window with two "
      "events; a base snapshot (every key), then one more event for every tenth key and an "
      "incremental snapshot (the changed keys), then a restore of that chain\n");
  std::printf("%10s %9s | %9s %9s %8s | %9s %9s %8s | %9s\n", "keys", "state MB", "barrier s",
              "write s", "MB", "barrier s", "write s", "MB", "restore s");
  std::printf("%10s %9s | %28s | %28s | %9s\n", "", "", "base (every key)",
              "delta (a tenth of the keys)", "");
  std::unique_ptr<WindowOperator> op = MakeOperator();
  for (uint64_t keys = 10'000; keys <= largest; keys *= 10) {
    OperatorContext context;
    context.operator_id = "per_key_minute";
    context.state_directory = (folder / "state").string();
    fs::remove_all(context.state_directory);
    fs::create_directories(context.state_directory);
    std::unique_ptr<OperatorState> state = op->CreateState(context).value();
    CountingEmitter out;
    // Two events per key, all in one minute (no window fires): the state holds every key.
    uint64_t events = 2 * keys;
    for (uint64_t first = 0; first < events; first += kBatchRows) {
      // Key i % keys: every key exactly twice (the scrambled keys miss some when there are fewer
      // keys than the million they are made for).
      Batch batch =
          MakeEvents(first, std::min(events, first + kBatchRows), events, keys, 59'999, false);
      Check(op->Process(*state, batch, out), "processing");
    }
    uint64_t state_bytes = state->StateBytes();
    double base_barrier = 0;
    double base_write = 0;
    fs::path base = TimedSnapshot(*op, *state, folder, "base-" + std::to_string(keys), base_barrier,
                                  base_write);
    uint64_t base_bytes = FolderBytes(base);
    // One more event for every tenth key, in the same minute.
    uint64_t touched = keys / 10;
    for (uint64_t first = 0; first < touched; first += kBatchRows) {
      Batch batch =
          MakeEvents(first, std::min(touched, first + kBatchRows), touched, keys, 59'999, false);
      Check(op->Process(*state, batch, out), "processing");
    }
    double delta_barrier = 0;
    double delta_write = 0;
    fs::path delta = TimedSnapshot(*op, *state, folder, "delta-" + std::to_string(keys),
                                   delta_barrier, delta_write);
    // The delta's folder also holds a link to the base: its own bytes are the difference.
    uint64_t delta_bytes = FolderBytes(delta) - base_bytes;
    state.reset();
    std::unique_ptr<OperatorState> restored = op->CreateState(context).value();
    auto begin = SteadyClock::now();
    Check(op->Restore(*restored, {delta.string()}), "restore");
    double restore_seconds = SecondsSince(begin);
    if (restored->StateEntries() != keys) {
      std::fprintf(stderr, "restored %llu windows, expected %llu\n",
                   static_cast<unsigned long long>(restored->StateEntries()),
                   static_cast<unsigned long long>(keys));
      std::exit(1);
    }
    restored.reset();
    fs::remove_all(base);
    fs::remove_all(delta);
    std::printf("%10llu %9.1f | %9.3f %9.3f %8.1f | %9.3f %9.3f %8.1f | %9.3f\n",
                static_cast<unsigned long long>(keys), state_bytes / 1e6, base_barrier, base_write,
                base_bytes / 1e6, delta_barrier, delta_write, delta_bytes / 1e6, restore_seconds);
  }
  std::printf("\n");
}

double ThreadCpuSeconds() {
  rusage usage{};
  ::getrusage(RUSAGE_THREAD, &usage);
  auto seconds = [](const timeval& time) { return time.tv_sec + time.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

/// Processes `batches` on one subtask's own state (with a watermark after each batch, as
/// window_bench does); returns the rows emitted and adds the thread's CPU seconds to `cpu`.
uint64_t RunSubtask(const WindowOperator& op, uint32_t subtask, uint32_t parallelism,
                    std::vector<Batch>& batches, const std::vector<int64_t>& watermarks,
                    std::atomic<double>& cpu) {
  double cpu_begin = ThreadCpuSeconds();
  OperatorContext context;
  context.operator_id = "per_key_minute";
  context.subtask = subtask;
  context.parallelism = parallelism;
  context.key_groups = KeyGroupsOfSubtask(subtask, parallelism);
  std::unique_ptr<OperatorState> state = op.CreateState(context).value();
  CountingEmitter out;
  for (size_t i = 0; i < batches.size(); ++i) {
    Check(op.Process(*state, batches[i], out), "processing");
    Check(op.OnWatermark(*state, watermarks[i], out), "watermark");
  }
  Check(op.OnEndOfInput(*state, out), "end of input");
  state.reset();
  double used = ThreadCpuSeconds() - cpu_begin;
  for (double seen = cpu.load(); !cpu.compare_exchange_weak(seen, seen + used);) {
  }
  return out.rows;
}

void Scaling(uint64_t events, int repeats, const fs::path& folder) {
  std::printf("1 against 2 subtasks, %llu events, %d runs each\n",
              static_cast<unsigned long long>(events), repeats);
  std::unique_ptr<WindowOperator> op = MakeOperator();
  KeyEncoder encoder = KeyEncoder::Make(EventSchema(), {"key"}).value();
  std::vector<int64_t> watermarks;
  std::vector<std::vector<Batch>> parts(2);
  std::vector<std::vector<int64_t>> part_watermarks(2);
  std::string key;
  for (uint64_t first = 0; first < events; first += kBatchRows) {
    uint64_t last = std::min(events, first + kBatchRows);
    Batch batch = MakeEvents(first, last, events, kKeys);
    watermarks.push_back(TimeOf(last - 1, events) - 1000);
    std::vector<std::vector<uint8_t>> keep(2, std::vector<uint8_t>(batch.num_rows(), 0));
    for (size_t row = 0; row < batch.num_rows(); ++row) {
      encoder.Encode(batch, row, key);
      keep[SubtaskOfKeyGroup(KeyGroupOf(KeyHash(key)), 2)][row] = 1;
    }
    for (size_t subtask = 0; subtask < 2; ++subtask) {
      Batch part = batch;
      part.Filter(keep[subtask]);
      parts[subtask].push_back(std::move(part));
      part_watermarks[subtask].push_back(watermarks.back());
    }
  }
  std::vector<Batch> all;
  for (uint64_t first = 0; first < events; first += kBatchRows) {
    all.push_back(MakeEvents(first, std::min(events, first + kBatchRows), events, kKeys));
  }
  std::vector<double> one;
  std::vector<double> two;
  std::vector<double> one_cpu;
  std::vector<double> two_cpu;
  uint64_t rows_one = 0;
  uint64_t rows_two = 0;
  for (int r = 0; r < repeats; ++r) {
    // Process may change its input: each run works on copies.
    std::vector<Batch> input = all;
    auto begin = SteadyClock::now();
    std::atomic<double> cpu{0};
    rows_one = RunSubtask(*op, 0, 1, input, watermarks, cpu);
    one.push_back(events / std::chrono::duration<double>(SteadyClock::now() - begin).count());
    one_cpu.push_back(events / cpu.load());
    cpu = 0;
    std::vector<std::vector<Batch>> inputs = parts;
    std::atomic<uint64_t> rows{0};
    begin = SteadyClock::now();
    std::vector<std::thread> threads;
    for (uint32_t subtask = 0; subtask < 2; ++subtask) {
      threads.emplace_back([&, subtask] {
        rows += RunSubtask(*op, subtask, 2, inputs[subtask], part_watermarks[subtask], cpu);
      });
    }
    for (std::thread& thread : threads) thread.join();
    two.push_back(events / std::chrono::duration<double>(SteadyClock::now() - begin).count());
    two_cpu.push_back(events / cpu.load());
    rows_two = rows.load();
  }
  std::printf("%-38s %14s %14s %12s  %s\n", "operator only (pre-split input)", "events/s",
              "per core", "result rows", "each run (events/s)");
  std::printf("%-38s %14.0f %14.0f %12llu  %s\n", "1 subtask, 1 thread", Median(one), Median(one),
              static_cast<unsigned long long>(rows_one), Figures(one, 1).c_str());
  std::printf("%-38s %14.0f %14.0f %12llu  %s\n", "2 subtasks, 2 threads", Median(two),
              Median(two) / 2, static_cast<unsigned long long>(rows_two), Figures(two, 1).c_str());
  std::printf("per-core ratio, 2 subtasks / 1: %.2f (wall time)\n", Median(two) / 2 / Median(one));
  std::printf(
      "events per CPU second of the subtask threads: 1 subtask %.0f (%s), 2 subtasks %.0f "
      "(%s): ratio %.2f\n",
      Median(one_cpu), Figures(one_cpu, 1).c_str(), Median(two_cpu), Figures(two_cpu, 1).c_str(),
      Median(two_cpu) / Median(one_cpu));

  std::vector<double> job_one;
  std::vector<double> job_two;
  for (int r = 0; r < repeats; ++r) {
    job_one.push_back(events / RunJob(events, 3'600'000, 1, folder).seconds);
    job_two.push_back(events / RunJob(events, 3'600'000, 2, folder).seconds);
  }
  std::printf("%-38s %14s %14s %12s  %s\n", "whole job (source thread + subtasks)", "events/s",
              "per core", "", "each run (events/s)");
  std::printf("%-38s %14.0f %14.0f %12s  %s\n", "parallelism 1", Median(job_one),
              Median(job_one) / 2, "", Figures(job_one, 1).c_str());
  std::printf("%-38s %14.0f %14.0f %12s  %s\n", "parallelism 2", Median(job_two),
              Median(job_two) / 2, "", Figures(job_two, 1).c_str());
  std::printf(
      "(the job uses both cores in either case: the source thread generates and routes "
      "events while the subtasks aggregate)\n\n");
}

}  // namespace
}  // namespace sluice

int main(int argc, char** argv) {
  using namespace sluice;
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // each table line as soon as it is measured
  std::string mode = argc > 1 ? argv[1] : "all";
  fs::path folder = fs::temp_directory_path() / ("sluice_job_bench_" + std::to_string(::getpid()));
  fs::create_directories(folder);
  auto number = [&](int index, uint64_t fallback) {
    return argc > index ? std::stoull(argv[index]) : fallback;
  };
  if (mode == "checkpoint" || mode == "all") {
    // One subtask (the writer threads have a core to spare), then one per core (they have not).
    for (uint32_t parallelism : {1u, std::max(1u, std::thread::hardware_concurrency())}) {
      CheckpointCost(number(2, 4'000'000), static_cast<int>(number(3, 3)), parallelism, folder);
    }
  }
  if (mode == "state" || mode == "all") StateSize(number(2, 10'000'000), folder);
  if (mode == "scaling" || mode == "all") {
    Scaling(number(2, 4'000'000), static_cast<int>(number(3, 3)), folder);
  }
  fs::remove_all(folder);
  return 0;
}
