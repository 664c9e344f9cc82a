#include "state/wal.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "state/tests/wal_test_util.h"
#include "state/wal_format.h"

namespace sluice {
namespace {

using testing::ReadFile;
using testing::SegmentFiles;
using testing::TempDirectory;
using testing::WriteFile;

std::unique_ptr<WriteAheadLog> OpenOrDie(WalOptions options) {
  auto log = WriteAheadLog::Open(std::move(options));
  EXPECT_TRUE(log.ok()) << log.error().ToString();
  return log.ok() ? std::move(*log) : nullptr;
}

std::vector<WalRecord> ReadAll(const WriteAheadLog& log, uint64_t after = 0) {
  auto records = log.ReadAfter(after, SIZE_MAX, SIZE_MAX);
  EXPECT_TRUE(records.ok()) << records.error().ToString();
  return records.ok() ? *records : std::vector<WalRecord>{};
}

std::string Payload(uint64_t i) {
  return "record-" + std::to_string(i) + std::string(i % 37, static_cast<char>('a' + i % 26));
}

// Appends Payload(i) for i in [from, to] and checks each gets sequence i.
void AppendRange(WriteAheadLog& log, uint64_t from, uint64_t to) {
  for (uint64_t i = from; i <= to; ++i) {
    auto sequence = log.Append(Payload(i));
    ASSERT_TRUE(sequence.ok()) << sequence.error().ToString();
    ASSERT_EQ(*sequence, i);
  }
}

void ExpectRange(const std::vector<WalRecord>& records, uint64_t from, uint64_t to) {
  ASSERT_EQ(records.size(), to + 1 - from);
  for (uint64_t i = from; i <= to; ++i) {
    EXPECT_EQ(records[i - from], (WalRecord{i, Payload(i)}));
  }
}

TEST(WriteAheadLogTest, AppendAndReadRoundTrip) {
  TempDirectory directory;
  auto log = OpenOrDie({directory.path()});
  ASSERT_TRUE(log);
  EXPECT_EQ(log->last_sequence(), 0u);
  EXPECT_TRUE(ReadAll(*log).empty());

  std::string binary("a\0b\xff", 4);
  EXPECT_EQ(*log->Append("first"), 1u);
  EXPECT_EQ(*log->Append(""), 2u);
  EXPECT_EQ(*log->Append(binary), 3u);
  std::vector<std::string_view> many = {"four", "five", "six"};
  EXPECT_EQ(*log->AppendMany(many), 4u);
  EXPECT_EQ(log->last_sequence(), 6u);

  std::vector<WalRecord> expected = {{1, "first"}, {2, ""},     {3, binary},
                                     {4, "four"},  {5, "five"}, {6, "six"}};
  EXPECT_EQ(ReadAll(*log), expected);
  // Bounded reads: by count, from the middle, and by payload bytes ("four" + "five" fit in 8).
  EXPECT_EQ(*log->ReadAfter(2, 2, SIZE_MAX), (std::vector<WalRecord>{{3, binary}, {4, "four"}}));
  EXPECT_EQ(*log->ReadAfter(3, 10, 8), (std::vector<WalRecord>{{4, "four"}, {5, "five"}}));
  // A record larger than max_bytes still comes alone, so delivery never stalls.
  EXPECT_EQ(*log->ReadAfter(0, 10, 1), (std::vector<WalRecord>{{1, "first"}}));
  EXPECT_TRUE(log->ReadAfter(6, 10, SIZE_MAX)->empty());
  EXPECT_TRUE(log->ReadAfter(0, 0, SIZE_MAX)->empty());
}

TEST(WriteAheadLogTest, ReopenReplaysExactlyTheUndeliveredRecords) {
  TempDirectory directory;
  {
    auto log = OpenOrDie({directory.path()});
    AppendRange(*log, 1, 10);
    ASSERT_TRUE(log->MarkDelivered(4).ok());
  }
  auto log = OpenOrDie({directory.path()});
  EXPECT_EQ(log->delivered_sequence(), 4u);
  EXPECT_EQ(log->last_sequence(), 10u);
  ExpectRange(ReadAll(*log, log->delivered_sequence()), 5, 10);
  AppendRange(*log, 11, 12);
}

TEST(WriteAheadLogTest, MarkDeliveredPersistsAndRemovesWhollyDeliveredSegments) {
  TempDirectory directory;
  WalOptions options{directory.path(), /*segment_bytes=*/200};
  auto log = OpenOrDie(options);
  AppendRange(*log, 1, 20);
  auto before = SegmentFiles(directory.path());
  ASSERT_GT(before.size(), 4u);

  ASSERT_TRUE(log->MarkDelivered(10).ok());
  auto after = SegmentFiles(directory.path());
  // Exactly the segments whose records all are <= 10 are gone: the oldest left holds 11.
  std::vector<uint64_t> firsts;
  for (const auto& [first, path] : before) firsts.push_back(first);
  auto holding_11 = std::prev(std::upper_bound(firsts.begin(), firsts.end(), 11u));
  ASSERT_FALSE(after.empty());
  EXPECT_EQ(after.begin()->first, *holding_11);
  EXPECT_EQ(after.size(), static_cast<size_t>(firsts.end() - holding_11));
  uint64_t bytes = 0;
  for (const auto& [first, path] : after) bytes += std::filesystem::file_size(path);
  EXPECT_EQ(log->disk_bytes(), bytes);
  // Marks never move back.
  ASSERT_TRUE(log->MarkDelivered(3).ok());
  EXPECT_EQ(log->delivered_sequence(), 10u);
  // A mark past the log is a bug in the caller.
  EXPECT_EQ(log->MarkDelivered(21).error().code, ErrorCode::kInternal);

  log.reset();
  log = OpenOrDie(options);
  EXPECT_EQ(log->delivered_sequence(), 10u);
  ExpectRange(ReadAll(*log, 10), 11, 20);

  // Everything delivered: no segment left, and sequences go on from the mark.
  ASSERT_TRUE(log->MarkDelivered(20).ok());
  EXPECT_TRUE(SegmentFiles(directory.path()).empty());
  EXPECT_EQ(log->disk_bytes(), 0u);
  log.reset();
  log = OpenOrDie(options);
  EXPECT_EQ(log->last_sequence(), 20u);
  AppendRange(*log, 21, 21);
  EXPECT_EQ(SegmentFiles(directory.path()).begin()->first, 21u);
  ExpectRange(ReadAll(*log), 21, 21);
}

TEST(WriteAheadLogTest, SegmentsRollOverAtTheConfiguredSize) {
  TempDirectory directory;
  WalOptions options{directory.path(), /*segment_bytes=*/1000};
  auto log = OpenOrDie(options);
  AppendRange(*log, 1, 100);
  // A record larger than a segment gets a segment of its own.
  std::string big(3000, 'x');
  ASSERT_EQ(*log->Append(big), 101u);

  auto segments = SegmentFiles(directory.path());
  ASSERT_GT(segments.size(), 5u);
  uint64_t total = 0;
  for (const auto& [first, path] : segments) {
    uint64_t size = std::filesystem::file_size(path);
    total += size;
    if (first != 101) {
      EXPECT_LE(size, options.segment_bytes) << path;
    }
  }
  EXPECT_EQ(segments.rbegin()->first, 101u);
  EXPECT_EQ(log->disk_bytes(), total);

  auto records = ReadAll(*log);
  ASSERT_EQ(records.size(), 101u);
  records.pop_back();
  ExpectRange(records, 1, 100);
  // Reads that start inside a later segment find their place.
  ExpectRange(*log->ReadAfter(57, 3, SIZE_MAX), 58, 60);

  log.reset();
  log = OpenOrDie(options);
  EXPECT_EQ(log->last_sequence(), 101u);
  EXPECT_EQ(ReadAll(*log).size(), 101u);
  AppendRange(*log, 102, 103);
}

TEST(WriteAheadLogTest, ReadsFarIntoALargeSegmentUseTheIndex) {
  TempDirectory directory;
  auto log = OpenOrDie({directory.path()});
  std::vector<std::string> payloads;
  for (int i = 0; i < 3000; ++i) payloads.push_back(std::string(100, 'a' + i % 26));
  std::vector<std::string_view> views(payloads.begin(), payloads.end());
  ASSERT_EQ(*log->AppendMany(views), 1u);
  auto records = *log->ReadAfter(2500, 2, SIZE_MAX);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0], (WalRecord{2501, payloads[2500]}));
  EXPECT_EQ(records[1], (WalRecord{2502, payloads[2501]}));
  log.reset();
  log = OpenOrDie({directory.path()});
  EXPECT_EQ(log->ReadAfter(2999, 5, SIZE_MAX)->at(0), (WalRecord{3000, payloads[2999]}));
}

