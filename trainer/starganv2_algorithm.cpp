#include "trainer/starganv2_algorithm.h"

#include <cmath>

#include "trainer/ema.h"
#include "trainer/regularizers.h"
#include "trainer/stargan_algorithm.h"
#include "trainer/zoo_algorithms.h"

namespace culturegan::trainer {
namespace nn = torch::nn;
namespace F = torch::nn::functional;

namespace {
constexpr int64_t kStyle = 64;
const double kInvSqrt2 = 1.0 / std::sqrt(2.0);

torch::Tensor lrelu(const torch::Tensor& x) {
  return F::leaky_relu(x, F::LeakyReLUFuncOptions().negative_slope(0.2));
}
torch::Tensor inorm(const torch::Tensor& x) {
  return F::instance_norm(x, F::InstanceNormFuncOptions().eps(1e-5));
}
nn::Conv2d conv(int64_t in, int64_t out, int64_t k, int64_t p) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, k).padding(p));
}
// Picks row i's culture y_i from per-culture outputs [N, C, ...].
torch::Tensor pick(const torch::Tensor& per_culture, const torch::Tensor& y) {
  auto idx = y.to(torch::kLong).view({-1, 1});
  if (per_culture.dim() == 2) return per_culture.gather(1, idx).squeeze(1);
  return per_culture.index(
      {torch::arange(y.size(0), y.options().dtype(torch::kLong)), y.to(torch::kLong)});
}

// Residual block with InstanceNorm, optional 2× average-pool downsampling.
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

// AdaIN(h, s) = (1 + γ(s))·IN(h) + β(s).
class AdainResBlkImpl : public nn::Module {
 public:
  AdainResBlkImpl(int64_t in, int64_t out, bool up) : up_(up) {
    fc1_ = register_module("fc1", nn::Linear(kStyle, 2 * in));
    fc2_ = register_module("fc2", nn::Linear(kStyle, 2 * out));
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

class GeneratorImpl : public nn::Module {
 public:
  GeneratorImpl(int64_t g, int64_t blocks) {
    from_rgb_ = register_module("from_rgb", conv(3, g, 3, 1));
    enc_ = register_module("enc", nn::ModuleList());
    dec_ = register_module("dec", nn::ModuleList());
    enc_->push_back(ResBlk(g, 2 * g, true, true));
    enc_->push_back(ResBlk(2 * g, 4 * g, true, true));
    for (int64_t i = 0; i < blocks; ++i) enc_->push_back(ResBlk(4 * g, 4 * g, false, true));
    for (int64_t i = 0; i < blocks; ++i) dec_->push_back(AdainResBlk(4 * g, 4 * g, false));
    dec_->push_back(AdainResBlk(4 * g, 2 * g, true));
    dec_->push_back(AdainResBlk(2 * g, g, true));
    to_rgb_ = register_module("to_rgb", conv(g, 3, 1, 0));
  }
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& s) {
    auto h = from_rgb_->forward(x);
    for (auto& m : *enc_) h = m->as<ResBlkImpl>()->forward(h);
    for (auto& m : *dec_) h = m->as<AdainResBlkImpl>()->forward(h, s);
    return torch::tanh(to_rgb_->forward(lrelu(inorm(h))));
  }

 private:
  nn::Conv2d from_rgb_{nullptr}, to_rgb_{nullptr};
  nn::ModuleList enc_{nullptr}, dec_{nullptr};
};
TORCH_MODULE(Generator);

class MappingImpl : public nn::Module {
 public:
  MappingImpl(int64_t latent, int64_t cultures) {
    shared_ = register_module("shared", nn::Sequential(nn::Linear(latent, 256), nn::ReLU(),
                                                       nn::Linear(256, 256), nn::ReLU()));
    heads_ = register_module("heads", nn::ModuleList());
    for (int64_t c = 0; c < cultures; ++c)
      heads_->push_back(nn::Sequential(nn::Linear(256, 256), nn::ReLU(), nn::Linear(256, kStyle)));
  }
  torch::Tensor forward(const torch::Tensor& z, const torch::Tensor& y) {
    auto h = shared_->forward(z);
    std::vector<torch::Tensor> outs;
    for (auto& m : *heads_) outs.push_back(m->as<nn::SequentialImpl>()->forward(h));
    return pick(torch::stack(outs, 1), y);
  }

