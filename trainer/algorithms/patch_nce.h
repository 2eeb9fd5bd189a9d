// PatchNCE: a content loss that needs no pretrained network. Each sampled location of the
// translated image's feature maps must be closer (after a small learned projection) to the same
// location of the source image's feature maps than to the other sampled locations of that image.
//
// Source: Park, Efros, Zhang, Zhu, "Contrastive Learning for Unpaired Image-to-Image
// Translation", ECCV 2020 (CUT), eq. 2 (InfoNCE with τ = 0.07) and eq. 5 (PatchNCE over layers
// and locations). The behaviour matched is the reference implementation
// taesungp/contrastive-unpaired-translation, defaults of CUT:
//   models/networks.py PatchSampleF (netF = mlp_sample, netF_nc = 256, num_patches = 256): the
//     same locations for source and translation, one shared set for every image of the batch,
//     a per-layer Linear(C_l→256)-ReLU-Linear(256→256), then x / (‖x‖₂ + 1e-7);
//   models/patchnce.py PatchNCELoss with nce_includes_all_negatives_from_minibatch = False
//     (negatives are the other sampled locations of the same image), keys detached, the
//     diagonal of the negative logits filled with −10 before dividing by τ;
//   models/cut_model.py calculate_NCE_loss: mean over locations, then mean over layers.
// Differences: the MLPs are created in the constructor from the channel counts (CUT creates them
// at the first forward pass), and the locations are an explicit argument (CUT calls
// torch.randperm) so that they are reproducible from a seed on any number of ranks.
#pragma once
#include <cstdint>
#include <vector>

#include <torch/torch.h>

namespace culturegan::trainer {

/// The projection head H_l of CUT (their netF): one 2-layer MLP per feature layer,
/// Linear(C_l→dim) - ReLU - Linear(dim→dim), registered as "mlp_0", "mlp_1", ... so that an
/// optimizer, the gradient reducer and checkpoints see every parameter from construction on.
/// Weights: xavier_normal with gain 0.02, biases 0 (CUT's init_type = xavier, init_gain = 0.02).
/// Throws c10::Error when `channels` is empty or holds a count < 1, or dim < 1.
class PatchNceHeadImpl : public torch::nn::Module {
 public:
  explicit PatchNceHeadImpl(std::vector<int64_t> channels, int64_t dim = 256);

  /// x [M, C_layer] (any float dtype the Linear weights accept) → [M, dim], the MLP's output
  /// before normalisation. Throws c10::Error when layer is out of range or x is not [M, C_layer].
  torch::Tensor forward(int64_t layer, const torch::Tensor& x);

  int64_t num_layers() const { return static_cast<int64_t>(channels_.size()); }
  const std::vector<int64_t>& channels() const { return channels_; }
  int64_t dim() const { return dim_; }

