#pragma once

#include <cstdint>

#include "dataflow/source.h"

namespace sluice {

struct RunCounts {
  uint64_t rows = 0;
  uint64_t dead_letters = 0;
  uint64_t batches = 0;
};

/// Drives a bounded source to its end: every batch goes to `sink`, every refused record to
/// `dead_letter_sink`, and the sink is flushed at the end. Stops at the first sink failure
/// (the rows stay in the source, so a rerun resumes without loss; tokens prevent duplicates).
Result<RunCounts> RunBounded(Source& source, const Schema& schema, Sink& sink,
                             DeadLetterSink& dead_letter_sink);

}  // namespace sluice
