#include "config/clickhouse_syntax.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>

#include "base/strings.h"

namespace sluice {
namespace {

/// A name with an optional argument list, as codecs and index types are written.
struct Call {
  std::string name;
  std::vector<std::string> arguments;
};

std::optional<Call> ParseCall(std::string_view text) {
  text = Trim(text);
  size_t name_end = 0;
  while (name_end < text.size() &&
         (std::isalnum(static_cast<unsigned char>(text[name_end])) || text[name_end] == '_')) {
    ++name_end;
  }
  if (name_end == 0) return std::nullopt;
  Call call{std::string(text.substr(0, name_end)), {}};
  std::string_view rest = Trim(text.substr(name_end));
  if (rest.empty()) return call;
  if (rest.front() != '(' || rest.back() != ')') return std::nullopt;
  rest = rest.substr(1, rest.size() - 2);
  if (rest.find_first_of("()") != std::string_view::npos) return std::nullopt;
  if (!Trim(rest).empty()) call.arguments = SplitTopLevel(rest);
  return call;
}

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

/// The known name a misspelt one most likely meant, also across a difference in case.
std::string Suggest(std::string_view word, const std::vector<std::string>& names) {
  for (const std::string& name : names) {
    if (EqualsIgnoringCase(word, name)) return name;
  }
  return SuggestClosest(word, names);
}

/// " (did you mean 'x'?)" when a name is close, else the list of known names.
std::string Hint(const std::string& suggestion, const std::vector<std::string>& known) {
  if (!suggestion.empty()) return fmt::format(" (did you mean '{}'?)", suggestion);
  return fmt::format(" (known: {})", Join(known, ", "));
}

/// Range of one integer argument; `bytes` allows only 1, 2, 4 and 8.
struct IntegerArgument {
  int64_t min;
  int64_t max;
  bool bytes = false;
};

/// What a codec or index type accepts between its parentheses.
struct CallRule {
  std::string_view name;
  size_t min_arguments;
  std::vector<IntegerArgument> arguments;  // the most it takes
};

Status CheckArguments(const Call& call, const CallRule& rule, std::string_view text,
                      std::string_view what) {
  if (call.arguments.size() < rule.min_arguments || call.arguments.size() > rule.arguments.size()) {
    std::string expected = rule.min_arguments == rule.arguments.size()
                               ? fmt::format("{}", rule.min_arguments)
                               : fmt::format("{} to {}", rule.min_arguments, rule.arguments.size());
    return MakeError(ErrorCode::kSpecInvalidValue,
                     fmt::format("{} '{}': {} takes {} argument(s), got {}", what, text, rule.name,
                                 expected, call.arguments.size()));
  }
  for (size_t i = 0; i < call.arguments.size(); ++i) {
    const IntegerArgument& range = rule.arguments[i];
    int64_t value = 0;
    if (!ParseInteger(call.arguments[i], value)) {
      return MakeError(
          ErrorCode::kSpecInvalidValue,
          fmt::format("{} '{}': argument '{}' is not an integer", what, text, call.arguments[i]));
    }
    bool fits = range.bytes ? (value == 1 || value == 2 || value == 4 || value == 8)
                            : (value >= range.min && value <= range.max);
    if (!fits) {
      std::string allowed =
          range.bytes ? "1, 2, 4 or 8" : fmt::format("{}..{}", range.min, range.max);
      return MakeError(ErrorCode::kSpecInvalidValue,
                       fmt::format("{} '{}': argument {} must be {}", what, text, value, allowed));
    }
  }
  return {};
}

Status CheckAgainstRules(std::string_view text, const std::vector<CallRule>& rules,
                         std::string_view what, std::string_view syntax_hint) {
  std::optional<Call> call = ParseCall(text);
  if (!call) {
    return MakeError(ErrorCode::kSpecInvalidValue,
                     fmt::format("{} '{}' is not of the form {}", what, text, syntax_hint));
  }
  std::vector<std::string> names;
  for (const CallRule& rule : rules) {
    if (rule.name == call->name) return CheckArguments(*call, rule, text, what);
    names.emplace_back(rule.name);
  }
  return MakeError(
      ErrorCode::kSpecInvalidValue,
      fmt::format("unknown {} '{}'{}", what, call->name, Hint(Suggest(call->name, names), names)));
}

const std::vector<CallRule>& CodecRules() {
  static const std::vector<CallRule> kRules = {
      {"None", 0, {}},
      {"LZ4", 0, {}},
      {"LZ4HC", 0, {{0, 12}}},
      {"ZSTD", 0, {{1, 22}}},
      {"Delta", 0, {{0, 0, true}}},
      {"DoubleDelta", 0, {{0, 0, true}}},
      {"Gorilla", 0, {{0, 0, true}}},
      {"T64", 0, {}},
      {"FPC", 0, {{1, 28}, {4, 8}}},
      {"GCD", 0, {}},
  };
  return kRules;
}

Status CheckBloomFilterRate(std::string_view text, const Call& call) {
  if (call.arguments.size() > 1) {
    return MakeError(ErrorCode::kSpecInvalidValue,
                     fmt::format("index type '{}': bloom_filter takes 0 to 1 argument(s), got {}",
                                 text, call.arguments.size()));
  }
  if (call.arguments.empty()) return {};
  const std::string& argument = call.arguments.front();
  double rate = 0;
  auto [end, error] = std::from_chars(argument.data(), argument.data() + argument.size(), rate);
  if (error != std::errc() || end != argument.data() + argument.size() || !(rate > 0) ||
      !(rate < 1)) {
    return MakeError(ErrorCode::kSpecInvalidValue,
                     fmt::format("index type '{}': the false-positive rate '{}' must be a number "
                                 "between 0 and 1",
                                 text, argument));
  }
  return {};
}

bool IsPlainNumber(std::string_view text) {
  size_t i = 0;
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) ++i;
  size_t digits = 0;
  bool dot = false;
  for (; i < text.size(); ++i) {
    if (std::isdigit(static_cast<unsigned char>(text[i]))) {
      ++digits;
    } else if (text[i] == '.' && !dot) {
      dot = true;
    } else {
      return false;
    }
  }
  return digits > 0;
}

}  // namespace

