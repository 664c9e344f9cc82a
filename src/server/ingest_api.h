#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/error_codes.h"
#include "server/http_server.h"

namespace sluice {

/// What the ingest API needs from the pipeline. Called from server threads concurrently.
///
/// Contract: Ingest() answers only once the outcome is final — kAccepted means the accepted
/// records are durable (in the write-ahead log), so the client may forget them; every record
/// not accepted is listed in `rejected` by its index in the body. kBusy asks the client to
/// retry the whole request after `retry_after_seconds`.
class IngestService {
 public:
  enum class Outcome { kAccepted, kUnknownStream, kBadBody, kBusy, kShuttingDown };
  struct Rejected {
    size_t index;
    ErrorCode code;
    std::string field;
    std::string message;
  };
  struct Answer {
    Outcome outcome = Outcome::kAccepted;
    size_t accepted = 0;
    std::vector<Rejected> rejected;
    std::string message;
    int retry_after_seconds = 1;
  };
  enum class BodyKind { kJson /* one object or an array of objects */, kNdjson };

  virtual ~IngestService() = default;
  virtual Answer Ingest(std::string_view stream, BodyKind kind, std::string_view body) = 0;
};

/// Settings of the ingest route.
struct IngestApiOptions {
  /// Accepted bearer tokens; empty leaves the route open. Never logged or echoed.
  std::vector<std::string> tokens;
};

/// Adds `POST /v1/ingest/{stream}` to `server`. `service` must outlive the server.
void RegisterIngestApi(HttpServer& server, IngestService& service, IngestApiOptions options);

/// The values of the named environment variables, in order. Throws SetupError
/// (kAuthTokenMissing) naming the variable when one is unset or empty, so a typo in the spec
/// cannot leave the API open by accident.
std::vector<std::string> TokensFromEnvironment(const std::vector<std::string>& variable_names);

}  // namespace sluice