 private:
  nn::Sequential shared_{nullptr};
  nn::ModuleList heads_{nullptr};
};
TORCH_MODULE(Mapping);

// Conv trunk to 4×4 then a 4×4 conv to one vector; `out` numbers per culture (style encoder:
// kStyle, discriminator: 1).
class TrunkImpl : public nn::Module {
 public:
  TrunkImpl(int64_t image_size, int64_t d, int64_t cultures, int64_t out)
      : out_(out), cultures_(cultures) {
    nn::Sequential trunk(conv(3, d, 3, 1));
    int64_t width = d;
    for (int64_t s = image_size; s > 4; s /= 2) {
      const int64_t next = std::min(width * 2, d * 8);
      trunk->push_back(ResBlk(width, next, true, false));
      width = next;
    }
    trunk_ = register_module("trunk", trunk);
    last_ = register_module("last", nn::Conv2d(nn::Conv2dOptions(width, width, 4)));
    heads_ = register_module("heads", nn::Linear(width, cultures * out));
  }
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& y) {
    auto h = lrelu(last_->forward(lrelu(trunk_->forward(x)))).flatten(1);
    auto per = heads_->forward(h).view({x.size(0), cultures_, out_});
    auto picked = pick(per, y);  // [N, out]
    return out_ == 1 ? picked.view({-1}) : picked;
  }

 private:
  int64_t out_, cultures_;
  nn::Sequential trunk_{nullptr};
  nn::Conv2d last_{nullptr};
  nn::Linear heads_{nullptr};
};
TORCH_MODULE(Trunk);
}  // namespace

struct StarGanV2Algorithm::Nets {
  Generator g{nullptr}, g_ema{nullptr};
  Mapping f{nullptr}, f_ema{nullptr};
  Trunk e{nullptr}, e_ema{nullptr}, d{nullptr};
};

StarGanV2Algorithm::~StarGanV2Algorithm() = default;

StarGanV2Algorithm::StarGanV2Algorithm(const Config& cfg, int64_t num_cultures,
                                       torch::Device device)
    : cfg_(cfg),
      num_cultures_(num_cultures),
      adv_(parse_adversarial_loss(cfg.loss.adversarial)),
      nets_(std::make_unique<Nets>()) {
  if (cfg.data.image_size < 16 || (cfg.data.image_size & (cfg.data.image_size - 1)) != 0)
    throw ConfigError("key 'data.image_size': model.kind = starganv2 needs a power of two >= 16");
  auto& n = *nets_;
  const int64_t s = cfg.data.image_size;
  n.g = Generator(cfg.model.g_conv_dim, cfg.model.g_res_blocks);
  n.g_ema = Generator(cfg.model.g_conv_dim, cfg.model.g_res_blocks);
  n.f = Mapping(cfg.model.z_dim, num_cultures);
  n.f_ema = Mapping(cfg.model.z_dim, num_cultures);
  n.e = Trunk(s, cfg.model.d_conv_dim, num_cultures, kStyle);
  n.e_ema = Trunk(s, cfg.model.d_conv_dim, num_cultures, kStyle);
  n.d = Trunk(s, cfg.model.d_conv_dim, num_cultures, 1);
  for (auto m : modules()) m.second->to(device);
  copy_weights(*n.g_ema, *n.g);
  copy_weights(*n.f_ema, *n.f);
  copy_weights(*n.e_ema, *n.e);
  for (nn::Module* m :
       {static_cast<nn::Module*>(n.g_ema.get()), static_cast<nn::Module*>(n.f_ema.get()),
        static_cast<nn::Module*>(n.e_ema.get())})
    for (auto& p : m->parameters()) p.set_requires_grad(false);
  std::vector<torch::Tensor> g_params;
  for (nn::Module* m : {static_cast<nn::Module*>(n.g.get()), static_cast<nn::Module*>(n.f.get()),
                        static_cast<nn::Module*>(n.e.get())})
    for (auto& p : m->parameters()) g_params.push_back(p);
  const auto betas = std::make_tuple(cfg.optim.beta1, cfg.optim.beta2);
  opt_g_ = std::make_unique<torch::optim::Adam>(
      g_params, torch::optim::AdamOptions(cfg.optim.g_lr).betas(betas));
  opt_d_ = std::make_unique<torch::optim::Adam>(
      n.d->parameters(), torch::optim::AdamOptions(cfg.optim.d_lr).betas(betas));
  phases_.push_back(Phase{"D_main",
                          1,
                          n.d->parameters(),
                          opt_d_.get(),
                          [this](const StepInput& in) { return d_main(in); },
                          {n.g.ptr(), n.f.ptr(), n.e.ptr()}});
  if (cfg.loss.r1_gamma > 0)
    phases_.push_back(Phase{"D_reg",
                            cfg.loss.r1_interval,
                            n.d->parameters(),
                            opt_d_.get(),
                            [this](const StepInput& in) { return d_reg(in); },
                            {n.g.ptr(), n.f.ptr(), n.e.ptr()}});
  phases_.push_back(Phase{"G_main",
                          cfg.optim.n_critic,
                          g_params,
                          opt_g_.get(),
                          [this](const StepInput& in) { return g_main(in); },
                          {n.d.ptr()}});
}