Status CheckCodec(std::string_view codec) {
  return CheckAgainstRules(codec, CodecRules(), "codec", "Name or Name(level)");
}

Status CheckIndexType(std::string_view type) {
  static const std::vector<CallRule> kRules = {
      {"minmax", 0, {}},
      {"set", 1, {{0, 100'000'000}}},
      {"bloom_filter", 0, {}},
      {"ngrambf_v1", 4, {{1, 64}, {1, 1'000'000'000}, {1, 64}, {0, 4'294'967'295}}},
      {"tokenbf_v1", 3, {{1, 1'000'000'000}, {1, 64}, {0, 4'294'967'295}}},
  };
  // bloom_filter's argument is a rate, not an integer.
  if (std::optional<Call> call = ParseCall(type); call && call->name == "bloom_filter") {
    return CheckBloomFilterRate(type, *call);
  }
  return CheckAgainstRules(type, kRules, "index type", "name or name(arguments)");
}

const std::vector<std::string>& EngineFamilies() {
  static const std::vector<std::string> kFamilies = {
      "MergeTree",           "ReplacingMergeTree",
      "SummingMergeTree",    "AggregatingMergeTree",
      "CollapsingMergeTree", "VersionedCollapsingMergeTree",
  };
  return kFamilies;
}

Result<EngineName> ParseEngineName(std::string_view text) {
  std::string_view name = Trim(text);
  // The SQL spelling `SummingMergeTree()` is accepted; engine arguments have their own keys.
  if (name.ends_with("()")) name = Trim(name.substr(0, name.size() - 2));
  EngineName engine;
  if (StartsWith(name, "Replicated")) {
    engine.replicated = true;
    name.remove_prefix(std::string_view("Replicated").size());
  }
  const std::vector<std::string>& families = EngineFamilies();
  if (std::find(families.begin(), families.end(), name) != families.end()) {
    engine.family = std::string(name);
    return engine;
  }
  std::vector<std::string> candidates = families;
  for (const std::string& family : families) candidates.push_back("Replicated" + family);
  return MakeError(ErrorCode::kSpecInvalidValue,
                   fmt::format("unknown engine family '{}'{}", Trim(text),
                               Hint(Suggest(Trim(text), candidates), families)));
}

std::string SettingLiteral(std::string_view value, bool plain_scalar) {
  if (plain_scalar && (IsPlainNumber(value) || value == "true" || value == "false")) {
    return std::string(value);
  }
  std::string literal = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') literal += '\\';
    literal += c;
  }
  literal += '\'';
  return literal;
}

std::string_view StripTuple(std::string_view text) {
  text = Trim(text);
  if (text == "tuple()") return {};
  if (text.size() < 2 || text.front() != '(' || text.back() != ')') return text;
  // Only strip when the first parenthesis closes at the very end: "(a) + (b)" stays whole.
  int depth = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '(') ++depth;
    if (text[i] == ')' && --depth == 0 && i + 1 != text.size()) return text;
  }
  return Trim(text.substr(1, text.size() - 2));
}

std::vector<std::string> SplitTopLevel(std::string_view text) {
  std::vector<std::string> parts;
  int depth = 0;
  char quote = 0;
  size_t start = 0;
  auto flush = [&](size_t end) {
    std::string_view part = Trim(text.substr(start, end - start));
    if (!part.empty()) parts.emplace_back(part);
    start = end + 1;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quote != 0) {
      if (c == '\\') {
        ++i;
      } else if (c == quote) {
        quote = 0;
      }
    } else if (c == '\'' || c == '"' || c == '`') {
      quote = c;
    } else if (c == '(' || c == '[' || c == '{') {
      ++depth;
    } else if (c == ')' || c == ']' || c == '}') {
      --depth;
    } else if (c == ',' && depth == 0) {
      flush(i);
    }
  }
  flush(text.size());
  return parts;
}

bool ParseInteger(std::string_view text, int64_t& value) {
  text = Trim(text);
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  const char* end = text.data() + text.size();
  auto [stop, error] = std::from_chars(text.data(), end, value);
  return error == std::errc() && stop == end && !text.empty();
}

}  // namespace sluice
