#include "state/wal_format.h"

#include <gtest/gtest.h>

#include <string>

namespace sluice::wal {
namespace {

TEST(WalFormatTest, RecordRoundTrip) {
  std::string bytes;
  EncodeRecord(42, std::string("pay\0load", 8), bytes);
  EncodeRecord(43, "", bytes);
  ASSERT_EQ(bytes.size(), 2 * kRecordHeaderBytes + 8);

  DecodedRecord record;
  ASSERT_EQ(DecodeRecord(bytes, record), DecodeStatus::kRecord);
  EXPECT_EQ(record.sequence, 42u);
  EXPECT_EQ(record.payload, std::string("pay\0load", 8));
  ASSERT_EQ(DecodeRecord(std::string_view(bytes).substr(record.size), record),
            DecodeStatus::kRecord);
  EXPECT_EQ(record.sequence, 43u);
  EXPECT_EQ(record.payload, "");
}

TEST(WalFormatTest, ShortBytesAreIncomplete) {
  std::string bytes;
  EncodeRecord(1, "hello", bytes);
  DecodedRecord record;
  for (size_t size = 0; size < bytes.size(); ++size) {
    EXPECT_EQ(DecodeRecord(std::string_view(bytes).substr(0, size), record),
              DecodeStatus::kIncomplete)
        << size;
  }
  EXPECT_EQ(RecordSizeHint(std::string_view(bytes).substr(0, 4)), bytes.size());
}

TEST(WalFormatTest, EveryFlippedByteIsCaught) {
  std::string bytes;
  EncodeRecord(7, "some payload", bytes);
  for (size_t at = 0; at < bytes.size(); ++at) {
    std::string damaged = bytes;
    damaged[at] = static_cast<char>(damaged[at] ^ 0x10);
    DecodedRecord record;
    EXPECT_NE(DecodeRecord(damaged, record), DecodeStatus::kRecord) << "byte " << at;
  }
}

TEST(WalFormatTest, ZeroFilledTailIsNotARecord) {
  DecodedRecord record;
  EXPECT_EQ(DecodeRecord(std::string(64, '\0'), record), DecodeStatus::kCorrupt);
  EXPECT_FALSE(ValidRecordFollows(std::string(4096, '\0'), 1));
}

TEST(WalFormatTest, FindsValidRecordsAfterDamage) {
  std::string bytes(13, '\x55');  // garbage where a record was
  EncodeRecord(10, "next", bytes);
  EXPECT_TRUE(ValidRecordFollows(bytes, 9));
  // Older sequences do not count: they cannot follow the damaged record.
  EXPECT_FALSE(ValidRecordFollows(bytes, 11));
}

TEST(WalFormatTest, SegmentFileNames) {
  EXPECT_EQ(SegmentFileName(17), "wal-00000000000000000017.log");
  EXPECT_EQ(ParseSegmentFileName("wal-00000000000000000017.log"), 17u);
  EXPECT_EQ(ParseSegmentFileName(SegmentFileName(UINT64_MAX)), UINT64_MAX);
  EXPECT_FALSE(ParseSegmentFileName("wal-00000000000000000017.log.tmp"));
  EXPECT_FALSE(ParseSegmentFileName("wal-0000000000000000001x.log"));
  EXPECT_FALSE(ParseSegmentFileName("delivered"));
}

TEST(WalFormatTest, DeliveredMarkRoundTripAndDamage) {
  std::string mark = EncodeDelivered(123456789);
  auto decoded = DecodeDelivered(mark, "delivered");
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, 123456789u);
  mark[2] ^= 1;
  auto damaged = DecodeDelivered(mark, "delivered");
  ASSERT_FALSE(damaged.ok());
  EXPECT_EQ(damaged.error().code, ErrorCode::kWalCorrupt);
}

}  // namespace
}  // namespace sluice::wal
