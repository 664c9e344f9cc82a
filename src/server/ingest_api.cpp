#include "server/ingest_api.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <optional>

#include "base/result.h"
#include "base/strings.h"
#include "format/text_value.h"
#include "server/auth.h"

namespace sluice {
namespace {

constexpr std::string_view kRoute = "/v1/ingest/";

/// Replaces bytes that are not valid UTF-8 with U+FFFD: rejected messages may quote raw
/// payload bytes, and the response must stay valid JSON.
std::string ValidUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    auto byte = static_cast<unsigned char>(text[i]);
    size_t length = byte < 0x80           ? 1
                    : (byte >> 5) == 0x6  ? 2
                    : (byte >> 4) == 0xE  ? 3
                    : (byte >> 3) == 0x1E ? 4
                                          : 0;
    bool valid = length > 0 && i + length <= text.size();
    for (size_t k = 1; valid && k < length; ++k) {
      valid = (static_cast<unsigned char>(text[i + k]) & 0xC0) == 0x80;
    }
    if (valid) {
      out.append(text.substr(i, length));
      i += length;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

void AppendJson(std::string& out, std::string_view text) {
  AppendJsonString(out, ValidUtf8(text));
}

HttpResponse JsonError(int status, std::string_view message) {
  std::string body = "{\"error\":";
  AppendJson(body, message);
  body += "}\n";
  return HttpResponse::Json(status, std::move(body));
}

std::string LowerMediaType(std::string_view content_type) {
  std::string type(Trim(content_type.substr(0, content_type.find(';'))));
  std::transform(type.begin(), type.end(), type.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return type;
}

/// 401/403 when the request does not carry one of the configured tokens, else nullopt.
std::optional<HttpResponse> CheckBearer(const HttpRequest& request,
                                        const std::vector<std::string>& tokens) {
  if (tokens.empty()) return std::nullopt;
  const std::string* header = request.Header("authorization");
  // The scheme name is case-insensitive (RFC 9110); the token after it is not.
  constexpr std::string_view kScheme = "bearer ";
  std::string_view presented;
  if (header != nullptr && header->size() > kScheme.size() &&
      std::equal(kScheme.begin(), kScheme.end(), header->begin(),
                 [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); })) {
    presented = Trim(std::string_view(*header).substr(kScheme.size()));
  }
  if (presented.empty()) {
    HttpResponse response =
        JsonError(401, "missing credentials: send the header 'Authorization: Bearer <token>'");
    response.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"sluice\"");
    return response;
  }
  if (!MatchesAnySecret(presented, tokens)) return JsonError(403, "the bearer token is not valid");
  return std::nullopt;
}

HttpResponse Answer(const IngestService::Answer& answer) {
  using Outcome = IngestService::Outcome;
  switch (answer.outcome) {
    case Outcome::kAccepted: {
      std::string body = fmt::format("{{\"accepted\":{},\"rejected\":[", answer.accepted);
      for (size_t i = 0; i < answer.rejected.size(); ++i) {
        const IngestService::Rejected& rejected = answer.rejected[i];
        if (i > 0) body += ',';
        body += fmt::format("{{\"index\":{},\"code\":{},\"error\":", rejected.index,
                            ErrorCodeNumber(rejected.code));
        AppendJson(body, ErrorCodeName(rejected.code));
        body += ",\"field\":";
        AppendJson(body, rejected.field);
        body += ",\"message\":";
        AppendJson(body, rejected.message);
        body += '}';
      }
      body += "]}\n";
      return HttpResponse::Json(200, std::move(body));
    }
    case Outcome::kUnknownStream:
      return JsonError(404, answer.message.empty() ? "unknown stream" : answer.message);
    case Outcome::kBadBody:
      return JsonError(400, answer.message.empty() ? "the body cannot be read" : answer.message);
    case Outcome::kBusy: {
      HttpResponse response = JsonError(
          429, answer.message.empty() ? "the pipeline is full; retry later" : answer.message);
      response.headers.emplace_back("Retry-After",
                                    std::to_string(std::max(answer.retry_after_seconds, 1)));
      return response;
    }
    case Outcome::kShuttingDown:
      return JsonError(503, answer.message.empty() ? "sluice is shutting down" : answer.message);
  }
  return JsonError(500, "unknown ingest outcome");
}

}  // namespace

std::vector<std::string> TokensFromEnvironment(const std::vector<std::string>& variable_names) {
  std::vector<std::string> tokens;
  for (const std::string& name : variable_names) {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr || *value == '\0') {
      throw SetupError(MakeError(
          ErrorCode::kAuthTokenMissing,
          fmt::format("the environment variable {} holds no token: set it, or remove it from the "
                      "spec to leave the ingest API without authentication",
                      name)));
    }
    tokens.emplace_back(value);
  }
  return tokens;
}

void RegisterIngestApi(HttpServer& server, IngestService& service, IngestApiOptions options) {
  server.Route("POST", std::string(kRoute), PathMatch::kPrefix,
               [&service, tokens = std::move(options.tokens)](const HttpRequest& request) {
                 if (auto refused = CheckBearer(request, tokens)) return *refused;
                 const std::string& stream = request.path_suffix;
                 if (stream.empty() || stream.find('/') != std::string::npos) {
                   return JsonError(404,
                                    fmt::format("no stream in the path: POST {}<stream>", kRoute));
                 }
                 IngestService::BodyKind kind = IngestService::BodyKind::kJson;
                 if (const std::string* content_type = request.Header("content-type")) {
                   std::string type = LowerMediaType(*content_type);
                   if (type == "application/x-ndjson" || type == "application/jsonl") {
                     kind = IngestService::BodyKind::kNdjson;
                   } else if (type != "application/json" && !type.empty()) {
                     return JsonError(415, fmt::format("unsupported Content-Type '{}': send "
                                                       "application/json or application/x-ndjson",
                                                       type));
                   }
                 }
                 if (request.body.empty()) return JsonError(400, "the request body is empty");
                 return Answer(service.Ingest(stream, kind, request.body));
               });
}

}  // namespace sluice
