#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace sluice {

/// SIGINT and SIGTERM, turned into a request to stop that the program polls or waits for.
/// Construct it first thing in main, before any thread exists (the embedded engine starts
/// threads): the signals are blocked in every thread and taken by one thread of its own, so no
/// handler ever runs in the middle of engine code.
class StopSignal {
 public:
  StopSignal();
  ~StopSignal();
  StopSignal(const StopSignal&) = delete;
  StopSignal& operator=(const StopSignal&) = delete;

  bool requested() const { return requested_; }
  /// Blocks until a stop is requested.
  void Wait();
  /// The signal that was received (0 if none).
  int signal() const { return signal_; }

 private:
  std::atomic<bool> requested_ = false;
  std::atomic<int> signal_ = 0;
  std::mutex mutex_;
  std::condition_variable stopped_;
  std::thread thread_;
};

}  // namespace sluice
