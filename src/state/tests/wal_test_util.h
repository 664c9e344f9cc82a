#pragma once

#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>

#include "state/wal_format.h"

namespace sluice::testing {

/// A fresh folder under the system temp folder, removed with everything in it at the end.
class TempDirectory {
 public:
  TempDirectory() {
    std::string pattern = (std::filesystem::temp_directory_path() / "sluice-wal-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDirectory() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

/// The segment files in `directory`: first sequence -> path.
inline std::map<uint64_t, std::string> SegmentFiles(const std::string& directory) {
  std::map<uint64_t, std::string> segments;
  for (const auto& entry : std::filesystem::directory_iterator(directory)) {
    if (auto first = wal::ParseSegmentFileName(entry.path().filename().string())) {
      segments[*first] = entry.path().string();
    }
  }
  return segments;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
}

inline void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << bytes;
}

}  // namespace sluice::testing
