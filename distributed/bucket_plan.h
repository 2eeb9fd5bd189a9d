// Bucket assignment: which parameter's gradient goes where in which flat buffer.
#pragma once
#include <cstdint>
#include <vector>

#include <torch/torch.h>

namespace culturegan::distributed {

struct BucketSlot {
  int param = -1;      ///< index into the phase's parameter list
  int64_t offset = 0;  ///< element offset in the bucket's flat buffer
  int64_t numel = 0;
};

struct BucketSpec {
  torch::ScalarType dtype = torch::kFloat;
  torch::Device device = torch::kCPU;
  int64_t numel = 0;
  std::vector<BucketSlot> slots;
};

/// Packs `params` into buckets, walking them in reverse order (gradients become ready
/// roughly in reverse order of the forward pass), one dtype/device per bucket; the first
/// bucket closes at `first_bucket_bytes`, the others at `bucket_bytes`; a parameter
/// larger than the limit gets a bucket of its own. Same rule as PyTorch's
/// compute_bucket_assignment_by_size (reducer.cpp) with its [1 MB, 25 MB] limits, except
/// that buckets are never merged across dtypes. Deterministic: every rank computes the
/// same plan from the same parameter list.
std::vector<BucketSpec> plan_buckets(const std::vector<torch::Tensor>& params,
                                     int64_t first_bucket_bytes, int64_t bucket_bytes);

}  // namespace culturegan::distributed
