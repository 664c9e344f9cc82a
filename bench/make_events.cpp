// sluice_bench_events: writes the benchmark's data set, N click-stream events as NDJSON, about
// 150 bytes each, with the seven fields of bench/spec.yaml:
//
//   {"event_time":"2024-05-01 00:00:00.137","user_id":4821733,"session_id":"5f0c9a7e1b3d2c48",
//    "event_type":"purchase","amount":312.07,"device":"mobile","country":"DE"}
//
// Every event passes the spec's checks, so the row count in ClickHouse must reach N exactly.
// The output depends only on --events and --seed: runs on different days compare the same bytes.
#include <CLI/CLI.hpp>
#include <array>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <string>

namespace {

/// xorshift64*: fast, and the same sequence on every machine.
class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed == 0 ? 0x9E3779B97F4A7C15ULL : seed) {}
  uint64_t Next() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545F4914F6CDD1DULL;
  }
  uint64_t Below(uint64_t bound) { return Next() % bound; }

 private:
  uint64_t state_;
};

// Skewed like real traffic: mostly views, few refunds.
constexpr std::array<const char*, 10> kEventTypes = {
    "view",  "view",        "view",        "view",     "click",
    "click", "add_to_cart", "add_to_cart", "purchase", "refund"};
constexpr std::array<const char*, 4> kDevices = {"mobile", "desktop", "tablet", "tv"};
constexpr std::array<const char*, 16> kCountries = {"US", "DE", "FR", "GB", "JP", "BR", "IN", "CA",
                                                    "AU", "ES", "IT", "NL", "SE", "PL", "MX", "KR"};

}  // namespace

int main(int argc, char** argv) {
  uint64_t events = 3'000'000;
  uint64_t seed = 42;
  std::string output;
  CLI::App app{"Writes the benchmark's NDJSON events"};
  app.add_option("--events", events, "number of events")->capture_default_str();
  app.add_option("--seed", seed, "random seed")->capture_default_str();
  app.add_option("--out", output, "output file")->required();
  CLI11_PARSE(app, argc, argv);

  std::FILE* out = std::fopen(output.c_str(), "wb");
  if (out == nullptr) {
    std::perror(output.c_str());
    return 1;
  }
  Random random(seed);
  // 2024-05-01 00:00:00 UTC; events are about a millisecond apart, in order.
  int64_t time_ms = 1714521600000;
  int64_t formatted_second = -1;
  char second_text[32] = {};
  char line[256];
  for (uint64_t i = 0; i < events; ++i) {
    time_ms += static_cast<int64_t>(random.Below(3));
    int64_t second = time_ms / 1000;
    if (second != formatted_second) {
      std::time_t as_time = static_cast<std::time_t>(second);
      std::tm parts{};
      ::gmtime_r(&as_time, &parts);
      std::strftime(second_text, sizeof(second_text), "%Y-%m-%d %H:%M:%S", &parts);
      formatted_second = second;
    }
    const char* event_type = kEventTypes[random.Below(kEventTypes.size())];
    bool pays = event_type[0] == 'p' || event_type[0] == 'r';
    uint64_t cents = pays ? 100 + random.Below(99900) : 0;
    int length = std::snprintf(
        line, sizeof(line),
        "{\"event_time\":\"%s.%03d\",\"user_id\":%llu,\"session_id\":\"%016llx\","
        "\"event_type\":\"%s\",\"amount\":%llu.%02llu,\"device\":\"%s\",\"country\":\"%s\"}\n",
        second_text, static_cast<int>(time_ms % 1000),
        static_cast<unsigned long long>(1 + random.Below(10'000'000)),
        static_cast<unsigned long long>(random.Next()), event_type,
        static_cast<unsigned long long>(cents / 100), static_cast<unsigned long long>(cents % 100),
        kDevices[random.Below(kDevices.size())], kCountries[random.Below(kCountries.size())]);
    std::fwrite(line, 1, static_cast<size_t>(length), out);
  }
  if (std::fclose(out) != 0) {
    std::perror(output.c_str());
    return 1;
  }
  return 0;
}
