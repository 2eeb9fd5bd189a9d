// Stabilisers shared by the GAN algorithms: WGAN-GP gradient penalty, R1 (lazy, as a D_reg
// phase), DiffAugment, the CycleGAN image pool and the linear learning-rate decay.
// Per-sample randomness comes from counter_hash(seed, step, global sample index, stream), so
// N ranks × batch b draw the same numbers as 1 rank × batch N·b.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "trainer/algorithms/gan_algorithm.h"
#include "trainer/algorithms/sample_randomness.h"

namespace culturegan::trainer {

/// WGAN-GP (Gulrajani et al. 2017, eq. 3): mean_i (‖∇ D(x̂_i)‖₂ − 1)², x̂ = α·real + (1−α)·fake
/// with α [B] per sample. `critic` maps images to raw scores (summed per sample if patches).
/// The returned penalty has a graph (create_graph) so backward reaches D's parameters.
torch::Tensor gradient_penalty(const std::function<torch::Tensor(const torch::Tensor&)>& critic,
                               const torch::Tensor& real, const torch::Tensor& fake,
                               const torch::Tensor& alpha);

/// R1 (Mescheder et al. 2018, eq. 9 without γ/2): mean_i ‖∇_x D(x_i)‖², the squared norm of the
/// gradient of sum(D(x_i)) (patch scores are summed) with respect to real images x_i.
/// `real` must require grad and `real_scores` must come from it.
torch::Tensor r1_penalty(const torch::Tensor& real_scores, const torch::Tensor& real);

/// DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN
/// Training", the official DiffAugment_pytorch.py): `policy` is "" or a comma list of
/// color (brightness ± 0.5, saturation × [0,2), contrast × [0.5,1.5)), translation (shift by up
/// to 1/8 of the side, zero fill), cutout (a zeroed square of half the side). Differentiable
/// in x; applied to real and fake images before D. Parameters per sample from counter_hash.
torch::Tensor diff_augment(const torch::Tensor& x, const std::string& policy, const StepInput& in,
                           uint64_t stream);

/// The primitives, with explicit per-sample parameters ([B] float tensors / ints):
torch::Tensor augment_brightness(const torch::Tensor& x,
                                 const torch::Tensor& shift);  ///< x + shift
torch::Tensor augment_saturation(const torch::Tensor& x,
                                 const torch::Tensor& factor);  ///< (x − mean_c)·f + mean_c
torch::Tensor augment_contrast(const torch::Tensor& x,
                               const torch::Tensor& factor);  ///< (x − mean_chw)·f + mean_chw
/// out[b,:,i,j] = x[b,:,i−dy_b,j−dx_b], zero outside.
torch::Tensor augment_translation(const torch::Tensor& x, const std::vector<int64_t>& dx,
                                  const std::vector<int64_t>& dy);
/// Zeroes rows [y0_b, y0_b+size) × cols [x0_b, x0_b+size) (clipped) of each image.
torch::Tensor augment_cutout(const torch::Tensor& x, const std::vector<int64_t>& x0,
                             const std::vector<int64_t>& y0, int64_t size);

/// The image history buffer of Shrivastava et al. 2017 / CycleGAN (Zhu et al. 2017, Sec. 4):
/// while fewer than `capacity` images are stored, each query image is stored and returned;
/// afterwards with probability 1/2 a random stored image is returned (and replaced by the
/// query), else the query itself. Per rank; not part of checkpoints (a resumed run starts empty).
class ImagePool {
 public:
  explicit ImagePool(int64_t capacity) : capacity_(capacity) {}
  /// images [B,3,S,S] (detached); use[i] false passes image i through untouched.
  torch::Tensor query(const torch::Tensor& images, const std::vector<bool>& use,
                      const StepInput& in, uint64_t stream);
  int64_t size() const { return static_cast<int64_t>(stored_.size()); }

 private:
  int64_t capacity_;
  std::vector<torch::Tensor> stored_;
};

/// Constant lr until decay_start, then linear to 0 at `steps` (CycleGAN's schedule, Zhu et al.
/// 2017 Sec. 7.1). decay_start == 0: constant.
double decayed_lr(double base, int64_t step, int64_t steps, int64_t decay_start);
void set_lr(torch::optim::Optimizer& opt, double lr);

}  // namespace culturegan::trainer
