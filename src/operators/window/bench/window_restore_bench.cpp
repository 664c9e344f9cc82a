// Restore time of window state with many keys: one key per event, one tumbling window each,
// count + sum + uniq + quantile(0.95). The state is built once on the memory backend and
// snapshotted; from it RocksDB states are made (one subtask, and two subtasks splitting the key
// groups) and snapshotted as RocksDB checkpoints. Then, into one subtask owning every key group:
//   - RocksDB, same parallelism: the checkpoint is opened in place (hard links, no key read);
//   - RocksDB, from two subtasks: every key is scanned and written (what every RocksDB restore
//     did before opening in place — the baseline of the same run);
//   - RocksDB from the memory snapshot, and memory from its own snapshot, for comparison.
// Each restore is checked: the restored state holds all the keys (they all fire at the end).
//
// Usage: window_restore_bench [keys (1000000)] [folder (./window-restore-bench)]

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "operators/window/window_operator.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kBaseMs = 1'700'000'040'000;
constexpr size_t kBatchRows = 8192;

DataType Type(std::string_view text) {
  return ParseDataType(text).value();
}

WindowOperatorConfig Config(StateBackendKind backend) {
  WindowOperatorConfig config;
  config.name = "restore_bench";
  config.input_schema = {{"key", Type("UInt64")},
                         {"ts", Type("DateTime64(3)")},
                         {"amount", Type("Int64")},
                         {"item", Type("UInt64")}};
  config.key_fields = {"key"};
  config.time_field = "ts";
  config.kind = WindowKind::kTumbling;
  config.size_ms = 60'000;
  config.aggregates = {{"count", "events", "", 0.5, 10},
                       {"sum", "total", "amount", 0.5, 10},
                       {"uniq", "items", "item", 0.5, 10},
                       {"quantile", "p95", "amount", 0.95, 10}};
  config.backend = backend;
  return config;
}

/// Counts rows emitted on port 0.
class CountingEmitter final : public Emitter {
 public:
  void Emit(size_t port, Batch batch) override {
    if (port == 0) rows += batch.num_rows();
  }
  uint64_t rows = 0;
};

void Check(const Status& status, const char* what) {
  if (!status.ok()) {
    std::fprintf(stderr, "%s failed: %s\n", what, status.error().ToString().c_str());
    std::exit(1);
  }
}

/// An operator and one subtask's state owning `groups`.
struct Subtask {
  std::unique_ptr<WindowOperator> op;
  std::unique_ptr<OperatorState> state;
};

Subtask MakeSubtask(StateBackendKind backend, KeyGroupRange groups, const std::string& folder) {
  Subtask subtask;
  subtask.op = WindowOperator::Make(Config(backend)).value();
  OperatorContext context;
  context.operator_id = "restore_bench";
  context.key_groups = groups;
  context.state_directory = folder;
  fs::create_directories(folder);
  subtask.state = subtask.op->CreateState(context).value();
  return subtask;
}

std::string Snapshot(const Subtask& subtask, const std::string& folder) {
  fs::create_directories(folder);
  Check(subtask.op->Snapshot(*subtask.state, folder), "snapshot");
  return folder;
}

/// Restores `snapshots` into a fresh subtask owning every key group; returns the seconds the
/// Restore call took, after checking that all `keys` windows are there.
double TimeRestore(StateBackendKind backend, const std::vector<std::string>& snapshots,
                   const std::string& folder, uint64_t keys) {
  fs::remove_all(folder);
  Subtask subtask = MakeSubtask(backend, KeyGroupRange{}, folder);
  auto begin = std::chrono::steady_clock::now();
  Check(subtask.op->Restore(*subtask.state, snapshots), "restore");
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  CountingEmitter out;
  Check(subtask.op->OnEndOfInput(*subtask.state, out), "end of input");
  if (out.rows != keys) {
    std::fprintf(stderr, "restored %llu windows, expected %llu\n",
                 static_cast<unsigned long long>(out.rows), static_cast<unsigned long long>(keys));
    std::exit(1);
  }
  return seconds;
}

