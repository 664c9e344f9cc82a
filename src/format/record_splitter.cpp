#include "format/record_splitter.h"

#include <fmt/format.h>

namespace sluice {
namespace {

bool IsBlank(std::string_view text) {
  return text.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

}  // namespace

bool SplitRecords(RecordFraming framing, const simdjson::padded_string& body,
                  std::vector<std::string_view>& records, std::string& problem) {
  std::string_view text(body.data(), body.size());
  if (framing == RecordFraming::kNdjson) {
    size_t start = 0;
    while (start < text.size()) {
      size_t end = text.find('\n', start);
      if (end == std::string_view::npos) end = text.size();
      std::string_view line = text.substr(start, end - start);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (!IsBlank(line)) records.push_back(line);
      start = end + 1;
    }
    if (records.empty()) problem = "the body holds no records";
    return !records.empty();
  }
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) {
    problem = "the body is empty";
    return false;
  }
  if (text[first] == '{') {
    records.push_back(text.substr(first, text.find_last_not_of(" \t\r\n") + 1 - first));
    return true;
  }
  if (text[first] != '[') {
    problem = "the body is neither a JSON object, an array of objects, nor NDJSON";
    return false;
  }
  // An array: each element is one record; elements that are not objects are still records
  // (refused one by one); a body that is not valid JSON as a whole is refused entirely.
  simdjson::ondemand::parser parser;
  simdjson::ondemand::document document;
  simdjson::ondemand::array array;
  if (parser.iterate(body).get(document) || document.get_array().get(array)) {
    problem = "the body is not a valid JSON array";
    return false;
  }
  for (auto element : array) {
    simdjson::ondemand::value value;
    std::string_view raw;
    if (element.get(value)) {
      problem = "the body is not a valid JSON array";
      return false;
    }
    simdjson::ondemand::json_type type;
    if (value.type().get(type)) {
      problem = "the body is not a valid JSON array";
      return false;
    }
    simdjson::error_code error = simdjson::SUCCESS;  // scalars below set no error
    if (type == simdjson::ondemand::json_type::object) {
      simdjson::ondemand::object object;
      error = value.get_object().get(object);
      if (!error) error = object.raw_json().get(raw);
    } else if (type == simdjson::ondemand::json_type::array) {
      simdjson::ondemand::array inner;
      error = value.get_array().get(inner);
      if (!error) error = inner.raw_json().get(raw);
    } else {
      raw = value.raw_json_token();
    }
    if (error) {
      problem =
          fmt::format("the body is not a valid JSON array: {}", simdjson::error_message(error));
      return false;
    }
    // Raw views of a value reach up to the next token: drop the white space before it.
    records.push_back(raw.substr(0, raw.find_last_not_of(" \t\r\n") + 1));
  }
  // After the array's end the document has no current location unless text follows it.
  const char* trailing = nullptr;
  if (!document.current_location().get(trailing)) {
    problem = "the body has text after its JSON array";
    return false;
  }
  if (records.empty()) problem = "the array holds no records";
  return !records.empty();
}

}  // namespace sluice
