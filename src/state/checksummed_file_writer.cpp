#include "state/checksummed_file_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace sluice {

void ChecksummedFileWriter::FreeBlock::operator()(char* block) const {
  std::free(block);
}

ChecksummedFileWriter::ChecksummedFileWriter(std::string path, DirectIo direct_io)
    : path_(std::move(path)),
      hash_(XXH3_createState()),
      direct_(direct_io == DirectIo::kWhenPossible) {
  XXH3_64bits_reset(hash_.get());
}

ChecksummedFileWriter::~ChecksummedFileWriter() = default;

Status ChecksummedFileWriter::Open() {
  if (::unlink(path_.c_str()) != 0 && errno != ENOENT) return FileError("remove", path_, errno);
  constexpr int kFlags = O_WRONLY | O_CREAT | O_EXCL;
  Result<FileDescriptor> file = OpenFile(path_, direct_ ? kFlags | O_DIRECT : kFlags);
  if (!file.ok() && direct_) {
    // A file system without direct IO (tmpfs on older kernels) refuses the flag.
    direct_ = false;
    file = OpenFile(path_, kFlags);
  }
  if (!file.ok()) return file.error();
  file_ = std::move(file).value();
  buffer_.reserve(kFlushBytes + (kFlushBytes >> 2));
  return {};
}

Status ChecksummedFileWriter::Finish() {
  if (Status flushed = Flush(true); !flushed.ok()) return flushed;
  if (::fsync(file_.get()) != 0) return FileError("sync", path_, errno);
  checksum_ = XXH3_64bits_digest(hash_.get());
  return {};
}

Status ChecksummedFileWriter::Flush(bool last) {
  size_t bytes = last ? buffer_.size() : buffer_.size() / kBlock * kBlock;
  if (bytes == 0) return {};
  std::string_view data(buffer_.data(), bytes);
  if (direct_) {
    if (Status written = WriteDirect(data, last); !written.ok()) return written;
  } else if (Status written = WriteAllAt(file_.get(), data, size_, path_); !written.ok()) {
    return written;
  }
  XXH3_64bits_update(hash_.get(), data.data(), data.size());
  size_ += bytes;
  buffer_.erase(0, bytes);
  return {};
}

Status ChecksummedFileWriter::WriteDirect(std::string_view data, bool last) {
  if (!staging_) {
    staging_.reset(static_cast<char*>(std::aligned_alloc(kBlock, kFlushBytes)));
    if (!staging_) return MakeError(ErrorCode::kIoError, "no memory for a write block", path_);
  }
  for (size_t at = 0; at < data.size(); at += kFlushBytes) {
    std::string_view chunk = data.substr(at, kFlushBytes);
    size_t padded = (chunk.size() + kBlock - 1) / kBlock * kBlock;
    std::memcpy(staging_.get(), chunk.data(), chunk.size());
    std::memset(staging_.get() + chunk.size(), 0, padded - chunk.size());
    for (size_t done = 0; done < padded;) {
      ssize_t written = ::pwrite(file_.get(), staging_.get() + done, padded - done,
                                 static_cast<off_t>(size_ + at + done));
      if (written < 0 && errno == EINTR) continue;
      if (written < 0 && errno == EINVAL && done == 0) {
        // The device wants another alignment: the rest goes through the page cache.
        direct_ = false;
        int flags = ::fcntl(file_.get(), F_GETFL);
        if (flags < 0 || ::fcntl(file_.get(), F_SETFL, flags & ~O_DIRECT) != 0) {
          return FileError("fcntl", path_, errno);
        }
        return WriteAllAt(file_.get(), data.substr(at), size_ + at, path_);
      }
      if (written < 0) return FileError("pwrite", path_, errno);
      done += static_cast<size_t>(written);
    }
  }
  // The last block was padded: the file ends where the data does.
  if (last && data.size() % kBlock != 0 &&
      ::ftruncate(file_.get(), static_cast<off_t>(size_ + data.size())) != 0) {
    return FileError("truncate", path_, errno);
  }
  return {};
}

}  // namespace sluice