uint64_t FolderBytes(const std::string& folder) {
  uint64_t bytes = 0;
  for (const auto& entry : fs::recursive_directory_iterator(folder)) {
    if (entry.is_regular_file()) bytes += entry.file_size();
  }
  return bytes;
}

}  // namespace
}  // namespace sluice

int main(int argc, char** argv) {
  using namespace sluice;
  uint64_t keys = argc > 1 ? std::stoull(argv[1]) : 1'000'000;
  std::string root = argc > 2 ? argv[2] : "window-restore-bench";
  fs::remove_all(root);

  // Build: one event per key, every key in its own window (not fired: no watermark).
  Subtask built = MakeSubtask(StateBackendKind::kMemory, KeyGroupRange{}, root + "/built");
  CountingEmitter ignored;
  Schema schema = Config(StateBackendKind::kMemory).input_schema;
  for (uint64_t first = 0; first < keys; first += kBatchRows) {
    uint64_t last = std::min(keys, first + kBatchRows);
    Batch batch(schema);
    for (uint64_t i = first; i < last; ++i) {
      batch.column(0).AppendFixed<uint64_t>(i);
      batch.column(1).AppendFixed<int64_t>(kBaseMs + static_cast<int64_t>(i % 60'000));
      batch.column(2).AppendFixed<int64_t>(static_cast<int64_t>(i % 1000));
      batch.column(3).AppendFixed<uint64_t>(i * 7);
    }
    Check(built.op->Process(*built.state, batch, ignored), "process");
  }
  std::string memory_snapshot = Snapshot(built, root + "/snapshot-memory");

  // RocksDB checkpoints of the same keys: one subtask, and two subtasks.
  Subtask one = MakeSubtask(StateBackendKind::kRocksDb, KeyGroupRange{}, root + "/rocksdb-one");
  Check(one.op->Restore(*one.state, {memory_snapshot}), "restore into RocksDB");
  std::string rocksdb_one = Snapshot(one, root + "/snapshot-rocksdb-one");
  std::vector<std::string> rocksdb_two;
  for (uint32_t subtask = 0; subtask < 2; ++subtask) {
    std::string name = "rocksdb-two-" + std::to_string(subtask);
    Subtask half =
        MakeSubtask(StateBackendKind::kRocksDb, KeyGroupsOfSubtask(subtask, 2), root + "/" + name);
    Check(half.op->Restore(*half.state, {memory_snapshot}), "restore into RocksDB");
    rocksdb_two.push_back(Snapshot(half, root + "/snapshot-" + name));
  }

  struct Row {
    const char* what;
    double seconds;
    uint64_t snapshot_bytes;
  };
  std::vector<Row> rows;
  uint64_t two_bytes = FolderBytes(rocksdb_two[0]) + FolderBytes(rocksdb_two[1]);
  rows.push_back({"RocksDB, 2 subtasks -> 1: scan and write every key (before)",
                  TimeRestore(StateBackendKind::kRocksDb, rocksdb_two, root + "/restored", keys),
                  two_bytes});
  rows.push_back({"RocksDB, 1 subtask -> 1: checkpoint opened in place (after)",
                  TimeRestore(StateBackendKind::kRocksDb, {rocksdb_one}, root + "/restored", keys),
                  FolderBytes(rocksdb_one)});
  rows.push_back(
      {"RocksDB from a memory snapshot",
       TimeRestore(StateBackendKind::kRocksDb, {memory_snapshot}, root + "/restored", keys),
       FolderBytes(memory_snapshot)});
  rows.push_back(
      {"memory from a memory snapshot",
       TimeRestore(StateBackendKind::kMemory, {memory_snapshot}, root + "/restored", keys),
       FolderBytes(memory_snapshot)});

  std::ifstream loadavg("/proc/loadavg");
  std::string load;
  std::getline(loadavg, load);
  std::printf("keys: %llu, aggregates: count, sum, uniq, quantile(0.95); load average: %s\n\n",
              static_cast<unsigned long long>(keys), load.c_str());
  std::printf("| restore | seconds | snapshot MB |\n|---|---:|---:|\n");
  for (const Row& row : rows) {
    std::printf("| %s | %.3f | %.1f |\n", row.what, row.seconds,
                static_cast<double>(row.snapshot_bytes) / 1e6);
  }
  fs::remove_all(root);
  return 0;
}