class TornTailTest : public ::testing::TestWithParam<int> {};

// Cuts the newest segment `cut` bytes short (inside the last record's payload or header), as a
// crash in the middle of a write leaves it.
TEST_P(TornTailTest, TornTailIsDroppedAndAppendsContinue) {
  TempDirectory directory;
  {
    auto log = OpenOrDie({directory.path()});
    AppendRange(*log, 1, 10);
  }
  std::string path = SegmentFiles(directory.path()).rbegin()->second;
  uint64_t size = std::filesystem::file_size(path);
  std::filesystem::resize_file(path, size - GetParam());

  auto log = OpenOrDie({directory.path()});
  EXPECT_EQ(log->last_sequence(), 9u);
  ExpectRange(ReadAll(*log), 1, 9);
  ASSERT_EQ(*log->Append("replacement"), 10u);
  log.reset();
  log = OpenOrDie({directory.path()});
  auto records = ReadAll(*log);
  ASSERT_EQ(records.size(), 10u);
  EXPECT_EQ(records.back(), (WalRecord{10, "replacement"}));
}

INSTANTIATE_TEST_SUITE_P(CutInPayloadOrHeader, TornTailTest,
                         ::testing::Values(1, 5, static_cast<int>(Payload(10).size()),
                                           static_cast<int>(Payload(10).size() + 7)));

