// Per-split (Kafka partition) watermarks: the smallest over the splits read now, idle ones
// left out.

#include "dataflow/split_watermarks.h"

#include <gtest/gtest.h>

namespace sluice {
namespace {

using std::chrono::milliseconds;
using Clock = SplitWatermarks::Clock;

constexpr int64_t kOutOfOrderness = 2000;
constexpr int64_t kIdleMs = 3000;

TEST(SplitWatermarksTest, TheSplitBehindHoldsTheWatermark) {
  SplitWatermarks watermarks(kOutOfOrderness, kIdleMs);
  Clock::time_point now = Clock::now();
  watermarks.Observe("events/0", 20000, now);
  watermarks.Observe("events/1", 8000, now);
  EXPECT_EQ(watermarks.Current({"events/0", "events/1"}, now), 6000);
  watermarks.Observe("events/1", 15000, now + milliseconds(10));
  EXPECT_EQ(watermarks.Current({"events/0", "events/1"}, now + milliseconds(10)), 13000);
  // An older record does not move a split's watermark back.
  watermarks.Observe("events/1", 9000, now + milliseconds(20));
  EXPECT_EQ(watermarks.Current({"events/0", "events/1"}, now + milliseconds(20)), 13000);
}

TEST(SplitWatermarksTest, ASplitWithoutRecordsHoldsItBackUntilIdle) {
  SplitWatermarks watermarks(kOutOfOrderness, kIdleMs);
  Clock::time_point start = Clock::now();
  watermarks.Observe("events/0", 20000, start);
  EXPECT_EQ(watermarks.Current({"events/0", "events/1"}, start), std::nullopt);
  watermarks.Observe("events/0", 21000, start + milliseconds(kIdleMs - 1));
  EXPECT_EQ(watermarks.Current({"events/0", "events/1"}, start + milliseconds(kIdleMs - 1)),
            std::nullopt);
  // events/1 was first named at `start`: idle from start + kIdleMs on.
  watermarks.Observe("events/0", 22000, start + milliseconds(kIdleMs));
  EXPECT_EQ(watermarks.Current({"events/0", "events/1"}, start + milliseconds(kIdleMs)), 20000);
}

TEST(SplitWatermarksTest, AnIdleSplitStopsHoldingBackUntilItHasRecordsAgain) {
  SplitWatermarks watermarks(kOutOfOrderness, kIdleMs);
  Clock::time_point start = Clock::now();
  watermarks.Observe("events/0", 20000, start);
  watermarks.Observe("events/1", 8000, start);
  Clock::time_point later = start + milliseconds(kIdleMs + 100);
  watermarks.Observe("events/0", 30000, later);
  EXPECT_EQ(watermarks.Current({"events/0", "events/1"}, later), 28000);
  watermarks.Observe("events/1", 9000, later);
  EXPECT_EQ(watermarks.Current({"events/0", "events/1"}, later), 7000);
}

TEST(SplitWatermarksTest, EverySplitIdleLeavesTheWatermarkWhereItIs) {
  SplitWatermarks watermarks(kOutOfOrderness, kIdleMs);
  Clock::time_point start = Clock::now();
  watermarks.Observe("events/0", 20000, start);
  EXPECT_EQ(watermarks.Current({"events/0"}, start), 18000);
  EXPECT_EQ(watermarks.Current({"events/0"}, start + milliseconds(kIdleMs)), std::nullopt);
}

TEST(SplitWatermarksTest, ASplitNoLongerReadIsForgotten) {
  SplitWatermarks watermarks(kOutOfOrderness, kIdleMs);
  Clock::time_point now = Clock::now();
  watermarks.Observe("events/0", 20000, now);
  watermarks.Observe("events/1", 8000, now);
  EXPECT_EQ(watermarks.Current({"events/0"}, now), 18000);
  // Assigned again later: it starts over, holding the watermark back until it has records.
  EXPECT_EQ(watermarks.Current({"events/0", "events/1"}, now), std::nullopt);
}

}  // namespace
}  // namespace sluice
