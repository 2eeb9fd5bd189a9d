// The multi-domain culture translator (StarGAN family): one generator for N cultures,
// conditioned on the target culture.
//
// Source: Choi et al., "StarGAN: Unified Generative Adversarial Networks for Multi-Domain
// Image-to-Image Translation", CVPR 2018, Sec. 3 and Appendix (network architecture);
// layer by layer it matches the reference implementation yunjey/stargan model.py, except
// InstanceNorm keeps no running statistics (track_running_stats=False), as the issue asks.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace culturegan::models {

/// Architecture settings; stored in checkpoints and generator bundles.
struct StarGanSpec {
  int64_t num_cultures = 2;  ///< c_dim: length of the culture vector
  int64_t image_size = 64;   ///< S: training resolution (D's classifier kernel depends on it)
  int64_t g_conv_dim = 64;   ///< width of G's first conv; doubled by each of the two downs
  int64_t g_res_blocks = 6;  ///< residual blocks at the bottleneck
  int64_t d_conv_dim = 64;   ///< width of D's first conv
  int64_t d_layers = 0;      ///< stride-2 convs in D; 0 = log2(S) - 1 (so the last map is 2x2)

  /// d_layers with the default resolved. Throws std::invalid_argument when S is not
  /// divisible by 2^d_layers.
  int64_t resolved_d_layers() const;
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

/// G(x, c): x [N,3,H,W] float32 in [-1,1] (H, W multiples of 4), c [N,C] float32 culture
/// vector (one-hot in training; soft vectors mix cultures at inference).
/// Returns [N,3,H,W] float32 in [-1,1] (tanh).
/// Layers: concat(x, c as C constant planes) → conv7x7 (g) - IN - ReLU → 2× [conv4x4 s2
/// (×2 width) - IN - ReLU] → g_res_blocks × ResidualBlock(4g) → 2× [convT4x4 s2 (÷2 width) -
/// IN - ReLU] → conv7x7 (3) → tanh. IN = InstanceNorm2d(affine, no running stats).
class StarGanGeneratorImpl : public torch::nn::Module {
 public:
  explicit StarGanGeneratorImpl(const StarGanSpec& spec);
  /// Throws c10::Error (via TORCH_CHECK) on mismatched shapes, naming them.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& c);
  const StarGanSpec& spec() const { return spec_; }

 private:
  StarGanSpec spec_;
  torch::nn::Sequential net_{nullptr};
};
TORCH_MODULE(StarGanGenerator);

/// D(x) → {src, cls}. x [N,3,S,S] float32 in [-1,1].
/// src: [N,1,S/2^L,S/2^L] real/fake patch scores (raw logits; losses decide how to read them).
/// cls: [N,C] culture logits.
/// Layers: L× [conv4x4 s2 (d, 2d, 4d, ...) - LeakyReLU(0.01)], then src head conv3x3 → 1 and
/// cls head conv with kernel S/2^L → C (no bias), as in the reference.
class StarGanDiscriminatorImpl : public torch::nn::Module {
 public:
  explicit StarGanDiscriminatorImpl(const StarGanSpec& spec);
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& x);
  const StarGanSpec& spec() const { return spec_; }

 private:
  StarGanSpec spec_;
  torch::nn::Sequential trunk_{nullptr};
  torch::nn::Conv2d src_head_{nullptr};
  torch::nn::Conv2d cls_head_{nullptr};
};
TORCH_MODULE(StarGanDiscriminator);

/// labels [N] int64 in [0,C) → one-hot [N,C] float32.
torch::Tensor one_hot(const torch::Tensor& labels, int64_t num_cultures);

}  // namespace culturegan::models
