#include "state/checkpoint_store.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/strings.h"
#include "state/posix_file.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kMetadataFile = "_metadata";
constexpr std::string_view kCommittedFile = "_committed";
constexpr std::string_view kPrefix = "chk-";
constexpr std::string_view kInProgressSuffix = ".inprogress";
// Version 2: each pending batch file holds its schema before its rows.
constexpr std::string_view kFormatLine = "sluice-checkpoint 2";

std::string Encode(const CheckpointMetadata& metadata) {
  std::ostringstream out;
  out << kFormatLine << "\n";
  out << "id\t" << metadata.id << "\n";
  out << "created_ms\t" << metadata.created_ms << "\n";
  out << "parallelism\t" << metadata.parallelism << "\n";
  out << "run\t" << EscapeField(metadata.run_id) << "\n";
  for (const auto& [source, position] : metadata.source_positions) {
    out << "position\t" << EscapeField(source) << "\t" << EscapeField(position) << "\n";
  }
  for (const auto& [file, table] : metadata.pending_batches) {
    out << "pending\t" << EscapeField(file) << "\t" << EscapeField(table) << "\n";
  }
  out << "end\n";
  return out.str();
}

Result<CheckpointMetadata> Decode(const std::string& text, const std::string& path) {
  auto corrupt = [&](const std::string& why, int line) {
    return MakeError(ErrorCode::kCheckpointCorrupt, why, path + ":" + std::to_string(line));
  };
  CheckpointMetadata metadata;
  std::istringstream in(text);
  std::string line;
  int number = 0;
  bool ended = false;
  while (std::getline(in, line)) {
    ++number;
    if (number == 1) {
      if (line.rfind("sluice-checkpoint ", 0) == 0 && line != kFormatLine) {
        return corrupt("written by another sluice version ('" + line + "', this one reads '" +
                           std::string(kFormatLine) + "')",
                       number);
      }
      if (line != kFormatLine) return corrupt("not a sluice checkpoint (first line)", number);
      continue;
    }
    auto parts = SplitFields(line);
    try {
      if (parts[0] == "id" && parts.size() == 2) {
        metadata.id = std::stoull(std::string(parts[1]));
      } else if (parts[0] == "created_ms" && parts.size() == 2) {
        metadata.created_ms = std::stoll(std::string(parts[1]));
      } else if (parts[0] == "parallelism" && parts.size() == 2) {
        metadata.parallelism = static_cast<uint32_t>(std::stoul(std::string(parts[1])));
      } else if (parts[0] == "run" && parts.size() == 2) {
        metadata.run_id = UnescapeField(parts[1]);
      } else if (parts[0] == "position" && parts.size() == 3) {
        metadata.source_positions.emplace_back(UnescapeField(parts[1]), UnescapeField(parts[2]));
      } else if (parts[0] == "pending" && parts.size() == 3) {
        metadata.pending_batches.emplace_back(UnescapeField(parts[1]), UnescapeField(parts[2]));
      } else if (parts[0] == "end" && parts.size() == 1) {
        ended = true;
        break;
      } else {
        return corrupt("unexpected line '" + line + "'", number);
      }
    } catch (const std::exception&) {
      return corrupt("not a number in '" + line + "'", number);
    }
  }
  if (!ended) return corrupt("truncated: no end line", number);
  if (metadata.parallelism == 0) return corrupt("parallelism 0", number);
  return metadata;
}

// Complete checkpoint folders under root, newest (highest id) first.
std::vector<std::pair<uint64_t, fs::path>> CompleteFolders(const std::string& root) {
  std::vector<std::pair<uint64_t, fs::path>> found;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(root, error)) {
    std::string name = entry.path().filename().string();
    if (!entry.is_directory() || name.rfind(kPrefix, 0) != 0) continue;
    std::string digits = name.substr(kPrefix.size());
    if (digits.empty() || !std::all_of(digits.begin(), digits.end(), ::isdigit)) continue;
    found.emplace_back(std::stoull(digits), entry.path());
  }
  std::sort(found.begin(), found.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });
  return found;
}

}  // namespace

CheckpointStore::CheckpointStore(std::string root, uint32_t retain)
    : root_(std::move(root)), retain_(std::max<uint32_t>(retain, 1)) {}

