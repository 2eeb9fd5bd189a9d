#include "models/upsample.h"

#include <stdexcept>

namespace culturegan::models {
namespace nn = torch::nn;
namespace F = torch::nn::functional;

void check_upsample_mode(int64_t mode, const std::string& where) {
  if (mode < kUpsampleTransposed || mode > kUpsampleBilinear)
    throw std::invalid_argument(where +
                                ": upsample: expected 0 (transposed), 1 (nearest) or 2 "
                                "(bilinear), found " +
                                std::to_string(mode));
}

int64_t upsample_mode_from_name(const std::string& name) {
  if (name == "transposed") return kUpsampleTransposed;
  if (name == "nearest") return kUpsampleNearest;
  if (name == "bilinear") return kUpsampleBilinear;
  throw std::invalid_argument(
      "upsample: expected \"transposed\", \"nearest\" or \"bilinear\", found \"" + name + "\"");
}

std::string upsample_mode_name(int64_t mode) {
  check_upsample_mode(mode, "upsample_mode_name");
  static const char* const names[] = {"transposed", "nearest", "bilinear"};
  return names[mode];
}

ResizeConv2dImpl::ResizeConv2dImpl(int64_t in, int64_t out, int64_t mode, bool bias, bool reflect)
    : mode_(mode), reflect_(reflect) {
  if (mode != kUpsampleNearest && mode != kUpsampleBilinear)
    throw std::invalid_argument("ResizeConv2d: mode must be 1 (nearest) or 2 (bilinear), found " +
                                std::to_string(mode));
  conv = register_module(
      "conv",
      nn::Conv2d(nn::Conv2dOptions(in, out, 3).stride(1).padding(reflect ? 0 : 1).bias(bias)));
}

torch::Tensor ResizeConv2dImpl::forward(const torch::Tensor& x) {
  auto opts = F::InterpolateFuncOptions().scale_factor(std::vector<double>{2.0, 2.0});
  if (mode_ == kUpsampleNearest)
    opts.mode(torch::kNearest);
  else
    opts.mode(torch::kBilinear).align_corners(false);
  auto h = F::interpolate(x, opts);
  if (reflect_) h = F::pad(h, F::PadFuncOptions({1, 1, 1, 1}).mode(torch::kReflect));
  return conv->forward(h);
}

}  // namespace culturegan::models
