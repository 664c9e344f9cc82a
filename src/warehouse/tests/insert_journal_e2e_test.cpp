// An insert cut short by a crash, as the embedded engine can leave it: its token in the table's
// deduplication log without the part. The state is made by a real insert whose part is then
// removed from disk while no process has the folder open; every step runs in a process of its
// own, because the engine opens one data folder per process.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>

#include "warehouse/embedded_warehouse.h"

namespace sluice {
namespace {

constexpr uint64_t kRows = 100;
constexpr const char* kToken = "pipeline/t/chk-1/0";

Batch Rows() {
  Batch batch({{"id", *ParseDataType("UInt64")}});
  for (uint64_t i = 0; i < kRows; ++i) batch.column(0).AppendFixed<uint64_t>(i);
  return batch;
}

class InsertJournalCrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    folder_ = std::filesystem::temp_directory_path() /
              ("sluice-journal-crash-" + std::to_string(::getpid()) + "-" +
               ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(folder_);
  }
  void TearDown() override { std::filesystem::remove_all(folder_); }

  /// Runs `step` on the engine opened in a child process; its return value is the exit code.
  int InChild(const std::function<int(EmbeddedWarehouse&)>& step) {
    pid_t child = ::fork();
    if (child == 0) {
      int code = 90;
      {
        auto opened = EmbeddedWarehouse::Open(folder_.string());
        if (opened.ok()) {
          code = step(**opened);
        } else {
          std::cerr << opened.error().ToString() << "\n";
        }
      }
      std::cout.flush();
      std::cerr.flush();
      ::_exit(code);
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
  }

  /// Creates `table`, inserts the rows under kToken and keeps the path of the part with the
  /// highest block number in `last_part_` (the one a crash would cut off).
  void InsertAndNoteLastPart(const std::string& table, const std::string& partition_by,
                             int earlier_inserts = 0) {
    std::string note = (folder_.parent_path() / (folder_.filename().string() + ".part")).string();
    ASSERT_EQ(InChild([&](EmbeddedWarehouse& warehouse) {
                Status created = warehouse.Execute(
                    "CREATE TABLE " + table + " (id UInt64) ENGINE = MergeTree " + partition_by +
                    " ORDER BY id SETTINGS non_replicated_deduplication_window = 100");
                Batch rows = Rows();
                for (int i = 0; i < earlier_inserts; ++i) {
                  std::string token = "pipeline/t/chk-0/" + std::to_string(i);
                  if (!warehouse.Insert({"default", table, &rows, token}).ok()) return 2;
                }
                auto inserted = warehouse.Insert({"default", table, &rows, kToken});
                auto path =
                    warehouse.Query("SELECT path FROM system.parts WHERE table = '" + table +
                                        "' AND active ORDER BY max_block_number "
                                        "DESC LIMIT 1",
                                    "TSVRaw");
                if (!created.ok() || !inserted.ok() || !path.ok()) return 1;
                std::ofstream(note) << path->data.substr(0, path->data.find('\n'));
                return 0;
              }),
              0);
    std::ifstream in(note);
    std::getline(in, last_part_);
    std::filesystem::remove(note);
    ASSERT_TRUE(std::filesystem::is_directory(last_part_)) << last_part_;
  }

  /// The journal as a crash in the middle of the insert under kToken leaves it: the insert in
  /// flight, with the highest block of the table before it (none: the table had no parts).
  void WriteJournalOfInterruptedInsert(int highest_block_before = 0) {
    std::ofstream journal(folder_ / "sluice-insert-journal");
    journal << "sluice-insert-journal 1\nretries\t0\ninflight\t" << kToken << "\t" << kToken
            << "\n";
    if (highest_block_before > 0) journal << "mark\tdefault.t\t" << highest_block_before << "\n";
    journal << "end\n";
  }

  /// Retries the insert under kToken; returns the rows in `table` after it, or -1 when the
  /// insert failed, with its error code in `error_`.
  int64_t Retry(const std::string& table) {
    std::string note = (folder_.parent_path() / (folder_.filename().string() + ".out")).string();
    int code = InChild([&](EmbeddedWarehouse& warehouse) {
      Batch rows = Rows();
      auto inserted = warehouse.Insert({"default", table, &rows, kToken});
      auto count = warehouse.Query("SELECT count() FROM " + table, "TSVRaw");
      std::ofstream out(note);
      if (!inserted.ok()) {
        out << "error " << static_cast<int>(inserted.error().code) << " "
            << inserted.error().ToString();
      } else {
        out << "rows " << (count.ok() ? count->data : "?");
      }
      return 0;
    });
    EXPECT_EQ(code, 0);
    std::ifstream in(note);
    std::string kind;
    in >> kind;
    std::filesystem::remove(note);
    if (kind == "rows") {
      int64_t rows = -2;
      in >> rows;
      return rows;
    }
    int error = 0;
    in >> error;
    std::getline(in, error_message_);
    error_ = static_cast<ErrorCode>(error);
    return -1;
  }

  std::filesystem::path folder_;
  std::string last_part_;
  ErrorCode error_{};
  std::string error_message_;
};

TEST_F(InsertJournalCrashTest, WithoutTheJournalTheEngineDropsTheRetryAndLosesTheRows) {
  // The engine's own behaviour, which the journal exists for: the retry is taken as a repeat.
  InsertAndNoteLastPart("t", "");
  std::filesystem::remove_all(last_part_);
  EXPECT_EQ(Retry("t"), 0);
}

TEST_F(InsertJournalCrashTest, RetryOfAnInsertThatLeftOnlyItsTokenStoresEveryRowOnce) {
  InsertAndNoteLastPart("t", "");
  std::filesystem::remove_all(last_part_);
  WriteJournalOfInterruptedInsert();
  EXPECT_EQ(Retry("t"), static_cast<int64_t>(kRows));
  // Settled: a later repeat under the same token stores nothing more.
  EXPECT_EQ(Retry("t"), static_cast<int64_t>(kRows));
}

TEST_F(InsertJournalCrashTest, BlocksOfEarlierInsertsDoNotCountAsTheInterruptedOnes) {
  InsertAndNoteLastPart("t", "", 2);
  std::filesystem::remove_all(last_part_);
  WriteJournalOfInterruptedInsert(2);
  EXPECT_EQ(Retry("t"), static_cast<int64_t>(3 * kRows)) << error_message_;
}

TEST_F(InsertJournalCrashTest, RetryOfAnInsertThatWasCommittedBeforeTheCrashIsNotDoubled) {
  InsertAndNoteLastPart("t", "");
  WriteJournalOfInterruptedInsert();
  EXPECT_EQ(Retry("t"), static_cast<int64_t>(kRows)) << error_message_;
}

TEST_F(InsertJournalCrashTest, TokenLeftWithoutOneOfSeveralPartsIsReportedNotPassedOver) {
  // Two partitions, two parts; the crash cut off the second.
  InsertAndNoteLastPart("t", "PARTITION BY id % 2");
  std::filesystem::remove_all(last_part_);
  WriteJournalOfInterruptedInsert();
  EXPECT_EQ(Retry("t"), -1);
  EXPECT_EQ(error_, ErrorCode::kWarehouseInsertLost) << error_message_;
}

}  // namespace
}  // namespace sluice
