#include "warehouse/insert_journal.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include "base/strings.h"

namespace sluice {
namespace {

constexpr std::string_view kHeader = "sluice-insert-journal 1";
constexpr std::string_view kEnd = "end\n";
// A crash interrupts at most one insert per start; more suspects than this means their retries
// never came (their checkpoints were removed), and the oldest are forgotten.
constexpr size_t kMaxSuspects = 256;

}  // namespace

Result<InsertJournal> InsertJournal::Load(std::string path) {
  InsertJournal journal(std::move(path));
  std::ifstream in(journal.path_, std::ios::binary);
  if (!in) return journal;
  std::stringstream contents;
  contents << in.rdbuf();
  std::vector<std::string> lines = SplitLines(contents.str());
  auto corrupt = [&](size_t line, std::string_view why) {
    return MakeError(ErrorCode::kCheckpointCorrupt,
                     fmt::format("the insert journal is damaged ({}); remove it only after "
                                 "checking that no insert was interrupted",
                                 why),
                     fmt::format("{}:{}", journal.path_, line + 1));
  };
  if (lines.empty() || lines[0] != kHeader) return corrupt(0, "unknown header");
  bool ended = false;
  for (size_t i = 1; i < lines.size() && !ended; ++i) {
    if (lines[i] == "end") {
      ended = true;
      continue;
    }
    std::vector<std::string_view> fields = SplitFields(lines[i]);
    const std::string_view kind = fields[0];
    if (kind == "retries" && fields.size() == 2) {
      if (!ParseUint64(fields[1], journal.retries_)) return corrupt(i, "bad retry count");
    } else if (kind == "suspect" && fields.size() == 4) {
      SuspectInsert suspect{UnescapeField(fields[1]), UnescapeField(fields[2])};
      if (!ParseUint64(fields[3], suspect.committed_blocks)) return corrupt(i, "bad block count");
      journal.suspects_.push_back(std::move(suspect));
    } else if (kind == "inflight" && fields.size() == 3) {
      journal.in_flight_ = InFlight{UnescapeField(fields[1]), UnescapeField(fields[2]), {}};
    } else if (kind == "mark" && fields.size() == 3 && journal.in_flight_) {
      uint64_t block = 0;
      if (!ParseUint64(fields[2], block)) return corrupt(i, "bad block number");
      journal.in_flight_->marks[UnescapeField(fields[1])] = block;
    } else {
      return corrupt(i, fmt::format("unexpected line '{}'", lines[i].substr(0, 80)));
    }
  }
  if (!ended) return corrupt(lines.size(), "no end line");
  return journal;
}

Status InsertJournal::Resolve(uint64_t committed_blocks) {
  if (!in_flight_) return {};
  // A suspect that was itself being retried is replaced by what its latest attempt left.
  std::erase_if(suspects_, [&](const SuspectInsert& s) { return s.token == in_flight_->token; });
  suspects_.push_back({in_flight_->token, in_flight_->attempt_token, committed_blocks});
  if (suspects_.size() > kMaxSuspects) suspects_.erase(suspects_.begin());
  in_flight_.reset();
  return Save();
}

const SuspectInsert* InsertJournal::FindSuspect(const std::string& token) const {
  auto found = std::find_if(suspects_.begin(), suspects_.end(),
                            [&](const SuspectInsert& s) { return s.token == token; });
  return found == suspects_.end() ? nullptr : &*found;
}

std::string InsertJournal::FreshToken(const std::string& token) {
  return fmt::format("{}/retry-{}", token, ++retries_);
}

Status InsertJournal::Begin(const std::string& token, const std::string& attempt_token,
                            BlockMarks marks) {
  in_flight_ = InFlight{token, attempt_token, std::move(marks)};
  return Save();
}

Status InsertJournal::Finish(const std::string& token) {
  in_flight_.reset();
  std::erase_if(suspects_, [&](const SuspectInsert& s) { return s.token == token; });
  return Save();
}

Status InsertJournal::Save() const {
  std::string text(kHeader);
  text += fmt::format("\nretries\t{}\n", retries_);
  for (const SuspectInsert& s : suspects_) {
    text += fmt::format("suspect\t{}\t{}\t{}\n", EscapeField(s.token), EscapeField(s.attempt_token),
                        s.committed_blocks);
  }
  if (in_flight_) {
    text += fmt::format("inflight\t{}\t{}\n", EscapeField(in_flight_->token),
                        EscapeField(in_flight_->attempt_token));
    for (const auto& [table, block] : in_flight_->marks) {
      text += fmt::format("mark\t{}\t{}\n", EscapeField(table), block);
    }
  }
  text += kEnd;
  // Rewritten in place, twice per insert: one write of a few hundred bytes, which the death of
  // the process does not tear, then the length; what a longer earlier version leaves after the
  // end line, should the process die between the two, is ignored.
  int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return MakeError(ErrorCode::kIoError, "cannot open the insert journal", path_);
  bool written = ::pwrite(fd, text.data(), text.size(), 0) == static_cast<ssize_t>(text.size()) &&
                 ::ftruncate(fd, static_cast<off_t>(text.size())) == 0;
  ::close(fd);
  if (!written) return MakeError(ErrorCode::kIoError, "cannot write the insert journal", path_);
  return {};
}

uint64_t CountBlocksAbove(const BlockMarks& marks, std::string_view parts) {
  uint64_t blocks = 0;
  for (const std::string& line : SplitLines(parts)) {
    std::vector<std::string_view> fields = SplitFields(line);
    uint64_t min_block = 0;
    uint64_t max_block = 0;
    if (fields.size() != 4 || !ParseUint64(fields[2], min_block) ||
        !ParseUint64(fields[3], max_block)) {
      continue;
    }
    auto mark = marks.find(fmt::format("{}.{}", fields[0], fields[1]));
    uint64_t above = mark == marks.end() ? 0 : mark->second;
    // A part covers the block numbers min..max; those above the mark came from the insert.
    if (max_block > above) blocks += max_block - std::max(min_block, above + 1) + 1;
  }
  return blocks;
}

std::optional<uint64_t> HighestBlockInFolder(const std::string& folder) {
  // readdir rather than std::filesystem: a busy table's folder holds hundreds of parts (outdated
  // ones stay for minutes) and is listed before each insert into it.
  std::unique_ptr<DIR, int (*)(DIR*)> directory(::opendir(folder.c_str()), &::closedir);
  if (!directory) return std::nullopt;
  std::optional<uint64_t> highest;
  while (const dirent* entry = ::readdir(directory.get())) {
    // Temporary parts (tmp_insert_...), detached/ and the table's own files fail the parse.
    if (entry->d_type != DT_DIR && entry->d_type != DT_UNKNOWN) continue;
    std::vector<std::string_view> fields = SplitFields(entry->d_name, '_');
    uint64_t min_block = 0;
    uint64_t max_block = 0;
    uint64_t level = 0;
    if ((fields.size() != 4 && fields.size() != 5) || !ParseUint64(fields[1], min_block) ||
        !ParseUint64(fields[2], max_block) || !ParseUint64(fields[3], level)) {
      continue;
    }
    highest = std::max(highest.value_or(0), max_block);
  }
  return highest;
}

BlockMarkReader::BlockMarkReader(std::vector<std::pair<std::string, std::string>> tables) {
  for (auto& [table, path] : tables) folders_.push_back({std::move(table), std::move(path)});
}

BlockMarks BlockMarkReader::Read() {
  // Times within this margin of the listing may hide a change made right after it (Linux file
  // systems keep times at the granularity of the kernel's tick, at most 10 ms).
  constexpr int64_t kCoarseTimeNs = 100'000'000;
  const int64_t now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  BlockMarks marks;
  for (Folder& folder : folders_) {
    struct stat info {};
    int64_t modified_ns = -1;
    if (::stat(folder.path.c_str(), &info) == 0) {
      modified_ns =
          static_cast<int64_t>(info.st_mtim.tv_sec) * 1'000'000'000 + info.st_mtim.tv_nsec;
    }
    if (modified_ns < 0 || modified_ns != folder.modified_ns) {
      folder.highest = HighestBlockInFolder(folder.path);
      folder.modified_ns = modified_ns < now_ns - kCoarseTimeNs ? modified_ns : -1;
    }
    if (folder.highest) {
      uint64_t& mark = marks[folder.table];
      mark = std::max(mark, *folder.highest);
    }
  }
  return marks;
}

}  // namespace sluice
