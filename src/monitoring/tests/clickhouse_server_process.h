#pragma once

#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "server/clickhouse_http_client.h"

namespace sluice::testing_support {

/// A free loopback TCP port (bound once and released).
inline uint16_t FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  socklen_t length = sizeof(address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

/// Debian's clickhouse-server (18.16) in the foreground as the `clickhouse` user, on loopback
/// ports in a temporary folder; stopped by PID and removed when the object goes.
class ClickHouseServerProcess {
 public:
  /// `query_log`: configure system.query_log (flushed every 300 ms) and log every query.
  explicit ClickHouseServerProcess(bool query_log)
      : dir_(std::filesystem::temp_directory_path() /
             ("sluice-ch18-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++))),
        http_port_(FreePort()) {
    std::filesystem::remove_all(dir_);
    for (const char* sub : {"data", "tmp", "user_files", "format_schemas"}) {
      std::filesystem::create_directories(dir_ / sub);
    }
    std::string d = dir_.string();
    std::ofstream(dir_ / "config.xml")
        << "<yandex>\n<logger><level>warning</level><console>1</console></logger>\n"
        << "<listen_host>127.0.0.1</listen_host>\n<http_port>" << http_port_
        << "</http_port>\n<tcp_port>" << FreePort() << "</tcp_port>\n<path>" << d
        << "/data/</path>\n<tmp_path>" << d << "/tmp/</tmp_path>\n<user_files_path>" << d
        << "/user_files/</user_files_path>\n<format_schema_path>" << d
        << "/format_schemas/</format_schema_path>\n<users_config>" << d
        << "/users.xml</users_config>\n<timezone>UTC</timezone>\n"
        << "<mark_cache_size>5368709</mark_cache_size>\n"
        << (query_log ? "<query_log><database>system</database><table>query_log</table>"
                        "<flush_interval_milliseconds>300</flush_interval_milliseconds>"
                        "</query_log>\n"
                      : "")
        << "</yandex>\n";
    std::ofstream(dir_ / "users.xml")
        << "<yandex>\n<profiles><default>" << (query_log ? "<log_queries>1</log_queries>" : "")
        << "</default></profiles>\n<users><default><password></password><networks>"
           "<ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota>"
           "</default></users>\n<quotas><default></default></quotas>\n</yandex>\n";
    // The server runs as the `clickhouse` user (like runuser -u clickhouse) and must own its
    // folder.
    passwd* user = ::getpwnam("clickhouse");
    if (user == nullptr) return;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_)) {
      (void)::chown(entry.path().c_str(), user->pw_uid, user->pw_gid);
    }
    (void)::chown(dir_.c_str(), user->pw_uid, user->pw_gid);
    uid_t uid = user->pw_uid;
    gid_t gid = user->pw_gid;
    pid_ = ::fork();
    if (pid_ == 0) {
      std::string log = (dir_ / "server.log").string();
      FILE* out = std::freopen(log.c_str(), "a", stderr);
      FILE* out2 = std::freopen(log.c_str(), "a", stdout);
      (void)out;
      (void)out2;
      std::string config = "--config-file=" + (dir_ / "config.xml").string();
      if (::setgid(gid) != 0 || ::setuid(uid) != 0) ::_exit(126);
      ::execl("/usr/sbin/clickhouse-server", "clickhouse-server", config.c_str(),
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    for (int i = 0; i < 300 && !ready_; ++i) {
      auto pong = HttpGet("127.0.0.1", http_port_, "/ping");
      ready_ = pong.ok();
      if (!ready_) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ~ClickHouseServerProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      for (int i = 0; i < 200; ++i) {
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
          pid_ = -1;
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
      }
    }
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  ClickHouseServerProcess(const ClickHouseServerProcess&) = delete;
  ClickHouseServerProcess& operator=(const ClickHouseServerProcess&) = delete;

  bool ready() const { return ready_; }
  uint16_t http_port() const { return http_port_; }
  std::string log() const {
    std::ifstream in(dir_ / "server.log");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

 private:
  static inline int counter_ = 0;
  std::filesystem::path dir_;
  uint16_t http_port_;
  pid_t pid_ = -1;
  bool ready_ = false;
};

}  // namespace sluice::testing_support
