// Adaptive discriminator augmentation (ADA): Karras et al. 2020, "Training Generative
// Adversarial Networks with Limited Data" (NeurIPS), Sec. 2-3 and Appendix B-C; structure after
// NVlabs stylegan2-ada-pytorch training/augment.py (the pipeline) and training_loop.py (the
// ada_stats / adjust step).
//
//  * Every image D sees, real or fake, in D_main, D_reg and G_main, goes through the same
//    pipeline (ada.pipeline, in its order). Each operation is applied to each sample with
//    probability p; its parameters are drawn per sample from counter randomness
//    (sample_randomness.h), so N ranks × batch b augment exactly as 1 rank × batch N·b.
//  * The overfitting heuristic r_t = E[sign(D(x_real) − m)] over the real images of the last
//    ada.interval steps on all ranks (the trainer all-reduces the sums: the same p on every
//    rank), m the midpoint of the adversarial loss's real and fake targets (0.5 for LSGAN, 0
//    otherwise); D(x_real) of a patch discriminator is the mean of the patch scores per image.
//  * Then p ← clamp(p + sign(r_t − ada.target) · n / (1000 · ada.kimg), 0, 1), n the real images
//    of the interval (the paper's adjustment speed: p can go 0 → 1 in ada.kimg thousand images).
//
// Geometric operations build one affine map per sample (inverse, output → input, in the
// normalised coordinates of affine_grid) and resample with bilinear grid_sample and reflection
// padding; the reference pads by reflection as well but resamples with a wavelet filter (sym6)
// at 2× — ours aliases slightly more. Samples whose map is the identity are not resampled (at
// p = 0 the pipeline returns x itself). Parameters, as the reference's defaults:
//   xflip     x ↦ −x with probability ½ when applied
//   rotate90  k·90°, k uniform in {0,1,2,3}
//   translate integer shift, each axis uniform in [−⅛, ⅛] of the side, rounded to pixels
//   scale     isotropic, 2^N(0, 0.2²)
//   rotate    uniform in [−180°, 180°] (the reference applies it twice, before and after aniso,
//             each with probability 1 − √(1 − p); here once, with probability p)
//   aniso     2^N(0, 0.2²) along x, its inverse along y
//   cutout    a zeroed square of half the side, centre uniform
//   brightness + N(0, 0.2²); contrast × 2^N(0, 0.5²); saturation × 2^N(0, 1²) (colour: off by
//              default: a culture's palette is part of what D must judge)
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "trainer/algorithms/gan_algorithm.h"
#include "trainer/config.h"

namespace culturegan::trainer {

/// What a checkpoint keeps of ADA (state.toml [ada]): p and the open interval's sums.
struct AdaState {
  double p = 0;         ///< augmentation probability
  double sign_sum = 0;  ///< Σ sign(D(x_real) − m) since the last adjustment, this rank
  int64_t images = 0;   ///< real images since the last adjustment, this rank
  double r_t = 0;       ///< r_t of the last adjustment (for the log)
};

class AdaptiveAugment {
 public:
  /// `midpoint`: m, the value between the loss's real and fake targets.
  /// Throws std::invalid_argument for an unknown cfg.pipeline entry.
  AdaptiveAugment(const AdaConfig& cfg, double midpoint);

  /// x [B,3,H,W] float32 → [B,3,H,W] float32, differentiable in x. `stream` separates the uses
  /// within a step (real, fake, ...): the same (in, stream) gives the same augmentation.
  torch::Tensor apply(const torch::Tensor& x, const StepInput& in, uint64_t stream) const;

  /// Adds this rank's real-image scores to the interval's statistics. real_scores [B,...]
  /// float32 raw D outputs on the (augmented) real batch; no host read.
  void observe(const torch::Tensor& real_scores);
  /// Whether p is adjusted after 0-based step `step`: every ada.interval steps.
  bool due(int64_t step) const { return (step + 1) % interval_ == 0; }
  /// This rank's {Σ sign, images} since the last adjustment (reads the device sum: one host
  /// sync per interval).
  std::array<double, 2> local_stats() const;
  /// Adjusts p from the all-reduced {Σ sign, images} of every rank and starts a new interval.
  /// images = 0 leaves p unchanged.
  void adjust(double sign_sum, double images);

  double p() const { return p_; }
  double r_t() const { return r_t_; }
  AdaState state() const;
  void restore(const AdaState& s);

 private:
  AdaConfig cfg_;
  double midpoint_;
  int64_t interval_;
  double p_;
  double r_t_ = 0;
  torch::Tensor sign_sum_;  // float64 scalar on the scores' device (undefined: 0)
  double restored_sum_ = 0;
  int64_t images_ = 0;
};

}  // namespace culturegan::trainer
