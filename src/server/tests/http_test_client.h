#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace sluice::testing {

/// A response as the test client received it; header names lower-cased.
struct ClientResponse {
  int status = 0;
  std::map<std::string, std::string> headers;
  std::string body;

  std::string Header(const std::string& lower_case_name) const {
    auto found = headers.find(lower_case_name);
    return found == headers.end() ? std::string() : found->second;
  }
};

using Headers = std::vector<std::pair<std::string, std::string>>;

/// A blocking HTTP/1.1 client on one keep-alive connection to 127.0.0.1, for tests.
class HttpTestClient {
 public:
  explicit HttpTestClient(uint16_t port);
  ~HttpTestClient();

  /// Sends one request on the connection and reads the answer; status 0 when the connection
  /// failed or was closed.
  ClientResponse Send(const std::string& method, const std::string& target,
                      const std::string& body = {}, const Headers& headers = {});
  /// Writes bytes as they are and reads one response (for Expect: 100-continue and the like).
  ClientResponse SendRaw(const std::string& bytes);
  /// Reads one more response from the connection.
  ClientResponse Read();
  /// True when the server has closed the connection (reads end of stream).
  bool ServerClosed();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

std::string Gzip(const std::string& data);
std::string Zstd(const std::string& data);
/// Whether a TCP connection to 127.0.0.1:port can be opened.
bool CanConnect(uint16_t port);

}  // namespace sluice::testing
