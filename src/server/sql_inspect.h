#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sluice {

/// One statement of a request, as far as the query endpoint needs to know it.
struct SqlStatement {
  /// From its first token to its last: leading and trailing comments and the `;` left out.
  std::string_view text;
  /// Its first keyword upper-cased ("SELECT"), looking past opening parentheses; "" if none.
  std::string keyword;
  /// The name after a trailing top-level `FORMAT <name>` clause, else "".
  std::string format;
  /// Has `INTO OUTFILE` outside strings and comments (a SELECT that writes a file).
  bool writes_file = false;
};

/// Splits ClickHouse SQL into statements at `;` outside string literals, quoted identifiers,
/// heredocs (`$tag$...$tag$`) and comments (`--`, `#`, nested `/* */`), dropping empty ones.
/// Not a parser: it finds only what the endpoint checks before the engine sees the query; an
/// unterminated literal or comment runs to the end, and the engine reports the syntax error.
std::vector<SqlStatement> SplitSqlStatements(std::string_view sql);

/// True for statements that only read: SELECT, WITH, SHOW, DESCRIBE, DESC, EXPLAIN, EXISTS,
/// without INTO OUTFILE.
bool IsReadOnlyStatement(const SqlStatement& statement);

}  // namespace sluice
