#include "server/content_encoding.h"

#include <fmt/format.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <memory>

#include "base/strings.h"

namespace sluice {
namespace {

constexpr size_t kChunkSize = 64 * 1024;

ContentEncodingError TooLarge(std::string_view encoding, size_t limit) {
  return {413, fmt::format("the {}-decompressed request body exceeds the limit of {} bytes",
                           encoding, limit)};
}

std::optional<ContentEncodingError> Gunzip(std::string& body, size_t limit) {
  z_stream stream{};
  // 15 + 16: the largest window, gzip framing only.
  if (inflateInit2(&stream, 15 + 16) != Z_OK) return ContentEncodingError{500, "zlib init failed"};
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&stream, inflateEnd);
  stream.next_in = reinterpret_cast<Bytef*>(body.data());
  stream.avail_in = static_cast<uInt>(body.size());
  std::string output;
  std::array<char, kChunkSize> chunk;
  for (;;) {
    stream.next_out = reinterpret_cast<Bytef*>(chunk.data());
    stream.avail_out = static_cast<uInt>(chunk.size());
    int code = inflate(&stream, Z_NO_FLUSH);
    size_t produced = chunk.size() - stream.avail_out;
    if (output.size() + produced > limit) return TooLarge("gzip", limit);
    output.append(chunk.data(), produced);
    if (code == Z_STREAM_END) {
      if (stream.avail_in == 0) break;
      // Another gzip member follows (what `cat a.gz b.gz` produces).
      inflateReset(&stream);
      continue;
    }
    if (code == Z_DATA_ERROR || code == Z_NEED_DICT || code == Z_MEM_ERROR) {
      return ContentEncodingError{400,
                                  fmt::format("the gzip request body is corrupt: {}",
                                              stream.msg != nullptr ? stream.msg : "invalid data")};
    }
    // All input used with room left for output and no end marker: the stream was cut short.
    if (code == Z_BUF_ERROR || (stream.avail_in == 0 && stream.avail_out != 0)) {
      return ContentEncodingError{400, "the gzip request body is truncated"};
    }
  }
  body = std::move(output);
  return std::nullopt;
}

std::optional<ContentEncodingError> Unzstd(std::string& body, size_t limit) {
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> context(ZSTD_createDCtx(), ZSTD_freeDCtx);
  if (context == nullptr) return ContentEncodingError{500, "zstd init failed"};
  ZSTD_inBuffer input{body.data(), body.size(), 0};
  std::string output;
  std::array<char, kChunkSize> chunk;
  size_t remaining = 0;
  for (;;) {
    ZSTD_outBuffer out{chunk.data(), chunk.size(), 0};
    remaining = ZSTD_decompressStream(context.get(), &out, &input);
    if (ZSTD_isError(remaining)) {
      return ContentEncodingError{
          400, fmt::format("the zstd request body is corrupt: {}", ZSTD_getErrorName(remaining))};
    }
    if (output.size() + out.pos > limit) return TooLarge("zstd", limit);
    output.append(chunk.data(), out.pos);
    // A full output chunk may mean the decoder holds more; otherwise stop once input is used.
    if (input.pos == input.size && out.pos < out.size) break;
  }
  if (remaining != 0) return ContentEncodingError{400, "the zstd request body is truncated"};
  body = std::move(output);
  return std::nullopt;
}

}  // namespace

std::optional<ContentEncodingError> DecodeContentEncoding(std::string_view encoding,
                                                          std::string& body, size_t limit) {
  std::string name(Trim(encoding));
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (name.empty() || name == "identity") return std::nullopt;
  if (name != "gzip" && name != "x-gzip" && name != "zstd") {
    return ContentEncodingError{
        415, fmt::format("unsupported Content-Encoding '{}': send gzip, zstd or no encoding",
                         Trim(encoding))};
  }
  if (body.empty()) return std::nullopt;
  return name == "zstd" ? Unzstd(body, limit) : Gunzip(body, limit);
}

}  // namespace sluice
