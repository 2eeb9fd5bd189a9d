// StarGAN v2 networks at small scale (Choi et al., "StarGAN v2: Diverse Image Synthesis for
// Multiple Domains", CVPR 2020, Sec. 2 and Appendix A; layer by layer they follow the
// reference clovaai/stargan-v2 core/model.py without its high-pass/FAN mask branch):
//   mapping network F: z → per-culture style F_y(z);
//   style encoder E and discriminator D: one trunk, one output vector per culture (E_y, D_y);
//   generator G(x, s): IN residual encoder, AdaIN residual decoder, where
//   AdaIN(h, s) = (1 + γ(s))·IN(h) + β(s) (Huang & Belongie 2017, eq. 8; the reference's "1 +").
// Residual outputs are scaled by 1/√2 (reference: unit variance).
#pragma once
#include <cstdint>

#include <torch/torch.h>

namespace culturegan::models {

/// Architecture settings; stored in checkpoints and generator bundles.
struct StarGanV2Spec {
  int64_t num_cultures = 2;
  int64_t image_size = 64;   ///< S: a power of two >= 16 (E and D downsample to 4×4)
  int64_t g_conv_dim = 64;   ///< G's first width; the encoder doubles it twice
  int64_t g_res_blocks = 2;  ///< residual blocks at the bottleneck, in the encoder and decoder
  int64_t d_conv_dim = 64;   ///< E's and D's first width (capped at 8×)
  int64_t z_dim = 16;        ///< latent size of F's input
  int64_t style_dim = 64;    ///< style code size
};

/// G(x, s): x [N,3,H,W] float32 in [-1,1] (H, W multiples of 4), s [N,style_dim] float32
/// style code (F's or E's output). Returns [N,3,H,W] float32 in [-1,1] (tanh).
/// Throws c10::Error (TORCH_CHECK) when s has the wrong width or batch.
class StarGanV2GeneratorImpl : public torch::nn::Module {
 public:
  explicit StarGanV2GeneratorImpl(const StarGanV2Spec& spec);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& s);

 private:
  StarGanV2Spec spec_;
  torch::nn::Conv2d from_rgb_{nullptr}, to_rgb_{nullptr};
  torch::nn::ModuleList enc_{nullptr}, dec_{nullptr};
};
TORCH_MODULE(StarGanV2Generator);

/// F(z, y): z [N,z_dim] float32, y [N] int64 culture indices → [N,style_dim] float32.
/// all_cultures(z) → [N,C,style_dim] (every culture's head).
class StarGanV2MappingImpl : public torch::nn::Module {
 public:
  explicit StarGanV2MappingImpl(const StarGanV2Spec& spec);
  torch::Tensor forward(const torch::Tensor& z, const torch::Tensor& y);
  torch::Tensor all_cultures(const torch::Tensor& z);

 private:
  torch::nn::Sequential shared_{nullptr};
  torch::nn::ModuleList heads_{nullptr};
};
TORCH_MODULE(StarGanV2Mapping);

/// Shared trunk of the style encoder (out = style_dim) and discriminator (out = 1):
/// conv3x3 → log2(S/4) × downsampling residual blocks → LeakyReLU → conv4x4 → LeakyReLU →
/// linear to C·out. forward(x [N,3,S,S], y [N] int64) → [N,out] (out > 1) or [N] (out = 1);
/// all_cultures(x) → [N,C,out].
class StarGanV2TrunkImpl : public torch::nn::Module {
 public:
  StarGanV2TrunkImpl(const StarGanV2Spec& spec, int64_t out);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& y);
  torch::Tensor all_cultures(const torch::Tensor& x);

 private:
  int64_t out_, cultures_;
  torch::nn::Sequential trunk_{nullptr};
  torch::nn::Conv2d last_{nullptr};
  torch::nn::Linear heads_{nullptr};
};
TORCH_MODULE(StarGanV2Trunk);

}  // namespace culturegan::models
