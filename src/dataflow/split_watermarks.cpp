#include "dataflow/split_watermarks.h"

#include <algorithm>

namespace sluice {

void SplitWatermarks::Observe(const std::string& split, int64_t newest_ms, Clock::time_point now) {
  Split& state = splits_[split];
  state.newest_ms = std::max(state.newest_ms, newest_ms);
  state.last_data = now;
}

std::optional<int64_t> SplitWatermarks::Current(const std::vector<std::string>& splits,
                                                Clock::time_point now) {
  std::map<std::string, Split> current;
  std::optional<int64_t> lowest;
  for (const std::string& name : splits) {
    auto found = splits_.find(name);
    // First named now: its idle timeout runs from here.
    Split split = found != splits_.end() ? found->second : Split{INT64_MIN, now};
    current.emplace(name, split);
    if (now - split.last_data >= idle_timeout_) continue;
    int64_t watermark =
        split.newest_ms == INT64_MIN ? INT64_MIN : split.newest_ms - max_out_of_orderness_ms_;
    lowest = std::min(lowest.value_or(INT64_MAX), watermark);
  }
  // Splits no longer read (a revoked partition) no longer hold the watermark back.
  splits_ = std::move(current);
  if (!lowest || *lowest == INT64_MIN) return std::nullopt;
  return lowest;
}

std::vector<std::pair<std::string, int64_t>> SplitWatermarks::PerSplit(
    std::optional<int64_t> combined, Clock::time_point now) const {
  std::vector<std::pair<std::string, int64_t>> watermarks;
  for (const auto& [name, split] : splits_) {
    std::optional<int64_t> own;
    if (split.newest_ms != INT64_MIN) own = split.newest_ms - max_out_of_orderness_ms_;
    if (now - split.last_data >= idle_timeout_ && combined) {
      own = std::max(own.value_or(INT64_MIN), *combined);
    }
    if (own) watermarks.emplace_back(name, *own);
  }
  return watermarks;
}

}  // namespace sluice
