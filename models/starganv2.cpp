#include "models/starganv2.h"

#include "models/norm_stats.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace culturegan::models {
namespace nn = torch::nn;
namespace F = torch::nn::functional;

namespace {
const double kInvSqrt2 = 1.0 / std::sqrt(2.0);

torch::Tensor lrelu(const torch::Tensor& x) {
  return F::leaky_relu(x, F::LeakyReLUFuncOptions().negative_slope(0.2));
}
torch::Tensor inorm(const torch::Tensor& x) {
  return instance_norm_2d(x, 1e-5);  // F::instance_norm unless a NormStatsScope is open
}
nn::Conv2d conv(int64_t in, int64_t out, int64_t k, int64_t p) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, k).padding(p));
}
// Picks row i's culture y_i from per-culture outputs [N, C, out].
torch::Tensor pick(const torch::Tensor& per_culture, const torch::Tensor& y) {
  TORCH_CHECK(y.dim() == 1 && y.size(0) == per_culture.size(0),
              "StarGAN v2: culture indices must be [N] with N = ", per_culture.size(0), ", got ",
              y.sizes());
  return per_culture.index(
      {torch::arange(y.size(0), y.options().dtype(torch::kLong)), y.to(torch::kLong)});
}

// Residual block with InstanceNorm (optional), optional 2× average-pool downsampling.
class ResBlkImpl : public nn::Module {
 public:
  ResBlkImpl(int64_t in, int64_t out, bool down, bool norm) : down_(down), norm_(norm) {
    c1_ = register_module("c1", conv(in, in, 3, 1));
    c2_ = register_module("c2", conv(in, out, 3, 1));
    if (in != out)
      sc_ = register_module("sc", nn::Conv2d(nn::Conv2dOptions(in, out, 1).bias(false)));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto h = lrelu(norm_ ? inorm(x) : x);
    h = c1_->forward(h);
    if (down_) h = F::avg_pool2d(h, F::AvgPool2dFuncOptions(2));
    h = lrelu(norm_ ? inorm(h) : h);
    h = c2_->forward(h);
    auto s = x;
    if (sc_) s = sc_->forward(s);
    if (down_) s = F::avg_pool2d(s, F::AvgPool2dFuncOptions(2));
    return (s + h) * kInvSqrt2;
  }

 private:
  bool down_, norm_;
  nn::Conv2d c1_{nullptr}, c2_{nullptr}, sc_{nullptr};
};
TORCH_MODULE(ResBlk);

// Residual block whose norms are AdaIN(h, s) = (1 + γ(s))·IN(h) + β(s); optional 2× nearest
// upsampling.
class AdainResBlkImpl : public nn::Module {
 public:
  AdainResBlkImpl(int64_t style, int64_t in, int64_t out, bool up) : up_(up) {
    fc1_ = register_module("fc1", nn::Linear(style, 2 * in));
    fc2_ = register_module("fc2", nn::Linear(style, 2 * out));
    c1_ = register_module("c1", conv(in, out, 3, 1));
    c2_ = register_module("c2", conv(out, out, 3, 1));
    if (in != out)
      sc_ = register_module("sc", nn::Conv2d(nn::Conv2dOptions(in, out, 1).bias(false)));
  }
  static torch::Tensor adain(const torch::Tensor& h, const torch::Tensor& gb) {
    auto parts = gb.view({gb.size(0), gb.size(1), 1, 1}).chunk(2, 1);
    return (1 + parts[0]) * inorm(h) + parts[1];
  }
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& s) {
    auto up = [&](const torch::Tensor& t) {
      return up_ ? F::interpolate(t, F::InterpolateFuncOptions()
                                         .scale_factor(std::vector<double>{2, 2})
                                         .mode(torch::kNearest))
                 : t;
    };
    auto h = lrelu(adain(x, fc1_->forward(s)));
    h = c1_->forward(up(h));
    h = c2_->forward(lrelu(adain(h, fc2_->forward(s))));
    auto sc = up(x);
    if (sc_) sc = sc_->forward(sc);
    return (sc + h) * kInvSqrt2;
  }

 private:
  bool up_;
  nn::Linear fc1_{nullptr}, fc2_{nullptr};
  nn::Conv2d c1_{nullptr}, c2_{nullptr}, sc_{nullptr};
};
TORCH_MODULE(AdainResBlk);
}  // namespace

