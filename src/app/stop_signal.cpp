#include "app/stop_signal.h"

#include <pthread.h>
#include <signal.h>

namespace sluice {
namespace {

sigset_t StopSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  return signals;
}

}  // namespace

StopSignal::StopSignal() {
  sigset_t signals = StopSignals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  thread_ = std::thread([this, signals] {
    int received = 0;
    sigwait(&signals, &received);
    signal_ = received;
    {
      std::lock_guard lock(mutex_);
      requested_ = true;
    }
    stopped_.notify_all();
  });
}

StopSignal::~StopSignal() {
  if (!requested_) {
    // Wake the waiting thread so that it can be joined.
    pthread_kill(thread_.native_handle(), SIGTERM);
  }
  thread_.join();
}

void StopSignal::Wait() {
  std::unique_lock lock(mutex_);
  stopped_.wait(lock, [this] { return requested_.load(); });
}

}  // namespace sluice
