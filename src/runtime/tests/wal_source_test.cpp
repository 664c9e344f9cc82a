#include "runtime/wal_source.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "runtime/wal_entry.h"
#include "sinks/dead_letter/dead_letter_sink.h"

namespace sluice {
namespace {

/// A fresh folder for one log, removed at the end.
class LogFolder {
 public:
  LogFolder() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "sluice-wal-source-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~LogFolder() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

Schema IdSchema() {
  return {{"id", *ParseDataType("UInt64")}};
}

std::unique_ptr<WriteAheadLog> OpenLog(WalOptions options) {
  auto log = WriteAheadLog::Open(std::move(options));
  EXPECT_TRUE(log.ok()) << log.error().ToString();
  return log.ok() ? std::move(*log) : nullptr;
}

// Appends one entry of stream 0 per id, as the ingest path does for a request of one row.
void AppendIds(WriteAheadLog& log, uint64_t from, uint64_t to) {
  for (uint64_t id = from; id <= to; ++id) {
    Batch rows(IdSchema());
    rows.column(0).AppendFixed<uint64_t>(id);
    std::string payload;
    EncodeWalEntry({0, 0}, rows, Batch(DeadLetterSchema()), payload);
    auto appended = log.Append(payload);
    ASSERT_TRUE(appended.ok()) << appended.error().ToString();
    ASSERT_EQ(*appended, id);
  }
}

// The ids one poll hands out.
std::vector<uint64_t> PollIds(WalSource& source) {
  Batch batch(IdSchema());
  std::vector<DeadLetter> dead_letters;
  auto polled = source.Poll(batch, dead_letters);
  EXPECT_TRUE(polled.ok()) << polled.error().ToString();
  std::vector<uint64_t> ids;
  for (size_t row = 0; row < batch.num_rows(); ++row) {
    ids.push_back(batch.column(0).FixedAt<uint64_t>(row));
  }
  return ids;
}

TEST(WalSourceTest, RestoredReaderGoesOnWithTheRecordAfterItsPosition) {
  LogFolder folder;
  auto log = OpenLog({folder.path()});
  ASSERT_TRUE(log);
  AppendIds(*log, 1, 5);
  WalSource source(*log, 0, IdSchema());
  ASSERT_TRUE(source.Restore("wal:3").ok());
  EXPECT_EQ(PollIds(source), (std::vector<uint64_t>{4, 5}));
  EXPECT_EQ(source.Position(), "wal:5");
  // A position at the log's very end is where a caught-up reader stood.
  WalSource caught_up(*log, 0, IdSchema());
  ASSERT_TRUE(caught_up.Restore("wal:5").ok());
  AppendIds(*log, 6, 6);
  EXPECT_EQ(PollIds(caught_up), (std::vector<uint64_t>{6}));
}

// A checkpoint that read the log further than the log now reaches: the next appends reuse the
// sequences after the log's end, and a reader placed past them would skip those new records
// silently. Restoring must refuse instead.
TEST(WalSourceTest, RestoreRefusesAPositionPastTheLogsEnd) {
  LogFolder folder;
  auto log = OpenLog({folder.path()});
  ASSERT_TRUE(log);
  AppendIds(*log, 1, 3);
  WalSource source(*log, 0, IdSchema());
  Status restored = source.Restore("wal:7");
  ASSERT_FALSE(restored.ok()) << "records 4-7, appended next, would be skipped";
  EXPECT_EQ(restored.error().code, ErrorCode::kSavepointMismatch);
  EXPECT_NE(restored.error().message.find("ends at 3"), std::string::npos)
      << restored.error().message;
}

// Records released under a reader that has not read them yet (a retention hold moved past
// it): the next poll must fail rather than go on after the gap.
TEST(WalSourceTest, PollRefusesToSkipRecordsReleasedBeforeTheyWereRead) {
  LogFolder folder;
  WalOptions options;
  options.directory = folder.path();
  options.segment_bytes = 1;  // every record gets a segment of its own
  options.retain_after = 0;
  auto log = OpenLog(options);
  ASSERT_TRUE(log);
  AppendIds(*log, 1, 6);
  WalSource source(*log, 0, IdSchema(), /*max_records_per_poll=*/2);
  ASSERT_EQ(PollIds(source), (std::vector<uint64_t>{1, 2}));
  ASSERT_TRUE(log->MarkDelivered(5).ok());
  ASSERT_TRUE(log->SetRetainAfter(5).ok());
  ASSERT_EQ(log->first_sequence(), 6u);

  Batch batch(IdSchema());
  std::vector<DeadLetter> dead_letters;
  auto polled = source.Poll(batch, dead_letters);
  ASSERT_FALSE(polled.ok()) << "records 3-5 were skipped: the poll handed out " << batch.num_rows()
                            << " row(s) after them";
  EXPECT_EQ(polled.error().code, ErrorCode::kWalCorrupt);
  EXPECT_NE(polled.error().message.find("3-5"), std::string::npos) << polled.error().message;
  EXPECT_EQ(batch.num_rows(), 0u);
}

}  // namespace
}  // namespace sluice
