#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

namespace sluice::testing_support {

/// A fresh folder under the system temp folder, removed when the object goes.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix)
      : path_(std::filesystem::temp_directory_path() /
              (prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++))) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

inline std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

inline void WriteFile(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

/// What a finished command printed and how it exited.
struct CommandOutput {
  int exit_code = -1;
  std::string out;  // stdout, and stderr interleaved as written unless kept apart
  std::string err;  // stderr when kept apart
};

/// Runs a shell command line, capturing its output: stderr merged into stdout, or kept apart
/// (for output that is parsed, where a log line must not pass for data).
enum class Stderr { kMerged, kApart };
inline CommandOutput RunShell(const std::string& command, Stderr stderr_mode = Stderr::kMerged) {
  CommandOutput output;
  static int counter = 0;
  std::filesystem::path err_file =
      std::filesystem::temp_directory_path() /
      ("sluice-test-stderr-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  std::string redirect =
      stderr_mode == Stderr::kMerged ? " 2>&1" : " 2>'" + err_file.string() + "'";
  FILE* pipe = ::popen((command + redirect).c_str(), "r");
  if (pipe == nullptr) return output;
  std::array<char, 4096> chunk;
  size_t got;
  while ((got = std::fread(chunk.data(), 1, chunk.size(), pipe)) > 0)
    output.out.append(chunk.data(), got);
  int status = ::pclose(pipe);
  output.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (stderr_mode == Stderr::kApart) {
    output.err = ReadFile(err_file);
    std::error_code ignored;
    std::filesystem::remove(err_file, ignored);
  }
  return output;
}

/// Asks `done` every 100 ms until it answers true or `seconds` have passed; its last answer.
template <typename Done>
bool WaitUntil(int seconds, Done done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return done();
}

/// Runs the sluice binary of this build with the given (already shell-quoted) arguments.
inline CommandOutput RunSluice(const std::string& arguments, Stderr stderr_mode = Stderr::kMerged) {
  return RunShell(std::string(SLUICE_BINARY_DIR) + "/sluice " + arguments, stderr_mode);
}

/// What `sluice query --format tsv` printed for `sql` on the spec's warehouse, without the
/// header line; a failed query fails the test. Only stdout is parsed: a log line on stderr (such
/// as the warning about an insert cut short by a SIGKILL) must not pass for the header.
inline std::string QueryRows(const std::string& spec, const std::string& sql) {
  CommandOutput result =
      RunSluice("query --format tsv --spec " + spec + " \"" + sql + "\"", Stderr::kApart);
  EXPECT_EQ(result.exit_code, 0) << sql << "\n" << result.out << result.err;
  size_t header = result.out.find('\n');
  return header == std::string::npos ? "" : result.out.substr(header + 1);
}

}  // namespace sluice::testing_support