TEST(WriteAheadLogTest, ZeroFilledTailIsDropped) {
  // A crash after the file grew but before its pages were written leaves zeros.
  TempDirectory directory;
  {
    auto log = OpenOrDie({directory.path()});
    AppendRange(*log, 1, 3);
  }
  std::string path = SegmentFiles(directory.path()).rbegin()->second;
  WriteFile(path, ReadFile(path) + std::string(4096, '\0'));
  auto log = OpenOrDie({directory.path()});
  ExpectRange(ReadAll(*log), 1, 3);
  AppendRange(*log, 4, 4);
}

// Flips one byte of record 5 (of 10) in `segment_bytes`-sized segments and expects Open to
// refuse with WAL_CORRUPT naming the damaged file.
void ExpectDamageInTheMiddleIsReported(uint64_t segment_bytes, size_t byte_in_record) {
  TempDirectory directory;
  WalOptions options{directory.path(), segment_bytes};
  {
    auto log = OpenOrDie(options);
    AppendRange(*log, 1, 10);
  }
  auto segments = SegmentFiles(directory.path());
  std::string path = std::prev(segments.upper_bound(5))->second;
  std::string bytes = ReadFile(path);
  size_t offset = wal::kSegmentHeaderBytes;
  wal::DecodedRecord record;
  while (wal::DecodeRecord(std::string_view(bytes).substr(offset), record) ==
             wal::DecodeStatus::kRecord &&
         record.sequence != 5) {
    offset += record.size;
  }
  ASSERT_EQ(record.sequence, 5u);
  bytes[offset + byte_in_record] = static_cast<char>(bytes[offset + byte_in_record] ^ 0x40);
  WriteFile(path, bytes);

  auto log = WriteAheadLog::Open(options);
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.error().code, ErrorCode::kWalCorrupt);
  std::string text = log.error().ToString();
  EXPECT_NE(text.find(std::filesystem::path(path).filename().string()), std::string::npos) << text;
  EXPECT_NE(text.find("byte offset " + std::to_string(offset)), std::string::npos) << text;
}

TEST(WriteAheadLogTest, FlippedPayloadByteInTheNewestSegmentIsAnError) {
  ExpectDamageInTheMiddleIsReported(64 << 20, wal::kRecordHeaderBytes + 2);
}

TEST(WriteAheadLogTest, FlippedLengthByteInTheNewestSegmentIsAnError) {
  // The damaged length hides where the next record starts; Open still finds the valid records.
  ExpectDamageInTheMiddleIsReported(64 << 20, 1);
}

TEST(WriteAheadLogTest, FlippedByteInAnOlderSegmentIsAnError) {
  ExpectDamageInTheMiddleIsReported(150, wal::kRecordHeaderBytes + 2);
}

TEST(WriteAheadLogTest, DamagedDeliveredMarkIsAnError) {
  TempDirectory directory;
  {
    auto log = OpenOrDie({directory.path()});
    AppendRange(*log, 1, 3);
    ASSERT_TRUE(log->MarkDelivered(2).ok());
  }
  std::string path = directory.path() + "/delivered";
  std::string bytes = ReadFile(path);
  bytes[0] ^= 1;
  WriteFile(path, bytes);
  auto log = WriteAheadLog::Open({directory.path()});
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.error().code, ErrorCode::kWalCorrupt);
  EXPECT_NE(log.error().ToString().find("delivered"), std::string::npos);
}

