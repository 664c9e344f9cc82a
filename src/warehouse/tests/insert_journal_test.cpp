#include "warehouse/insert_journal.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace sluice {
namespace {

class InsertJournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    folder_ = std::filesystem::temp_directory_path() /
              ("sluice-insert-journal-" + std::to_string(::getpid()) + "-" +
               ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(folder_);
    std::filesystem::create_directories(folder_);
    path_ = (folder_ / "journal").string();
  }
  void TearDown() override { std::filesystem::remove_all(folder_); }

  InsertJournal Load() {
    auto journal = InsertJournal::Load(path_);
    EXPECT_TRUE(journal.ok()) << journal.error().ToString();
    return std::move(journal).value();
  }

  std::filesystem::path folder_;
  std::string path_;
};

TEST_F(InsertJournalTest, MissingFileIsAnEmptyJournal) {
  InsertJournal journal = Load();
  EXPECT_FALSE(journal.in_flight());
  EXPECT_EQ(journal.FindSuspect("any"), nullptr);
}

TEST_F(InsertJournalTest, InsertInFlightSurvivesTheProcessWithItsMarks) {
  {
    InsertJournal journal = Load();
    // Tabs, newlines and percent signs in a token must not break the line format.
    ASSERT_TRUE(journal.Begin("p/t\t1\n%09x", "p/t\t1\n%09x", {{"db.t", 7}, {"db.u", 12}}).ok());
  }
  InsertJournal reloaded = Load();
  ASSERT_TRUE(reloaded.in_flight());
  EXPECT_EQ(reloaded.in_flight()->token, "p/t\t1\n%09x");
  EXPECT_EQ(reloaded.in_flight()->marks, (BlockMarks{{"db.t", 7}, {"db.u", 12}}));
}

TEST_F(InsertJournalTest, FinishedInsertLeavesNothingBehind) {
  {
    InsertJournal journal = Load();
    ASSERT_TRUE(journal.Begin("p/t/1", "p/t/1", {{"db.t", 7}}).ok());
    ASSERT_TRUE(journal.Finish("p/t/1").ok());
  }
  InsertJournal reloaded = Load();
  EXPECT_FALSE(reloaded.in_flight());
  EXPECT_EQ(reloaded.FindSuspect("p/t/1"), nullptr);
}

TEST_F(InsertJournalTest, ResolvedInsertBecomesASuspectUntilItsRetryFinishes) {
  {
    InsertJournal journal = Load();
    ASSERT_TRUE(journal.Begin("p/t/1", "p/t/1", {}).ok());
  }
  {
    InsertJournal journal = Load();
    ASSERT_TRUE(journal.Resolve(0).ok());
    EXPECT_FALSE(journal.in_flight());
  }
  InsertJournal journal = Load();
  const SuspectInsert* suspect = journal.FindSuspect("p/t/1");
  ASSERT_NE(suspect, nullptr);
  EXPECT_EQ(suspect->committed_blocks, 0u);
  EXPECT_EQ(suspect->attempt_token, "p/t/1");

  // Each retry gets a token never used before, also across restarts.
  std::string first = journal.FreshToken("p/t/1");
  ASSERT_TRUE(journal.Begin("p/t/1", first, {}).ok());
  InsertJournal after_crash = Load();
  ASSERT_TRUE(after_crash.Resolve(2).ok());
  const SuspectInsert* again = after_crash.FindSuspect("p/t/1");
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->attempt_token, first);
  EXPECT_EQ(again->committed_blocks, 2u);
  EXPECT_NE(after_crash.FreshToken("p/t/1"), first);

  ASSERT_TRUE(after_crash.Finish("p/t/1").ok());
  EXPECT_EQ(Load().FindSuspect("p/t/1"), nullptr);
}

TEST_F(InsertJournalTest, DamagedJournalIsRefusedWithItsLine) {
  std::ofstream(path_) << "sluice-insert-journal 1\nretries\t0\nsuspect\tp/t/1\tp/t/1\tmany\n";
  auto journal = InsertJournal::Load(path_);
  ASSERT_FALSE(journal.ok());
  EXPECT_EQ(journal.error().code, ErrorCode::kCheckpointCorrupt);
  EXPECT_NE(journal.error().ToString().find("journal:3"), std::string::npos)
      << journal.error().ToString();

  std::ofstream(path_) << "something else\n";
  EXPECT_FALSE(InsertJournal::Load(path_).ok());

  std::ofstream(path_) << "sluice-insert-journal 1\nretries\t0\n";
  EXPECT_FALSE(InsertJournal::Load(path_).ok()) << "a journal without its end line";
}

TEST_F(InsertJournalTest, WhatALongerEarlierVersionLeftAfterTheEndIsIgnored) {
  std::ofstream(path_) << "sluice-insert-journal 1\nretries\t3\nend\nmark\tdb.t\t";
  InsertJournal journal = Load();
  EXPECT_FALSE(journal.in_flight());
  EXPECT_EQ(journal.FreshToken("t"), "t/retry-4");
}

TEST_F(InsertJournalTest, BlockMarksFollowNewPartsAndIgnoreOtherTables) {
  std::filesystem::create_directories(folder_ / "t" / "all_1_1_0");
  std::filesystem::create_directories(folder_ / "empty");
  BlockMarkReader reader(
      {{"db.t", (folder_ / "t").string()}, {"db.empty", (folder_ / "empty").string()}});
  EXPECT_EQ(reader.Read(), (BlockMarks{{"db.t", 1}}));
  std::filesystem::create_directories(folder_ / "t" / "all_2_2_0");
  EXPECT_EQ(reader.Read(), (BlockMarks{{"db.t", 2}}));
}

TEST_F(InsertJournalTest, HighestBlockComesFromThePartFoldersOnly) {
  EXPECT_EQ(HighestBlockInFolder(folder_.string()), std::nullopt);
  for (const char* part : {"all_1_1_0", "202611_3_7_2_9", "tmp_insert_all_8_8_0", "detached"}) {
    std::filesystem::create_directories(folder_ / part);
  }
  std::ofstream(folder_ / "format_version.txt") << "1";
  std::ofstream(folder_ / "all_1_99_0") << "a file, not a part";
  EXPECT_EQ(HighestBlockInFolder(folder_.string()), 7u);
}

TEST(CountBlocksAboveTest, CountsOnlyBlockNumbersAboveEachTablesMark) {
  BlockMarks marks{{"db.t", 10}, {"db.u", 3}};
  std::string parts =
      "db\tt\t1\t10\n"     // entirely below the mark
      "db\tt\t11\t11\n"    // one new block
      "db\tu\t1\t5\n"      // merged after the insert: blocks 4 and 5 are new
      "db\tview\t1\t1\n";  // no mark: the table had no parts, all its blocks are new
  EXPECT_EQ(CountBlocksAbove(marks, parts), 4u);
  EXPECT_EQ(CountBlocksAbove(marks, "db\tt\t1\t10\n"), 0u);
}

}  // namespace
}  // namespace sluice