LossTerms StarGanV2Algorithm::d_main(const StepInput& in) {
  auto& n = *nets_;
  const auto y_trg = StarGanAlgorithm::target_labels(in, num_cultures_);
  torch::Tensor fake;
  {
    torch::NoGradGuard no_grad;
    fake = n.g->forward(in.images, n.f->forward(counter_noise(in, cfg_.model.z_dim, 30), y_trg));
  }
  const auto& policy = cfg_.loss.diffaugment;
  auto loss_real =
      d_loss_real(adv_, n.d->forward(diff_augment(in.images, policy, in, 10), in.labels));
  auto loss_fake = d_loss_fake(adv_, n.d->forward(diff_augment(fake, policy, in, 11), y_trg));
  LossTerms out;
  out.total = loss_real + loss_fake;
  out.terms = {{"adv_real", loss_real}, {"adv_fake", loss_fake}};
  return out;
}

LossTerms StarGanV2Algorithm::d_reg(const StepInput& in) {
  auto x = in.images.detach().requires_grad_(true);
  auto r1 =
      r1_penalty(nets_->d->forward(diff_augment(x, cfg_.loss.diffaugment, in, 13), in.labels), x);
  LossTerms out;
  out.total = 0.5 * cfg_.loss.r1_gamma * static_cast<double>(cfg_.loss.r1_interval) * r1;
  out.terms.emplace_back("r1", r1);
  return out;
}

LossTerms StarGanV2Algorithm::g_main(const StepInput& in) {
  auto& n = *nets_;
  const auto& x = in.images;
  const auto y_trg = StarGanAlgorithm::target_labels(in, num_cultures_);
  auto s1 = n.f->forward(counter_noise(in, cfg_.model.z_dim, 31), y_trg);
  auto s2 = n.f->forward(counter_noise(in, cfg_.model.z_dim, 32), y_trg);
  auto fake = n.g->forward(x, s1);
  auto adv =
      g_loss_adv(adv_, n.d->forward(diff_augment(fake, cfg_.loss.diffaugment, in, 14), y_trg));
  auto sty = (n.e->forward(fake, y_trg) - s1).abs().mean();
  auto fake2 = n.g->forward(x, s2).detach();
  auto ds = (fake - fake2).abs().mean();
  auto cyc = (n.g->forward(fake, n.e->forward(x, in.labels)) - x).abs().mean();
  LossTerms out;
  out.total =
      adv + cfg_.loss.lambda_cls * sty - cfg_.loss.lambda_id * ds + cfg_.loss.lambda_rec * cyc;
  out.terms = {{"adv", adv}, {"sty", sty}, {"ds", ds}, {"cyc", cyc}};
  return out;
}

void StarGanV2Algorithm::after_step(int64_t step) {
  if (step % cfg_.optim.n_critic != 0) return;
  auto& n = *nets_;
  const double beta = ema_beta_at(cfg_.train.ema_beta, step);
  ema_update(*n.g_ema, *n.g, beta);
  ema_update(*n.f_ema, *n.f, beta);
  ema_update(*n.e_ema, *n.e, beta);
}

std::vector<std::pair<std::string, std::shared_ptr<nn::Module>>> StarGanV2Algorithm::modules() {
  auto& n = *nets_;
  return {{"G", n.g.ptr()},        {"F", n.f.ptr()},         {"E", n.e.ptr()},
          {"D", n.d.ptr()},        {"G_ema", n.g_ema.ptr()}, {"F_ema", n.f_ema.ptr()},
          {"E_ema", n.e_ema.ptr()}};
}

std::vector<std::pair<std::string, torch::optim::Optimizer*>> StarGanV2Algorithm::optimizers() {
  return {{"optim_G", opt_g_.get()}, {"optim_D", opt_d_.get()}};
}

torch::Tensor StarGanV2Algorithm::translate(const torch::Tensor& x, int64_t target) {
  torch::NoGradGuard no_grad;
  StepInput fixed;
  fixed.images = x;
  fixed.seed = static_cast<uint64_t>(cfg_.train.seed);
  fixed.step = -1;
  auto y = torch::full({x.size(0)}, target,
                       torch::TensorOptions().dtype(torch::kLong).device(x.device()));
  return nets_->g_ema->forward(
      x, nets_->f_ema->forward(counter_noise(fixed, cfg_.model.z_dim, 99), y));
}

torch::Tensor StarGanV2Algorithm::translate_reference(const torch::Tensor& x,
                                                      const torch::Tensor& reference,
                                                      int64_t target) {
  torch::NoGradGuard no_grad;
  auto y = torch::full({reference.size(0)}, target,
                       torch::TensorOptions().dtype(torch::kLong).device(x.device()));
  return nets_->g_ema->forward(x, nets_->e_ema->forward(reference, y));
}

void StarGanV2Algorithm::export_bundle(const std::string& path, const std::vector<std::string>&) {
  torch::serialize::OutputArchive archive;
  for (auto& [name, m] : modules()) {
    if (name.find("_ema") == std::string::npos) continue;
    torch::serialize::OutputArchive sub;
    m->save(sub);
    archive.write(name, sub);
  }
  archive.save_to(path);
}

}  // namespace culturegan::trainer
