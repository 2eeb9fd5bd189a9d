// Gram-matrix style loss on discriminator features (no pretrained network): the translation's
// feature correlations at each layer should match those of real images of the target culture.
//
// Source: Gatys, Ecker, Bethge, "Image Style Transfer Using Convolutional Neural Networks",
// CVPR 2016, eq. 3 (Gram matrix G^l_ij = Σ_k F^l_ik F^l_jk) and eq. 4–5 (squared distance of
// Gram matrices, equal weights over layers), with the discriminator's feature maps in place of
// VGG's. Normalisation as in pytorch/examples fast_neural_style utils.gram_matrix (divide by
// C·H·W), so that the value does not grow with the resolution; with the mean over the C² entries
// a layer's term is Gatys's E_l times 4/C_l².
#pragma once
#include <cstdint>
#include <vector>

#include <torch/torch.h>

namespace culturegan::trainer {

/// f [N, C, H, W] float → [N, C, C], G[n,i,j] = Σ_{y,x} f[n,i,y,x]·f[n,j,y,x] / (C·H·W).
/// float16/bfloat16 inputs are computed and returned in float32; float32/float64 keep their
/// dtype. Differentiable. Throws c10::Error when f is not 4-D or has no elements.
torch::Tensor gram_matrix(const torch::Tensor& f);

/// Style loss against real images that are all of the fake's target culture (one target culture
/// for the whole batch, e.g. CycleGAN, or a batch grouped by target):
///   feats_fake[l]: [N, C_l, H_l, W_l] features of the translations;
///   feats_real_target[l]: [M, C_l, H'_l, W'_l] features of M >= 1 real images of the target
///     culture (M and the spatial size may differ from the fake's; C_l must match).
/// Target per layer: A_l = mean over the M real images of gram_matrix, detached (a constant for
/// G; no gradient reaches the real features). Loss = (1/L) Σ_l mean over (N, C_l, C_l) of
/// (gram_matrix(fake_l) − A_l)², a 0-dim tensor. It is 0 when every fake equals every real.
/// Throws c10::Error when the lists are empty or differ in length, a map is not 4-D, or the
/// channel counts of a layer differ.
torch::Tensor gram_style_loss(const std::vector<torch::Tensor>& feats_fake,
                              const std::vector<torch::Tensor>& feats_real_target);

/// Per-culture sums of real images' Gram matrices, the target of the multi-culture style loss.
/// Kept as sums and counts (not means) so that ranks can all-reduce both with SUM and obtain the
/// per-culture mean over the global batch, which holds more images of each culture than one
/// rank's batch; a caller may also keep a running (e.g. EMA) table across steps by storing its
/// means in `sum` with `count` = 1 for the cultures it has seen.
struct CultureGrams {
  std::vector<torch::Tensor> sum;  ///< per layer [K, C_l, C_l], Σ of gram_matrix over culture k
  torch::Tensor count;             ///< [K] float32: how many real images each sum holds
};

/// feats_real[l]: [M, C_l, H_l, W_l] real-image features; labels: [M] int64 cultures in [0, K),
/// K = num_cultures. Returns detached sums (dtype of gram_matrix, device of the features) and
/// counts (float32, same device). Cultures absent from the batch get sum 0, count 0.
/// Throws c10::Error on an empty list, a map that is not 4-D, a batch size that differs from
/// labels' length or between layers, labels that are not [M] int64, num_cultures < 1, or (labels
/// on the CPU) a label outside [0, K).
CultureGrams culture_gram_sums(const std::vector<torch::Tensor>& feats_real,
                               const torch::Tensor& labels, int64_t num_cultures);

/// Multi-culture style loss (StarGAN-style batches, where each fake has its own target culture
/// and a batch may hold few or no real images of it):
///   feats_fake[l]: [N, C_l, H_l, W_l]; fake_targets: [N] int64 target culture of each fake;
///   targets: culture_gram_sums of real features (optionally all-reduced across ranks).
/// Fake i is compared with the mean Gram matrix of the real images of its target culture,
/// A_l[t_i] = sum_l[t_i] / count[t_i] (not with one real image: a single image's Gram carries
/// that image's own content, the culture mean is the style). Per layer,
///   E_l = (1/N) Σ_i v_i · mean over (C_l, C_l) of (gram_matrix(fake_l)_i − A_l[t_i])²,
/// v_i = 1 when count[t_i] > 0, else 0 (a fake whose culture has no real image counts as 0 but
/// stays in the denominator N, so that, as for every loss here, the mean over ranks of per-rank
/// losses equals the global batch's loss when the ranks share one table and batch size).
/// Returns (1/L) Σ_l E_l, a 0-dim tensor; 0 (with a zero gradient) when no fake has a target.
/// No host synchronisation. Throws c10::Error when the layer counts or channel counts differ,
/// a map is not 4-D, fake_targets is not [N] int64, a sum is not [K, C_l, C_l], count is not
/// [K], or (targets on the CPU) a target lies outside [0, K).
torch::Tensor gram_style_loss(const std::vector<torch::Tensor>& feats_fake,
                              const torch::Tensor& fake_targets, const CultureGrams& targets);

}  // namespace culturegan::trainer
