#include "trainer/models/stargan.h"

#include <stdexcept>

namespace culturegan::models {
namespace nn = torch::nn;

namespace {
nn::InstanceNorm2d instance_norm(int64_t c) {
  return nn::InstanceNorm2d(nn::InstanceNorm2dOptions(c).affine(true).track_running_stats(false));
}
nn::Conv2d conv(int64_t in, int64_t out, int64_t k, int64_t s, int64_t p, bool bias = false) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, k).stride(s).padding(p).bias(bias));
}
}  // namespace

int64_t StarGanSpec::resolved_d_layers() const {
  int64_t layers = d_layers;
  if (layers == 0) {
    layers = 0;
    for (int64_t s = image_size; s > 2; s /= 2) ++layers;
  }
  if (layers < 1 || image_size % (int64_t{1} << layers) != 0)
    throw std::invalid_argument(
        "StarGanSpec: image_size " + std::to_string(image_size) +
        " is not divisible by 2^d_layers (d_layers = " + std::to_string(layers) + ")");
  return layers;
}

ResidualBlockImpl::ResidualBlockImpl(int64_t channels) {
  body_ = register_module(
      "body", nn::Sequential(conv(channels, channels, 3, 1, 1), instance_norm(channels), nn::ReLU(),
                             conv(channels, channels, 3, 1, 1), instance_norm(channels)));
}

torch::Tensor ResidualBlockImpl::forward(const torch::Tensor& x) { return x + body_->forward(x); }

StarGanGeneratorImpl::StarGanGeneratorImpl(const StarGanSpec& spec) : spec_(spec) {
  nn::Sequential net;
  int64_t width = spec.g_conv_dim;
  net->push_back(conv(3 + spec.num_cultures, width, 7, 1, 3));
  net->push_back(instance_norm(width));
  net->push_back(nn::ReLU());
  for (int i = 0; i < 2; ++i) {
    net->push_back(conv(width, width * 2, 4, 2, 1));
    net->push_back(instance_norm(width * 2));
    net->push_back(nn::ReLU());
    width *= 2;
  }
  for (int64_t i = 0; i < spec.g_res_blocks; ++i) net->push_back(ResidualBlock(width));
  for (int i = 0; i < 2; ++i) {
    net->push_back(nn::ConvTranspose2d(
        nn::ConvTranspose2dOptions(width, width / 2, 4).stride(2).padding(1).bias(false)));
    net->push_back(instance_norm(width / 2));
    net->push_back(nn::ReLU());
    width /= 2;
  }
  net->push_back(conv(width, 3, 7, 1, 3));
  net->push_back(nn::Tanh());
  net_ = register_module("net", net);
}

torch::Tensor StarGanGeneratorImpl::forward(const torch::Tensor& x, const torch::Tensor& c) {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == 3, "StarGanGenerator: x must be [N,3,H,W], got ",
              x.sizes());
  TORCH_CHECK(x.size(2) % 4 == 0 && x.size(3) % 4 == 0,
              "StarGanGenerator: H and W must be multiples of 4, got ", x.sizes());
  TORCH_CHECK(c.dim() == 2 && c.size(0) == x.size(0) && c.size(1) == spec_.num_cultures,
              "StarGanGenerator: c must be [N,", spec_.num_cultures, "] for x ", x.sizes(),
              ", got ", c.sizes());
  auto planes =
      c.to(x.dtype()).view({c.size(0), c.size(1), 1, 1}).expand({-1, -1, x.size(2), x.size(3)});
  return net_->forward(torch::cat({x, planes}, 1));
}

StarGanDiscriminatorImpl::StarGanDiscriminatorImpl(const StarGanSpec& spec) : spec_(spec) {
  const int64_t layers = spec.resolved_d_layers();
  nn::Sequential trunk;
  int64_t width = spec.d_conv_dim, in = 3;
  for (int64_t i = 0; i < layers; ++i) {
    trunk->push_back(conv(in, width, 4, 2, 1, /*bias=*/true));
    trunk->push_back(nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.01)));
    in = width;
    width *= 2;
  }
  trunk_ = register_module("trunk", trunk);
  const int64_t final_size = spec.image_size >> layers;
  src_head_ = register_module("src_head", conv(in, 1, 3, 1, 1));
  cls_head_ = register_module("cls_head", conv(in, spec.num_cultures, final_size, 1, 0));
}

std::pair<torch::Tensor, torch::Tensor> StarGanDiscriminatorImpl::forward(const torch::Tensor& x) {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == 3 && x.size(2) == spec_.image_size &&
                  x.size(3) == spec_.image_size,
              "StarGanDiscriminator: x must be [N,3,", spec_.image_size, ",", spec_.image_size,
              "], got ", x.sizes());
  auto h = trunk_->forward(x);
  auto src = src_head_->forward(h);
  auto cls = cls_head_->forward(h).view({x.size(0), spec_.num_cultures});
  return {src, cls};
}

torch::Tensor one_hot(const torch::Tensor& labels, int64_t num_cultures) {
  return torch::one_hot(labels.to(torch::kLong), num_cultures).to(torch::kFloat);
}

}  // namespace culturegan::models
