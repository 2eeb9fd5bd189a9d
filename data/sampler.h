// ShardedSampler: which corpus images each rank sees, step by step, resumable at any
// world size.
#pragma once
#include <cstdint>
#include <vector>

namespace culturegan::data {

/// The whole sampler state. `consumed` counts global samples taken in `epoch` (across all
/// ranks), so the state does not depend on the world size.
struct SamplerState {
  uint64_t seed = 0;
  int64_t epoch = 0;
  int64_t consumed = 0;
};

struct SamplerOptions {
  uint64_t seed = 0;
  bool drop_last = true;
  /// Draw with weights inverse to culture frequency instead of a plain permutation.
  bool culture_balanced = false;
};

class ShardedSampler {
 public:
  /// `pool`: the image indices to sample from (e.g. the train split); `labels`: the
  /// culture of each pool entry (same length). Throws std::invalid_argument on a size
  /// mismatch or an empty pool.
  ShardedSampler(std::vector<int64_t> pool, std::vector<int32_t> labels, SamplerOptions options);

  /// Takes the next global batch of world_size * per_rank_batch samples and returns rank
  /// `rank`'s part (per_rank_batch image indices). Moves to the next epoch when fewer
  /// than a global batch remain (drop_last). Every rank calls it with the same arguments
  /// but its own `rank`, so all ranks advance in step.
  std::vector<int64_t> next_batch(int rank, int world_size, int per_rank_batch);

  SamplerState state() const;
  void restore(const SamplerState& state);
  /// Samples per epoch (the pool size).
  int64_t epoch_size() const;

 private:
  std::vector<int64_t> pool_;
  std::vector<int32_t> labels_;
  SamplerOptions options_;
  SamplerState state_;
  std::vector<int64_t> order_;  // this epoch's order, cached
  int64_t order_epoch_ = -1;
  void build_order();
};

}  // namespace culturegan::data
