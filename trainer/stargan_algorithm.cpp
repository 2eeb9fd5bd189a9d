#include "trainer/stargan_algorithm.h"

#include "trainer/ema.h"
#include "trainer/models/bundle.h"
#include "trainer/regularizers.h"

namespace culturegan::trainer {

uint64_t counter_hash(uint64_t seed, uint64_t step, uint64_t index, uint64_t stream) {
  // SplitMix64 finaliser over a mixed key (Steele et al. 2014).
  uint64_t z = seed * 0x9E3779B97F4A7C15ull ^
               (step + 0x632BE59BD9B4E019ull) * 0xBF58476D1CE4E5B9ull ^
               (index + 0x8CB92BA72F3D8DD7ull) * 0x94D049BB133111EBull ^ stream;
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

StarGanAlgorithm::StarGanAlgorithm(const Config& cfg, int64_t num_cultures, torch::Device device)
    : cfg_(cfg), num_cultures_(num_cultures), adv_(parse_adversarial_loss(cfg.loss.adversarial)) {
  models::StarGanSpec spec;
  spec.num_cultures = num_cultures;
  spec.image_size = cfg.data.image_size;
  spec.g_conv_dim = cfg.model.g_conv_dim;
  spec.g_res_blocks = cfg.model.g_res_blocks;
  spec.d_conv_dim = cfg.model.d_conv_dim;
  spec.d_layers = cfg.model.d_layers;
  g_ = models::StarGanGenerator(spec);
  d_ = models::StarGanDiscriminator(spec);
  g_ema_ = models::StarGanGenerator(spec);
  g_->to(device);
  d_->to(device);
  g_ema_->to(device);
  copy_weights(*g_ema_, *g_);
  g_ema_->eval();
  for (auto& p : g_ema_->parameters()) p.set_requires_grad(false);

  const auto betas = std::make_tuple(cfg.optim.beta1, cfg.optim.beta2);
  opt_g_ = std::make_unique<torch::optim::Adam>(
      g_->parameters(), torch::optim::AdamOptions(cfg.optim.g_lr).betas(betas));
  opt_d_ = std::make_unique<torch::optim::Adam>(
      d_->parameters(), torch::optim::AdamOptions(cfg.optim.d_lr).betas(betas));

  Phase d_phase{"D_main",
                1,
                d_->parameters(),
                opt_d_.get(),
                [this](const StepInput& in) { return d_main(in); },
                {g_.ptr()}};
  Phase g_phase{"G_main",
                cfg.optim.n_critic,
                g_->parameters(),
                opt_g_.get(),
                [this](const StepInput& in) { return g_main(in); },
                {d_.ptr()}};
  phases_ = {d_phase, g_phase};
  if (cfg.loss.r1_gamma > 0)
    phases_.insert(phases_.begin() + 1, Phase{"D_reg",
                                              cfg.loss.r1_interval,
                                              d_->parameters(),
                                              opt_d_.get(),
                                              [this](const StepInput& in) { return d_reg(in); },
                                              {g_.ptr()}});
}

torch::Tensor StarGanAlgorithm::target_labels(const StepInput& in, int64_t num_cultures) {
  const int64_t b = in.labels.size(0);
  auto labels = in.labels.to(torch::kCPU, torch::kLong).contiguous();
  auto out = torch::empty({b}, torch::kLong);
  const int64_t* src = labels.data_ptr<int64_t>();
  int64_t* dst = out.data_ptr<int64_t>();
  for (int64_t i = 0; i < b; ++i) {
    const uint64_t h = counter_hash(in.seed, static_cast<uint64_t>(in.step),
                                    static_cast<uint64_t>(in.global_offset + i), /*stream=*/1);
    if (num_cultures <= 1) {
      dst[i] = 0;
    } else {
      const int64_t shift = 1 + static_cast<int64_t>(h % static_cast<uint64_t>(num_cultures - 1));
      dst[i] = (src[i] + shift) % num_cultures;
    }
  }
  return out.to(in.labels.device());
}

LossTerms StarGanAlgorithm::d_main(const StepInput& in) {
  const auto c_trg = target_labels(in, num_cultures_);
  auto real_aug = diff_augment(in.images, cfg_.loss.diffaugment, in, 10);
  auto [src_real, cls_real] = d_->forward(real_aug);
  auto loss_real = d_loss_real(adv_, src_real);
  auto loss_cls = culture_classification_loss(cls_real, in.labels);
  torch::Tensor x_fake;
  {
    torch::NoGradGuard no_grad;
    x_fake = g_->forward(in.images, models::one_hot(c_trg, num_cultures_));
  }
  auto fake_aug = diff_augment(x_fake, cfg_.loss.diffaugment, in, 11);
  auto loss_fake = d_loss_fake(adv_, d_->forward(fake_aug).first);
  auto total = loss_real + loss_fake + cfg_.loss.lambda_cls * loss_cls;
  LossTerms out{total, {{"adv_real", loss_real}, {"adv_fake", loss_fake}, {"cls", loss_cls}}};
  if (adv_ == AdversarialLoss::kWgan && cfg_.loss.gp_lambda > 0) {
    auto gp = gradient_penalty([this](const torch::Tensor& x) { return d_->forward(x).first; },
                               real_aug, fake_aug, batch_uniform(in, 12));
    out.total = out.total + cfg_.loss.gp_lambda * gp;
    out.terms.emplace_back("gp", gp);
  }
  return out;
}

LossTerms StarGanAlgorithm::d_reg(const StepInput& in) {
  auto x = in.images.detach().requires_grad_(true);
  auto src = d_->forward(diff_augment(x, cfg_.loss.diffaugment, in, 13)).first;
  auto r1 = r1_penalty(src, x);
  LossTerms out;
  out.total = 0.5 * cfg_.loss.r1_gamma * static_cast<double>(cfg_.loss.r1_interval) * r1;
  out.terms.emplace_back("r1", r1);
  return out;
}

LossTerms StarGanAlgorithm::g_main(const StepInput& in) {
  const auto c_trg = target_labels(in, num_cultures_);
  auto x_fake = g_->forward(in.images, models::one_hot(c_trg, num_cultures_));
  auto [src_fake, cls_fake] = d_->forward(diff_augment(x_fake, cfg_.loss.diffaugment, in, 14));
  auto loss_adv = g_loss_adv(adv_, src_fake);
  auto loss_cls = culture_classification_loss(cls_fake, c_trg);
  auto x_rec = g_->forward(x_fake, models::one_hot(in.labels, num_cultures_));
  auto loss_rec = reconstruction_loss(in.images, x_rec);
  auto total = loss_adv + cfg_.loss.lambda_cls * loss_cls + cfg_.loss.lambda_rec * loss_rec;
  return {total, {{"adv", loss_adv}, {"cls", loss_cls}, {"rec", loss_rec}}};
}

void StarGanAlgorithm::after_step(int64_t step) {
  if (step % cfg_.optim.n_critic == 0)
    ema_update(*g_ema_, *g_, ema_beta_at(cfg_.train.ema_beta, step));
}

std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>>
StarGanAlgorithm::modules() {
  return {{"G", g_.ptr()}, {"D", d_.ptr()}, {"G_ema", g_ema_.ptr()}};
}

std::vector<std::pair<std::string, torch::optim::Optimizer*>> StarGanAlgorithm::optimizers() {
  return {{"optim_G", opt_g_.get()}, {"optim_D", opt_d_.get()}};
}

torch::Tensor StarGanAlgorithm::translate(const torch::Tensor& x, int64_t target) {
  torch::NoGradGuard no_grad;
  auto labels = torch::full({x.size(0)}, target,
                            torch::TensorOptions().dtype(torch::kLong).device(x.device()));
  return g_ema_->forward(x, models::one_hot(labels, num_cultures_));
}

void StarGanAlgorithm::export_bundle(const std::string& path,
                                     const std::vector<std::string>& cultures) {
  models::save_bundle(path, models::make_bundle(g_ema_, cultures));
}

}  // namespace culturegan::trainer
