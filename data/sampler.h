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

/// One rank's part of a global batch, with where each sample sits in the epoch's order.
struct BatchPlan {
  std::vector<int64_t> indices;    ///< image indices (entries of the pool)
  std::vector<int64_t> positions;  ///< each sample's global position in the epoch order
  int64_t epoch = 0;               ///< the epoch these samples belong to
};

/// Epoch order (docs/corpus-format.md, "Sampling"): a pure function of (seed, epoch) built
/// with a counter-based generator (data/counter_rng.h), identical with every compiler and
/// standard library. Plain: a Fisher–Yates permutation of the pool. Culture-balanced:
/// epoch_size() slots dealt round-robin to the cultures present and shuffled, so each
/// culture gets an equal share (within one sample); the k-th slot of a culture takes the
/// next image of a per-culture permutation that is redrawn each time it is used up (all
/// of a culture's images are seen before any repeats), i.e. inverse-frequency weights.
/// A global batch is a contiguous run of the order; rank r takes its r-th block.
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

  /// Same as next_batch, with the epoch and the order positions of the samples (the
  /// loader keys augmentation on them, so augmentation does not depend on world size).
  /// Throws std::invalid_argument if rank is outside [0, world_size), world_size < 1,
  /// per_rank_batch < 1, or the global batch exceeds epoch_size().
  /// drop_last=false: the last, short global batch is filled up with the first samples
  /// of the same epoch's order so every rank still gets per_rank_batch samples.
  BatchPlan next_batch_plan(int rank, int world_size, int per_rank_batch);

  /// The whole order of `epoch` (pool entries, epoch_size() long).
  std::vector<int64_t> epoch_order(int64_t epoch) const;

  SamplerState state() const;
  /// Continues from `state` (its seed replaces options.seed). Works at any world size.
  /// Throws std::invalid_argument if epoch < 0 or consumed is outside [0, epoch_size()].
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
  std::vector<int64_t> balanced_order(int64_t epoch) const;
};

}  // namespace culturegan::data
