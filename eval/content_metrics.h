// Content and artefact measures between a source photo and its translation that a palette change
// alone cannot win and a hidden signal cannot fake (docs/eval.md, "Content and artefacts"):
//   - gradient_correlation: Pearson correlation of Sobel gradient magnitudes of the luma
//     (where the edges are, not what colour they are);
//   - gray_ssim: SSIM (Wang et al. 2004) of the luma only;
//   - checkerboard_index: spectral energy at the period-2 and period-4 frequencies of the
//     translation relative to its photo (the transposed-convolution artefact of Odena et al.
//     2016, "Deconvolution and Checkerboard Artifacts", Distill).
// Every function takes images [N,3,H,W] with N >= 1 (any floating dtype, nominally float32 in
// [-1,1]), computes in float64 without gradients, and throws std::invalid_argument naming the
// function and the shape found when the shapes do not fit.
#pragma once
#include <cstdint>

#include <torch/torch.h>

namespace culturegan::eval {

/// Luma Y = 0.299 R + 0.587 G + 0.114 B (ITU-R BT.601 weights; they sum to 1, so Y keeps the
/// value range: [-1,1] in, [-1,1] out). images [N,3,H,W] → [N,1,H,W] float64.
/// Throws std::invalid_argument when images is not 4-D with 3 channels.
torch::Tensor luma(const torch::Tensor& images);

/// Sobel gradient magnitude √(gx² + gy²) of a single-channel image [N,1,H,W] (H, W >= 3), with
/// the unnormalised kernels gx = [[-1,0,1],[-2,0,2],[-1,0,1]] and gy = gxᵀ, on the valid region
/// only (no padding, so the border adds no edges): [N,1,H-2,W-2] float64.
/// Throws std::invalid_argument when gray is not [N,1,H>=3,W>=3].
torch::Tensor sobel_magnitude(const torch::Tensor& gray);

/// Content score: for each image pair, the Pearson correlation r_i between the Sobel gradient
/// magnitudes (sobel_magnitude(luma(·))) of a[i] and b[i] over the (H-2)(W-2) valid pixels;
/// returns the mean of r_i over the N pairs. 1: the edges of one are the edges of the other up
/// to a gain (identity, any colour map whose luma is an affine function of the input luma);
/// ≈ 0: unrelated structure (independent noise); a pair where either magnitude map is constant
/// (variance < 1e-12, e.g. a flat image) scores r_i = 0. In [-1,1]. The Sobel kernels vanish at
/// period 2, so a checkerboard does not move this score (checkerboard_index measures it).
/// a, b: [N,3,H,W], same shape, H, W >= 3. Throws std::invalid_argument otherwise.
double gradient_correlation(const torch::Tensor& a, const torch::Tensor& b);

/// SSIM of the luma only: ssim(luma(a), luma(b)) with eval::ssim's definition (11×11 Gaussian
/// window, σ = 1.5, K1 = 0.01, K2 = 0.03, on [0,1] = (Y + 1) / 2, mean over pixels and images).
/// A palette change that keeps the luma scores 1. a, b: [N,3,H,W] in [-1,1], same shape.
/// Throws std::invalid_argument otherwise.
double gray_ssim(const torch::Tensor& a, const torch::Tensor& b);

/// Checkerboard energy per image: with Y the luma of images[i] minus its mean and
/// F = FFT2(Y) (F(u,v) = Σ_{h,w} Y[h,w] e^{-2πi(uh/H + vw/W)}), the sum of
/// |F(u,v)|² / (H·W)² over the bins S = {(u,v) : u ∈ {H/4, H/2, 3H/4} or v ∈ {W/4, W/2, 3W/4}},
/// i.e. every frequency whose vertical or horizontal period is 2 or 4 pixels (3H/4 is the
/// negative frequency −H/4). By Parseval the sum over all bins is the variance of Y, so this is
/// the part of the luma variance that lies at periods 2 and 4: a checkerboard a·(−1)^(h+w) gives
/// exactly a² (its only bin, (H/2, W/2), holds |F|² = a²·H²·W²), a stripe a·cos(2πh/4) gives
/// a²/2. images [N,3,H,W] with H, W multiples of 4 → [N] float64.
/// Throws std::invalid_argument otherwise.
torch::Tensor checkerboard_energy(const torch::Tensor& images);

/// Checkerboard index of translations against their inputs, a ratio of means:
///   (mean_i checkerboard_energy(translation)[i] + eps) / (mean_i checkerboard_energy(source)[i] +
///   eps).
/// 1: no more period-2/4 energy than the photos; 2: twice as much. A ratio of means, not a mean of
/// per-image ratios, so that one flat photo (little energy) cannot dominate. eps = 1e-6 is the
/// energy of a checkerboard of amplitude 0.001 (an eighth of one 8-bit level on [-1,1]).
/// translation, source: [N,3,H,W], same shape, H, W multiples of 4.
/// Throws std::invalid_argument otherwise.
double checkerboard_index(const torch::Tensor& translation, const torch::Tensor& source,
                          double eps = 1e-6);

}  // namespace culturegan::eval
