#pragma once

namespace sluice {

/// The documented process exit codes (docs/cli.md).
enum ExitCode : int {
  kExitOk = 0,
  kExitRuntimeFailure = 1,  // the warehouse, a file or a server failed while running
  kExitUsageOrSpec = 2,     // bad command line, or a spec with problems; nothing was changed
};

}  // namespace sluice
