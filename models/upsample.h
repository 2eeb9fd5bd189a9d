// Upsampling layers for generator decoders: the transposed convolution of the original papers,
// or resize-convolution (resize ×2, then a 3×3 conv), which cannot make the checkerboard
// artifacts of a stride-2 transposed conv whose kernel size is not divisible by its stride.
//
// Source: Odena, Dumoulin & Olah, "Deconvolution and Checkerboard Artifacts", Distill 2016
// (Sec. "Better Upsampling": nearest-neighbour resize, then convolution). Nearest and bilinear
// ×2 both have a zero at the Nyquist frequency (period 2): nearest's kernel is [1, 1], bilinear's
// [1/4, 3/4, 3/4, 1/4], and Σ(−1)^k h_k = 0 for both, so a resized map has no period-2 energy
// before the (shift-invariant) conv.
#pragma once
#include <cstdint>
#include <string>

#include <torch/torch.h>

namespace culturegan::models {

/// Values of the `upsample` spec field (StarGanSpec, DcganSpec, ResnetGenerator).
enum UpsampleMode : int64_t {
  kUpsampleTransposed = 0,  ///< stride-2 transposed conv (each paper's own; the default)
  kUpsampleNearest = 1,     ///< nearest ×2, then conv3x3
  kUpsampleBilinear = 2,    ///< bilinear ×2 (align_corners = false), then conv3x3
};

/// Throws std::invalid_argument "<where>: upsample: expected 0 (transposed), 1 (nearest) or
/// 2 (bilinear), found <mode>" unless mode is one of the three.
void check_upsample_mode(int64_t mode, const std::string& where);

/// "transposed" | "nearest" | "bilinear" → 0 | 1 | 2 (config files may name the mode).
/// Throws std::invalid_argument naming the accepted names.
int64_t upsample_mode_from_name(const std::string& name);
/// 0 | 1 | 2 → "transposed" | "nearest" | "bilinear". Throws std::invalid_argument.
std::string upsample_mode_name(int64_t mode);

/// Resize-convolution: x [N,in,H,W] float32 → [N,out,2H,2W] float32:
/// interpolate ×2 (mode 1 nearest, mode 2 bilinear, align_corners = false), pad 1 (zeros, or
/// reflection when `reflect`), conv3x3 stride 1 ("conv.weight" [out,in,3,3], "conv.bias" [out]
/// when `bias`). Same output size as ConvTranspose2d(k4, s2, p1) or (k3, s2, p1, op1).
/// The constructor throws std::invalid_argument unless mode is 1 or 2.
class ResizeConv2dImpl : public torch::nn::Module {
 public:
  ResizeConv2dImpl(int64_t in, int64_t out, int64_t mode, bool bias, bool reflect);
  torch::Tensor forward(const torch::Tensor& x);
  int64_t mode() const { return mode_; }

  torch::nn::Conv2d conv{nullptr};

 private:
  int64_t mode_;
  bool reflect_;
};
TORCH_MODULE(ResizeConv2d);

}  // namespace culturegan::models
