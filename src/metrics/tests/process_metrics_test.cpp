#include "metrics/process_metrics.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <ctime>
#include <string>
#include <vector>

namespace sluice {
namespace {

TEST(ProcessMetricsTest, SampleSeesAnOpenedDescriptorAndMemory) {
  auto before = SampleProcess();
  ASSERT_TRUE(before.has_value());
  int fd = ::open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  auto after = SampleProcess();
  ::close(fd);
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->open_fds, before->open_fds + 1);
  EXPECT_GT(after->resident_bytes, 1 << 20);
  EXPECT_GE(after->virtual_bytes, after->resident_bytes);
  EXPECT_GT(after->max_fds, after->open_fds);
  double now = static_cast<double>(std::time(nullptr));
  EXPECT_LE(after->start_time_seconds, now + 1);
  EXPECT_GT(after->start_time_seconds, now - 3600) << "the test process started just now";
}

TEST(ProcessMetricsTest, CpuSecondsGrowWithWork) {
  auto before = SampleProcess();
  ASSERT_TRUE(before.has_value());
  // Burn 50 ms of this process's CPU time (the kernel counts in ticks of 10 ms); measured in
  // CPU time, not wall time, so a busy machine only makes it take longer.
  auto cpu_now = [] {
    timespec now{};
    ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
    return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9;
  };
  double until = cpu_now() + 0.05;
  volatile uint64_t spin = 0;
  while (cpu_now() < until) spin = spin + 1;
  auto after = SampleProcess();
  ASSERT_TRUE(after.has_value());
  EXPECT_GT(after->cpu_seconds, before->cpu_seconds);
}

TEST(ProcessMetricsTest, ScrapeRendersTheStandardNames) {
  MetricRegistry registry;
  uint64_t hook = ExportProcessMetrics(registry);
  std::string text = registry.RenderPrometheus();
  EXPECT_NE(text.find("# TYPE process_cpu_seconds_total counter\n"), std::string::npos) << text;
  for (std::string name : {"process_cpu_seconds_total ", "process_resident_memory_bytes ",
                           "process_virtual_memory_bytes ", "process_open_fds ", "process_max_fds ",
                           "process_start_time_seconds "}) {
    size_t at = text.find("\n" + name);
    ASSERT_NE(at, std::string::npos) << name << "\n" << text;
    double value = std::stod(text.substr(at + 1 + name.size()));
    // A test process may not have used one clock tick of CPU yet; the test above checks it moves.
    if (name == "process_cpu_seconds_total ") {
      EXPECT_GE(value, 0) << name;
    } else {
      EXPECT_GT(value, 0) << name;
    }
  }
  registry.RemoveScrapeHook(hook);
}

TEST(ProcessMetricsTest, RemovedHookNoLongerRuns) {
  MetricRegistry registry;
  int runs = 0;
  uint64_t hook = registry.AddScrapeHook([&runs] { ++runs; });
  registry.RenderPrometheus();
  registry.RemoveScrapeHook(hook);
  registry.RenderPrometheus();
  EXPECT_EQ(runs, 1);
}

TEST(HistogramTest, ObserveManyCountsEachAndSumsTheirValues) {
  double bounds[] = {1, 2};
  Histogram histogram(bounds);
  histogram.Observe(1.5, 4);
  histogram.Observe(0.5);
  histogram.Observe(9, 0);
  Histogram::Snapshot snapshot = histogram.Read();
  EXPECT_EQ(snapshot.cumulative, (std::vector<uint64_t>{1, 5, 5}));
  EXPECT_DOUBLE_EQ(snapshot.sum, 6.5);
}

}  // namespace
}  // namespace sluice
