#include "warehouse/identifier.h"

#include <gtest/gtest.h>

#include <string>

namespace sluice {
namespace {

TEST(IdentifierTest, QuotesPlainNamesInBackticks) {
  EXPECT_EQ(QuoteIdentifier("user_events"), "`user_events`");
  EXPECT_EQ(QuoteIdentifier(""), "``");
  EXPECT_EQ(QualifiedName("analytics", "t"), "`analytics`.`t`");
}

TEST(IdentifierTest, EscapesBacktickAndBackslash) {
  EXPECT_EQ(QuoteIdentifier("a`b"), "`a\\`b`");
  EXPECT_EQ(QuoteIdentifier("a\\b"), "`a\\\\b`");
  // A trailing backslash must not escape the closing backtick.
  EXPECT_EQ(QuoteIdentifier("x\\"), "`x\\\\`");
}

TEST(IdentifierTest, InjectionAttemptStaysOneIdentifier) {
  const std::string quoted = QuoteIdentifier("x` UInt8) ENGINE = Memory; DROP TABLE t; --");
  EXPECT_EQ(quoted, "`x\\` UInt8) ENGINE = Memory; DROP TABLE t; --`");
  // The only unescaped backticks are the two delimiters.
  int unescaped = 0;
  for (size_t i = 0; i < quoted.size(); ++i) {
    if (quoted[i] == '\\') {
      ++i;
    } else if (quoted[i] == '`') {
      ++unescaped;
    }
  }
  EXPECT_EQ(unescaped, 2);
  EXPECT_EQ(quoted.front(), '`');
  EXPECT_EQ(quoted.back(), '`');
}

TEST(IdentifierTest, EscapesControlCharacters) {
  EXPECT_EQ(QuoteIdentifier("a\nb\tc"), "`a\\nb\\tc`");
  EXPECT_EQ(QuoteIdentifier(std::string("a\0b", 3)), "`a\\0b`");
  EXPECT_EQ(QuoteIdentifier("a\x01"
                            "b"),
            "`a\\x01b`");
}

TEST(IdentifierTest, QuotesStringsInSingleQuotes) {
  EXPECT_EQ(QuoteString("plain"), "'plain'");
  EXPECT_EQ(QuoteString("it's"), "'it\\'s'");
  EXPECT_EQ(QuoteString("back\\slash"), "'back\\\\slash'");
  EXPECT_EQ(QuoteString("line\nbreak\r"), "'line\\nbreak\\r'");
  EXPECT_EQ(QuoteString("a`b"), "'a`b'");
  EXPECT_EQ(QuoteString("x\x7f"), "'x\\x7F'");
}

TEST(IdentifierTest, StringInjectionAttemptStaysOneLiteral) {
  EXPECT_EQ(QuoteString("'); DROP TABLE t; --"), "'\\'); DROP TABLE t; --'");
  EXPECT_EQ(QuoteString("\\'; DROP TABLE t; --"), "'\\\\\\'; DROP TABLE t; --'");
}

}  // namespace
}  // namespace sluice
