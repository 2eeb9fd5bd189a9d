#include "models/stargan.h"

#include "models/norm_stats.h"

#include <stdexcept>

namespace culturegan::models {
namespace nn = torch::nn;

namespace {
// HookedInstanceNorm2d: nn::InstanceNorm2d plus the inference statistics mode (norm_stats.h).
HookedInstanceNorm2d instance_norm(int64_t c) {
  return HookedInstanceNorm2d(nn::InstanceNorm2dOptions(c).affine(true).track_running_stats(false));
}
nn::Conv2d conv(int64_t in, int64_t out, int64_t k, int64_t s, int64_t p, bool bias = false) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, k).stride(s).padding(p).bias(bias));
}
// G's ×2 upsampling layer (in → out channels), bias-free as the reference.
void push_up(nn::Sequential& seq, int64_t in, int64_t out, int64_t upsample) {
  if (upsample == kUpsampleTransposed)
    seq->push_back(nn::ConvTranspose2d(
        nn::ConvTranspose2dOptions(in, out, 4).stride(2).padding(1).bias(false)));
  else
    seq->push_back(ResizeConv2d(in, out, upsample, /*bias=*/false, /*reflect=*/false));
}
// Stem and the two down blocks: 9 layers; the ReLUs are at 2, 5, 8.
void push_encoder(nn::Sequential& seq, int64_t in, int64_t g) {
  seq->push_back(conv(in, g, 7, 1, 3));
  seq->push_back(instance_norm(g));
  seq->push_back(nn::ReLU());
  for (int i = 0; i < 2; ++i) {
    seq->push_back(conv(g, g * 2, 4, 2, 1));
    seq->push_back(instance_norm(g * 2));
    seq->push_back(nn::ReLU());
    g *= 2;
  }
}
constexpr size_t kEncoderLayers = 9;
bool is_encode_layer(size_t i) { return i == 2 || i == 5 || i == 8; }
}  // namespace

int64_t conditioning_from_name(const std::string& name) {
  if (name == "planes") return kConditioningPlanes;
  if (name == "cin") return kConditioningCin;
  throw std::invalid_argument("conditioning: expected \"planes\" or \"cin\", found \"" + name +
                              "\"");
}

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

void StarGanSpec::validate() const {
  if (conditioning != kConditioningPlanes && conditioning != kConditioningCin)
    throw std::invalid_argument(
        "StarGanSpec: conditioning: expected 0 (planes) or 1 (cin), found " +
        std::to_string(conditioning));
  check_upsample_mode(upsample, "StarGanSpec");
  if (d_per_culture != 0 && d_per_culture != 1)
    throw std::invalid_argument("StarGanSpec: d_per_culture: expected 0 or 1, found " +
                                std::to_string(d_per_culture));
}

ResidualBlockImpl::ResidualBlockImpl(int64_t channels) {
  body_ = register_module(
      "body", nn::Sequential(conv(channels, channels, 3, 1, 1), instance_norm(channels), nn::ReLU(),
                             conv(channels, channels, 3, 1, 1), instance_norm(channels)));
}

torch::Tensor ResidualBlockImpl::forward(const torch::Tensor& x) { return x + body_->forward(x); }

CondResidualBlockImpl::CondResidualBlockImpl(int64_t channels, int64_t embed_dim) {
  conv1_ = register_module("conv1", conv(channels, channels, 3, 1, 1));
  norm1_ = register_module("norm1", ConditionalInstanceNorm2d(channels, embed_dim));
  conv2_ = register_module("conv2", conv(channels, channels, 3, 1, 1));
  norm2_ = register_module("norm2", ConditionalInstanceNorm2d(channels, embed_dim));
}

torch::Tensor CondResidualBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& e) {
  auto h = torch::relu(norm1_->forward(conv1_->forward(x), e));
  return x + norm2_->forward(conv2_->forward(h), e);
}

CondUpBlockImpl::CondUpBlockImpl(int64_t in, int64_t out, int64_t embed_dim, int64_t upsample) {
  nn::Sequential up;
  push_up(up, in, out, upsample);
  up_ = register_module("up", up);
  norm_ = register_module("norm", ConditionalInstanceNorm2d(out, embed_dim));
}

torch::Tensor CondUpBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& e) {
  return torch::relu(norm_->forward(up_->forward(x), e));
}

