#pragma once

#include <cstdint>
#include <functional>

#include "dataflow/source.h"

namespace sluice {

struct RunCounts {
  uint64_t rows = 0;
  uint64_t dead_letters = 0;
  uint64_t batches = 0;
  uint64_t bytes = 0;      // bytes of input consumed
  uint64_t row_bytes = 0;  // bytes of the rows written, in their columnar form
  bool stopped = false;    // asked to stop before the end of input
};

/// Optional steps of a bounded run.
struct BoundedRunHooks {
  /// Runs on each polled batch before it is written: may remove rows, adding them to the dead
  /// letters (e.g. validation rules).
  std::function<void(Batch& batch, std::vector<DeadLetter>& dead_letters)> process;
  /// Asked between batches; a stop leaves the rest of the input unread.
  std::function<bool()> should_stop;
};

/// Drives a bounded source to its end: every batch goes to `sink`, every refused record to
/// `dead_letter_sink`, and the sink is flushed at the end. Stops at the first sink failure
/// (the rows stay in the source, so a rerun resumes without loss; tokens prevent duplicates).
Result<RunCounts> RunBounded(Source& source, const Schema& schema, Sink& sink,
                             DeadLetterSink& dead_letter_sink, const BoundedRunHooks& hooks = {});

}  // namespace sluice
