// Loader: background threads that turn sampler indices into augmented float batches.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "data/corpus_reader.h"
#include "data/sampler.h"

namespace culturegan::data {

/// One per-rank batch.
struct Batch {
  torch::Tensor images;      ///< [B,3,S,S] float32 in [-1,1]
  torch::Tensor labels;      ///< [B] int64, culture index
  SamplerState state_after;  ///< sampler state once this batch is consumed
};

struct LoaderOptions {
  int batch_size = 8;                         ///< per-rank batch
  int threads = 2;                            ///< decode/augment threads
  int prefetch = 4;                           ///< batches queued ahead (memory bound)
  bool hflip = true;                          ///< random horizontal flip
  std::vector<std::string> no_flip_cultures;  ///< cultures never flipped (calligraphy, seals)
  float random_resized_crop = 0.0f;           ///< 0 = off; else min area fraction of the crop
  uint64_t seed = 0;    ///< augmentation seed (mixed with the sample's epoch and epoch position)
  int output_size = 0;  ///< side of the output images; 0 = the corpus image size
};

/// Batches come out in sampler order and are a pure function of (sampler seed and state,
/// options.seed): the thread count and timing never change them, and a sample's
/// augmentation depends on its (epoch, position in the epoch order), not on rank or world
/// size. At most `prefetch` batches exist ahead of the consumer (memory stays flat). Each
/// batch's indices are sorted and read as contiguous runs of the images dataset.
class Loader {
 public:
  /// Starts the worker threads. The loader owns the sampler and advances it for
  /// (rank, world_size). Throws std::invalid_argument on bad options (batch_size, threads,
  /// prefetch < 1; random_resized_crop outside [0, 1); output_size < 0; a no_flip culture
  /// that the corpus does not have; rank/world_size that the sampler rejects).
  Loader(std::shared_ptr<const CorpusReader> corpus, ShardedSampler sampler, int rank,
         int world_size, LoaderOptions options);
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  /// The next batch, in sampler order. Rethrows a worker's exception (e.g. CorpusError
  /// for a corrupt chunk) after the batches before it were delivered.
  Batch next();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// uint8 HWC images [N,S,S,3] → float32 [N,3,S,S] in [-1,1] (v/127.5 - 1).
/// Throws std::invalid_argument if the tensor is not uint8 rank 4 with 3 channels last.
torch::Tensor to_model_range(const torch::Tensor& uint8_nhwc);
/// float [N,3,H,W] in [-1,1] → uint8 [N,H,W,3] (clamped, rounded).
/// Throws std::invalid_argument if the tensor is not floating rank 4 with 3 channels.
torch::Tensor to_uint8_nhwc(const torch::Tensor& model_range);

}  // namespace culturegan::data
