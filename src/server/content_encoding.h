#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace sluice {

/// Why a request body could not be decoded, with the HTTP status to answer (400, 413, 415).
struct ContentEncodingError {
  int status = 400;
  std::string message;
};

/// Decompresses `body` in place according to a Content-Encoding header value: "gzip" (zlib,
/// concatenated members allowed), "zstd" (concatenated frames allowed), "identity" or empty
/// for none; anything else is 415. A body that would exceed `limit` bytes once decompressed is
/// 413 (checked while inflating, so a small bomb never allocates past the limit); a truncated or
/// corrupt stream is 400.
std::optional<ContentEncodingError> DecodeContentEncoding(std::string_view encoding,
                                                          std::string& body, size_t limit);

}  // namespace sluice
