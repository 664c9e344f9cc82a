// sluice_loadgen: an HTTP/1.1 load generator for sluice's ingest API (and for ClickHouse's HTTP
// insert interface, the baseline). It reads an NDJSON file, cuts it into batches of N lines and
// POSTs each batch as one request over keep-alive connections.
//
// Two modes:
//   --rate 0 (default)  as fast as possible: every batch of the file is sent once (--passes
//                       times); a batch answered 429 or 503, or lost to a connection error, is
//                       sent again after --retry-ms, so every event is eventually accepted.
//   --rate R            open loop at R events/s for --duration seconds: request k is due at
//                       start + k * batch / R whether or not earlier requests were answered, and
//                       its latency is measured from that due time, so a stalled server shows up
//                       as latency instead of silently lowering the offered load (coordinated
//                       omission). Nothing is retried.
//
// One thread and epoll: the generator shares the machine with the server it measures, so it
// must cost as little CPU as it can. Request bodies point into the file buffer (writev), and
// responses are parsed only as far as the status line, Content-Length, Connection and the
// "accepted" count of a sluice answer.
//
// Prints a summary to stderr and, with --json, one JSON object to stdout for bench/run.sh.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string url;
  std::string file;
  std::string content_type = "application/x-ndjson";
  size_t batch_events = 1000;
  size_t connections = 32;
  double rate = 0;
  double duration_s = 20;
  size_t passes = 1;
  double retry_ms = 20;
  double time_limit_s = 600;
  bool json = false;
};

struct Target {
  sockaddr_storage address{};
  socklen_t address_length = 0;
  std::string host;
  std::string path;
};

/// One request body: a run of whole lines of the file.
struct Batch {
  std::string_view body;
  size_t events = 0;
  std::string header;
};

struct Request {
  size_t batch = 0;
  Clock::time_point due;
};

enum class Phase { kClosed, kConnecting, kIdle, kBusy };

struct Connection {
  int fd = -1;
  Phase phase = Phase::kClosed;
  Request request;
  size_t sent = 0;
  std::string response;
  Clock::time_point reconnect_at;
};

struct Totals {
  size_t requests = 0;
  size_t status_200 = 0;
  size_t status_429 = 0;
  size_t status_503 = 0;
  size_t status_other_4xx = 0;
  size_t status_other_5xx = 0;
  size_t status_other = 0;
  size_t connection_errors = 0;
  size_t events_accepted = 0;
  size_t events_rejected = 0;
  size_t events_refused = 0;  // in requests answered with anything but 200
  size_t bytes_accepted = 0;
  std::vector<double> latencies_ms;  // of 200 answers
  Clock::time_point last_answer;
};

Target ParseUrl(const std::string& url) {
  constexpr std::string_view kScheme = "http://";
  if (url.rfind(kScheme, 0) != 0) throw std::runtime_error("only http:// URLs: " + url);
  std::string rest = url.substr(kScheme.size());
  size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  Target target;
  target.path = slash == std::string::npos ? "/" : rest.substr(slash);
  size_t colon = authority.rfind(':');
  std::string host = authority.substr(0, colon);
  std::string port = colon == std::string::npos ? "80" : authority.substr(colon + 1);
  target.host = authority;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    throw std::runtime_error("cannot resolve " + authority + ": " + ::gai_strerror(rc));
  }
  std::memcpy(&target.address, found->ai_addr, found->ai_addrlen);
  target.address_length = found->ai_addrlen;
  ::freeaddrinfo(found);
  return target;
}

std::vector<Batch> CutBatches(const std::string& data, size_t batch_events, const Options& options,
                              const Target& target) {
  std::vector<Batch> batches;
  size_t begin = 0;
  while (begin < data.size()) {
    size_t end = begin;
    size_t events = 0;
    while (end < data.size() && events < batch_events) {
      size_t newline = data.find('\n', end);
      end = newline == std::string::npos ? data.size() : newline + 1;
      ++events;
    }
    Batch batch;
    batch.body = std::string_view(data).substr(begin, end - begin);
    batch.events = events;
    batch.header = "POST " + target.path + " HTTP/1.1\r\nHost: " + target.host +
                   "\r\nContent-Type: " + options.content_type +
                   "\r\nContent-Length: " + std::to_string(batch.body.size()) + "\r\n\r\n";
    batches.push_back(std::move(batch));
    begin = end;
  }
  return batches;
}

