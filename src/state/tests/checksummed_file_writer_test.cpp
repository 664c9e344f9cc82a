#include "state/checksummed_file_writer.h"

#include <gtest/gtest.h>
#include <xxhash.h>

#include <filesystem>
#include <random>
#include <string>

#include "state/posix_file.h"
#include "wal_test_util.h"

namespace sluice {
namespace {

using Writer = ChecksummedFileWriter;
using testing::TempDirectory;

std::string RandomBytes(size_t size, uint64_t seed) {
  std::mt19937_64 random(seed);
  std::string bytes(size, '\0');
  for (char& byte : bytes) byte = static_cast<char>(random());
  return bytes;
}

/// Writes `data` through a writer in appends of 1 to `largest_append` bytes, flushing as a
/// producer does, and checks the file, its size and its checksum.
void ExpectWritten(Writer::DirectIo direct_io, const std::string& path, const std::string& data,
                   size_t largest_append) {
  std::string context = "size " + std::to_string(data.size()) + ", appends up to " +
                        std::to_string(largest_append) +
                        (direct_io == Writer::DirectIo::kNever ? ", buffered" : ", direct");
  Writer writer(path, direct_io);
  ASSERT_TRUE(writer.Open().ok()) << context;
  std::mt19937_64 random(data.size());
  for (size_t at = 0; at < data.size();) {
    size_t piece = std::min(data.size() - at, 1 + random() % largest_append);
    writer.buffer().append(data, at, piece);
    at += piece;
    Status flushed = writer.MaybeFlush();
    ASSERT_TRUE(flushed.ok()) << context << ": " << flushed.error().ToString();
  }
  Status finished = writer.Finish();
  ASSERT_TRUE(finished.ok()) << context << ": " << finished.error().ToString();
  if (direct_io == Writer::DirectIo::kNever) {
    EXPECT_FALSE(writer.direct()) << context;
  }
  EXPECT_EQ(writer.size(), data.size()) << context;
  EXPECT_EQ(writer.checksum(), XXH3_64bits(data.data(), data.size())) << context;
  Result<std::string> read = ReadWholeFile(path);
  ASSERT_TRUE(read.ok()) << context;
  EXPECT_EQ(read->size(), data.size()) << context;
  EXPECT_TRUE(*read == data) << context << ": the file's bytes differ";
}

// Sizes on both sides of a block and of the flush threshold, written in small appends, in
// appends larger than a flush (several staging blocks at once) and in one append at the end:
// the padding of the last block and the cut to size leave exactly the bytes written, whether
// the file goes around the page cache or through it.
TEST(ChecksummedFileWriterTest, FileHoldsExactlyTheBytesWrittenAndTheirChecksum) {
  TempDirectory folder;
  constexpr size_t kBlock = Writer::kBlock;
  constexpr size_t kFlush = Writer::kFlushBytes;
  for (Writer::DirectIo direct_io : {Writer::DirectIo::kWhenPossible, Writer::DirectIo::kNever}) {
    for (size_t size : {size_t{0}, size_t{1}, kBlock - 1, kBlock, kBlock + 1, kFlush - 1, kFlush,
                        kFlush + 1, 2 * kFlush + kBlock + 123}) {
      std::string data = RandomBytes(size, size + 7);
      std::string path = folder.path() + "/file";
      ExpectWritten(direct_io, path, data, 300'000);
      ExpectWritten(direct_io, path, data, 3 * kFlush);
      ExpectWritten(direct_io, path, data, data.size() + 1);
    }
  }
}

// An existing file is replaced by a new one, never written over: a hard link to it elsewhere
// (an older snapshot holding the same piece) keeps its bytes.
TEST(ChecksummedFileWriterTest, ExistingFileIsReplacedNotOverwritten) {
  TempDirectory folder;
  std::string path = folder.path() + "/piece";
  std::string linked = folder.path() + "/older-snapshot-piece";
  std::string old_bytes = RandomBytes(10'000, 1);
  ExpectWritten(Writer::DirectIo::kWhenPossible, path, old_bytes, 4096);
  std::filesystem::create_hard_link(path, linked);
  std::string new_bytes = RandomBytes(20'000, 2);
  ExpectWritten(Writer::DirectIo::kWhenPossible, path, new_bytes, 4096);
  Result<std::string> kept = ReadWholeFile(linked);
  ASSERT_TRUE(kept.ok());
  EXPECT_TRUE(*kept == old_bytes);
}

TEST(ChecksummedFileWriterTest, UncreatableFileIsAnIoErrorNamingIt) {
  TempDirectory folder;
  std::string path = folder.path() + "/no-such-folder/piece";
  Writer writer(path);
  Status opened = writer.Open();
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, ErrorCode::kIoError);
  EXPECT_NE(opened.error().ToString().find(path), std::string::npos) << opened.error().ToString();
}

}  // namespace
}  // namespace sluice
