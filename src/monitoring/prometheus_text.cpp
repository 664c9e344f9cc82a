#include "monitoring/prometheus_text.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <optional>

namespace sluice {
namespace {

bool IsNameChar(char c, bool first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
         (!first && c >= '0' && c <= '9');
}

std::optional<double> ParseValue(std::string_view text) {
  if (text == "NaN") return std::numeric_limits<double>::quiet_NaN();
  if (text == "+Inf" || text == "Inf") return std::numeric_limits<double>::infinity();
  if (text == "-Inf") return -std::numeric_limits<double>::infinity();
  std::string copy(text);
  char* end = nullptr;
  double value = std::strtod(copy.c_str(), &end);
  if (copy.empty() || end != copy.c_str() + copy.size()) return std::nullopt;
  return value;
}

}  // namespace

const std::string& PrometheusSample::Label(const std::string& label) const {
  static const std::string kNone;
  auto found = labels.find(label);
  return found == labels.end() ? kNone : found->second;
}

Result<std::vector<PrometheusSample>> ParsePrometheusText(std::string_view text) {
  std::vector<PrometheusSample> samples;
  size_t line_number = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_number;
    if (line.empty() || line.front() == '#') continue;
    auto bad = [&](std::string_view why) {
      return MakeError(ErrorCode::kMonitoringEndpointFailed,
                       fmt::format("metrics line {}: {}: {}", line_number, why, line));
    };
    PrometheusSample sample;
    size_t at = 0;
    while (at < line.size() && IsNameChar(line[at], at == 0)) ++at;
    if (at == 0) return bad("no metric name");
    sample.name = std::string(line.substr(0, at));
    if (at < line.size() && line[at] == '{') {
      ++at;
      while (at < line.size() && line[at] != '}') {
        size_t name_start = at;
        while (at < line.size() && IsNameChar(line[at], at == name_start)) ++at;
        std::string label(line.substr(name_start, at - name_start));
        if (label.empty() || at + 1 >= line.size() || line[at] != '=' || line[at + 1] != '"') {
          return bad("malformed label");
        }
        at += 2;
        std::string value;
        while (at < line.size() && line[at] != '"') {
          if (line[at] == '\\' && at + 1 < line.size()) {
            ++at;
            value += line[at] == 'n' ? '\n' : line[at];
          } else {
            value += line[at];
          }
          ++at;
        }
        if (at >= line.size()) return bad("unterminated label value");
        ++at;  // the closing quote
        sample.labels.emplace(std::move(label), std::move(value));
        if (at < line.size() && line[at] == ',') ++at;
      }
      if (at >= line.size()) return bad("unterminated label set");
      ++at;  // '}'
    }
    while (at < line.size() && line[at] == ' ') ++at;
    size_t value_end = line.find(' ', at);
    auto value = ParseValue(
        line.substr(at, value_end == std::string_view::npos ? line.size() - at : value_end - at));
    if (!value) return bad("unreadable value");
    sample.value = *value;
    samples.push_back(std::move(sample));
  }
  return samples;
}

}  // namespace sluice
