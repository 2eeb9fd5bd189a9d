// InstanceNorm "statistics mode": lets inference normalise tiles of a large image with the
// statistics of the whole image instead of each tile's own (tiles then agree; no seams).
//
// Every InstanceNorm in the generators goes through instance_norm_2d() (functional uses and
// HookedInstanceNorm2d modules). With no NormStatsScope open (training, evaluation, today's
// inference) it is exactly F::instance_norm(x, eps): bitwise the same computation as before.
// Inside a scope:
//   kRecord  each call normalises with its input's own statistics (as kOff) and appends
//            (mean, var) [N,C,1,1] float32 (biased var over H×W) to NormStats::layers;
//   kReplay  the k-th call in the scope normalises with layers[k] instead:
//            (x − mean_k) / √(var_k + eps), mean_k/var_k broadcast over x's batch when N = 1.
// A forward pass calls its norms in a fixed order, so a replay of the same network (same
// conditioning, any spatial size) lines up call by call. The state is thread-local.
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

#include <torch/torch.h>

namespace culturegan::models {

enum class NormStatsMode { kOff, kRecord, kReplay };

/// Per-call InstanceNorm statistics in call order: (mean, var), each [N,C,1,1] float32.
struct NormStats {
  std::vector<std::pair<torch::Tensor, torch::Tensor>> layers;
};

/// RAII: sets this thread's statistics mode for its lifetime (restoring the previous mode and
/// target on destruction; scopes nest). kRecord clears `stats` first; kReplay starts reading at
/// layers[0]. `stats` must outlive the scope; it may be null only for kOff.
/// Throws std::invalid_argument for a null `stats` with kRecord/kReplay.
class NormStatsScope {
 public:
  NormStatsScope(NormStatsMode mode, NormStats* stats);
  ~NormStatsScope();
  NormStatsScope(const NormStatsScope&) = delete;
  NormStatsScope& operator=(const NormStatsScope&) = delete;
  /// kReplay: how many recorded layers this scope has used so far.
  size_t replayed() const;

 private:
  NormStatsMode prev_mode_;
  NormStats* prev_stats_;
  size_t prev_cursor_;
};

/// InstanceNorm without affine: x [N,C,H,W] float32 → same shape, per sample and channel over
/// H×W, biased variance, `eps`. See the file comment for the modes. In kReplay, throws
/// std::runtime_error when the pass makes more norm calls than were recorded or a recorded
/// entry's channel count / batch (1 or N) does not match x (naming call index and shapes).
torch::Tensor instance_norm_2d(const torch::Tensor& x, double eps = 1e-5);

/// Drop-in for torch::nn::InstanceNorm2d with track_running_stats = false: the same options,
/// parameters "weight" (ones) and "bias" (zeros) [num_features] when affine (none otherwise, no
/// buffers), and, with no scope open, the same forward call (F::instance_norm with weight,
/// bias, eps: bitwise the module's). Inside a NormStatsScope the normalisation goes through
/// instance_norm_2d(), then the affine. x [N,C,H,W] float32 → same shape.
/// The constructor throws std::invalid_argument for track_running_stats = true.
class HookedInstanceNorm2dImpl : public torch::nn::Cloneable<HookedInstanceNorm2dImpl> {
 public:
  explicit HookedInstanceNorm2dImpl(const torch::nn::InstanceNorm2dOptions& options);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& x);
  void pretty_print(std::ostream& stream) const override;

  torch::nn::InstanceNorm2dOptions options;
  torch::Tensor weight, bias;
};
TORCH_MODULE(HookedInstanceNorm2d);

}  // namespace culturegan::models
