// The multi-domain culture translator (StarGAN family): one generator for N cultures,
// conditioned on the target culture.
//
// Source: Choi et al., "StarGAN: Unified Generative Adversarial Networks for Multi-Domain
// Image-to-Image Translation", CVPR 2018, Sec. 3 and Appendix (network architecture);
// layer by layer it matches the reference implementation yunjey/stargan model.py, except
// InstanceNorm keeps no running statistics (track_running_stats=False), as the issue asks.
//
// Options beyond the paper (every default is the paper's, bit-identical to earlier builds):
//  - conditioning = 1: conditional instance normalisation (models/conditional_norm.h;
//    Dumoulin et al. 2017, AdaIN as in StarGAN v2) instead of input planes. With planes, the
//    first conv is bias-free and followed by InstanceNorm, which removes the (constant) plane
//    response everywhere except near the zero-padded border and through the norm's statistics:
//    the condition reaches G weakly, and less so the larger the image.
//  - upsample = 1 | 2: resize-convolution in the decoder (models/upsample.h; Odena et al. 2016)
//    instead of 4×4 stride-2 transposed convs, which make checkerboard artifacts.
//  - d_per_culture = 1: D has one real/fake patch map per culture (StarGAN v2 multi-task D,
//    Choi et al. 2020 Sec. 2 "Discriminator"; clovaai/stargan-v2 Discriminator.forward selects
//    out[idx, y]).
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "models/conditional_norm.h"
#include "models/upsample.h"

namespace culturegan::models {

/// Values of StarGanSpec::conditioning.
enum Conditioning : int64_t {
  kConditioningPlanes = 0,  ///< c as C constant planes concatenated to x (the paper)
  kConditioningCin = 1,     ///< culture embedding → conditional InstanceNorm (no planes)
};

/// Width of the culture embedding E [C, kCultureEmbeddingDim] of conditioning = 1 (StarGAN v2's
/// style_dim).
constexpr int64_t kCultureEmbeddingDim = 64;

/// "planes" | "cin" → 0 | 1. Throws std::invalid_argument naming the accepted names.
int64_t conditioning_from_name(const std::string& name);

/// A weight tensor with one slice per culture: its name as named_parameters() gives it, the
/// dimension along which the cultures lie, and the index of culture 0 along it (culture k is
/// slice offset + k). Used to carry weights to a model with other cultures (--init-from).
struct CultureAxis {
  std::string tensor;
  int64_t dim = 0;
  int64_t offset = 0;
};

/// Architecture settings; stored in checkpoints and generator bundles ({str: int}).
struct StarGanSpec {
  int64_t num_cultures = 2;   ///< c_dim: length of the culture vector
  int64_t image_size = 64;    ///< S: training resolution (D's classifier kernel depends on it)
  int64_t g_conv_dim = 64;    ///< width of G's first conv; doubled by each of the two downs
  int64_t g_res_blocks = 6;   ///< residual blocks at the bottleneck
  int64_t d_conv_dim = 64;    ///< width of D's first conv
  int64_t d_layers = 0;       ///< stride-2 convs in D; 0 = log2(S) - 1 (so the last map is 2x2)
  int64_t conditioning = 0;   ///< G: 0 = input planes (paper), 1 = conditional InstanceNorm
  int64_t upsample = 0;       ///< G's decoder: 0 = convT4x4 s2 (paper), 1 = nearest, 2 = bilinear
  int64_t d_per_culture = 0;  ///< D's src head: 0 = one patch map (paper), 1 = one per culture

  /// d_layers with the default resolved. Throws std::invalid_argument when S is not
  /// divisible by 2^d_layers.
  int64_t resolved_d_layers() const;
  /// Throws std::invalid_argument "StarGanSpec: <field>: expected ..., found v" when
  /// conditioning, upsample or d_per_culture is out of range.
  void validate() const;
};

/// Residual block: conv3x3 - IN - ReLU - conv3x3 - IN, plus identity.
class ResidualBlockImpl : public torch::nn::Module {
 public:
  explicit ResidualBlockImpl(int64_t channels);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Sequential body_{nullptr};
};
TORCH_MODULE(ResidualBlock);

/// Residual block of conditioning = 1: conv3x3 - CIN(e) - ReLU - conv3x3 - CIN(e), plus identity.
/// x [N,channels,H,W], e [N,kCultureEmbeddingDim] → [N,channels,H,W] float32.
class CondResidualBlockImpl : public torch::nn::Module {
 public:
  CondResidualBlockImpl(int64_t channels, int64_t embed_dim);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& e);