Result<std::string> CheckpointStore::Begin(uint64_t id) {
  std::error_code error;
  fs::path folder = fs::path(root_) /
                    (std::string(kPrefix) + std::to_string(id) + std::string(kInProgressSuffix));
  fs::remove_all(folder, error);
  fs::create_directories(folder, error);
  if (error)
    return MakeError(ErrorCode::kIoError, "cannot create checkpoint folder: " + error.message(),
                     folder.string());
  return folder.string();
}

Result<std::string> CheckpointStore::Complete(const CheckpointMetadata& metadata) {
  std::string name = std::string(kPrefix) + std::to_string(metadata.id);
  fs::path in_progress = fs::path(root_) / (name + std::string(kInProgressSuffix));
  fs::path complete = fs::path(root_) / name;
  if (Status written =
          WriteFileAtomically(in_progress.string(), std::string(kMetadataFile), Encode(metadata));
      !written.ok()) {
    return written.error();
  }
  std::error_code error;
  fs::remove_all(complete, error);
  fs::rename(in_progress, complete, error);
  if (error)
    return MakeError(ErrorCode::kIoError, "cannot complete checkpoint: " + error.message(),
                     complete.string());
  if (Status synced = SyncDirectory(root_); !synced.ok()) return synced.error();
  return complete.string();
}

Status CheckpointStore::MarkCommitted(const std::string& directory) {
  return WriteFileAtomically(directory, std::string(kCommittedFile), "committed\n");
}

Status CheckpointStore::Prune(const std::set<std::string>& referenced) {
  std::error_code error;
  uint32_t kept = 0;
  for (const auto& [id, folder] : CompleteFolders(root_)) {
    if (referenced.contains(fs::absolute(folder).lexically_normal().string())) continue;
    // Only committed checkpoints count towards retention: the newest one may still be
    // committing, and an older one is what a restart would fall back to meanwhile.
    bool committed = fs::exists(folder / kCommittedFile);
    if (kept < retain_ || !committed) {
      if (committed) ++kept;
      continue;
    }
    fs::remove_all(folder, error);
  }
  for (const auto& entry : fs::directory_iterator(root_, error)) {
    std::string name = entry.path().filename().string();
    if (name.size() > kInProgressSuffix.size() &&
        name.compare(name.size() - kInProgressSuffix.size(), kInProgressSuffix.size(),
                     kInProgressSuffix) == 0) {
      fs::remove_all(entry.path(), error);
    }
  }
  return {};
}

Result<std::optional<StoredCheckpoint>> CheckpointStore::Latest() const {
  for (const auto& [id, folder] : CompleteFolders(root_)) {
    auto loaded = Load(folder.string());
    if (!loaded.ok()) return loaded.error();
    return std::optional<StoredCheckpoint>(std::move(*loaded));
  }
  return std::optional<StoredCheckpoint>();
}

Status CheckpointStore::CopyTo(const std::string& directory, const std::string& target) const {
  std::error_code error;
  if (fs::exists(target)) {
    return MakeError(ErrorCode::kIoError, "the savepoint folder already exists", target);
  }
  fs::create_directories(fs::path(target).parent_path(), error);
  fs::copy(directory, target, fs::copy_options::recursive, error);
  if (error)
    return MakeError(ErrorCode::kIoError, "cannot copy the checkpoint: " + error.message(), target);
  return SyncDirectory(fs::path(target).parent_path().string());
}

Result<StoredCheckpoint> CheckpointStore::Load(const std::string& directory) {
  fs::path metadata_path = fs::path(directory) / kMetadataFile;
  std::ifstream file(metadata_path, std::ios::binary);
  if (!file) {
    return MakeError(ErrorCode::kCheckpointCorrupt,
                     "no _metadata: not a complete checkpoint or savepoint", directory);
  }
  std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  auto metadata = Decode(text, metadata_path.string());
  if (!metadata.ok()) return metadata.error();
  StoredCheckpoint stored;
  stored.directory = directory;
  stored.metadata = std::move(*metadata);
  stored.committed = fs::exists(fs::path(directory) / kCommittedFile);
  return stored;
}

}  // namespace sluice
