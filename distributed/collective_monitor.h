// CollectiveMonitor: the one place where a collective gets its sequence number, passes the
// test-only stall switch (fault.h) and is registered with the watchdog (watchdog.h). Every
// communicator backend (data plane) and the control plane share one monitor per process, so
// sequence numbers count every collective of the run in program order (equal on all ranks)
// and the watchdog sees each of them, whatever carries it.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "distributed/process_env.h"
#include "distributed/watchdog.h"

namespace culturegan::distributed {

class CollectiveMonitor {
 public:
  /// Collective over MPI_COMM_WORLD when `options.timeout_s > 0` (starts the watchdog,
  /// which duplicates MPI_COMM_WORLD); otherwise local and free.
  CollectiveMonitor(const ProcessEnv& env, const WatchdogOptions& options);
  ~CollectiveMonitor();
  CollectiveMonitor(const CollectiveMonitor&) = delete;
  CollectiveMonitor& operator=(const CollectiveMonitor&) = delete;

  /// Starts collective number sequence() named `tag`: applies the stall switch, registers it
  /// with the watchdog. Returns a handle for leave(). Call from the training thread.
  uint64_t enter(const std::string& tag);
  /// Marks the collective `handle` as finished (0 = nothing registered: a no-op).
  void leave(uint64_t handle);
  /// Collectives entered so far.
  uint64_t sequence() const { return seq_; }
  int rank() const { return rank_; }

  /// RAII: enter() in the constructor, leave() in the destructor (blocking collectives).
  class Scope {
   public:
    Scope(CollectiveMonitor& m, const std::string& tag) : m_(m), handle_(m.enter(tag)) {}
    ~Scope() { m_.leave(handle_); }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    CollectiveMonitor& m_;
    uint64_t handle_;
  };

 private:
  int rank_ = 0;
  uint64_t seq_ = 0;
  std::unique_ptr<Watchdog> watchdog_;
};

}  // namespace culturegan::distributed