TEST(WriteAheadLogTest, DiskBoundRefusesAppendsUntilDeliveryFreesSpace) {
  TempDirectory directory;
  WalOptions options{directory.path(), /*segment_bytes=*/500, /*max_disk_bytes=*/2000};
  auto log = OpenOrDie(options);
  std::string payload(100, 'p');
  uint64_t last = 0;
  Result<uint64_t> appended = 0;
  while ((appended = log->Append(payload)).ok()) last = *appended;
  EXPECT_EQ(appended.error().code, ErrorCode::kWalFull);
  EXPECT_GE(last, 10u);
  EXPECT_LE(log->disk_bytes(), options.max_disk_bytes);
  // Still full: nothing was written by the refused append.
  EXPECT_EQ(log->Append(payload).error().code, ErrorCode::kWalFull);
  EXPECT_EQ(log->last_sequence(), last);

  ASSERT_TRUE(log->MarkDelivered(last).ok());
  EXPECT_EQ(log->disk_bytes(), 0u);
  auto resumed = log->Append(payload);
  ASSERT_TRUE(resumed.ok()) << resumed.error().ToString();
  EXPECT_EQ(*resumed, last + 1);
}

TEST(WriteAheadLogTest, OversizedRecordHasItsOwnCode) {
  TempDirectory directory;
  auto log = OpenOrDie({directory.path()});
  std::string huge(wal::kMaxPayloadBytes + 1, 'h');
  EXPECT_EQ(log->Append(huge).error().code, ErrorCode::kWalRecordTooLarge);
  EXPECT_EQ(*log->Append("small"), 1u);
}

TEST(WriteAheadLogTest, SecondOpenOfTheSameDirectoryIsRefused) {
  TempDirectory directory;
  auto log = OpenOrDie({directory.path()});
  auto second = WriteAheadLog::Open({directory.path()});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, ErrorCode::kIoError);
  log.reset();
  EXPECT_TRUE(WriteAheadLog::Open({directory.path()}).ok());
}

TEST(WriteAheadLogTest, ConcurrentAppendsShareSyncs) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 500;
  TempDirectory directory;
  auto log = OpenOrDie({directory.path()});
  std::vector<std::vector<uint64_t>> sequences(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto sequence = log->Append("t" + std::to_string(t) + "-" + std::to_string(i));
        ASSERT_TRUE(sequence.ok()) << sequence.error().ToString();
        sequences[t].push_back(*sequence);
      }
    });
  }
  for (auto& thread : threads) thread.join();

  auto records = ReadAll(*log);
  ASSERT_EQ(records.size(), static_cast<size_t>(kThreads * kPerThread));
  for (size_t i = 0; i < records.size(); ++i) ASSERT_EQ(records[i].sequence, i + 1);
  for (int t = 0; t < kThreads; ++t) {
    // Each thread's records are in its own order and carry its payloads.
    EXPECT_TRUE(std::is_sorted(sequences[t].begin(), sequences[t].end()));
    for (int i = 0; i < kPerThread; ++i) {
      EXPECT_EQ(records[sequences[t][i] - 1].payload,
                "t" + std::to_string(t) + "-" + std::to_string(i));
    }
  }
  // One sync per append would be 4000; waiting appenders must share the leader's syncs.
  EXPECT_LT(log->sync_count(), static_cast<uint64_t>(kThreads * kPerThread) / 2)
      << "group commit is not batching";
  std::printf("%d appends took %llu syncs\n", kThreads * kPerThread,
              static_cast<unsigned long long>(log->sync_count()));
}

TEST(WriteAheadLogTest, ReadersAndDeliveryRunAlongsideAppends) {
  TempDirectory directory;
  auto log = OpenOrDie({directory.path(), /*segment_bytes=*/4096});
  constexpr uint64_t kRecords = 2000;
  std::thread writer([&] { AppendRange(*log, 1, kRecords); });
  // A delivery loop as the sink runs it: read what is acknowledged, mark it, repeat.
  uint64_t delivered = 0;
  while (delivered < kRecords) {
    auto batch = log->ReadAfter(delivered, 64, SIZE_MAX);
    ASSERT_TRUE(batch.ok()) << batch.error().ToString();
    for (const WalRecord& record : *batch) {
      ASSERT_EQ(record, (WalRecord{delivered + 1, Payload(delivered + 1)}));
      ++delivered;
    }
    ASSERT_TRUE(log->MarkDelivered(delivered).ok());
  }
  writer.join();
  EXPECT_LE(SegmentFiles(directory.path()).size(), 1u);
}

}  // namespace
}  // namespace sluice
