#include "metrics/process_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace sluice {

std::optional<ProcessSample> SampleProcess() {
  std::ifstream stat_file("/proc/self/stat");
  std::string stat;
  if (!std::getline(stat_file, stat)) return std::nullopt;
  // The command name is in parentheses and may hold spaces: fields are counted after it.
  size_t name_end = stat.rfind(')');
  if (name_end == std::string::npos) return std::nullopt;
  std::istringstream fields(stat.substr(name_end + 2));
  // Field 3 (state) is the first after the name; utime is field 14, stime 15, starttime 22,
  // vsize 23, rss 24 (proc(5)).
  std::string field;
  double utime = 0, stime = 0, start_ticks = 0, vsize = 0, rss_pages = 0;
  for (int number = 3; number <= 24 && fields >> field; ++number) {
    if (number == 14) utime = std::stod(field);
    if (number == 15) stime = std::stod(field);
    if (number == 22) start_ticks = std::stod(field);
    if (number == 23) vsize = std::stod(field);
    if (number == 24) rss_pages = std::stod(field);
  }
  double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  double page = static_cast<double>(::sysconf(_SC_PAGESIZE));

  double boot_time = 0;
  std::ifstream system_stat("/proc/stat");
  std::string line;
  while (std::getline(system_stat, line)) {
    if (line.starts_with("btime ")) boot_time = std::stod(line.substr(6));
  }

  ProcessSample sample;
  sample.cpu_seconds = (utime + stime) / ticks;
  sample.resident_bytes = rss_pages * page;
  sample.virtual_bytes = vsize;
  sample.start_time_seconds = boot_time + start_ticks / ticks;
  if (DIR* fds = ::opendir("/proc/self/fd")) {
    double count = 0;
    while (const dirent* entry = ::readdir(fds)) {
      if (entry->d_name[0] != '.') ++count;
    }
    ::closedir(fds);
    sample.open_fds = count - 1;  // the descriptor opendir itself holds
  }
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    sample.max_fds = static_cast<double>(limit.rlim_cur);
  }
  return sample;
}

uint64_t ExportProcessMetrics(MetricRegistry& registry) {
  Gauge& cpu = registry.GetSampledCounter(Metric::kProcessCpuSeconds, {});
  Gauge& resident = registry.GetGauge(Metric::kProcessResidentMemory, {});
  Gauge& virtual_memory = registry.GetGauge(Metric::kProcessVirtualMemory, {});
  Gauge& open_fds = registry.GetGauge(Metric::kProcessOpenFds, {});
  Gauge& max_fds = registry.GetGauge(Metric::kProcessMaxFds, {});
  Gauge& start_time = registry.GetGauge(Metric::kProcessStartTime, {});
  return registry.AddScrapeHook([&] {
    std::optional<ProcessSample> sample = SampleProcess();
    if (!sample) return;
    cpu.Set(sample->cpu_seconds);
    resident.Set(sample->resident_bytes);
    virtual_memory.Set(sample->virtual_bytes);
    open_fds.Set(sample->open_fds);
    max_fds.Set(sample->max_fds);
    start_time.Set(sample->start_time_seconds);
  });
}

}  // namespace sluice
