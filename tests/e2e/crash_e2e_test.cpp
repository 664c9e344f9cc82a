// Acknowledged means durable, exactly once: sluice is SIGKILLed at random moments while a
// client posts numbered events and remembers which were acknowledged; after several rounds and
// a final clean run, every acknowledged event is in ClickHouse exactly once.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <random>
#include <regex>
#include <set>
#include <thread>

#include "http_client.h"
#include "sluice_process.h"
#include "test_support.h"

namespace sluice {
namespace {

using namespace std::chrono_literals;
using testing_support::HttpRequestOnce;
using testing_support::ReadFile;
using testing_support::SluiceProcess;
using testing_support::TempDir;
using testing_support::WriteFile;

TEST(CrashTest, EveryAcknowledgedEventIsStoredExactlyOnce) {
  TempDir folder("sluice-crash");
  std::string spec = (folder.path() / "spec.yaml").string();
  std::string log = (folder.path() / "sluice.log").string();
  WriteFile(spec, R"yaml(pipeline: crash
warehouse: {path: data}
server: {listen: "127.0.0.1:0"}
wal: {path: wal}
tables:
  events:
    columns:
      - {name: id, type: UInt64}
      - {name: payload, type: String}
    order_by: [id]
streams:
  events:
    batch: {max_rows: 2000, max_delay: 100ms}
)yaml");

  std::set<uint64_t> acknowledged;
  uint64_t next_id = 0;
  std::mt19937 random(20240601);
  constexpr int kRounds = 6;
  for (int round = 0; round < kRounds; ++round) {
    SluiceProcess sluice(spec, log);
    uint16_t port = sluice.WaitForPort();
    ASSERT_NE(port, 0) << ReadFile(log);
    std::atomic<bool> stop = false;
    std::vector<uint64_t> round_acknowledged;
    std::thread client([&] {
      while (!stop) {
        std::string body;
        uint64_t first = next_id;
        for (int i = 0; i < 50; ++i) {
          body += "{\"id\":" + std::to_string(next_id++) + ",\"payload\":\"event\"}\n";
        }
        auto reply = HttpRequestOnce(port, "POST", "/v1/ingest/events", body);
        if (reply.status == 200) {
          for (uint64_t id = first; id < next_id; ++id) round_acknowledged.push_back(id);
        } else if (reply.status == -1) {
          break;  // the process is gone
        }
      }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(300 + random() % 900));
    sluice.Kill(SIGKILL);
    stop = true;
    client.join();
    EXPECT_EQ(sluice.Wait(), 128 + SIGKILL);
    acknowledged.insert(round_acknowledged.begin(), round_acknowledged.end());
  }
  ASSERT_GT(acknowledged.size(), 1000u) << "the client got too few acknowledgements to test";

  // A last, clean run delivers whatever the log still holds, then stops on SIGTERM.
  SluiceProcess last(spec, log);
  ASSERT_NE(last.WaitForPort(), 0) << ReadFile(log);
  last.Kill(SIGTERM);
  EXPECT_EQ(last.Wait(), 0) << ReadFile(log);

  auto result = testing_support::RunSluice(
      "query --format tsv --spec " + spec + " \"SELECT id FROM events ORDER BY id\"",
      testing_support::Stderr::kApart);
  ASSERT_EQ(result.exit_code, 0) << result.out;
  std::istringstream lines(result.out);
  std::string line;
  std::getline(lines, line);  // header
  std::vector<uint64_t> stored;
  while (std::getline(lines, line)) stored.push_back(std::stoull(line));
  std::set<uint64_t> unique(stored.begin(), stored.end());
  EXPECT_EQ(unique.size(), stored.size()) << "some events are stored twice";
  size_t missing = 0;
  for (uint64_t id : acknowledged) missing += unique.count(id) == 0;
  EXPECT_EQ(missing, 0u) << "acknowledged events lost";
  // Events sent but never acknowledged may be stored (durable, answer lost) or not.
  EXPECT_LE(unique.size(), next_id);
}

}  // namespace
}  // namespace sluice
