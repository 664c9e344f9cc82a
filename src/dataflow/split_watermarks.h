#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sluice {

/// The watermark of a source read from several independently ordered splits (Kafka
/// partitions): the smallest over the splits it reads now that are not idle, each split's being
/// its newest event time minus the allowed out-of-orderness (Flink's per-partition watermarks).
/// A split that has handed out nothing for the idle timeout — or, newly read, nothing since it
/// was first named — stops holding the watermark back until it has records again.
///
/// Not thread-safe: one source thread owns it.
class SplitWatermarks {
 public:
  using Clock = std::chrono::steady_clock;

  SplitWatermarks(int64_t max_out_of_orderness_ms, int64_t idle_timeout_ms)
      : max_out_of_orderness_ms_(max_out_of_orderness_ms), idle_timeout_(idle_timeout_ms) {}

  /// `split` handed out records whose newest event time is `newest_ms`, at `now`.
  void Observe(const std::string& split, int64_t newest_ms, Clock::time_point now);

  /// The watermark over `splits` (the ones read now; any other is forgotten) at `now`. Empty
  /// while a split read now has no records yet and is not idle, or when every split is idle:
  /// the watermark does not move then.
  std::optional<int64_t> Current(const std::vector<std::string>& splits, Clock::time_point now);

  /// Each split's own watermark, for state kept per split (Kafka partitions shared by several
  /// processes): its newest event time minus the out-of-orderness, or, once it has been idle
  /// for the timeout, `combined` (Current's answer) when that is ahead, so that a quiet split's
  /// windows close with the others'. Splits with no records that are not idle yet are left
  /// out. Covers the splits of the last Current call.
  std::vector<std::pair<std::string, int64_t>> PerSplit(std::optional<int64_t> combined,
                                                        Clock::time_point now) const;

 private:
  struct Split {
    int64_t newest_ms = INT64_MIN;
    Clock::time_point last_data;
  };

  int64_t max_out_of_orderness_ms_;
  std::chrono::milliseconds idle_timeout_;
  std::map<std::string, Split> splits_;
};

}  // namespace sluice
