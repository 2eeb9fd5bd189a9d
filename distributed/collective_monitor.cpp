#include "distributed/collective_monitor.h"

#include "distributed/fault.h"

namespace culturegan::distributed {

CollectiveMonitor::CollectiveMonitor(const ProcessEnv& env, const WatchdogOptions& options)
    : rank_(env.rank) {
  if (options.timeout_s > 0)
    watchdog_ = std::make_unique<Watchdog>(options, MPI_COMM_WORLD, env.mpi_thread_multiple);
}

CollectiveMonitor::~CollectiveMonitor() = default;

uint64_t CollectiveMonitor::enter(const std::string& tag) {
  const uint64_t seq = seq_++;
  maybe_stall(rank_, seq, tag);
  return watchdog_ ? watchdog_->enter(tag, seq) : 0;
}

void CollectiveMonitor::leave(uint64_t handle) {
  if (watchdog_ && handle != 0) watchdog_->leave(handle);
}

}  // namespace culturegan::distributed
