#include "state/posix_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace sluice {

FileDescriptor& FileDescriptor::operator=(FileDescriptor&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.Release();
  }
  return *this;
}

FileDescriptor::~FileDescriptor() {
  if (fd_ >= 0) ::close(fd_);
}

int FileDescriptor::Release() {
  return std::exchange(fd_, -1);
}

Error FileError(std::string_view action, const std::string& path, int err) {
  return MakeError(ErrorCode::kIoError, std::string(action) + " failed: " + std::strerror(err),
                   path);
}

Result<FileDescriptor> OpenFile(const std::string& path, int flags, int mode) {
  int fd;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return FileError("open", path, errno);
  return FileDescriptor(fd);
}

Status WriteAllAt(int fd, std::string_view bytes, uint64_t offset, const std::string& path) {
  while (!bytes.empty()) {
    ssize_t written = ::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset));
    if (written < 0) {
      if (errno == EINTR) continue;
      return FileError("pwrite", path, errno);
    }
    bytes.remove_prefix(static_cast<size_t>(written));
    offset += static_cast<uint64_t>(written);
  }
  return {};
}

Status ReadExactAt(int fd, char* out, size_t size, uint64_t offset, const std::string& path) {
  while (size > 0) {
    ssize_t got = ::pread(fd, out, size, static_cast<off_t>(offset));
    if (got < 0) {
      if (errno == EINTR) continue;
      return FileError("pread", path, errno);
    }
    if (got == 0) {
      return MakeError(ErrorCode::kIoError,
                       "unexpected end of file at byte offset " + std::to_string(offset), path);
    }
    out += got;
    size -= static_cast<size_t>(got);
    offset += static_cast<uint64_t>(got);
  }
  return {};
}

Result<uint64_t> FileSize(int fd, const std::string& path) {
  struct stat info {};
  if (::fstat(fd, &info) != 0) return FileError("fstat", path, errno);
  return static_cast<uint64_t>(info.st_size);
}

Result<std::string> ReadWholeFile(const std::string& path) {
  Result<FileDescriptor> file = OpenFile(path, O_RDONLY);
  if (!file.ok()) return file.error();
  Result<uint64_t> size = FileSize(file->get(), path);
  if (!size.ok()) return size.error();
  std::string contents(*size, '\0');
  Status read = ReadExactAt(file->get(), contents.data(), contents.size(), 0, path);
  if (!read.ok()) return read.error();
  return contents;
}

Status SyncDirectory(const std::string& directory) {
  auto fd = OpenFile(directory, O_RDONLY | O_DIRECTORY);
  if (!fd.ok()) return fd.error();
  if (::fsync(fd->get()) != 0) return FileError("fsync", directory, errno);
  return {};
}

Status WriteFileAtomically(const std::string& directory, const std::string& name,
                           std::string_view contents) {
  std::string path = directory + "/" + name;
  std::string temporary = path + ".tmp";
  {
    auto fd = OpenFile(temporary, O_WRONLY | O_CREAT | O_TRUNC);
    if (!fd.ok()) return fd.error();
    if (Status written = WriteAllAt(fd->get(), contents, 0, temporary); !written.ok()) {
      return written;
    }
    if (::fsync(fd->get()) != 0) return FileError("fsync", temporary, errno);
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) return FileError("rename", temporary, errno);
  return SyncDirectory(directory);
}

}  // namespace sluice
