#include "models/zoo.h"

#include "models/norm_stats.h"

#include <stdexcept>
#include <string>

namespace culturegan::models {
namespace nn = torch::nn;
namespace F = torch::nn::functional;

namespace {
int64_t log2_exact(int64_t v, const char* what) {
  int64_t l = 0;
  while ((int64_t{1} << l) < v) ++l;
  if ((int64_t{1} << l) != v || v < 8)
    throw std::invalid_argument(
        std::string(what) + ": image_size must be a power of two >= 8, found " + std::to_string(v));
  return l;
}
nn::BatchNorm2d batch_norm(int64_t c) {
  return nn::BatchNorm2d(nn::BatchNorm2dOptions(c).track_running_stats(false));
}
// HookedInstanceNorm2d: nn::InstanceNorm2d plus the inference statistics mode (norm_stats.h).
HookedInstanceNorm2d instance_norm_no_affine(int64_t c) {
  return HookedInstanceNorm2d(
      nn::InstanceNorm2dOptions(c).affine(false).track_running_stats(false));
}
nn::Conv2d conv_with_bias(int64_t in, int64_t out, int64_t k, int64_t s, int64_t p) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, k).stride(s).padding(p).bias(true));
}
nn::LeakyReLU lrelu() { return nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)); }
}  // namespace

SNConv2dImpl::SNConv2dImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding,
                           bool bias_on, bool spectral_norm)
    : stride_(stride), padding_(padding), sn_(spectral_norm) {
  weight = register_parameter("weight", torch::empty({out, in, kernel, kernel}));
  nn::init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias_on) bias = register_parameter("bias", torch::zeros({out}));
  u = register_buffer("u", F::normalize(torch::randn({out}), F::NormalizeFuncOptions().dim(0)));
}

torch::Tensor SNConv2dImpl::effective_weight() {
  if (!sn_) return weight;
  auto wm = weight.flatten(1);
  const auto opts = F::NormalizeFuncOptions().dim(0).eps(1e-12);
  torch::Tensor v;
  {
    torch::NoGradGuard no_grad;
    v = F::normalize(torch::mv(wm.t(), u), opts);
    if (is_training()) {
      u.copy_(F::normalize(torch::mv(wm, v), opts));
      v = F::normalize(torch::mv(wm.t(), u), opts);
    }
  }
  // A copy of u: the buffer is updated in place by later forwards of the same graph (D on
  // real, on fake, on interpolates), and autograd must see the u this forward used.
  auto sigma = torch::dot(u.clone(), torch::mv(wm, v));
  return weight / sigma;
}

torch::Tensor SNConv2dImpl::forward(const torch::Tensor& x) {
  return F::conv2d(x, effective_weight(),
                   F::Conv2dFuncOptions().bias(bias).stride(stride_).padding(padding_));
}

DcganGeneratorImpl::DcganGeneratorImpl(const DcganSpec& spec) : spec_(spec) {
  const int64_t layers = log2_exact(spec.image_size, "DcganGenerator") - 2;  // L = log2(S/4)
  check_upsample_mode(spec.upsample, "DcganSpec");
  auto up = [&](nn::Sequential& seq, int64_t in, int64_t out) {
    if (spec.upsample == kUpsampleTransposed)
      seq->push_back(nn::ConvTranspose2d(
          nn::ConvTranspose2dOptions(in, out, 4).stride(2).padding(1).bias(false)));
    else
      seq->push_back(ResizeConv2d(in, out, spec.upsample, /*bias=*/false, /*reflect=*/false));
  };
  int64_t width = spec.g_conv_dim << (layers - 1);
  nn::Sequential net;
  net->push_back(
      nn::ConvTranspose2d(nn::ConvTranspose2dOptions(spec.z_dim + spec.num_cultures, width, 4)
                              .stride(1)
                              .padding(0)
                              .bias(false)));
  net->push_back(batch_norm(width));
  net->push_back(nn::ReLU());
  for (int64_t i = 1; i < layers; ++i) {
    up(net, width, width / 2);
    net->push_back(batch_norm(width / 2));
    net->push_back(nn::ReLU());
    width /= 2;
  }
  up(net, width, 3);
  net->push_back(nn::Tanh());
  net_ = register_module("net", net);
}

torch::Tensor DcganGeneratorImpl::forward(const torch::Tensor& z, const torch::Tensor& c) {
  TORCH_CHECK(z.dim() == 2 && z.size(1) == spec_.z_dim, "DcganGenerator: z must be [N,",
              spec_.z_dim, "], got ", z.sizes());
  TORCH_CHECK(c.dim() == 2 && c.size(0) == z.size(0) && c.size(1) == spec_.num_cultures,
              "DcganGenerator: c must be [N,", spec_.num_cultures, "], got ", c.sizes());
  auto in = torch::cat({z, c.to(z.dtype())}, 1);
  return net_->forward(in.view({in.size(0), in.size(1), 1, 1}));
}