StarGanGeneratorImpl::StarGanGeneratorImpl(const StarGanSpec& spec) : spec_(spec) {
  spec.validate();
  const int64_t g = spec.g_conv_dim;
  if (spec.conditioning == kConditioningPlanes) {
    nn::Sequential net;
    push_encoder(net, 3 + spec.num_cultures, g);
    int64_t width = 4 * g;
    for (int64_t i = 0; i < spec.g_res_blocks; ++i) net->push_back(ResidualBlock(width));
    for (int i = 0; i < 2; ++i) {
      push_up(net, width, width / 2, spec.upsample);
      net->push_back(instance_norm(width / 2));
      net->push_back(nn::ReLU());
      width /= 2;
    }
    net->push_back(conv(width, 3, 7, 1, 3));
    net->push_back(nn::Tanh());
    net_ = register_module("net", net);
    return;
  }
  embed_ = register_parameter("embed", torch::randn({spec.num_cultures, kCultureEmbeddingDim}));
  nn::Sequential encoder;
  push_encoder(encoder, 3, g);
  encoder_ = register_module("encoder", encoder);
  int64_t width = 4 * g;
  nn::ModuleList blocks, decoder;
  for (int64_t i = 0; i < spec.g_res_blocks; ++i)
    blocks->push_back(CondResidualBlock(width, kCultureEmbeddingDim));
  for (int i = 0; i < 2; ++i, width /= 2)
    decoder->push_back(CondUpBlock(width, width / 2, kCultureEmbeddingDim, spec.upsample));
  blocks_ = register_module("blocks", blocks);
  decoder_ = register_module("decoder", decoder);
  to_rgb_ = register_module("to_rgb", conv(width, 3, 7, 1, 3));
}

std::vector<CultureAxis> StarGanGeneratorImpl::culture_axes() const {
  if (spec_.conditioning == kConditioningPlanes) return {{"net.0.weight", 1, 3}};
  return {{"embed", 0, 0}};
}

void StarGanGeneratorImpl::check_input(const torch::Tensor& x) const {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == 3, "StarGanGenerator: x must be [N,3,H,W], got ",
              x.sizes());
  TORCH_CHECK(x.size(2) % 4 == 0 && x.size(3) % 4 == 0,
              "StarGanGenerator: H and W must be multiples of 4, got ", x.sizes());
}

void StarGanGeneratorImpl::check_input(const torch::Tensor& x, const torch::Tensor& c) const {
  check_input(x);
  TORCH_CHECK(c.dim() == 2 && c.size(0) == x.size(0) && c.size(1) == spec_.num_cultures,
              "StarGanGenerator: c must be [N,", spec_.num_cultures, "] for x ", x.sizes(),
              ", got ", c.sizes());
}

torch::Tensor StarGanGeneratorImpl::embed(const torch::Tensor& c) {
  TORCH_CHECK(spec_.conditioning == kConditioningCin,
              "StarGanGenerator::embed: needs conditioning = 1 (cin), the spec has ",
              spec_.conditioning);
  TORCH_CHECK(c.dim() == 2 && c.size(1) == spec_.num_cultures, "StarGanGenerator: c must be [N,",
              spec_.num_cultures, "], got ", c.sizes());
  return torch::matmul(c.to(embed_.dtype()), embed_);
}

torch::Tensor StarGanGeneratorImpl::run(const torch::Tensor& x, const torch::Tensor& c,
                                        const torch::Tensor& e,
                                        std::vector<torch::Tensor>* features, bool full) {
  const int64_t mid = (spec_.g_res_blocks + 1) / 2;  // 1-based index of the middle block
  if (features) features->push_back(x);
  if (spec_.conditioning == kConditioningPlanes) {
    auto planes =
        c.to(x.dtype()).view({c.size(0), c.size(1), 1, 1}).expand({-1, -1, x.size(2), x.size(3)});
    auto h = torch::cat({x, planes}, 1);
    if (!features) return net_->forward(h);
    const size_t last = mid > 0 ? kEncoderLayers - 1 + mid : kEncoderLayers - 1;
    const size_t end = full ? net_->size() : last + 1;
    for (size_t i = 0; i < end; ++i) {
      h = (net_->begin() + static_cast<std::ptrdiff_t>(i))->forward(h);
      if (i <= last && (is_encode_layer(i) || i == last)) features->push_back(h);
    }
    return h;
  }
  TORCH_CHECK(e.dim() == 2 && e.size(0) == x.size(0) && e.size(1) == kCultureEmbeddingDim,
              "StarGanGenerator: e must be [", x.size(0), ",", kCultureEmbeddingDim, "], got ",
              e.sizes());
  auto h = x;
  for (size_t i = 0; i < kEncoderLayers; ++i) {
    h = (encoder_->begin() + static_cast<std::ptrdiff_t>(i))->forward(h);
    if (features && is_encode_layer(i)) features->push_back(h);
  }
  for (int64_t i = 0; i < spec_.g_res_blocks; ++i) {
    h = blocks_->ptr<CondResidualBlockImpl>(i)->forward(h, e);
    if (features && i + 1 == mid) {
      features->push_back(h);
      if (!full) return h;
    }
  }
  if (features && !full) return h;
  for (size_t i = 0; i < decoder_->size(); ++i)
    h = decoder_->ptr<CondUpBlockImpl>(i)->forward(h, e);
  return torch::tanh(to_rgb_->forward(h));
}