 private:
  std::vector<int64_t> channels_;
  int64_t dim_;
  std::vector<torch::nn::Sequential> mlps_;
};
TORCH_MODULE(PatchNceHead);

/// InfoNCE of queries against keys, CUT's PatchNCELoss on one layer (CUT eq. 2):
///   q, k: [S, D] or [B, S, D], the same shape, float (float16/bfloat16 are computed in float32).
///   For each image b and location i: logits = [q_i·k_i, (q_i·k_j for j = 0..S−1, with the
///   j = i entry replaced by −10)] / τ, loss_i = −log softmax(logits)[0]
///   = logsumexp(logits) − q_i·k_i / τ. The −10 entry is CUT's diagonal fill; it contributes
///   exp(−10/τ) ≈ 1e−62 at τ = 0.07. Negatives are the other locations of the same image only.
/// Returns the mean of loss_i over all B·S locations, a 0-dim tensor (float32, or float64 for
/// float64 inputs). Gradients flow to both q and k: detach k to match CUT (patch_nce_loss does).
/// q and k are used as given (patch_nce_loss passes L2-normalised projections).
/// Throws c10::Error when the shapes differ, are not 2-D/3-D, S or D is 0, or tau <= 0.
torch::Tensor info_nce(const torch::Tensor& q, const torch::Tensor& k, double tau = 0.07);

/// `num_patches` distinct spatial locations of an h×w feature map, as flat indices y·w + x:
/// [min(num_patches, h·w)] int64 on the CPU, the first entries of a random permutation of
/// 0..h·w−1 drawn from a CPU generator (mt19937) seeded with `seed` (CUT's
/// torch.randperm(h·w)[:num_patches]). When num_patches >= h·w every location is returned once
/// (in permuted order). Deterministic for a given (h, w, num_patches, seed) on any machine.
/// Throws c10::Error when h, w or num_patches is < 1.
torch::Tensor sample_patch_ids(int64_t h, int64_t w, int64_t num_patches, uint64_t seed);

/// One id tensor per layer for feature maps `feats` ([N, C_l, H_l, W_l] each): layer l gets
/// sample_patch_ids(H_l, W_l, num_patches, mix(seed, l)), where mix is a SplitMix64 hash, so
/// layers draw independent locations. Throws c10::Error when a map is not 4-D.
std::vector<torch::Tensor> sample_patch_ids(const std::vector<torch::Tensor>& feats,
                                            int64_t num_patches, uint64_t seed);

/// PatchNCE loss (CUT eq. 5 divided by the number of layers and locations, lambda_NCE = 1):
///   feats_src[l]: [N, C_l, H_l, W_l] encoder features of the source images x (CUT's feat_k);
///   feats_fake[l]: same shape, encoder features of the translations G(x) (CUT's feat_q);
///   patch_ids[l]: int64 flat locations y·W_l + x, either [S_l] (the same locations for every
///     image, as CUT) or [N, S_l] (per image), e.g. from sample_patch_ids; on any device (moved to
///     the features' device). Ids are range-checked when they are on the CPU; ids on a GPU are
///     not (an out-of-range id then fails inside the indexing kernel).
/// For each layer: the S_l locations are gathered from both maps (same ids for source and fake),
/// projected with head's MLP l and divided by (‖·‖₂ + 1e-7); the source's projections are
/// detached (CUT's PatchNCELoss does feat_k.detach(): no gradient reaches the source features or
/// the head through the keys); then info_nce(fake, src, tau) over the S_l locations of each image.
/// Returns the mean over layers of the per-layer mean over N·S_l locations: a 0-dim tensor
/// (float32 for float32 features). Differentiable w.r.t. feats_fake and the head's parameters.
/// Since each image's loss depends only on that image, a mean over ranks of per-rank losses
/// equals the loss of the global batch when every rank uses the same ids.
/// Throws c10::Error when the three lists and head's layer count differ, when a source and a
/// fake map differ in shape, a map is not 4-D, C_l differs from head's channel count, or ids
/// have the wrong dtype, rank or batch size, or (CPU ids) lie outside [0, H_l·W_l).
torch::Tensor patch_nce_loss(PatchNceHead& head, const std::vector<torch::Tensor>& feats_src,
                             const std::vector<torch::Tensor>& feats_fake,
                             const std::vector<torch::Tensor>& patch_ids, double tau = 0.07);

/// Convenience: patch_nce_loss with patch_ids = sample_patch_ids(feats_src, num_patches, seed)
/// (CUT's default num_patches = 256). For rank-independent locations pass a seed that depends
/// only on (train.seed, step), e.g. counter_hash(seed, step, 0, stream) (sample_randomness.h).
torch::Tensor patch_nce_loss(PatchNceHead& head, const std::vector<torch::Tensor>& feats_src,
                             const std::vector<torch::Tensor>& feats_fake, uint64_t seed,
                             int64_t num_patches = 256, double tau = 0.07);

}  // namespace culturegan::trainer
