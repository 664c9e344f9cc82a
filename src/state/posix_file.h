#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace sluice {

/// Owns one POSIX file descriptor and closes it exactly once (move-only).
class FileDescriptor {
 public:
  FileDescriptor() = default;
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(FileDescriptor&& other) noexcept : fd_(other.Release()) {}
  FileDescriptor& operator=(FileDescriptor&& other) noexcept;
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor();

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int Release();

 private:
  int fd_ = -1;
};

/// An IO_ERROR naming the failed action, the file and the system's reason for errno `err`.
Error FileError(std::string_view action, const std::string& path, int err);

Result<FileDescriptor> OpenFile(const std::string& path, int flags, int mode = 0644);
/// Writes all of `bytes` at `offset`, retrying short writes and EINTR.
Status WriteAllAt(int fd, std::string_view bytes, uint64_t offset, const std::string& path);
/// Reads exactly `size` bytes at `offset`; a short read (end of file) is an error.
Status ReadExactAt(int fd, char* out, size_t size, uint64_t offset, const std::string& path);
Result<uint64_t> FileSize(int fd, const std::string& path);
/// The whole file in one sized read (a stream read through istreambuf_iterator goes byte by byte).
Result<std::string> ReadWholeFile(const std::string& path);
/// fsync of a directory, which makes the creation, rename or removal of its entries durable.
Status SyncDirectory(const std::string& directory);
/// Replaces `directory/name` with `contents` so that a crash leaves the old or the new file,
/// never a mix: write a temporary file, fsync it, rename it over the old one, fsync the folder.
Status WriteFileAtomically(const std::string& directory, const std::string& name,
                           std::string_view contents);

}  // namespace sluice
