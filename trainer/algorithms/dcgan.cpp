#include "trainer/algorithms/dcgan.h"

#include <fmt/format.h>

#include "models/bundle.h"
#include "trainer/algorithms/regularizers.h"
#include "trainer/algorithms/sample_randomness.h"

namespace culturegan::trainer {
namespace {

torch::Tensor culture_vectors(const torch::Tensor& labels, int64_t n) {
  return torch::one_hot(labels.to(torch::kLong), n).to(torch::kFloat);
}

}  // namespace

DcganAlgorithm::DcganAlgorithm(const Config& cfg, int64_t num_cultures, torch::Device device)
    : AlgorithmBase(cfg), num_cultures_(num_cultures), adv_(cfg.loss.adversarial) {
  spec_.num_cultures = num_cultures;
  spec_.image_size = cfg.data.image_size;
  spec_.z_dim = cfg.model.z_dim;
  spec_.g_conv_dim = cfg.model.g_conv_dim;
  spec_.d_conv_dim = cfg.model.d_conv_dim;
  spec_.spectral_norm = cfg.model.spectral_norm;
  spec_.upsample = static_cast<int64_t>(cfg.model.upsample);
  try {
    g_ = models::DcganGenerator(spec_);
    d_ = models::DcganDiscriminator(spec_);
    g_ema_ = models::DcganGenerator(spec_);
  } catch (const std::invalid_argument& e) {
    throw ConfigError(fmt::format("key 'data.image_size' (model.kind = dcgan): {}", e.what()));
  }
  models::init_normal_002(*g_);
  models::init_normal_002(*d_);
  track("G", g_.ptr(), device);
  track("D", d_.ptr(), device);
  track("G_ema", g_ema_.ptr(), device);
  track_ema(g_ema_.ptr(), g_.ptr());
  build({d_.ptr()}, {g_.ptr()},
        {[this](const StepInput& in) { return d_main(in); },
         [this](const StepInput& in) { return g_main(in); },
         [this](const StepInput& in) { return r1(in); }});
}

LossTerms DcganAlgorithm::d_main(const StepInput& in) {
  const auto& cfg = this->cfg();
  const auto c = culture_vectors(in.labels, num_cultures_);
  torch::Tensor fake;
  {
    torch::NoGradGuard no_grad;
    fake = g_->forward(counter_noise(in, cfg.model.z_dim, 3), c);
  }
  auto real_aug = diff_augment(in.images, cfg.loss.diffaugment, in, 10);
  auto fake_aug = diff_augment(fake, cfg.loss.diffaugment, in, 11);
  auto loss_real = d_loss_real(adv_, d_->forward(real_aug, c));
  auto loss_fake = d_loss_fake(adv_, d_->forward(fake_aug, c));
  LossTerms out{loss_real + loss_fake, {{"adv_real", loss_real}, {"adv_fake", loss_fake}}};
  if (adv_ == AdversarialLoss::kWgan && cfg.loss.gp_lambda > 0) {
    auto gp = gradient_penalty([&](const torch::Tensor& x) { return d_->forward(x, c); }, real_aug,
                               fake_aug, batch_uniform(in, 12));
    out.total = out.total + cfg.loss.gp_lambda * gp;
    out.terms.emplace_back("gp", gp);
  }
  return out;
}

torch::Tensor DcganAlgorithm::r1(const StepInput& in) {
  auto x = in.images.detach().requires_grad_(true);
  auto scores = d_->forward(diff_augment(x, cfg().loss.diffaugment, in, 13),
                            culture_vectors(in.labels, num_cultures_));
  return r1_penalty(scores, x);
}

LossTerms DcganAlgorithm::g_main(const StepInput& in) {
  const auto& cfg = this->cfg();
  const auto c = culture_vectors(in.labels, num_cultures_);
  auto fake = g_->forward(counter_noise(in, cfg.model.z_dim, 4), c);
  auto loss = g_loss_adv(adv_, d_->forward(diff_augment(fake, cfg.loss.diffaugment, in, 14), c));
  return {loss, {{"adv", loss}}};
}

torch::Tensor DcganAlgorithm::translate(const torch::Tensor& x, int64_t target) {
  torch::NoGradGuard no_grad;
  StepInput fixed;
  fixed.images = x;
  fixed.seed = static_cast<uint64_t>(cfg().train.seed);
  fixed.step = -1;  // a step no training step uses
  auto z = counter_noise(fixed, cfg().model.z_dim, 99);
  auto labels = torch::full({x.size(0)}, target,
                            torch::TensorOptions().dtype(torch::kLong).device(x.device()));
  return g_ema_->forward(z, culture_vectors(labels, num_cultures_));
}

void DcganAlgorithm::export_bundle(const std::string& path,
                                   const std::vector<std::string>& cultures) {
  models::save_bundle(path, models::make_dcgan_bundle(spec_, *g_ema_, cultures));
}

}  // namespace culturegan::trainer
