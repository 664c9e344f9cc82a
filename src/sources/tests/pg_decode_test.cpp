#include <gtest/gtest.h>

#include "format/text_value.h"
#include "sources/pg_connection.h"
#include "sources/pg_types.h"
#include "sources/postgres_cdc/pgoutput.h"
#include "sources/postgres_cdc/snapshot_copier.h"

namespace sluice {
namespace {

/// Builds pgoutput messages byte by byte, big-endian like the server.
class MessageWriter {
 public:
  explicit MessageWriter(char type) { bytes_ += type; }
  MessageWriter& Int(uint64_t value, int size) {
    for (int i = size - 1; i >= 0; --i) bytes_ += static_cast<char>((value >> (8 * i)) & 0xFF);
    return *this;
  }
  MessageWriter& String(std::string_view text) {
    bytes_ += text;
    bytes_ += '\0';
    return *this;
  }
  MessageWriter& Char(char c) {
    bytes_ += c;
    return *this;
  }
  MessageWriter& Text(std::string_view text) {
    Char('t').Int(text.size(), 4);
    bytes_ += text;
    return *this;
  }
  const std::string& bytes() const { return bytes_; }

 private:
  std::string bytes_;
};

TEST(PgOutputTest, DecodesRelationAndUpdateWithOldKeyAndUnchangedToast) {
  MessageWriter relation('R');
  relation.Int(16384, 4).String("public").String("items").Char('d').Int(2, 2);
  relation.Char(1).String("id").Int(20, 4).Int(0xFFFFFFFF, 4);
  relation.Char(0).String("big").Int(25, 4).Int(0xFFFFFFFF, 4);
  auto decoded = DecodePgOutput(relation.bytes());
  ASSERT_TRUE(decoded.ok()) << decoded.error().ToString();
  EXPECT_EQ(decoded->table, "items");
  ASSERT_EQ(decoded->columns.size(), 2u);
  EXPECT_TRUE(decoded->columns[0].key);
  EXPECT_EQ(decoded->columns[1].type_oid, 25u);
  EXPECT_EQ(decoded->columns[1].typmod, -1);

  MessageWriter update('U');
  update.Int(16384, 4).Char('K').Int(2, 2).Text("7").Char('n');
  update.Char('N').Int(2, 2).Text("8").Char('u');
  auto change = DecodePgOutput(update.bytes());
  ASSERT_TRUE(change.ok()) << change.error().ToString();
  ASSERT_EQ(change->old_tuple.size(), 2u);
  EXPECT_EQ(change->old_tuple[0].text, "7");
  EXPECT_EQ(change->new_tuple[0].text, "8");
  EXPECT_EQ(change->new_tuple[1].kind, PgTupleValue::Kind::kUnchangedToast);
}

TEST(PgOutputTest, ACutMessageIsAProtocolError) {
  MessageWriter begin('B');
  begin.Int(0x16B3748, 8).Int(1, 8);  // the xid is missing
  auto decoded = DecodePgOutput(begin.bytes());
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().code, ErrorCode::kPgProtocolError);
  auto unknown = DecodePgOutput("Z");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("unknown pgoutput message type 'Z'"), std::string::npos);
}

TEST(CopyTextTest, SplitsFieldsAndUnescapes) {
  auto fields = SplitCopyLine("1\t\\N\ta\\tb\\\\c\\nd\t\\x41\\101\n");
  ASSERT_EQ(fields.size(), 4u);
  EXPECT_EQ(*fields[0], "1");
  EXPECT_FALSE(fields[1].has_value());
  EXPECT_EQ(*fields[2], "a\tb\\c\nd");
  EXPECT_EQ(*fields[3], "AA");
  auto empty = SplitCopyLine("\t\n");
  ASSERT_EQ(empty.size(), 2u);
  EXPECT_EQ(*empty[0], "");
}

TEST(PgTypesTest, MapsTypesAndConvertsTheirText) {
  EXPECT_EQ(PgColumnType(1700, ((12 << 16) | 2) + 4).ToString(), "Decimal(12, 2)");
  EXPECT_EQ(PgColumnType(1700, -1).ToString(), "String");
  EXPECT_EQ(PgColumnType(1184, -1).ToString(), "DateTime64(6, 'UTC')");
  EXPECT_EQ(PgColumnType(1007, -1).ToString(), "Array(Nullable(Int32))");
  EXPECT_EQ(PgColumnType(3802, -1).ToString(), "String");

  Column flag(*ParseDataType("Bool"));
  ASSERT_TRUE(AppendPgText("t", 16, flag).ok());
  ASSERT_TRUE(AppendPgText("f", 16, flag).ok());
  EXPECT_EQ(ValueToText(flag, 0), "true");
  EXPECT_EQ(ValueToText(flag, 1), "false");

  Column bytes(*ParseDataType("String"));
  ASSERT_TRUE(AppendPgText("\\x00ff41", 17, bytes).ok());
  EXPECT_EQ(bytes.StringAt(0), std::string("\0\xff"
                                           "A",
                                           3));
  EXPECT_FALSE(AppendPgText("\\xzz", 17, bytes).ok());

  Column at(PgColumnType(1184, -1));
  ASSERT_TRUE(AppendPgText("2024-03-01 10:00:00.5+00", 1184, at).ok());
  EXPECT_EQ(ValueToText(at, 0), "2024-03-01 10:00:00.500000");
  EXPECT_FALSE(AppendPgText("infinity", 1184, at).ok());

  Column tags(PgColumnType(1009, -1));
  ASSERT_TRUE(AppendPgText("{a,\"b c\",NULL,\"NULL\",\"q\\\"\"}", 1009, tags).ok());
  ASSERT_EQ(tags.child(0).size(), 5u);
  EXPECT_EQ(tags.child(0).StringAt(1), "b c");
  EXPECT_TRUE(tags.child(0).IsNull(2));
  EXPECT_EQ(tags.child(0).StringAt(3), "NULL");
  EXPECT_EQ(tags.child(0).StringAt(4), "q\"");
  EXPECT_FALSE(AppendPgText("{{1,2},{3,4}}", 1007, tags).ok());
  EXPECT_EQ(tags.size(), 1u);
}

TEST(PgConnectionTest, ParsesNamesAndLsns) {
  EXPECT_EQ(SplitQualifiedName("orders"),
            std::make_pair(std::string("public"), std::string("orders")));
  EXPECT_EQ(SplitQualifiedName("\"My.Schema\".t"),
            std::make_pair(std::string("My.Schema"), std::string("t")));
  EXPECT_EQ(ParseLsn("16/B374D848"), 0x16B374D848ull);
  EXPECT_EQ(FormatLsn(0x16B374D848ull), "16/B374D848");
  EXPECT_EQ(ParseLsn("garbage"), 0u);
}

}  // namespace
}  // namespace sluice
