#include "trainer/algorithms/cyclegan.h"

#include <fmt/format.h>

#include "models/bundle.h"

namespace culturegan::trainer {
namespace {

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

CycleGanAlgorithm::CycleGanAlgorithm(const Config& cfg, int64_t num_cultures, torch::Device device)
    : AlgorithmBase(cfg),
      adv_(cfg.loss.adversarial),
      a_(cfg.cyclegan.domain_a),
      b_(cfg.cyclegan.domain_b),
      pool_a_(cfg.cyclegan.pool_size),
      pool_b_(cfg.cyclegan.pool_size) {
  if (a_ >= num_cultures || b_ >= num_cultures)
    throw ConfigError(
        fmt::format("keys 'cyclegan.domain_a', 'cyclegan.domain_b': expected culture indices "
                    "below {} (the corpus's cultures), found {} and {}",
                    num_cultures, a_, b_));
  if (adv_ == AdversarialLoss::kWgan)
    throw ConfigError(
        "key 'loss.adversarial': model.kind = cyclegan supports lsgan | bce | hinge, found "
        "\"wgan-gp\"");
  const auto up = static_cast<int64_t>(cfg.model.upsample);
  g_ab_ = models::ResnetGenerator(cfg.model.g_conv_dim, cfg.model.g_res_blocks, up);
  g_ba_ = models::ResnetGenerator(cfg.model.g_conv_dim, cfg.model.g_res_blocks, up);
  d_a_ = models::PatchDiscriminator(cfg.model.d_conv_dim, cfg.model.spectral_norm);
  d_b_ = models::PatchDiscriminator(cfg.model.d_conv_dim, cfg.model.spectral_norm);
  for (torch::nn::Module* m :
       {static_cast<torch::nn::Module*>(g_ab_.get()), static_cast<torch::nn::Module*>(g_ba_.get()),
        static_cast<torch::nn::Module*>(d_a_.get()), static_cast<torch::nn::Module*>(d_b_.get())})
    models::init_normal_002(*m);
  track("G_AB", g_ab_.ptr(), device);
  track("G_BA", g_ba_.ptr(), device);
  track("D_A", d_a_.ptr(), device);
  track("D_B", d_b_.ptr(), device);
  build({d_a_.ptr(), d_b_.ptr()}, {g_ab_.ptr(), g_ba_.ptr()},
        {[this](const StepInput& in) { return d_main(in); },
         [this](const StepInput& in) { return g_main(in); },
         [this](const StepInput& in) { return r1(in); }});
}

LossTerms CycleGanAlgorithm::d_main(const StepInput& in) {
  const auto& x = in.images;
  const auto m_a = (in.labels == a_).to(torch::kFloat);
  const auto m_b = (in.labels == b_).to(torch::kFloat);
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
  const auto& policy = cfg().loss.diffaugment;
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

torch::Tensor CycleGanAlgorithm::r1(const StepInput& in) {
  const int64_t b = in.images.size(0);
  const auto m_a = (in.labels == a_).to(torch::kFloat);
  const auto m_b = (in.labels == b_).to(torch::kFloat);
  auto x = in.images.detach().requires_grad_(true);
  auto aug = diff_augment(x, cfg().loss.diffaugment, in, 25);
  // Samples are independent in D (InstanceNorm), so the gradient of a masked sum is each
  // masked sample's own gradient: mean over that culture's samples = penalty·B / count.
  auto r1_a = r1_penalty(d_a_->forward(aug) * m_a.view({-1, 1, 1, 1}), x) * static_cast<double>(b) /
              m_a.sum().clamp_min(1.0);
  auto r1_b = r1_penalty(d_b_->forward(aug) * m_b.view({-1, 1, 1, 1}), x) * static_cast<double>(b) /
              m_b.sum().clamp_min(1.0);
  return r1_a + r1_b;
}

LossTerms CycleGanAlgorithm::g_main(const StepInput& in) {
  const auto& cfg = this->cfg();
  const auto& x = in.images;
  const auto m_a = (in.labels == a_).to(torch::kFloat);
  const auto m_b = (in.labels == b_).to(torch::kFloat);
  auto fake_b = g_ab_->forward(x);  // on B images this is the identity mapping G_AB(b)
  auto fake_a = g_ba_->forward(x);
  auto ga = [&](const torch::Tensor& t) { return g_loss_adv(adv_, t); };
  const auto& policy = cfg.loss.diffaugment;
  auto adv = masked_mean(per_sample(d_b_->forward(diff_augment(fake_b, policy, in, 26)), ga), m_a) +
             masked_mean(per_sample(d_a_->forward(diff_augment(fake_a, policy, in, 27)), ga), m_b);
  auto cyc = masked_mean(l1_per_sample(g_ba_->forward(fake_b), x), m_a) +
             masked_mean(l1_per_sample(g_ab_->forward(fake_a), x), m_b);
  auto idt =
      masked_mean(l1_per_sample(fake_b, x), m_b) + masked_mean(l1_per_sample(fake_a, x), m_a);
  auto total = adv + cfg.cyclegan.lambda_cyc * cyc + cfg.cyclegan.lambda_id * idt;
  return {total, {{"adv", adv}, {"cyc", cyc}, {"idt", idt}}};
}

torch::Tensor CycleGanAlgorithm::translate(const torch::Tensor& x, int64_t target) {
  torch::NoGradGuard no_grad;
  if (target == b_) return g_ab_->forward(x);
  if (target == a_) return g_ba_->forward(x);
  return x.clone();
}

void CycleGanAlgorithm::export_bundle(const std::string& path,
                                      const std::vector<std::string>& cultures) {
  const auto& cfg = this->cfg();
  models::save_bundle(
      path, models::make_cyclegan_bundle(
                cfg.data.image_size, cfg.model.g_conv_dim, cfg.model.g_res_blocks, *g_ab_, *g_ba_,
                {cultures.at(static_cast<size_t>(a_)), cultures.at(static_cast<size_t>(b_))}));
}

}  // namespace culturegan::trainer
