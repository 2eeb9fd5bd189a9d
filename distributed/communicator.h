// Communicator: the one interface over the MPI (CPU tensors) and NCCL (CUDA tensors)
// backends. All calls are collective: every rank calls them in the same order, from one
// thread at a time. Each backend lives in its own file (mpi_communicator.cpp,
// nccl_communicator.cpp), Horovod-style; this header is all the trainer sees.
#pragma once
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "distributed/collective_monitor.h"
#include "distributed/process_env.h"
#include "distributed/watchdog.h"

namespace culturegan::distributed {

enum class ReduceOp { kSum, kAverage };

/// Thrown for a backend that cannot run here (no GPU, no NCCL) or a bad argument.
class CommunicatorError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A collective in flight (all_reduce_async). wait() finishes it: afterwards the tensor
/// holds the result (for NCCL: the compute stream is ordered after it).
class Work {
 public:
  virtual ~Work() = default;
  /// Drives progress; true once the collective has completed (then wait() is free).
  virtual bool test() = 0;
  virtual void wait() = 0;
};

/// The data plane: collectives over tensors on the training device (gradient buckets,
/// initial weights). Host values that ranks must agree on (flags, counters, strings) go over
/// the ControlPlane (control_plane.h) instead, whatever backend carries the tensors: NCCL
/// rejects host tensors.
///
/// The public calls are the same for every backend: each gives the collective its sequence
/// number, the stall switch and the watchdog through the shared CollectiveMonitor, then calls
/// the backend's do_*() (Horovod-style: one backend per file).
class Communicator {
 public:
  virtual ~Communicator();
  int rank() const { return rank_; }
  int world_size() const { return world_size_; }
  /// "mpi" or "nccl".
  virtual std::string backend() const = 0;

  /// In-place all-reduce of a contiguous tensor (float32/float64/float16/bfloat16/int32/
  /// int64/uint8; kAverage needs a floating dtype). `tag` names the collective for the
  /// watchdog (phase/bucket); the monitor gives it the next sequence number.
  /// Throws CommunicatorError for a non-contiguous tensor, a wrong device or dtype.
  void all_reduce(torch::Tensor& tensor, ReduceOp op, const std::string& tag = "");
  /// In-place broadcast from `root`.
  void broadcast(torch::Tensor& tensor, int root, const std::string& tag = "");
  /// Gathers `tensor` from every rank: result[r] is rank r's tensor (same shape/dtype).
  std::vector<torch::Tensor> all_gather(const torch::Tensor& tensor, const std::string& tag = "");
  void barrier(const std::string& tag = "");

  /// Starts an in-place all-reduce and returns at once (MPI_Iallreduce; NCCL on the
  /// communication stream). The tensor must stay alive and untouched until wait().
  /// Collectives still match by call order: start them in the same order on every rank.
  /// The watchdog watches it until Work::test() returns true or Work::wait() returns.
  std::shared_ptr<Work> all_reduce_async(torch::Tensor tensor, ReduceOp op,
                                         const std::string& tag = "");
  /// Number of collectives started so far through this communicator's monitor (the
  /// watchdog's sequence number; the control plane's collectives count too when it shares
  /// the monitor).
  uint64_t sequence() const { return monitor_->sequence(); }
  /// The monitor shared with a ControlPlane (make_control_plane).
  const std::shared_ptr<CollectiveMonitor>& monitor() const { return monitor_; }

 protected:
  Communicator(int rank, int world_size, std::shared_ptr<CollectiveMonitor> monitor);
  virtual void do_all_reduce(torch::Tensor& tensor, ReduceOp op) = 0;
  virtual void do_broadcast(torch::Tensor& tensor, int root) = 0;
  virtual std::vector<torch::Tensor> do_all_gather(const torch::Tensor& tensor) = 0;
  virtual void do_barrier() = 0;
  virtual std::shared_ptr<Work> do_all_reduce_async(torch::Tensor tensor, ReduceOp op) = 0;

 private:
  friend class StrictDataPlane;  // test-only double (strict_data_plane.h) forwards do_*()
  int rank_ = 0;
  int world_size_ = 1;
  std::shared_ptr<CollectiveMonitor> monitor_;
};

/// backend: "mpi", "nccl" or "auto" (nccl when LibTorch sees CUDA and NCCL is compiled
/// in, else mpi). Collective over MPI_COMM_WORLD (duplicates it). The watchdog guards
/// every collective with `watchdog.timeout_s`.
/// Throws CommunicatorError with a clear reason (e.g. "nccl backend: no CUDA device
/// (cudaGetDeviceCount: CUDA driver version is insufficient)").
std::unique_ptr<Communicator> make_communicator(const std::string& backend, const ProcessEnv& env);
std::unique_ptr<Communicator> make_communicator(const std::string& backend, const ProcessEnv& env,
                                                const WatchdogOptions& watchdog);
/// The same with a given monitor (shared with a ControlPlane).
std::unique_ptr<Communicator> make_communicator(const std::string& backend, const ProcessEnv& env,
                                                std::shared_ptr<CollectiveMonitor> monitor);

/// Broadcasts every tensor (parameters and buffers) from `root` in place, so all ranks
/// start from rank 0's initial weights. Tensors of one dtype are packed into one flat
/// buffer per dtype (one collective each), so a model costs a handful of collectives.
/// Parameters may require grad: the copy is done under NoGradGuard.
void broadcast_tensors(Communicator& comm, const std::vector<torch::Tensor>& tensors, int root = 0);

}  // namespace culturegan::distributed