DcganDiscriminatorImpl::DcganDiscriminatorImpl(const DcganSpec& spec) : spec_(spec) {
  const int64_t layers = log2_exact(spec.image_size, "DcganDiscriminator") - 2;
  nn::Sequential trunk;
  int64_t in = 3, width = spec.d_conv_dim;
  for (int64_t i = 0; i < layers; ++i) {
    trunk->push_back(
        SNConv2d(in, width, 4, 2, 1, /*bias=*/i == 0 || spec.spectral_norm, spec.spectral_norm));
    if (i > 0 && !spec.spectral_norm) trunk->push_back(batch_norm(width));
    trunk->push_back(lrelu());
    in = width;
    width *= 2;
  }
  trunk_ = register_module("trunk", trunk);
  psi_ = register_module("psi", nn::Linear(in, 1));
  embed_ =
      register_module("embed", nn::Linear(nn::LinearOptions(spec.num_cultures, in).bias(false)));
}

torch::Tensor DcganDiscriminatorImpl::forward(const torch::Tensor& x, const torch::Tensor& c) {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == 3 && x.size(2) == spec_.image_size &&
                  x.size(3) == spec_.image_size,
              "DcganDiscriminator: x must be [N,3,", spec_.image_size, ",", spec_.image_size,
              "], got ", x.sizes());
  auto phi = trunk_->forward(x).sum({2, 3});
  return psi_->forward(phi).view({-1}) + (embed_->forward(c.to(x.dtype())) * phi).sum(1);
}

void init_normal_002(nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& m : module.modules(/*include_self=*/true)) {
    if (auto* bn = m->as<nn::BatchNorm2d>()) {
      if (bn->weight.defined()) bn->weight.normal_(1.0, 0.02);
      if (bn->bias.defined()) bn->bias.zero_();
      continue;
    }
    for (auto& p : m->named_parameters(/*recurse=*/false)) {
      if (p.key() == "weight") p.value().normal_(0.0, 0.02);
      if (p.key() == "bias") p.value().zero_();
    }
  }
}

namespace {
class ResnetBlockImpl : public nn::Module {
 public:
  explicit ResnetBlockImpl(int64_t c) {
    body_ = register_module(
        "body", nn::Sequential(nn::ReflectionPad2d(1), conv_with_bias(c, c, 3, 1, 0),
                               instance_norm_no_affine(c), nn::ReLU(), nn::ReflectionPad2d(1),
                               conv_with_bias(c, c, 3, 1, 0), instance_norm_no_affine(c)));
  }
  torch::Tensor forward(const torch::Tensor& x) { return x + body_->forward(x); }

 private:
  nn::Sequential body_{nullptr};
};
TORCH_MODULE(ResnetBlock);
}  // namespace

ResnetGeneratorImpl::ResnetGeneratorImpl(int64_t g, int64_t res_blocks, int64_t upsample)
    : upsample_(upsample) {
  check_upsample_mode(upsample, "ResnetGenerator");
  nn::Sequential net(nn::ReflectionPad2d(3), conv_with_bias(3, g, 7, 1, 0),
                     instance_norm_no_affine(g), nn::ReLU());
  int64_t width = g;
  for (int i = 0; i < 2; ++i) {
    net->push_back(conv_with_bias(width, width * 2, 3, 2, 1));
    net->push_back(instance_norm_no_affine(width * 2));
    net->push_back(nn::ReLU());
    width *= 2;
  }
  for (int64_t i = 0; i < res_blocks; ++i) net->push_back(ResnetBlock(width));
  for (int i = 0; i < 2; ++i) {
    if (upsample == kUpsampleTransposed)
      net->push_back(nn::ConvTranspose2d(nn::ConvTranspose2dOptions(width, width / 2, 3)
                                             .stride(2)
                                             .padding(1)
                                             .output_padding(1)
                                             .bias(true)));
    else
      net->push_back(ResizeConv2d(width, width / 2, upsample, /*bias=*/true, /*reflect=*/true));
    net->push_back(instance_norm_no_affine(width / 2));
    net->push_back(nn::ReLU());
    width /= 2;
  }
  net->push_back(nn::ReflectionPad2d(3));
  net->push_back(conv_with_bias(width, 3, 7, 1, 0));
  net->push_back(nn::Tanh());
  net_ = register_module("net", net);
}

torch::Tensor ResnetGeneratorImpl::forward(const torch::Tensor& x) {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == 3 && x.size(2) % 4 == 0 && x.size(3) % 4 == 0,
              "ResnetGenerator: x must be [N,3,H,W] with H, W multiples of 4, got ", x.sizes());
  return net_->forward(x);
}

PatchDiscriminatorImpl::PatchDiscriminatorImpl(int64_t d, bool sn) {
  nn::Sequential net(SNConv2d(3, d, 4, 2, 1, true, sn), lrelu());
  int64_t width = d;
  for (int i = 1; i <= 3; ++i) {
    const int64_t next = d * std::min<int64_t>(int64_t{1} << i, 8);
    net->push_back(SNConv2d(width, next, 4, i < 3 ? 2 : 1, 1, true, sn));
    net->push_back(instance_norm_no_affine(next));
    net->push_back(lrelu());
    width = next;
  }
  net->push_back(SNConv2d(width, 1, 4, 1, 1, true, sn));
  net_ = register_module("net", net);
}

torch::Tensor PatchDiscriminatorImpl::forward(const torch::Tensor& x) { return net_->forward(x); }

}  // namespace culturegan::models
