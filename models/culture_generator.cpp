#include "models/culture_generator.h"

#include <stdexcept>

#include <fmt/format.h>

namespace culturegan::models {
namespace {

void check_weights(const torch::Tensor& x, const torch::Tensor& c, int64_t cultures) {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == 3, "translate: x must be [N,3,H,W], got ", x.sizes());
  TORCH_CHECK(c.dim() == 2 && c.size(0) == x.size(0) && c.size(1) == cultures,
              "translate: c must be [", x.size(0), ",", cultures, "], got ", c.sizes());
}

class StarGan final : public CultureGenerator {
 public:
  StarGan(const GeneratorBundle& b, const std::string& origin)
      : CultureGenerator(b), g_(make_generator(b, origin)) {}
  torch::Tensor translate(const torch::Tensor& x, const torch::Tensor& c, int64_t,
                          uint64_t) override {
    check_weights(x, c, bundle_.num_cultures());
    return g_->forward(x, c.to(x.device()));
  }
  void to(torch::Device d) override { g_->to(d); }

 private:
  StarGanGenerator g_;
};

class StarGanV2 final : public CultureGenerator {
 public:
  StarGanV2(const GeneratorBundle& b, const std::string& origin) : CultureGenerator(b) {
    spec_.num_cultures = b.num_cultures();
    spec_.image_size = b.image_size();
    spec_.g_conv_dim = b.spec_value("g_conv_dim");
    spec_.g_res_blocks = b.spec_value("g_res_blocks");
    spec_.d_conv_dim = b.spec_value("d_conv_dim");
    spec_.z_dim = b.spec_value("z_dim");
    spec_.style_dim = b.spec_value("style_dim");
    g_ = StarGanV2Generator(spec_);
    f_ = StarGanV2Mapping(spec_);
    e_ = StarGanV2Trunk(spec_, spec_.style_dim);
    load_weights(b, "G", *g_, origin);
    load_weights(b, "F", *f_, origin);
    load_weights(b, "E", *e_, origin);
  }
  bool has_style_encoder() const override { return true; }

  torch::Tensor translate(const torch::Tensor& x, const torch::Tensor& c, int64_t source,
                          uint64_t seed) override {
    check_weights(x, c, spec_.num_cultures);
    auto w = c.to(x.device()).clone();
    auto z = seeded_noise(x.size(0), spec_.z_dim, seed).to(x.device());
    auto styles = f_->all_cultures(z);  // [N,C,style]
    torch::Tensor own;
    if (source >= 0) {
      own = w.select(1, source).unsqueeze(1) * own_style(x, source);
      w.select(1, source).zero_();
    }
    auto s = (w.unsqueeze(2) * styles).sum(1);
    if (own.defined()) s = s + own;
    return g_->forward(x, s);
  }

  torch::Tensor translate_reference(const torch::Tensor& x, const torch::Tensor& reference,
                                    int64_t target, double strength, int64_t source) override {
    TORCH_CHECK(reference.dim() == 4 && reference.size(0) == 1 &&
                    reference.size(2) == spec_.image_size && reference.size(3) == spec_.image_size,
                "translate_reference: reference must be [1,3,", spec_.image_size, ",",
                spec_.image_size, "], got ", reference.sizes());
    auto y = torch::full({1}, target, torch::TensorOptions().dtype(torch::kLong));
    auto s = e_->forward(reference.to(x.device()), y.to(x.device())).expand({x.size(0), -1});
    if (source >= 0) {
      s = strength * s + (1.0 - strength) * own_style(x, source);
      return g_->forward(x, s);
    }
    return strength * g_->forward(x, s) + (1.0 - strength) * x;
  }

  void to(torch::Device d) override {
    g_->to(d);
    f_->to(d);
    e_->to(d);
  }

 private:
  // E_source(x): the style encoder needs S×S inputs. With a style image set (tiled inference),
  // E reads it, once per row of x.
  torch::Tensor own_style(const torch::Tensor& x, int64_t source) {
    if (style_image_.defined()) return own_style_of(style_image_, source).expand({x.size(0), -1});
    return own_style_of(x, source);
  }
  torch::Tensor own_style_of(const torch::Tensor& x, int64_t source) {
    namespace F = torch::nn::functional;
    auto xs = x;
    if (x.size(2) != spec_.image_size || x.size(3) != spec_.image_size)
      xs = F::interpolate(x, F::InterpolateFuncOptions()
                                 .size(std::vector<int64_t>{spec_.image_size, spec_.image_size})
                                 .mode(torch::kBilinear)
                                 .align_corners(false));
    auto y = torch::full({x.size(0)}, source, torch::TensorOptions().dtype(torch::kLong));
    return e_->forward(xs, y.to(x.device()));
  }

