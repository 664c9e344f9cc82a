#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

namespace sluice::testing_support {

/// A response as the test sees it: the status (-1 when no answer came) and the body.
struct HttpReply {
  int status = -1;
  std::string headers;  // the status line and header lines, as received
  std::string body;
};

/// One HTTP/1.1 request on a fresh loopback connection (Connection: close), blocking.
inline HttpReply HttpRequestOnce(uint16_t port, const std::string& method,
                                 const std::string& target, const std::string& body = {},
                                 const std::string& content_type = "application/x-ndjson",
                                 const std::string& extra_headers = {}) {
  HttpReply reply;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return reply;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval timeout{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    ::close(fd);
    return reply;
  }
  std::string request = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
                        "Connection: close\r\nContent-Type: " + content_type +
                        "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
                        extra_headers + "\r\n" + body;
  size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      ::close(fd);
      return reply;
    }
    sent += static_cast<size_t>(n);
  }
  std::string response;
  char chunk[4096];
  ssize_t n;
  while ((n = ::recv(fd, chunk, sizeof(chunk), 0)) > 0)
    response.append(chunk, static_cast<size_t>(n));
  ::close(fd);
  if (response.compare(0, 9, "HTTP/1.1 ") != 0 || response.size() < 12) return reply;
  reply.status = std::stoi(response.substr(9, 3));
  size_t body_start = response.find("\r\n\r\n");
  if (body_start != std::string::npos) {
    reply.headers = response.substr(0, body_start);
    reply.body = response.substr(body_start + 4);
  }
  return reply;
}

}  // namespace sluice::testing_support
