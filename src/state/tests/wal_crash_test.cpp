#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "state/tests/wal_test_util.h"
#include "state/wal.h"

namespace sluice {
namespace {

constexpr int kChildThreads = 4;

std::string CrashPayload(int round, int thread, uint64_t i) {
  std::string payload =
      "r" + std::to_string(round) + "t" + std::to_string(thread) + "i" + std::to_string(i) + ":";
  payload.append(i * 7 % 300, static_cast<char>('a' + i % 26));
  return payload;
}

// The child: appends from several threads until it is killed, writing "sequence round thread i"
// to the pipe after each acknowledged append (one write below PIPE_BUF: whole or not at all).
// Every 100th append is a pair through AppendMany; thread 0 also confirms delivery now and then.
[[noreturn]] void RunChild(const std::string& directory, int round, int out) {
  auto log = WriteAheadLog::Open({directory, /*segment_bytes=*/64 << 10});
  if (!log.ok()) {
    std::fprintf(stderr, "child: %s\n", log.error().ToString().c_str());
    ::_exit(2);
  }
  WriteAheadLog& wal = **log;
  std::vector<std::thread> threads;
  for (int t = 0; t < kChildThreads; ++t) {
    threads.emplace_back([&wal, round, t, out] {
      for (uint64_t i = 0;; i += 1) {
        std::string first = CrashPayload(round, t, i);
        Result<uint64_t> sequence = 0;
        bool pair = i % 100 == 99;
        if (pair) {
          std::string second = CrashPayload(round, t, i + 1);
          std::string_view both[] = {first, second};
          sequence = wal.AppendMany(both);
        } else {
          sequence = wal.Append(first);
        }
        if (!sequence.ok()) ::_exit(3);
        char line[96];
        int size = std::snprintf(line, sizeof(line), "%llu %d %d %llu\n",
                                 static_cast<unsigned long long>(*sequence), round, t,
                                 static_cast<unsigned long long>(i));
        if (pair) {
          size += std::snprintf(line + size, sizeof(line) - size, "%llu %d %d %llu\n",
                                static_cast<unsigned long long>(*sequence + 1), round, t,
                                static_cast<unsigned long long>(i + 1));
          i += 1;
        }
        if (::write(out, line, size) != size) ::_exit(4);
        if (t == 0 && i % 300 == 0 && *sequence > 200) {
          if (!wal.MarkDelivered(*sequence - 200).ok()) ::_exit(5);
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  ::_exit(0);
}

struct Acknowledged {
  int round;
  int thread;
  uint64_t i;
};

TEST(WriteAheadLogCrashTest, AcknowledgedRecordsSurviveSigkill) {
  testing::TempDirectory directory;
  std::random_device seed_source;
  unsigned seed = seed_source();
  std::mt19937 random(seed);
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::map<uint64_t, Acknowledged> acknowledged;

  for (int round = 0; round < 5; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    int pipe_fds[2];
    ASSERT_EQ(::pipe(pipe_fds), 0);
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      ::close(pipe_fds[0]);
      RunChild(directory.path(), round, pipe_fds[1]);
    }
    ::close(pipe_fds[1]);

    // Drain the pipe while the child runs so it never blocks on a full pipe, then kill it at
    // a random moment and read what it acknowledged before dying.
    std::string lines;
    auto kill_at = std::chrono::steady_clock::now() +
                   std::chrono::milliseconds(std::uniform_int_distribution(100, 400)(random));
    char buffer[65536];
    bool killed = false;
    while (true) {
      if (!killed && std::chrono::steady_clock::now() >= kill_at) {
        ASSERT_EQ(::kill(child, SIGKILL), 0);
        killed = true;
      }
      pollfd readable{pipe_fds[0], POLLIN, 0};
      ::poll(&readable, 1, killed ? -1 : 10);
      if (readable.revents == 0) continue;
      ssize_t got = ::read(pipe_fds[0], buffer, sizeof(buffer));
      if (got <= 0) break;
      lines.append(buffer, static_cast<size_t>(got));
    }
    ::close(pipe_fds[0]);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "the child stopped by itself with status " << status;

    size_t before = acknowledged.size();
    std::istringstream input(lines);
    unsigned long long sequence, i;
    int line_round, thread;
    while (input >> sequence >> line_round >> thread >> i) {
      ASSERT_TRUE(acknowledged.emplace(sequence, Acknowledged{line_round, thread, i}).second)
          << "sequence " << sequence << " acknowledged twice";
    }
    ASSERT_GT(acknowledged.size(), before) << "the child acknowledged nothing before the kill";

    auto log = WriteAheadLog::Open({directory.path(), /*segment_bytes=*/64 << 10});
    ASSERT_TRUE(log.ok()) << log.error().ToString();
    uint64_t delivered = (*log)->delivered_sequence();
    auto records = (*log)->ReadAfter(delivered, SIZE_MAX, SIZE_MAX);
    ASSERT_TRUE(records.ok()) << records.error().ToString();
    ASSERT_EQ(records->size(), (*log)->last_sequence() - delivered);
    for (size_t k = 0; k < records->size(); ++k) {
      ASSERT_EQ((*records)[k].sequence, delivered + 1 + k);
    }
    ASSERT_GE((*log)->last_sequence(), acknowledged.rbegin()->first);
    size_t checked = 0;
    for (auto it = acknowledged.upper_bound(delivered); it != acknowledged.end(); ++it) {
      const auto& [ack_sequence, ack] = *it;
      const WalRecord& record = (*records)[ack_sequence - delivered - 1];
      ASSERT_EQ(record.payload, CrashPayload(ack.round, ack.thread, ack.i))
          << "sequence " << ack_sequence;
      ++checked;
    }
    std::printf("round %d: %zu acknowledged, %zu checked after the kill, %llu delivered\n", round,
                acknowledged.size() - before, checked, static_cast<unsigned long long>(delivered));
  }
}

}  // namespace
}  // namespace sluice
