#include "expression/utf8.h"

#include <gtest/gtest.h>

namespace sluice {
namespace {

TEST(Utf8Test, LengthCountsCodePoints) {
  EXPECT_EQ(Utf8Length(""), 0u);
  EXPECT_EQ(Utf8Length("abc"), 3u);
  EXPECT_EQ(Utf8Length("caf\xC3\xA9"), 4u);  // café
  EXPECT_EQ(Utf8Length("\xE2\x82\xAC"
                       "5"),
            2u);                                  // €5
  EXPECT_EQ(Utf8Length("\xF0\x9F\x98\x80"), 1u);  // one emoji, four bytes
  EXPECT_EQ(Utf8Length("a\xFF"
                       "b"),
            3u);  // an invalid byte counts as one
}

TEST(Utf8Test, CaseMappingCoversLettersBeyondAscii) {
  std::string out;
  Utf8Lower(
      "\xC3\x89"
      "COLE Hello",
      out);  // ÉCOLE
  EXPECT_EQ(out,
            "\xC3\xA9"
            "cole hello");
  Utf8Upper(
      "stra\xC3\x9F"
      "e \xD0\xB4\xD0\xB0",
      out);  // straße да
  EXPECT_EQ(out,
            "STRA\xC3\x9F"
            "E \xD0\x94\xD0\x90");  // ß has no one-letter upper case
  Utf8Lower(
      "a\xFF"
      "B",
      out);
  EXPECT_EQ(out,
            "a\xFF"
            "b");
}

}  // namespace
}  // namespace sluice
