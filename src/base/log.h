#pragma once

#include <spdlog/spdlog.h>

#include <string_view>

namespace sluice {

enum class LogFormat { kText, kJson };

/// Configures the process-wide logger once at start-up: text for people (default) or one JSON
/// object per line for log shippers. Logs go to stderr so command output stays on stdout.
void ConfigureLogging(LogFormat format, std::string_view level);

}  // namespace sluice
