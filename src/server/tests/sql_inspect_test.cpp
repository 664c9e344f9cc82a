#include "server/sql_inspect.h"

#include <gtest/gtest.h>

namespace sluice {
namespace {

TEST(SqlInspectTest, OneStatementWithoutTrailingSemicolonOrComments) {
  auto statements = SplitSqlStatements("  -- lead\n select 1 /* tail */ ;  -- done\n ; ");
  ASSERT_EQ(statements.size(), 1u);
  EXPECT_EQ(statements[0].text, "select 1");
  EXPECT_EQ(statements[0].keyword, "SELECT");
  EXPECT_TRUE(IsReadOnlyStatement(statements[0]));
}

TEST(SqlInspectTest, SemicolonsInsideLiteralsIdentifiersAndCommentsDoNotSplit) {
  std::string sql =
      "SELECT 'a;b', 'it''s;', 'esc\\';', \"col;1\", `col;2`, $$heredoc;$$, $t$x;$t$ "
      "/* c; /* nested; */ still; */ -- line;\n# hash;\nFROM t";
  auto statements = SplitSqlStatements(sql);
  ASSERT_EQ(statements.size(), 1u);
  EXPECT_EQ(statements[0].text, sql);
}

TEST(SqlInspectTest, FindsEverySecondStatement) {
  auto statements = SplitSqlStatements("SELECT 1; DROP TABLE t");
  ASSERT_EQ(statements.size(), 2u);
  EXPECT_EQ(statements[1].keyword, "DROP");
  EXPECT_FALSE(IsReadOnlyStatement(statements[1]));
  EXPECT_EQ(SplitSqlStatements("SELECT ';'; SELECT 2").size(), 2u);
}

TEST(SqlInspectTest, ReadOnlyKeywords) {
  for (const char* sql :
       {"SELECT 1", "with x as (select 1) select * from x", "SHOW TABLES", "DESCRIBE TABLE t",
        "desc t", "EXPLAIN SELECT 1", "EXISTS TABLE t", "((SELECT 1)) UNION ALL SELECT 2"}) {
    auto statements = SplitSqlStatements(sql);
    ASSERT_EQ(statements.size(), 1u) << sql;
    EXPECT_TRUE(IsReadOnlyStatement(statements[0])) << sql;
  }
  for (const char* sql : {"INSERT INTO t VALUES (1)", "CREATE TABLE t (a Int8) ENGINE = Memory",
                          "DROP TABLE t", "ALTER TABLE t DELETE WHERE 1", "SET readonly = 0",
                          "USE system", "OPTIMIZE TABLE t", "SYSTEM STOP MERGES", "(INSERT)",
                          "SELECT 1 INTO OUTFILE '/tmp/x'", "select 1 into  outfile 'x'"}) {
    auto statements = SplitSqlStatements(sql);
    ASSERT_EQ(statements.size(), 1u) << sql;
    EXPECT_FALSE(IsReadOnlyStatement(statements[0])) << sql;
  }
  // The words inside a string are data.
  EXPECT_TRUE(IsReadOnlyStatement(SplitSqlStatements("SELECT 'INTO OUTFILE'")[0]));
}

TEST(SqlInspectTest, TrailingFormatClause) {
  EXPECT_EQ(SplitSqlStatements("SELECT 1 FORMAT JSONEachRow;")[0].format, "JSONEachRow");
  EXPECT_EQ(SplitSqlStatements("select 1 format CSV -- x")[0].format, "CSV");
  EXPECT_EQ(SplitSqlStatements("SELECT format FROM t")[0].format, "");
  EXPECT_EQ(SplitSqlStatements("SELECT 'FORMAT JSON'")[0].format, "");
}

TEST(SqlInspectTest, UnterminatedLiteralRunsToTheEnd) {
  auto statements = SplitSqlStatements("SELECT 'abc; DROP TABLE t");
  ASSERT_EQ(statements.size(), 1u);
  EXPECT_EQ(statements[0].keyword, "SELECT");
  EXPECT_TRUE(SplitSqlStatements("  /* only a comment */ ").empty());
}

}  // namespace
}  // namespace sluice