torch::Tensor StarGanGeneratorImpl::forward(const torch::Tensor& x, const torch::Tensor& c) {
  check_input(x, c);
  if (spec_.conditioning == kConditioningPlanes) return run(x, c, {}, nullptr, true);
  return run(x, {}, embed(c), nullptr, true);
}

torch::Tensor StarGanGeneratorImpl::forward_embedded(const torch::Tensor& x,
                                                     const torch::Tensor& e) {
  TORCH_CHECK(spec_.conditioning == kConditioningCin,
              "StarGanGenerator::forward_embedded: needs conditioning = 1 (cin), the spec has ",
              spec_.conditioning);
  check_input(x);
  return run(x, {}, e.to(x.dtype()), nullptr, true);
}

std::vector<torch::Tensor> StarGanGeneratorImpl::encode(const torch::Tensor& x,
                                                        const torch::Tensor& c) {
  check_input(x, c);
  std::vector<torch::Tensor> features;
  if (spec_.conditioning == kConditioningPlanes)
    run(x, c, {}, &features, false);
  else
    run(x, {}, embed(c), &features, false);
  return features;
}

std::pair<torch::Tensor, std::vector<torch::Tensor>> StarGanGeneratorImpl::forward_with_features(
    const torch::Tensor& x, const torch::Tensor& c) {
  check_input(x, c);
  std::vector<torch::Tensor> features;
  auto y = spec_.conditioning == kConditioningPlanes ? run(x, c, {}, &features, true)
                                                     : run(x, {}, embed(c), &features, true);
  return {y, features};
}

std::vector<int64_t> StarGanGeneratorImpl::encode_channels() const {
  const int64_t g = spec_.g_conv_dim;
  std::vector<int64_t> out = {3, g, 2 * g, 4 * g};
  if (spec_.g_res_blocks > 0) out.push_back(4 * g);
  return out;
}

StarGanDiscriminatorImpl::StarGanDiscriminatorImpl(const StarGanSpec& spec) : spec_(spec) {
  spec.validate();
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
  src_head_ =
      register_module("src_head", conv(in, spec.d_per_culture ? spec.num_cultures : 1, 3, 1, 1));
  cls_head_ = register_module("cls_head", conv(in, spec.num_cultures, final_size, 1, 0));
}

std::vector<CultureAxis> StarGanDiscriminatorImpl::culture_axes() const {
  std::vector<CultureAxis> out{{"cls_head.weight", 0, 0}};
  if (spec_.d_per_culture) out.push_back({"src_head.weight", 0, 0});
  return out;
}

void StarGanDiscriminatorImpl::check_input(const torch::Tensor& x) const {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == 3 && x.size(2) == spec_.image_size &&
                  x.size(3) == spec_.image_size,
              "StarGanDiscriminator: x must be [N,3,", spec_.image_size, ",", spec_.image_size,
              "], got ", x.sizes());
}

std::pair<torch::Tensor, torch::Tensor> StarGanDiscriminatorImpl::forward(const torch::Tensor& x) {
  check_input(x);
  auto h = trunk_->forward(x);
  auto src = src_head_->forward(h);
  auto cls = cls_head_->forward(h).view({x.size(0), spec_.num_cultures});
  return {src, cls};
}

std::pair<torch::Tensor, torch::Tensor> StarGanDiscriminatorImpl::forward_culture(
    const torch::Tensor& x, const torch::Tensor& labels) {
  check_input(x);
  TORCH_CHECK(
      labels.dim() == 1 && labels.size(0) == x.size(0) && labels.scalar_type() == torch::kLong,
      "StarGanDiscriminator::forward_culture: labels must be [", x.size(0), "] int64, got ",
      labels.sizes(), " ", labels.scalar_type());
  if (labels.device().is_cpu() && labels.numel() > 0)  // no device sync on GPUs
    TORCH_CHECK(
        labels.min().item<int64_t>() >= 0 && labels.max().item<int64_t>() < spec_.num_cultures,
        "StarGanDiscriminator::forward_culture: labels must be in [0,", spec_.num_cultures, ")");
  auto [src, cls] = forward(x);
  if (!spec_.d_per_culture) return {src, cls};
  auto index =
      labels.to(src.device()).view({-1, 1, 1, 1}).expand({-1, 1, src.size(2), src.size(3)});
  return {src.gather(1, index), cls};
}

std::vector<torch::Tensor> StarGanDiscriminatorImpl::features(const torch::Tensor& x) {
  check_input(x);
  std::vector<torch::Tensor> out;
  auto h = x;
  size_t i = 0;
  for (auto& layer : *trunk_) {
    h = layer.forward(h);
    if (i++ % 2 == 1) out.push_back(h);  // conv, LeakyReLU, conv, LeakyReLU, ...
  }
  return out;
}

torch::Tensor one_hot(const torch::Tensor& labels, int64_t num_cultures) {
  return torch::one_hot(labels.to(torch::kLong), num_cultures).to(torch::kFloat);
}

}  // namespace culturegan::models
