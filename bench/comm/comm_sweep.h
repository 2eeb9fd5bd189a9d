// Parts (a) and (b) of culturegan-bench-comm: all-reduce bandwidth sweep and the
// G+D gradient set reduced per tensor, fused in buckets, and as one MPI_Allreduce.
#pragma once
#include <string>
#include <vector>

#include "distributed/communicator.h"

namespace culturegan::bench {

struct SweepRow {
  int64_t bytes = 0;
  double seconds = 0;    ///< per all-reduce, slowest rank
  double algbw_gbs = 0;  ///< bytes / seconds / 1e9 (nccl-tests "algbw")
  double busbw_gbs = 0;  ///< algbw * 2 (n - 1) / n (nccl-tests "busbw" for all-reduce)
};

/// (a) float32 sum all-reduce through the MPI Communicator for sizes [min_bytes, max_bytes],
/// x4 per row; each size runs for about `seconds_per_size` (at least 3 iterations).
std::vector<SweepRow> allreduce_sweep(distributed::Communicator& comm, int64_t min_bytes,
                                      int64_t max_bytes, double seconds_per_size);

struct GradientSetResult {
  int64_t tensors = 0;
  int64_t bytes = 0;
  std::vector<int64_t> bucket_bytes;
  double per_tensor_s = 0;  ///< one blocking all-reduce per gradient tensor
  double fused_s = 0;       ///< the reducer's path: pack, MPI_Iallreduce per bucket, wait, unpack
  double fused_comm_s = 0;  ///< the same without pack/unpack (buckets already packed)
  double fused_blocking_s =
      0;  ///< packed buckets, one blocking MPI_Allreduce each (no overlap possible)
  double single_allreduce_s = 0;  ///< one MPI_Allreduce of all the bytes, nothing else
};

/// (b) `grads`: the real gradient tensors (float32, CPU). Buckets as the GradientReducer
/// plans them (first_mb, then bucket_mb). Each variant is timed over `reps` repetitions
/// after a warm-up, interleaved to share the machine's noise; the slowest rank counts.
GradientSetResult gradient_set(distributed::Communicator& comm,
                               const std::vector<torch::Tensor>& grads, double first_mb,
                               double bucket_mb, int reps);

}  // namespace culturegan::bench
