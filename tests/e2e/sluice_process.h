#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "test_support.h"

namespace sluice::testing_support {

/// A `sluice run SPEC [ARGUMENTS...]` child process whose stderr is appended to a log file.
class SluiceProcess {
 public:
  SluiceProcess(const std::string& spec, const std::string& log,
                std::vector<std::pair<std::string, std::string>> environment = {},
                std::vector<std::string> arguments = {})
      : log_(log), log_start_(ReadFile(log).size()) {
    std::string binary = std::string(SLUICE_BINARY_DIR) + "/sluice";
    std::vector<std::string> words{binary, "run", spec};
    words.insert(words.end(), arguments.begin(), arguments.end());
    std::vector<char*> argv;
    for (std::string& word : words) argv.push_back(word.data());
    argv.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
      FILE* out = std::freopen(log.c_str(), "a", stderr);
      (void)out;
      for (const auto& [name, value] : environment) ::setenv(name.c_str(), value.c_str(), 1);
      ::execv(binary.c_str(), argv.data());
      ::_exit(127);
    }
  }
  SluiceProcess(const SluiceProcess&) = delete;
  SluiceProcess& operator=(const SluiceProcess&) = delete;
  ~SluiceProcess() {
    if (!waited_) {
      Kill(SIGKILL);
      Wait();
    }
  }

  /// What this run wrote to the log so far.
  std::string Log() const {
    std::string log = ReadFile(log_);
    return log.size() > log_start_ ? log.substr(log_start_) : "";
  }

  /// The port of the listener named `listener` ("api" or "clickhouse") from this run's log
  /// lines, once it is up; 0 after 30 s without it.
  uint16_t WaitForPort(const std::string& listener = "api") {
    std::regex listening(listener + R"( listener on 127\.0\.0\.1:(\d+))");
    for (int i = 0; i < 600; ++i) {
      std::string log = ReadFile(log_);
      std::string mine = log.size() > log_start_ ? log.substr(log_start_) : "";
      std::smatch match;
      if (std::regex_search(mine, match, listening)) {
        return static_cast<uint16_t>(std::stoi(match[1]));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return 0;
  }
  void Kill(int signal) { ::kill(pid_, signal); }
  /// The exit code, or 128 + the signal that ended it.
  int Wait() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    waited_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

 private:
  std::string log_;
  size_t log_start_;
  pid_t pid_ = -1;
  bool waited_ = false;
};

}  // namespace sluice::testing_support
