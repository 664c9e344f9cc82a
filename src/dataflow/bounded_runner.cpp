#include "dataflow/bounded_runner.h"

namespace sluice {

Result<RunCounts> RunBounded(Source& source, const Schema& schema, Sink& sink,
                             DeadLetterSink& dead_letter_sink, const BoundedRunHooks& hooks) {
  if (auto opened = source.Open(); !opened.ok()) return opened.error();
  RunCounts counts;
  Batch batch(schema);
  std::vector<DeadLetter> dead_letters;
  while (true) {
    if (hooks.should_stop && hooks.should_stop()) {
      counts.stopped = true;
      break;
    }
    batch.Clear();
    dead_letters.clear();
    auto status = source.Poll(batch, dead_letters);
    if (!status.ok()) return status.error();
    std::string identity = source.LastPollIdentity();
    if (hooks.process) hooks.process(batch, dead_letters);
    if (batch.num_rows() > 0) {
      if (auto written = sink.Write(batch, identity); !written.ok()) return written.error();
      counts.rows += batch.num_rows();
      counts.row_bytes += batch.ByteSize();
      ++counts.batches;
    }
    if (!dead_letters.empty()) {
      if (auto written = dead_letter_sink.Write(dead_letters, identity); !written.ok()) {
        return written.error();
      }
      counts.dead_letters += dead_letters.size();
    }
    if (*status == PollStatus::kFinished) break;
  }
  if (auto flushed = sink.Flush(); !flushed.ok()) return flushed.error();
  counts.bytes = source.bytes_read();
  return counts;
}

}  // namespace sluice
