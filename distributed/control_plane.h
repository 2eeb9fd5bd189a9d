// ControlPlane: agreement on host values (did any rank fail, sums/min/max of a few numbers,
// broadcast of a string, gathers of checksums). It always goes over MPI on its own duplicate
// of MPI_COMM_WORLD, whatever backend (MPI or NCCL) carries the gradients, so the data-plane
// Communicator only ever sees tensors on the training device. After Horovod's controller: a
// control plane apart from the data plane.
//
// All calls are collective (every rank, same order, one thread). Each one is numbered and
// watched by the CollectiveMonitor it shares with the data plane, so a rank that never
// arrives is reported by the watchdog with the call's tag, like a stuck gradient bucket.
#pragma once
#include <mpi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "distributed/collective_monitor.h"
#include "distributed/communicator.h"

namespace culturegan::distributed {

class ControlPlane {
 public:
  /// Collective over MPI_COMM_WORLD (duplicates it). Throws CommunicatorError if MPI is not
  /// initialised.
  explicit ControlPlane(std::shared_ptr<CollectiveMonitor> monitor);
  ~ControlPlane();
  ControlPlane(const ControlPlane&) = delete;
  ControlPlane& operator=(const ControlPlane&) = delete;

  int rank() const { return rank_; }
  int world_size() const { return world_size_; }

  /// True on every rank when `value` is true on at least one rank (MPI_LOR).
  bool any(bool value, const std::string& tag);
  /// The number of ranks that pass true.
  int count(bool value, const std::string& tag);
  /// Element-wise sum / min / max over ranks of `values` (same length on every rank;
  /// float64 on the wire, so integers up to 2^53 are exact).
  std::vector<double> sum(const std::vector<double>& values, const std::string& tag);
  std::vector<double> min(const std::vector<double>& values, const std::string& tag);
  std::vector<double> max(const std::vector<double>& values, const std::string& tag);
  /// `value` of rank `root` on every rank (any length). Throws CommunicatorError for a root
  /// outside [0, world size).
  std::string broadcast(const std::string& value, int root, const std::string& tag);
  /// Every rank's vector: result[r] is rank r's `values` (lengths may differ between ranks).
  std::vector<std::vector<int64_t>> all_gather(const std::vector<int64_t>& values,
                                               const std::string& tag);

 private:
  std::vector<double> reduce(const std::vector<double>& values, MPI_Op op, const std::string& tag);
  std::shared_ptr<CollectiveMonitor> monitor_;
  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0;
  int world_size_ = 1;
};

/// The control plane beside `data`, sharing its monitor (sequence numbers, stall switch,
/// watchdog). Collective.
std::unique_ptr<ControlPlane> make_control_plane(const Communicator& data);

}  // namespace culturegan::distributed
