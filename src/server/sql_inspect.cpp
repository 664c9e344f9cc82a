#include "server/sql_inspect.h"

#include <algorithm>
#include <array>
#include <cctype>

namespace sluice {
namespace {

enum class TokenKind { kWord, kSemicolon, kOther };

struct Token {
  TokenKind kind;
  size_t begin;
  size_t end;
};

bool IsWordStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
}
bool IsWordChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

/// The end of a literal opened by `quote` at `begin`: backslash escapes and doubled quotes.
size_t QuotedEnd(std::string_view sql, size_t begin, char quote) {
  size_t i = begin + 1;
  while (i < sql.size()) {
    if (sql[i] == '\\') {
      i += 2;
    } else if (sql[i] == quote) {
      if (i + 1 < sql.size() && sql[i + 1] == quote) {
        i += 2;
      } else {
        return i + 1;
      }
    } else {
      ++i;
    }
  }
  return sql.size();
}

/// The end of a nested block comment opened at `begin`.
size_t BlockCommentEnd(std::string_view sql, size_t begin) {
  int depth = 0;
  size_t i = begin;
  while (i + 1 < sql.size()) {
    if (sql[i] == '/' && sql[i + 1] == '*') {
      ++depth;
      i += 2;
    } else if (sql[i] == '*' && sql[i + 1] == '/') {
      i += 2;
      if (--depth == 0) return i;
    } else {
      ++i;
    }
  }
  return sql.size();
}

/// The end of a heredoc `$tag$ ... $tag$` opened at `begin`, or `begin` when there is none.
size_t HeredocEnd(std::string_view sql, size_t begin) {
  size_t tag_end = begin + 1;
  while (tag_end < sql.size() && IsWordChar(sql[tag_end])) ++tag_end;
  if (tag_end >= sql.size() || sql[tag_end] != '$') return begin;
  std::string_view tag = sql.substr(begin, tag_end + 1 - begin);
  size_t close = sql.find(tag, tag_end + 1);
  return close == std::string_view::npos ? sql.size() : close + tag.size();
}

std::vector<Token> Tokenize(std::string_view sql) {
  std::vector<Token> tokens;
  size_t i = 0;
  while (i < sql.size()) {
    char c = sql[i];
    char next = i + 1 < sql.size() ? sql[i + 1] : '\0';
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if ((c == '-' && next == '-') || (c == '#' && (next == ' ' || next == '!'))) {
      size_t end = sql.find('\n', i);
      i = end == std::string_view::npos ? sql.size() : end + 1;
    } else if (c == '/' && next == '*') {
      i = BlockCommentEnd(sql, i);
    } else if (c == '\'' || c == '"' || c == '`') {
      size_t end = QuotedEnd(sql, i, c);
      tokens.push_back({TokenKind::kOther, i, end});
      i = end;
    } else if (c == '$' && HeredocEnd(sql, i) != i) {
      size_t end = HeredocEnd(sql, i);
      tokens.push_back({TokenKind::kOther, i, end});
      i = end;
    } else if (IsWordStart(c)) {
      size_t end = i + 1;
      while (end < sql.size() && IsWordChar(sql[end])) ++end;
      tokens.push_back({TokenKind::kWord, i, end});
      i = end;
    } else {
      tokens.push_back({c == ';' ? TokenKind::kSemicolon : TokenKind::kOther, i, i + 1});
      ++i;
    }
  }
  return tokens;
}

std::string Upper(std::string_view text) {
  std::string upper(text);
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return upper;
}

SqlStatement Describe(std::string_view sql, const std::vector<Token>& tokens, size_t first,
                      size_t last) {
  SqlStatement statement;
  statement.text = sql.substr(tokens[first].begin, tokens[last].end - tokens[first].begin);
  auto word = [&](size_t index) {
    return tokens[index].kind == TokenKind::kWord
               ? Upper(sql.substr(tokens[index].begin, tokens[index].end - tokens[index].begin))
               : std::string();
  };
  for (size_t i = first; i <= last; ++i) {
    if (tokens[i].kind == TokenKind::kWord) {
      statement.keyword = word(i);
      break;
    }
    if (sql[tokens[i].begin] != '(') break;
  }
  for (size_t i = first; i < last; ++i) {
    if (word(i) == "INTO" && word(i + 1) == "OUTFILE") statement.writes_file = true;
  }
  if (last > first && word(last - 1) == "FORMAT" && tokens[last].kind == TokenKind::kWord) {
    statement.format =
        std::string(sql.substr(tokens[last].begin, tokens[last].end - tokens[last].begin));
  }
  return statement;
}

}  // namespace

std::vector<SqlStatement> SplitSqlStatements(std::string_view sql) {
  std::vector<Token> tokens = Tokenize(sql);
  std::vector<SqlStatement> statements;
  size_t first = 0;
  for (size_t i = 0; i <= tokens.size(); ++i) {
    if (i < tokens.size() && tokens[i].kind != TokenKind::kSemicolon) continue;
    if (i > first) statements.push_back(Describe(sql, tokens, first, i - 1));
    first = i + 1;
  }
  return statements;
}

bool IsReadOnlyStatement(const SqlStatement& statement) {
  static constexpr std::array<std::string_view, 7> kReadKeywords = {
      "SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXPLAIN", "EXISTS"};
  return !statement.writes_file && std::find(kReadKeywords.begin(), kReadKeywords.end(),
                                             statement.keyword) != kReadKeywords.end();
}

}  // namespace sluice