  StarGanV2Spec spec_;
  StarGanV2Generator g_{nullptr};
  StarGanV2Mapping f_{nullptr};
  StarGanV2Trunk e_{nullptr};
};

// spec.upsample of a cyclegan / dcgan bundle (absent in bundles written before it: 0).
int64_t bundle_upsample(const GeneratorBundle& b, const std::string& origin) {
  const int64_t mode = b.spec_value_or("upsample", kUpsampleTransposed);
  try {
    check_upsample_mode(mode, "spec");
  } catch (const std::invalid_argument& e) {
    throw BundleError(fmt::format("{}: {}", origin, e.what()));
  }
  return mode;
}

class CycleGan final : public CultureGenerator {
 public:
  CycleGan(const GeneratorBundle& b, const std::string& origin)
      : CultureGenerator(b),
        g_ab_(b.spec_value("g_conv_dim"), b.spec_value("g_res_blocks"), bundle_upsample(b, origin)),
        g_ba_(b.spec_value("g_conv_dim"), b.spec_value("g_res_blocks"),
              bundle_upsample(b, origin)) {
    load_weights(b, "G_AB", *g_ab_, origin);
    load_weights(b, "G_BA", *g_ba_, origin);
  }
  torch::Tensor translate(const torch::Tensor& x, const torch::Tensor& c, int64_t source,
                          uint64_t) override {
    check_weights(x, c, 2);
    auto w = c.to(x.device());
    auto out = torch::zeros_like(x);
    for (int64_t k = 0; k < 2; ++k) {
      auto wk = w.select(1, k).view({-1, 1, 1, 1});
      if (wk.abs().max().item<double>() == 0.0) continue;
      auto t = k == source ? x : (k == 1 ? g_ab_->forward(x) : g_ba_->forward(x));
      out = out + wk * t;
    }
    return out;
  }
  void to(torch::Device d) override {
    g_ab_->to(d);
    g_ba_->to(d);
  }

 private:
  ResnetGenerator g_ab_, g_ba_;
};

class Dcgan final : public CultureGenerator {
 public:
  Dcgan(const GeneratorBundle& b, const std::string& origin) : CultureGenerator(b) {
    spec_.num_cultures = b.num_cultures();
    spec_.image_size = b.image_size();
    spec_.z_dim = b.spec_value("z_dim");
    spec_.g_conv_dim = b.spec_value("g_conv_dim");
    spec_.upsample = bundle_upsample(b, origin);
    g_ = DcganGenerator(spec_);
    load_weights(b, "G", *g_, origin);
  }
  bool translates() const override { return false; }
  torch::Tensor translate(const torch::Tensor&, const torch::Tensor&, int64_t, uint64_t) override {
    throw std::invalid_argument(
        "the dcgan bundle generates images from noise (use --count); it does not translate "
        "input images");
  }
  torch::Tensor generate(const torch::Tensor& c, uint64_t seed) override {
    TORCH_CHECK(c.dim() == 2 && c.size(1) == spec_.num_cultures, "generate: c must be [N,",
                spec_.num_cultures, "], got ", c.sizes());
    auto device = g_->parameters().front().device();
    return g_->forward(seeded_noise(c.size(0), spec_.z_dim, seed).to(device), c.to(device));
  }
  void to(torch::Device d) override { g_->to(d); }

 private:
  DcganSpec spec_;
  DcganGenerator g_{nullptr};
};

}  // namespace

torch::Tensor CultureGenerator::translate_reference(const torch::Tensor&, const torch::Tensor&,
                                                    int64_t, double, int64_t) {
  throw std::invalid_argument(
      fmt::format("--reference: the {} bundle has no style encoder; reference-guided "
                  "translation needs a starganv2 bundle",
                  bundle_.model));
}

torch::Tensor CultureGenerator::generate(const torch::Tensor&, uint64_t) {
  throw std::invalid_argument(
      fmt::format("--count: the {} bundle translates input images (use --input); only dcgan "
                  "bundles generate from noise",
                  bundle_.model));
}

std::unique_ptr<CultureGenerator> make_culture_generator(const GeneratorBundle& bundle,
                                                         const std::string& origin) {
  torch::NoGradGuard no_grad;
  if (bundle.model == "stargan") return std::make_unique<StarGan>(bundle, origin);
  if (bundle.model == "starganv2") return std::make_unique<StarGanV2>(bundle, origin);
  if (bundle.model == "cyclegan") return std::make_unique<CycleGan>(bundle, origin);
  if (bundle.model == "dcgan") return std::make_unique<Dcgan>(bundle, origin);
  throw BundleError(fmt::format("{}: model: no generator for \"{}\"", origin, bundle.model));
}

torch::Tensor seeded_noise(int64_t n, int64_t z_dim, uint64_t seed) {
  auto z = torch::empty({n, z_dim}, torch::kFloat);
  for (int64_t i = 0; i < n; ++i) {
    auto gen = at::detail::createCPUGenerator(seed + static_cast<uint64_t>(i));
    z[i].copy_(at::randn({z_dim}, gen));
  }
  return z;
}

}  // namespace culturegan::models
