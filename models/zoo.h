// The model zoo beyond the multi-domain translator: DCGAN (conditional, projection D),
// the CycleGAN ResNet generator and 70×70 PatchGAN, and a spectrally normalised conv.
//
// Sources:
//  - DCGAN: Radford et al. 2016, "Unsupervised Representation Learning with Deep Convolutional
//    GANs", Sec. 3 (transposed convs, BatchNorm, ReLU in G, LeakyReLU 0.2 in D, tanh output,
//    N(0, 0.02) init). Conditioning: G gets concat(z, c) (Mirza & Osindero 2014); D has a
//    projection head, D(x, c) = ψ(φ(x)) + ⟨embed(c), φ(x)⟩ (Miyato & Koyama 2018, eq. 3).
//  - CycleGAN: Zhu et al. 2017, Appendix 7.2 and junyanz/pytorch-CycleGAN-and-pix2pix
//    networks.py (ResnetGenerator with reflection padding and InstanceNorm without affine,
//    NLayerDiscriminator n_layers = 3 = the 70×70 PatchGAN).
//  - Spectral norm: Miyato et al. 2018, Sec. 2.1 (one power iteration per training forward,
//    as torch.nn.utils.spectral_norm).
//  - upsample option of both generators (default 0 = each paper's transposed convs):
//    resize-convolution, Odena et al. 2016 (models/upsample.h).
#pragma once
#include <cstdint>

#include <torch/torch.h>

#include "models/upsample.h"

namespace culturegan::models {

/// Conv2d whose weight is divided by its largest singular value (estimated by power
/// iteration on W reshaped to [out, in·k·k]) when `spectral_norm` is true; a plain conv
/// otherwise. Parameters "weight", "bias"; buffer "u" (the left singular vector estimate).
class SNConv2dImpl : public torch::nn::Module {
 public:
  SNConv2dImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding, bool bias,
               bool spectral_norm);
  torch::Tensor forward(const torch::Tensor& x);
  /// The weight the conv uses (W / σ with spectral norm); updates u in training mode.
  torch::Tensor effective_weight();

  torch::Tensor weight, bias, u;

 private:
  int64_t stride_, padding_;
  bool sn_;
};
TORCH_MODULE(SNConv2d);

struct DcganSpec {
  int64_t num_cultures = 2;
  int64_t image_size = 64;  ///< a power of two >= 8
  int64_t z_dim = 100;
  int64_t g_conv_dim =
      64;  ///< G's last width; widths g·2^(L−1) … g with L = log2(S/4) (512-256-128-64 at 64 px)
  int64_t d_conv_dim = 64;     ///< D's first width; d … d·2^(L−1)
  bool spectral_norm = false;  ///< D: spectral norm on every conv instead of BatchNorm
  /// G's stride-2 layers: 0 = convT4x4 s2 p1 (paper), 1 = nearest ×2 + conv3x3, 2 = bilinear ×2
  /// + conv3x3 (ResizeConv2d, bias-free like the convTs). The first 1×1 → 4×4 convT stays.
  int64_t upsample = 0;
};

/// G(z, c): z [N,z_dim] float32, c [N,C] float32 culture vector → [N,3,S,S] float32 in [-1,1].
/// Layers: convT4x4 (z+C → g·2^(L−1), 1×1 → 4×4) - BN - ReLU → (L−1)× [up (÷2 width) - BN -
/// ReLU] → up (→ 3) → tanh; up per spec.upsample. Throws c10::Error on wrong shapes; the
/// constructor throws std::invalid_argument for a bad image_size or upsample.
/// BatchNorm keeps no running statistics: batch statistics are used in training and sampling,
/// so ranks never disagree on buffers (and N ranks × b is not 1 × N·b; see docs/recipes.md).
class DcganGeneratorImpl : public torch::nn::Module {
 public:
  explicit DcganGeneratorImpl(const DcganSpec& spec);
  torch::Tensor forward(const torch::Tensor& z, const torch::Tensor& c);
  const DcganSpec& spec() const { return spec_; }

 private:
  DcganSpec spec_;
  torch::nn::Sequential net_{nullptr};
};
TORCH_MODULE(DcganGenerator);

/// D(x, c) → [N] raw logits: conv trunk to 4×4, sum pooling φ(x), linear ψ plus projection.
class DcganDiscriminatorImpl : public torch::nn::Module {
 public:
  explicit DcganDiscriminatorImpl(const DcganSpec& spec);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& c);

 private:
  DcganSpec spec_;
  torch::nn::Sequential trunk_{nullptr};
  torch::nn::Linear psi_{nullptr};
  torch::nn::Linear embed_{nullptr};
};
TORCH_MODULE(DcganDiscriminator);

/// N(0, 0.02) for conv / linear weights, N(1, 0.02) for BatchNorm scales, zero biases
/// (DCGAN Sec. 4; CycleGAN's init_type = normal, gain 0.02).
void init_normal_002(torch::nn::Module& module);

/// CycleGAN ResNet generator x [N,3,H,W] float32 in [-1,1] → [N,3,H,W] float32 in [-1,1]
/// (H, W multiples of 4): c7s1-g, d2g, d4g, n × R4g, u2g, ug, c7s1-3, tanh.
/// u = convT3x3 s2 p1 op1 with bias (upsample = 0, the reference), or ResizeConv2d with
/// reflection padding and bias (1 nearest, 2 bilinear). forward throws c10::Error on a wrong
/// shape; the constructor throws std::invalid_argument for a bad upsample.
class ResnetGeneratorImpl : public torch::nn::Module {
 public:
  ResnetGeneratorImpl(int64_t g_conv_dim, int64_t res_blocks, int64_t upsample = 0);
  torch::Tensor forward(const torch::Tensor& x);
  int64_t upsample() const { return upsample_; }

 private:
  int64_t upsample_;
  torch::nn::Sequential net_{nullptr};
};
TORCH_MODULE(ResnetGenerator);

/// 70×70 PatchGAN: C64 (no norm) - C128 - C256 (stride 2) - C512 (stride 1) - conv → 1 map,
/// 4×4 kernels, LeakyReLU 0.2, InstanceNorm. Raw patch logits [N,1,h,w].
class PatchDiscriminatorImpl : public torch::nn::Module {
 public:
  PatchDiscriminatorImpl(int64_t d_conv_dim, bool spectral_norm);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Sequential net_{nullptr};
};
TORCH_MODULE(PatchDiscriminator);

}  // namespace culturegan::models
