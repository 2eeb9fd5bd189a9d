// Conditional instance normalisation: the target culture modulates every normalised feature map
// (not only the few border pixels a constant input plane reaches through a zero-padded conv).
//
// Source: Dumoulin, Shlens & Kudlur, "A Learned Representation for Artistic Style", ICLR 2017,
// eq. 5 (one (γ, β) pair per style); written as AdaIN with a learned embedding, as StarGAN v2
// (Choi et al. 2020, Appendix A; clovaai/stargan-v2 core/model.py AdaIN: "(1 + gamma) * norm(x)
// + beta", fc = Linear(style_dim, 2·C)). Here the "style" is the culture embedding e = c·E, a
// linear function of the culture vector c, so γ, β are affine in c and a soft c blends cultures.
#pragma once
#include <cstdint>

#include <torch/torch.h>

namespace culturegan::models {

/// CIN(x, e) = IN(x)·(1 + γ) + β, [γ, β] = fc(e).
/// x [N,channels,H,W] float32, e [N,embed_dim] float32 → [N,channels,H,W] float32.
/// IN: per sample and channel over H×W, eps 1e-5, no affine (the fc's bias is the
/// unconditional affine), no running statistics.
/// fc = Linear(embed_dim → 2·channels) ("fc.weight" [2·channels, embed_dim], "fc.bias"):
/// weight ~ N(0, (0.1 / √embed_dim)²), bias 0, so for a unit-variance embedding γ, β have a
/// standard deviation of 0.1 at init (scale ≈ 1, shift ≈ 0, but the cultures already differ).
/// Throws c10::Error (TORCH_CHECK) on mismatched shapes, naming them.
class ConditionalInstanceNorm2dImpl : public torch::nn::Module {
 public:
  ConditionalInstanceNorm2dImpl(int64_t channels, int64_t embed_dim);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& e);

  torch::nn::Linear fc{nullptr};

 private:
  int64_t channels_, embed_dim_;
};
TORCH_MODULE(ConditionalInstanceNorm2d);

}  // namespace culturegan::models
