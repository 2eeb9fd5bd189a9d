// Per-sample counter randomness: every random number of a training step is a pure function
// of (train.seed, step, global sample index, stream), so N ranks × batch b draw the same
// numbers as 1 rank × batch N·b, on any compiler. Streams are fixed small integers per use
// (target cultures 1, noise 3/4/31/32, augmentations 10-27, ...), listed where they are used.
#pragma once
#include <cstdint>

#include <torch/torch.h>

#include "trainer/algorithms/gan_algorithm.h"

namespace culturegan::trainer {

/// SplitMix64 finaliser over a mixed (seed, step, index, stream) key (Steele et al. 2014).
/// Same value on any compiler and standard library.
uint64_t counter_hash(uint64_t seed, uint64_t step, uint64_t index, uint64_t stream);

/// Uniform in [0,1) from counter_hash(seed, step, index, stream) (53 bits).
double counter_uniform(uint64_t seed, uint64_t step, uint64_t index, uint64_t stream);

/// [B] float32 uniforms for the batch of `in` (index = in.global_offset + i), on its device.
torch::Tensor batch_uniform(const StepInput& in, uint64_t stream);

/// z [B, z_dim] float32 N(0, I) for the batch of `in`, one vector per global sample index
/// (a CPU generator seeded by counter_hash), on the batch's device.
torch::Tensor counter_noise(const StepInput& in, int64_t z_dim, uint64_t stream);

/// Target cultures of a translator's batch: [B] int64, each drawn uniformly among the
/// cultures other than labels[i] (stream 1; all 0 when C = 1), on the labels' device.
torch::Tensor target_labels(const StepInput& in, int64_t num_cultures);

}  // namespace culturegan::trainer