 private:
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  ConditionalInstanceNorm2d norm1_{nullptr}, norm2_{nullptr};
};
TORCH_MODULE(CondResidualBlock);

/// Decoder block of conditioning = 1: up (convT4x4 s2, or resize-conv) - CIN(e) - ReLU.
/// x [N,in,H,W], e [N,kCultureEmbeddingDim] → [N,out,2H,2W] float32.
class CondUpBlockImpl : public torch::nn::Module {
 public:
  CondUpBlockImpl(int64_t in, int64_t out, int64_t embed_dim, int64_t upsample);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& e);

 private:
  torch::nn::Sequential up_{nullptr};
  ConditionalInstanceNorm2d norm_{nullptr};
};
TORCH_MODULE(CondUpBlock);

/// G(x, c): x [N,3,H,W] float32 in [-1,1] (H, W multiples of 4), c [N,C] float32 culture
/// vector (one-hot in training; soft vectors mix cultures at inference).
/// Returns [N,3,H,W] float32 in [-1,1] (tanh).
/// conditioning = 0 (paper; parameters "net.<i>.*"): concat(x, c as C constant planes) →
/// conv7x7 (g) - IN - ReLU → 2× [conv4x4 s2 (×2 width) - IN - ReLU] → g_res_blocks ×
/// ResidualBlock(4g) → 2× [up (÷2 width) - IN - ReLU] → conv7x7 (3) → tanh.
/// IN = InstanceNorm2d(affine, no running stats); up = convT4x4 s2 p1 (upsample = 0) or
/// ResizeConv2d (upsample = 1, 2). All convs bias-free, as in the reference.
/// conditioning = 1 (parameters "embed" [C,64], "encoder.*", "blocks.<i>.*", "decoder.<i>.*",
/// "to_rgb.weight"): e = c·E (E = "embed", N(0,1) init, as nn.Embedding); x alone → the same
/// encoder (unconditional IN) → g_res_blocks × CondResidualBlock(4g, e) → 2× CondUpBlock(e) →
/// conv7x7 (3) → tanh.
/// The constructor throws std::invalid_argument on an invalid spec (StarGanSpec::validate).
class StarGanGeneratorImpl : public torch::nn::Module {
 public:
  explicit StarGanGeneratorImpl(const StarGanSpec& spec);
  /// Throws c10::Error (via TORCH_CHECK) on mismatched shapes, naming them.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& c);

  /// conditioning = 1 only: the culture embedding e = c·E, c [N,C] float32 → [N,64] float32.
  /// Linear in c: embed(0.5·e_a + 0.5·e_b) = 0.5·E_a + 0.5·E_b. Throws c10::Error for
  /// conditioning = 0 or a c that is not [N,C].
  torch::Tensor embed(const torch::Tensor& c);
  /// conditioning = 1 only: G from an embedding, forward(x, c) = forward_embedded(x, embed(c)).
  /// x as forward, e [N,64] float32. Throws c10::Error for conditioning = 0 or wrong shapes.
  torch::Tensor forward_embedded(const torch::Tensor& x, const torch::Tensor& e);

  /// Encoder features for content (PatchNCE / perceptual) losses, computed by the layers
  /// forward uses, so gradients reach G's encoder (as CUT's nce_layers 0, 4, 8, 12, 16 of the
  /// ResnetGenerator; Park et al. 2020, taesungp/contrastive-unpaired-translation). x, c as
  /// forward; returns, in order (g = g_conv_dim, float32):
  ///   [0] x itself, the image part of the first conv's input     [N,3,H,W]
  ///   [1] after the 7×7 stem (conv - IN - ReLU)                    [N,g,H,W]
  ///   [2] after the first down block (conv4x4 s2 - IN - ReLU)      [N,2g,H/2,W/2]
  ///   [3] after the second down block                              [N,4g,H/4,W/4]
  ///   [4] after residual block ⌈g_res_blocks/2⌉ (the middle one)   [N,4g,H/4,W/4]
  /// ([4] is absent when g_res_blocks = 0). With conditioning = 0, [1]-[4] depend on c (its
  /// planes enter the stem); with conditioning = 1, [1]-[3] do not, [4] does.
  /// Throws c10::Error as forward.
  std::vector<torch::Tensor> encode(const torch::Tensor& x, const torch::Tensor& c);
  /// forward(x, c) and encode(x, c) from one pass: {y [N,3,H,W] float32 in [-1,1], the
  /// encode() features}, each equal to what the two calls return (the same layers run once).
  /// Used where a step needs both G(x, c) and the encoder features of x (PatchNCE keys).
  /// Throws c10::Error as forward.
  std::pair<torch::Tensor, std::vector<torch::Tensor>> forward_with_features(
      const torch::Tensor& x, const torch::Tensor& c);
  /// The channel counts of encode()'s outputs, {3, g, 2g, 4g, 4g} ({3, g, 2g, 4g} without
  /// residual blocks): what a projection head (CUT's PatchSampleF) is built from.
  std::vector<int64_t> encode_channels() const;
  /// The culture-indexed tensors: "embed" (dim 0) with conditioning = 1, the first conv's
  /// input planes "net.0.weight" (dim 1, offset 3) with conditioning = 0.
  std::vector<CultureAxis> culture_axes() const;