StarGanV2GeneratorImpl::StarGanV2GeneratorImpl(const StarGanV2Spec& spec) : spec_(spec) {
  const int64_t g = spec.g_conv_dim;
  from_rgb_ = register_module("from_rgb", conv(3, g, 3, 1));
  enc_ = register_module("enc", nn::ModuleList());
  dec_ = register_module("dec", nn::ModuleList());
  enc_->push_back(ResBlk(g, 2 * g, true, true));
  enc_->push_back(ResBlk(2 * g, 4 * g, true, true));
  for (int64_t i = 0; i < spec.g_res_blocks; ++i)
    enc_->push_back(ResBlk(4 * g, 4 * g, false, true));
  for (int64_t i = 0; i < spec.g_res_blocks; ++i)
    dec_->push_back(AdainResBlk(spec.style_dim, 4 * g, 4 * g, false));
  dec_->push_back(AdainResBlk(spec.style_dim, 4 * g, 2 * g, true));
  dec_->push_back(AdainResBlk(spec.style_dim, 2 * g, g, true));
  to_rgb_ = register_module("to_rgb", conv(g, 3, 1, 0));
}

torch::Tensor StarGanV2GeneratorImpl::forward(const torch::Tensor& x, const torch::Tensor& s) {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == 3, "StarGAN v2 G: x must be [N,3,H,W], got ", x.sizes());
  TORCH_CHECK(s.dim() == 2 && s.size(0) == x.size(0) && s.size(1) == spec_.style_dim,
              "StarGAN v2 G: s must be [", x.size(0), ",", spec_.style_dim, "], got ", s.sizes());
  auto h = from_rgb_->forward(x);
  for (auto& m : *enc_) h = m->as<ResBlkImpl>()->forward(h);
  for (auto& m : *dec_) h = m->as<AdainResBlkImpl>()->forward(h, s);
  return torch::tanh(to_rgb_->forward(lrelu(inorm(h))));
}

StarGanV2MappingImpl::StarGanV2MappingImpl(const StarGanV2Spec& spec) {
  shared_ = register_module("shared", nn::Sequential(nn::Linear(spec.z_dim, 256), nn::ReLU(),
                                                     nn::Linear(256, 256), nn::ReLU()));
  heads_ = register_module("heads", nn::ModuleList());
  for (int64_t c = 0; c < spec.num_cultures; ++c)
    heads_->push_back(
        nn::Sequential(nn::Linear(256, 256), nn::ReLU(), nn::Linear(256, spec.style_dim)));
}

torch::Tensor StarGanV2MappingImpl::all_cultures(const torch::Tensor& z) {
  auto h = shared_->forward(z);
  std::vector<torch::Tensor> outs;
  for (auto& m : *heads_) outs.push_back(m->as<nn::SequentialImpl>()->forward(h));
  return torch::stack(outs, 1);
}

torch::Tensor StarGanV2MappingImpl::forward(const torch::Tensor& z, const torch::Tensor& y) {
  return pick(all_cultures(z), y);
}

StarGanV2TrunkImpl::StarGanV2TrunkImpl(const StarGanV2Spec& spec, int64_t out)
    : out_(out), cultures_(spec.num_cultures) {
  const int64_t d = spec.d_conv_dim;
  nn::Sequential trunk(conv(3, d, 3, 1));
  int64_t width = d;
  for (int64_t s = spec.image_size; s > 4; s /= 2) {
    const int64_t next = std::min(width * 2, d * 8);
    trunk->push_back(ResBlk(width, next, true, false));
    width = next;
  }
  trunk_ = register_module("trunk", trunk);
  last_ = register_module("last", nn::Conv2d(nn::Conv2dOptions(width, width, 4)));
  heads_ = register_module("heads", nn::Linear(width, cultures_ * out));
}

torch::Tensor StarGanV2TrunkImpl::all_cultures(const torch::Tensor& x) {
  auto h = lrelu(last_->forward(lrelu(trunk_->forward(x)))).flatten(1);
  return heads_->forward(h).view({x.size(0), cultures_, out_});
}

torch::Tensor StarGanV2TrunkImpl::forward(const torch::Tensor& x, const torch::Tensor& y) {
  auto picked = pick(all_cultures(x), y);  // [N, out]
  return out_ == 1 ? picked.view({-1}) : picked;
}

}  // namespace culturegan::models
