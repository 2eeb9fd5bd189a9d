// Communicator: the one interface over the MPI (CPU tensors) and NCCL (CUDA tensors)
// backends. All calls are collective: every rank calls them in the same order.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "distributed/process_env.h"

namespace culturegan::distributed {

enum class ReduceOp { kSum, kAverage };

/// Thrown for a backend that cannot run here (no GPU, no NCCL) or a bad argument.
class CommunicatorError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  /// "mpi" or "nccl".
  virtual std::string backend() const = 0;

  /// In-place all-reduce of a contiguous tensor (float32/float64/bfloat16/int64...).
  /// `tag` names the collective for the watchdog (phase/bucket/sequence).
  virtual void all_reduce(torch::Tensor& tensor, ReduceOp op, const std::string& tag = "") = 0;
  /// In-place broadcast from `root`.
  virtual void broadcast(torch::Tensor& tensor, int root, const std::string& tag = "") = 0;
  /// Gathers `tensor` from every rank: result[r] is rank r's tensor.
  virtual std::vector<torch::Tensor> all_gather(const torch::Tensor& tensor,
                                                const std::string& tag = "") = 0;
  virtual void barrier(const std::string& tag = "") = 0;
};

/// backend: "mpi", "nccl" or "auto" (nccl when CUDA is available, else mpi).
/// Throws CommunicatorError with a clear reason (e.g. "nccl backend: no CUDA device
/// (cudaGetDeviceCount: CUDA driver version is insufficient)").
std::unique_ptr<Communicator> make_communicator(const std::string& backend, const ProcessEnv& env);

/// Broadcasts every tensor (parameters and buffers) from `root` in place, so all ranks
/// start from rank 0's initial weights.
void broadcast_tensors(Communicator& comm, const std::vector<torch::Tensor>& tensors, int root = 0);

}  // namespace culturegan::distributed
