#include "trainer/zoo_algorithms.h"

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>

#include "trainer/ema.h"
#include "trainer/models/bundle.h"

namespace culturegan::trainer {
namespace {

torch::Tensor culture_vectors(const torch::Tensor& labels, int64_t n) {
  return torch::one_hot(labels.to(torch::kLong), n).to(torch::kFloat);
}

LossTerms single_term(const torch::Tensor& total, const std::string& name,
                      const torch::Tensor& value) {
  LossTerms out;
  out.total = total;
  out.terms.emplace_back(name, value);
  return out;
}

std::unique_ptr<torch::optim::Adam> adam(const std::vector<torch::Tensor>& params, double lr,
                                         const Config& cfg) {
  return std::make_unique<torch::optim::Adam>(
      params,
      torch::optim::AdamOptions(lr).betas(std::make_tuple(cfg.optim.beta1, cfg.optim.beta2)));
}

std::vector<torch::Tensor> params_of(
    std::initializer_list<std::shared_ptr<torch::nn::Module>> modules) {
  std::vector<torch::Tensor> out;
  for (const auto& m : modules)
    for (auto& p : m->parameters()) out.push_back(p);
  return out;
}

// Per-sample adversarial losses [B]: the library losses are means, so apply them per row.
torch::Tensor per_sample(const torch::Tensor& logits,
                         const std::function<torch::Tensor(const torch::Tensor&)>& f) {
  std::vector<torch::Tensor> rows;
  for (int64_t i = 0; i < logits.size(0); ++i) rows.push_back(f(logits[i]));
  return torch::stack(rows);
}

torch::Tensor masked_mean(const torch::Tensor& values, const torch::Tensor& mask) {
  return (values * mask).sum() / mask.sum().clamp_min(1.0);
}

torch::Tensor l1_per_sample(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().flatten(1).mean(1);
}

}  // namespace

torch::Tensor counter_noise(const StepInput& in, int64_t z_dim, uint64_t stream) {
  const int64_t b = in.images.size(0);
  auto z = torch::empty({b, z_dim}, torch::kFloat);
  for (int64_t i = 0; i < b; ++i) {
    auto gen = at::detail::createCPUGenerator(
        counter_hash(in.seed, static_cast<uint64_t>(in.step),
                     static_cast<uint64_t>(in.global_offset + i), stream));
    z[i].copy_(at::randn({z_dim}, gen));
  }
  return z.to(in.images.device());
}

// ---------------------------------------------------------------------------------------
// DCGAN

DcganAlgorithm::DcganAlgorithm(const Config& cfg, int64_t num_cultures, torch::Device device)
    : cfg_(cfg), num_cultures_(num_cultures), adv_(parse_adversarial_loss(cfg.loss.adversarial)) {
  models::DcganSpec& spec = spec_;
  spec.num_cultures = num_cultures;
  spec.image_size = cfg.data.image_size;
  spec.z_dim = cfg.model.z_dim;
  spec.g_conv_dim = cfg.model.g_conv_dim;
  spec.d_conv_dim = cfg.model.d_conv_dim;
  spec.spectral_norm = cfg.model.spectral_norm;
  try {
    g_ = models::DcganGenerator(spec);
    d_ = models::DcganDiscriminator(spec);
    g_ema_ = models::DcganGenerator(spec);
  } catch (const std::invalid_argument& e) {
    throw ConfigError(fmt::format("key 'data.image_size' (model.kind = dcgan): {}", e.what()));
  }
  models::init_normal_002(*g_);
  models::init_normal_002(*d_);
  g_->to(device);
  d_->to(device);
  g_ema_->to(device);
  copy_weights(*g_ema_, *g_);
  for (auto& p : g_ema_->parameters()) p.set_requires_grad(false);
  opt_g_ = adam(g_->parameters(), cfg.optim.g_lr, cfg);
  opt_d_ = adam(d_->parameters(), cfg.optim.d_lr, cfg);
  phases_.push_back(Phase{"D_main",
                          1,
                          d_->parameters(),
                          opt_d_.get(),
                          [this](const StepInput& in) { return d_main(in); },
                          {g_.ptr()}});
  if (cfg.loss.r1_gamma > 0)
    phases_.push_back(Phase{"D_reg",
                            cfg.loss.r1_interval,
                            d_->parameters(),
                            opt_d_.get(),
                            [this](const StepInput& in) { return d_reg(in); },
                            {g_.ptr()}});
  phases_.push_back(Phase{"G_main",
                          cfg.optim.n_critic,
                          g_->parameters(),
                          opt_g_.get(),
                          [this](const StepInput& in) { return g_main(in); },
                          {d_.ptr()}});
}

LossTerms DcganAlgorithm::d_main(const StepInput& in) {
  set_lr(*opt_d_, decayed_lr(cfg_.optim.d_lr, in.step, cfg_.train.steps, cfg_.optim.decay_start));
  const auto c = culture_vectors(in.labels, num_cultures_);
  torch::Tensor fake;
  {
    torch::NoGradGuard no_grad;
    fake = g_->forward(counter_noise(in, cfg_.model.z_dim, 3), c);
  }
  auto real_aug = diff_augment(in.images, cfg_.loss.diffaugment, in, 10);
  auto fake_aug = diff_augment(fake, cfg_.loss.diffaugment, in, 11);
  auto loss_real = d_loss_real(adv_, d_->forward(real_aug, c));
  auto loss_fake = d_loss_fake(adv_, d_->forward(fake_aug, c));
  auto total = loss_real + loss_fake;
  LossTerms out{total, {{"adv_real", loss_real}, {"adv_fake", loss_fake}}};
  if (adv_ == AdversarialLoss::kWgan && cfg_.loss.gp_lambda > 0) {
    auto gp = gradient_penalty([&](const torch::Tensor& x) { return d_->forward(x, c); }, real_aug,
                               fake_aug, batch_uniform(in, 12));
    out.total = out.total + cfg_.loss.gp_lambda * gp;
    out.terms.emplace_back("gp", gp);
  }
  return out;
}

LossTerms DcganAlgorithm::d_reg(const StepInput& in) {
  auto x = in.images.detach().requires_grad_(true);
  auto scores = d_->forward(diff_augment(x, cfg_.loss.diffaugment, in, 13),
                            culture_vectors(in.labels, num_cultures_));
  auto r1 = r1_penalty(scores, x);
  return single_term(0.5 * cfg_.loss.r1_gamma * static_cast<double>(cfg_.loss.r1_interval) * r1,
                     "r1", r1);
}

LossTerms DcganAlgorithm::g_main(const StepInput& in) {
  set_lr(*opt_g_, decayed_lr(cfg_.optim.g_lr, in.step, cfg_.train.steps, cfg_.optim.decay_start));
  const auto c = culture_vectors(in.labels, num_cultures_);
  auto fake = g_->forward(counter_noise(in, cfg_.model.z_dim, 4), c);
  auto loss = g_loss_adv(adv_, d_->forward(diff_augment(fake, cfg_.loss.diffaugment, in, 14), c));
  return single_term(loss, "adv", loss);
}

void DcganAlgorithm::after_step(int64_t step) {
  if (step % cfg_.optim.n_critic == 0)
    ema_update(*g_ema_, *g_, ema_beta_at(cfg_.train.ema_beta, step));
}

std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> DcganAlgorithm::modules() {
  return {{"G", g_.ptr()}, {"D", d_.ptr()}, {"G_ema", g_ema_.ptr()}};
}

std::vector<std::pair<std::string, torch::optim::Optimizer*>> DcganAlgorithm::optimizers() {
  return {{"optim_G", opt_g_.get()}, {"optim_D", opt_d_.get()}};
}

torch::Tensor DcganAlgorithm::translate(const torch::Tensor& x, int64_t target) {
  torch::NoGradGuard no_grad;
  StepInput fixed;
  fixed.images = x;
  fixed.seed = static_cast<uint64_t>(cfg_.train.seed);
  fixed.step = -1;  // a step no training step uses
  auto z = counter_noise(fixed, cfg_.model.z_dim, 99);
  auto labels = torch::full({x.size(0)}, target,
                            torch::TensorOptions().dtype(torch::kLong).device(x.device()));
  return g_ema_->forward(z, culture_vectors(labels, num_cultures_));
}

void DcganAlgorithm::export_bundle(const std::string& path,
                                   const std::vector<std::string>& cultures) {
  models::save_bundle(path, models::make_dcgan_bundle(spec_, *g_ema_, cultures));
}

// ---------------------------------------------------------------------------------------
// CycleGAN

CycleGanAlgorithm::CycleGanAlgorithm(const Config& cfg, int64_t num_cultures, torch::Device device)
    : cfg_(cfg),
      adv_(parse_adversarial_loss(cfg.loss.adversarial)),
      pool_a_(cfg.train.pool_size),
      pool_b_(cfg.train.pool_size) {
  if (cfg.model.domain_a >= num_cultures || cfg.model.domain_b >= num_cultures)
    throw ConfigError(
        fmt::format("keys 'model.domain_a', 'model.domain_b': expected culture indices below {} "
                    "(the corpus's cultures), found {} and {}",
                    num_cultures, cfg.model.domain_a, cfg.model.domain_b));
  if (adv_ == AdversarialLoss::kWgan)
    throw ConfigError(
        "key 'loss.adversarial': model.kind = cyclegan supports lsgan | bce | hinge, found "
        "\"wgan-gp\"");
  g_ab_ = models::ResnetGenerator(cfg.model.g_conv_dim, cfg.model.g_res_blocks);
  g_ba_ = models::ResnetGenerator(cfg.model.g_conv_dim, cfg.model.g_res_blocks);
  d_a_ = models::PatchDiscriminator(cfg.model.d_conv_dim, cfg.model.spectral_norm);
  d_b_ = models::PatchDiscriminator(cfg.model.d_conv_dim, cfg.model.spectral_norm);
  for (torch::nn::Module* m :
       {static_cast<torch::nn::Module*>(g_ab_.get()), static_cast<torch::nn::Module*>(g_ba_.get()),
        static_cast<torch::nn::Module*>(d_a_.get()), static_cast<torch::nn::Module*>(d_b_.get())}) {
    models::init_normal_002(*m);
    m->to(device);
  }
  const auto g_params = params_of({g_ab_.ptr(), g_ba_.ptr()});
  const auto d_params = params_of({d_a_.ptr(), d_b_.ptr()});
  opt_g_ = adam(g_params, cfg.optim.g_lr, cfg);
  opt_d_ = adam(d_params, cfg.optim.d_lr, cfg);
  phases_.push_back(Phase{"D_main",
                          1,
                          d_params,
                          opt_d_.get(),
                          [this](const StepInput& in) { return d_main(in); },
                          {g_ab_.ptr(), g_ba_.ptr()}});
  if (cfg.loss.r1_gamma > 0)
    phases_.push_back(Phase{"D_reg",
                            cfg.loss.r1_interval,
                            d_params,
                            opt_d_.get(),
                            [this](const StepInput& in) { return d_reg(in); },
                            {g_ab_.ptr(), g_ba_.ptr()}});
  phases_.push_back(Phase{"G_main",
                          cfg.optim.n_critic,
                          g_params,
                          opt_g_.get(),
                          [this](const StepInput& in) { return g_main(in); },
                          {d_a_.ptr(), d_b_.ptr()}});
}

LossTerms CycleGanAlgorithm::d_main(const StepInput& in) {
  set_lr(*opt_d_, decayed_lr(cfg_.optim.d_lr, in.step, cfg_.train.steps, cfg_.optim.decay_start));
  const auto& x = in.images;
  const auto m_a = (in.labels == cfg_.model.domain_a).to(torch::kFloat);
  const auto m_b = (in.labels == cfg_.model.domain_b).to(torch::kFloat);
  std::vector<bool> use_a(x.size(0)), use_b(x.size(0));
  auto la = m_a.cpu(), lb = m_b.cpu();
  for (int64_t i = 0; i < x.size(0); ++i)
    use_a[i] = la[i].item<float>() > 0, use_b[i] = lb[i].item<float>() > 0;
  torch::Tensor fake_b, fake_a;
  {
    torch::NoGradGuard no_grad;
    fake_b = pool_b_.query(g_ab_->forward(x), use_a, in, 20);  // fakes of B come from A images
    fake_a = pool_a_.query(g_ba_->forward(x), use_b, in, 21);
  }
  const auto& policy = cfg_.loss.diffaugment;
  auto real_aug = diff_augment(x, policy, in, 22);
  auto dr = [&](const torch::Tensor& t) { return d_loss_real(adv_, t); };
  auto df = [&](const torch::Tensor& t) { return d_loss_fake(adv_, t); };
  auto real_a = masked_mean(per_sample(d_a_->forward(real_aug), dr), m_a);
  auto fake_a_loss =
      masked_mean(per_sample(d_a_->forward(diff_augment(fake_a, policy, in, 23)), df), m_b);
  auto real_b = masked_mean(per_sample(d_b_->forward(real_aug), dr), m_b);
  auto fake_b_loss =
      masked_mean(per_sample(d_b_->forward(diff_augment(fake_b, policy, in, 24)), df), m_a);
  auto loss_a = 0.5 * (real_a + fake_a_loss), loss_b = 0.5 * (real_b + fake_b_loss);
  return {loss_a + loss_b, {{"D_A", loss_a}, {"D_B", loss_b}}};
}

LossTerms CycleGanAlgorithm::d_reg(const StepInput& in) {
  const int64_t b = in.images.size(0);
  const auto m_a = (in.labels == cfg_.model.domain_a).to(torch::kFloat);
  const auto m_b = (in.labels == cfg_.model.domain_b).to(torch::kFloat);
  auto x = in.images.detach().requires_grad_(true);
  auto aug = diff_augment(x, cfg_.loss.diffaugment, in, 25);
  // Samples are independent in D (InstanceNorm), so the gradient of a masked sum is each
  // masked sample's own gradient: mean over that culture's samples = penalty·B / count.
  auto r1_a = r1_penalty(d_a_->forward(aug) * m_a.view({-1, 1, 1, 1}), x) * static_cast<double>(b) /
              m_a.sum().clamp_min(1.0);
  auto r1_b = r1_penalty(d_b_->forward(aug) * m_b.view({-1, 1, 1, 1}), x) * static_cast<double>(b) /
              m_b.sum().clamp_min(1.0);
  auto r1 = r1_a + r1_b;
  return single_term(0.5 * cfg_.loss.r1_gamma * static_cast<double>(cfg_.loss.r1_interval) * r1,
                     "r1", r1);
}

LossTerms CycleGanAlgorithm::g_main(const StepInput& in) {
  set_lr(*opt_g_, decayed_lr(cfg_.optim.g_lr, in.step, cfg_.train.steps, cfg_.optim.decay_start));
  const auto& x = in.images;
  const auto m_a = (in.labels == cfg_.model.domain_a).to(torch::kFloat);
  const auto m_b = (in.labels == cfg_.model.domain_b).to(torch::kFloat);
  auto fake_b = g_ab_->forward(x);  // on B images this is the identity mapping G_AB(b)
  auto fake_a = g_ba_->forward(x);
  auto ga = [&](const torch::Tensor& t) { return g_loss_adv(adv_, t); };
  const auto& policy = cfg_.loss.diffaugment;
  auto adv = masked_mean(per_sample(d_b_->forward(diff_augment(fake_b, policy, in, 26)), ga), m_a) +
             masked_mean(per_sample(d_a_->forward(diff_augment(fake_a, policy, in, 27)), ga), m_b);
  auto cyc = masked_mean(l1_per_sample(g_ba_->forward(fake_b), x), m_a) +
             masked_mean(l1_per_sample(g_ab_->forward(fake_a), x), m_b);
  auto idt =
      masked_mean(l1_per_sample(fake_b, x), m_b) + masked_mean(l1_per_sample(fake_a, x), m_a);
  auto total = adv + cfg_.loss.lambda_rec * cyc + cfg_.loss.lambda_id * idt;
  return {total, {{"adv", adv}, {"cyc", cyc}, {"idt", idt}}};
}

std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>>
CycleGanAlgorithm::modules() {
  return {{"G_AB", g_ab_.ptr()}, {"G_BA", g_ba_.ptr()}, {"D_A", d_a_.ptr()}, {"D_B", d_b_.ptr()}};
}

std::vector<std::pair<std::string, torch::optim::Optimizer*>> CycleGanAlgorithm::optimizers() {
  return {{"optim_G", opt_g_.get()}, {"optim_D", opt_d_.get()}};
}

torch::Tensor CycleGanAlgorithm::translate(const torch::Tensor& x, int64_t target) {
  torch::NoGradGuard no_grad;
  if (target == cfg_.model.domain_b) return g_ab_->forward(x);
  if (target == cfg_.model.domain_a) return g_ba_->forward(x);
  return x.clone();
}

void CycleGanAlgorithm::export_bundle(const std::string& path,
                                      const std::vector<std::string>& cultures) {
  const auto a = static_cast<size_t>(cfg_.model.domain_a),
             b = static_cast<size_t>(cfg_.model.domain_b);
  models::save_bundle(path,
                      models::make_cyclegan_bundle(cfg_.data.image_size, cfg_.model.g_conv_dim,
                                                   cfg_.model.g_res_blocks, *g_ab_, *g_ba_,
                                                   {cultures.at(a), cultures.at(b)}));
}

}  // namespace culturegan::trainer