double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

double CpuSeconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

/// Case-insensitive search for a header's value in the header block of a response.
std::optional<std::string_view> HeaderValue(std::string_view head, std::string_view name) {
  size_t line = head.find("\r\n");
  while (line != std::string_view::npos && line + 2 < head.size()) {
    size_t start = line + 2;
    size_t end = head.find("\r\n", start);
    std::string_view text = head.substr(start, end - start);
    if (text.size() > name.size() && text[name.size()] == ':' &&
        std::equal(name.begin(), name.end(), text.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        })) {
      std::string_view value = text.substr(name.size() + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      return value;
    }
    line = end;
  }
  return std::nullopt;
}

class LoadGenerator {
 public:
  LoadGenerator(const Options& options, Target target, std::vector<Batch> batches)
      : options_(options),
        target_(std::move(target)),
        batches_(std::move(batches)),
        connections_(options.connections) {
    epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_ < 0) throw std::runtime_error(std::string("epoll_create1: ") + std::strerror(errno));
  }

  ~LoadGenerator() {
    for (Connection& connection : connections_) Close(connection);
    ::close(epoll_);
  }

  LoadGenerator(const LoadGenerator&) = delete;
  LoadGenerator& operator=(const LoadGenerator&) = delete;

  const Totals& Run() {
    start_ = Clock::now();
    start_wall_ = std::chrono::system_clock::now();
    totals_.last_answer = start_;
    deadline_ = start_ + Seconds(options_.time_limit_s);
    if (options_.rate > 0) {
      // The interval of the nominal batch size: the last, shorter batch of the file is rare.
      interval_ = Seconds(static_cast<double>(options_.batch_events) / options_.rate);
      schedule_end_ = start_ + Seconds(options_.duration_s);
    } else {
      for (size_t pass = 0; pass < options_.passes; ++pass) {
        for (size_t i = 0; i < batches_.size(); ++i) ready_.push_back({i, start_});
      }
    }
    outstanding_ = options_.rate > 0 ? 0 : ready_.size();
    for (Connection& connection : connections_) Open(connection);

    std::vector<epoll_event> events(connections_.size());
    while (!Finished()) {
      Clock::time_point now = Clock::now();
      if (now >= deadline_) {
        std::fprintf(stderr, "loadgen: time limit of %.0f s reached\n", options_.time_limit_s);
        break;
      }
      Schedule(now);
      Dispatch(now);
      int timeout_ms = WaitMilliseconds(now);
      int ready = ::epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), timeout_ms);
      if (ready < 0 && errno != EINTR) {
        throw std::runtime_error(std::string("epoll_wait: ") + std::strerror(errno));
      }
      for (int i = 0; i < ready; ++i) {
        Connection& connection = connections_[events[static_cast<size_t>(i)].data.u64];
        uint32_t flags = events[static_cast<size_t>(i)].events;
        if (connection.phase == Phase::kConnecting) FinishConnect(connection);
        // The server closed a connection between requests (keep-alive timeout): open it again
        // instead of losing the next request on it.
        if (connection.phase == Phase::kIdle &&
            (flags & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
          Close(connection);
          continue;
        }
        if (connection.phase == Phase::kBusy && (flags & EPOLLOUT)) Write(connection);
        if (connection.phase == Phase::kBusy && (flags & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
          Read(connection);
        }
      }
    }
    return totals_;
  }

  Clock::time_point start() const { return start_; }
  /// When the first request was due, as wall-clock time, for timing against other processes.
  std::chrono::system_clock::time_point start_wall() const { return start_wall_; }

 private:
  static Clock::duration Seconds(double seconds) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  }

  bool Finished() const {
    if (options_.rate > 0)
      return Clock::now() >= schedule_end_ && ready_.empty() && InFlight() == 0;
    return outstanding_ == 0;
  }

  size_t InFlight() const {
    return static_cast<size_t>(
        std::count_if(connections_.begin(), connections_.end(),
                      [](const Connection& c) { return c.phase == Phase::kBusy; }));
  }

  /// Rate mode: every request whose due time has come joins the ready queue.
  void Schedule(Clock::time_point now) {
    if (options_.rate <= 0) {
      while (!retry_.empty() && retry_.front().due <= now) {
        ready_.push_back(retry_.front());
        retry_.pop_front();
      }
      return;
    }
    while (true) {
      Clock::time_point due = start_ + interval_ * static_cast<int64_t>(scheduled_);
      if (due > now || due >= schedule_end_) break;
      ready_.push_back({scheduled_ % batches_.size(), due});
      ++scheduled_;
    }
  }

  void Dispatch(Clock::time_point now) {
    for (Connection& connection : connections_) {
      if (connection.phase == Phase::kClosed && now >= connection.reconnect_at) Open(connection);
      if (connection.phase != Phase::kIdle || ready_.empty()) continue;
      connection.request = ready_.front();
      ready_.pop_front();
      // Latency runs from the due time in rate mode, from the moment of sending otherwise.
      if (options_.rate <= 0) connection.request.due = now;
      connection.phase = Phase::kBusy;
      connection.sent = 0;
      connection.response.clear();
      Write(connection);
    }
  }

  int WaitMilliseconds(Clock::time_point now) const {
    Clock::time_point wake = deadline_;
    if (options_.rate > 0 && now < schedule_end_) {
      wake = std::min(wake, start_ + interval_ * static_cast<int64_t>(scheduled_));
    }
    if (!retry_.empty()) wake = std::min(wake, retry_.front().due);
    for (const Connection& connection : connections_) {
      if (connection.phase == Phase::kClosed) wake = std::min(wake, connection.reconnect_at);
    }
    if (!ready_.empty()) {
      // Requests are waiting for a connection: wake up as soon as one is free.
      return 1;
    }
    auto wait = std::chrono::duration_cast<std::chrono::microseconds>(wake - now).count();
    return static_cast<int>(std::clamp<int64_t>((wait + 999) / 1000, 0, 1000));
  }

  void Open(Connection& connection) {
    int fd = ::socket(target_.address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    connection.fd = fd;
    connection.phase = Phase::kConnecting;
    epoll_event event{};
    event.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    event.data.u64 = static_cast<uint64_t>(&connection - connections_.data());
    ::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &event);
    int rc =
        ::connect(fd, reinterpret_cast<const sockaddr*>(&target_.address), target_.address_length);
    if (rc == 0) {
      connection.phase = Phase::kIdle;
    } else if (errno != EINPROGRESS) {
      Fail(connection);
    }
  }

  void FinishConnect(Connection& connection) {
    int error = 0;
    socklen_t length = sizeof(error);
    ::getsockopt(connection.fd, SOL_SOCKET, SO_ERROR, &error, &length);
    if (error != 0) {
      Fail(connection);
      return;
    }
    connection.phase = Phase::kIdle;
  }

  void Close(Connection& connection) {
    if (connection.fd >= 0) ::close(connection.fd);
    connection.fd = -1;
    connection.phase = Phase::kClosed;
    // A refused or dropped connection is retried shortly, not in a busy loop.
    connection.reconnect_at = Clock::now() + std::chrono::milliseconds(10);
  }

  /// A connection failed: its request (if any) is counted and, when retrying, queued again.
  void Fail(Connection& connection) {
    if (connection.phase == Phase::kBusy) {
      ++totals_.connection_errors;
      Requeue(connection.request);
    }
    Close(connection);
  }

  void Requeue(Request request) {
    if (options_.rate > 0) return;
    request.due = Clock::now() + Seconds(options_.retry_ms / 1000);
    retry_.push_back(request);
  }

  void Write(Connection& connection) {
    const Batch& batch = batches_[connection.request.batch];
    size_t total = batch.header.size() + batch.body.size();
    while (connection.sent < total) {
      iovec parts[2];
      int count = 0;
      if (connection.sent < batch.header.size()) {
        parts[count++] = {const_cast<char*>(batch.header.data()) + connection.sent,
                          batch.header.size() - connection.sent};
        parts[count++] = {const_cast<char*>(batch.body.data()), batch.body.size()};
      } else {
        size_t offset = connection.sent - batch.header.size();
        parts[count++] = {const_cast<char*>(batch.body.data()) + offset,
                          batch.body.size() - offset};
      }
      msghdr message{};
      message.msg_iov = parts;
      message.msg_iovlen = static_cast<size_t>(count);
      ssize_t n = ::sendmsg(connection.fd, &message, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        if (errno == EINTR) continue;
        Fail(connection);
        return;
      }
      connection.sent += static_cast<size_t>(n);
    }
  }

  void Read(Connection& connection) {
    char chunk[16384];
    while (true) {
      ssize_t n = ::recv(connection.fd, chunk, sizeof(chunk), 0);
      if (n > 0) {
        connection.response.append(chunk, static_cast<size_t>(n));
        if (TryComplete(connection)) return;
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      if (n < 0 && errno == EINTR) continue;
      Fail(connection);  // closed by the server or reset before a full answer
      return;
    }
  }

  /// Handles the answer once it is complete; true when the connection was finished with it.
  bool TryComplete(Connection& connection) {
    std::string_view response = connection.response;
    size_t head_end = response.find("\r\n\r\n");
    if (head_end == std::string_view::npos) return false;
    std::string_view head = response.substr(0, head_end);
    size_t body_length = 0;
    if (auto length = HeaderValue(head, "content-length")) {
      std::from_chars(length->data(), length->data() + length->size(), body_length);
    }
    if (response.size() < head_end + 4 + body_length) return false;
    std::string_view body = response.substr(head_end + 4, body_length);
    int status = 0;
    if (head.size() >= 12) std::from_chars(head.data() + 9, head.data() + 12, status);
    Record(connection.request, status, body);
    bool close = false;
    if (auto value = HeaderValue(head, "connection"))
      close = value->find("close") != std::string_view::npos;
    if (close || response.size() > head_end + 4 + body_length) {
      // Closing, or more bytes than one answer (never sent by a correct server): start afresh.
      Close(connection);
    } else {
      connection.phase = Phase::kIdle;
      connection.response.clear();
    }
    Dispatch(Clock::now());
    return true;
  }

  void Record(const Request& request, int status, std::string_view body) {
    Clock::time_point now = Clock::now();
    const Batch& batch = batches_[request.batch];
    ++totals_.requests;
    totals_.last_answer = now;
    if (status == 200) {
      ++totals_.status_200;
      size_t accepted = batch.events;
      // sluice answers {"accepted":N,"rejected":[...]}; ClickHouse answers an empty body.
      if (size_t at = body.find("\"accepted\":"); at != std::string_view::npos) {
        std::string_view digits = body.substr(at + 11);
        std::from_chars(digits.data(), digits.data() + digits.size(), accepted);
      }
      totals_.events_accepted += accepted;
      totals_.events_rejected += batch.events - std::min(accepted, batch.events);
      totals_.bytes_accepted += batch.body.size();
      totals_.latencies_ms.push_back(
          std::chrono::duration<double, std::milli>(now - request.due).count());
      if (options_.rate <= 0) --outstanding_;
      return;
    }
    totals_.events_refused += batch.events;
    if (status == 429) {
      ++totals_.status_429;
    } else if (status == 503) {
      ++totals_.status_503;
    } else if (status >= 400 && status < 500) {
      ++totals_.status_other_4xx;
    } else if (status >= 500) {
      ++totals_.status_other_5xx;
    } else {
      ++totals_.status_other;
    }
    if (status == 429 || status == 503) {
      Requeue(request);
    } else if (options_.rate <= 0) {
      // Anything else will not get better by sending it again.
      if (!reported_failure_) {
        std::fprintf(stderr, "loadgen: status %d: %.*s\n", status,
                     static_cast<int>(std::min<size_t>(body.size(), 300)), body.data());
        reported_failure_ = true;
      }
      --outstanding_;
    }
  }

  const Options& options_;
  Target target_;
  std::vector<Batch> batches_;
  std::vector<Connection> connections_;
  int epoll_ = -1;
  Clock::time_point start_;
  std::chrono::system_clock::time_point start_wall_;
  Clock::time_point deadline_;
  Clock::time_point schedule_end_;
  Clock::duration interval_{};
  size_t scheduled_ = 0;
  size_t outstanding_ = 0;
  std::deque<Request> ready_;
  std::deque<Request> retry_;
  Totals totals_;
  bool reported_failure_ = false;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"HTTP keep-alive load generator for sluice's ingest API"};
  app.add_option("--url", options.url, "http://host:port/path to POST to")->required();
  app.add_option("--file", options.file, "NDJSON file, one event per line")->required();
  app.add_option("--content-type", options.content_type, "Content-Type of the requests")
      ->capture_default_str();
  app.add_option("--batch", options.batch_events, "events per request")->capture_default_str();
  app.add_option("--connections", options.connections, "keep-alive connections")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  app.add_option("--rate", options.rate, "offered events/s; 0 = as fast as possible")
      ->capture_default_str();
  app.add_option("--duration", options.duration_s, "seconds of offered load (with --rate)")
      ->capture_default_str();
  app.add_option("--passes", options.passes, "times the file is sent (without --rate)")
      ->capture_default_str();
  app.add_option("--retry-ms", options.retry_ms,
                 "delay before resending a 429/503 (without --rate)")
      ->capture_default_str();
  app.add_option("--time-limit", options.time_limit_s,
                 "stop after this many seconds whatever happens")
      ->capture_default_str();
  app.add_flag("--json", options.json, "print a JSON summary on stdout");
  CLI11_PARSE(app, argc, argv);

  try {
    Target target = ParseUrl(options.url);
    std::string data = ReadFile(options.file);
    std::vector<Batch> batches = CutBatches(data, options.batch_events, options, target);
    if (batches.empty()) throw std::runtime_error(options.file + " holds no events");

    double cpu_before = CpuSeconds();
    LoadGenerator generator(options, std::move(target), std::move(batches));
    Totals totals = generator.Run();
    double cpu = CpuSeconds() - cpu_before;
    double elapsed = std::chrono::duration<double>(totals.last_answer - generator.start()).count();
    if (elapsed <= 0) elapsed = 1e-9;
    std::sort(totals.latencies_ms.begin(), totals.latencies_ms.end());
    double p50 = Percentile(totals.latencies_ms, 0.50);
    double p99 = Percentile(totals.latencies_ms, 0.99);
    double p999 = Percentile(totals.latencies_ms, 0.999);
    double max = totals.latencies_ms.empty() ? 0 : totals.latencies_ms.back();
    double events_per_s = static_cast<double>(totals.events_accepted) / elapsed;
    double mb_per_s = static_cast<double>(totals.bytes_accepted) / elapsed / 1e6;

    std::fprintf(
        stderr,
        "loadgen: %.2f s, %zu requests (200: %zu, 429: %zu, 503: %zu, other 4xx: %zu, "
        "other 5xx: %zu, connection errors: %zu)\n"
        "loadgen: %zu events accepted (%zu rejected by validation), %.0f events/s, "
        "%.1f MB/s\n"
        "loadgen: ack latency ms p50 %.2f p99 %.2f p999 %.2f max %.2f; loadgen CPU %.2f s\n",
        elapsed, totals.requests, totals.status_200, totals.status_429, totals.status_503,
        totals.status_other_4xx, totals.status_other_5xx, totals.connection_errors,
        totals.events_accepted, totals.events_rejected, events_per_s, mb_per_s, p50, p99, p999, max,
        cpu);
    if (options.json) {
      std::printf(
          "{\"elapsed_s\":%.4f,\"offered_rate\":%.0f,\"requests\":%zu,\"status_200\":%zu,"
          "\"status_429\":%zu,\"status_503\":%zu,\"status_other_4xx\":%zu,"
          "\"status_other_5xx\":%zu,\"connection_errors\":%zu,\"events_accepted\":%zu,"
          "\"events_rejected\":%zu,\"events_refused\":%zu,\"bytes_accepted\":%zu,"
          "\"events_per_s\":%.1f,\"mb_per_s\":%.2f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,"
          "\"p999_ms\":%.3f,\"max_ms\":%.3f,\"loadgen_cpu_s\":%.3f,\"start_unix_s\":%.6f}\n",
          elapsed, options.rate, totals.requests, totals.status_200, totals.status_429,
          totals.status_503, totals.status_other_4xx, totals.status_other_5xx,
          totals.connection_errors, totals.events_accepted, totals.events_rejected,
          totals.events_refused, totals.bytes_accepted, events_per_s, mb_per_s, p50, p99, p999, max,
          cpu, std::chrono::duration<double>(generator.start_wall().time_since_epoch()).count());
    }
  } catch (const std::exception& error) {
    std::fprintf(stderr, "loadgen: %s\n", error.what());
    return 1;
  }
  return 0;
}