  const StarGanSpec& spec() const { return spec_; }

 private:
  // Runs G; with `features`, collects the encode() features and, unless `full`, stops after
  // the last of them (returning it).
  torch::Tensor run(const torch::Tensor& x, const torch::Tensor& c, const torch::Tensor& e,
                    std::vector<torch::Tensor>* features, bool full);
  void check_input(const torch::Tensor& x) const;
  // check_input(x) and c [N, num_cultures] for the same N (c10::Error naming the shapes).
  void check_input(const torch::Tensor& x, const torch::Tensor& c) const;

  StarGanSpec spec_;
  torch::nn::Sequential net_{nullptr};  // conditioning = 0
  torch::Tensor embed_;                 // conditioning = 1 ...
  torch::nn::Sequential encoder_{nullptr};
  torch::nn::ModuleList blocks_{nullptr}, decoder_{nullptr};
  torch::nn::Conv2d to_rgb_{nullptr};
};
TORCH_MODULE(StarGanGenerator);

/// D(x) → {src, cls}. x [N,3,S,S] float32 in [-1,1].
/// src: real/fake patch scores (raw logits; losses decide how to read them),
/// [N,1,S/2^L,S/2^L] (d_per_culture = 0) or [N,C,S/2^L,S/2^L], channel k = "is a real image of
/// culture k" (d_per_culture = 1). cls: [N,C] culture logits.
/// Layers: L× [conv4x4 s2 (d, 2d, 4d, ...) - LeakyReLU(0.01)], then src head conv3x3 → 1 (or C)
/// and cls head conv with kernel S/2^L → C (no bias), as in the reference.
/// Throws c10::Error (TORCH_CHECK) when x is not [N,3,S,S]; the constructor throws
/// std::invalid_argument on an invalid spec.
class StarGanDiscriminatorImpl : public torch::nn::Module {
 public:
  explicit StarGanDiscriminatorImpl(const StarGanSpec& spec);
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& x);

  /// {src of each sample's culture [N,1,S/2^L,S/2^L], cls [N,C]}: labels [N] int64 in [0,C)
  /// pick src channel labels[i] of sample i (d_per_culture = 1, StarGAN v2's out[idx, y]); with
  /// d_per_culture = 0 src is the single map (labels are checked, not used).
  /// Throws c10::Error when labels is not [N] int64, or (CPU labels; on a GPU the check would
  /// cost a device sync) not in [0,C).
  std::pair<torch::Tensor, torch::Tensor> forward_culture(const torch::Tensor& x,
                                                          const torch::Tensor& labels);

  /// Trunk activations for a Gram-matrix style loss (Gatys et al. 2016, eq. 3-5): the output of
  /// every LeakyReLU, L tensors, [i] = [N, d·2^i, S/2^(i+1), S/2^(i+1)] float32 (i = 0..L-1),
  /// the same layers forward uses (gradients reach D's trunk and x).
  std::vector<torch::Tensor> features(const torch::Tensor& x);
  /// The culture-indexed tensors: "cls_head.weight" (dim 0) and, with d_per_culture = 1,
  /// "src_head.weight" (dim 0).
  std::vector<CultureAxis> culture_axes() const;

  const StarGanSpec& spec() const { return spec_; }

 private:
  void check_input(const torch::Tensor& x) const;

  StarGanSpec spec_;
  torch::nn::Sequential trunk_{nullptr};
  torch::nn::Conv2d src_head_{nullptr};
  torch::nn::Conv2d cls_head_{nullptr};
};
TORCH_MODULE(StarGanDiscriminator);

/// labels [N] int64 in [0,C) → one-hot [N,C] float32.
torch::Tensor one_hot(const torch::Tensor& labels, int64_t num_cultures);

}  // namespace culturegan::models
