// The seeds' GANs as phase lists: conditional DCGAN and CycleGAN (two cultures).
//
// DcganAlgorithm (Radford et al. 2016 with the BCE losses of Goodfellow et al. 2014):
//   D_main: L_D = −[log D(x, c) + log(1 − D(G(z, c), c))]   (loss.adversarial = bce)
//   G_main: L_G = −log D(G(z, c), c)                         (non-saturating)
//   fakes use the real batch's cultures; z ~ N(0, I) per sample from counter_hash, so N
//   ranks × b draw the same z as 1 × N·b (BatchNorm still couples a rank's batch).
// CycleGanAlgorithm (Zhu et al. 2017, eq. 1–3 and Sec. 4/7.1):
//   D_main: ½·[(D_B(b) − 1)² + D_B(pool(G_AB(a)))²] + the same for D_A      (LSGAN)
//   G_main: (D_B(G_AB(a)) − 1)² + (D_A(G_BA(b)) − 1)²
//           + λ_cyc·(|G_BA(G_AB(a)) − a|₁ + |G_AB(G_BA(b)) − b|₁)           (λ_cyc =
//           loss.lambda_rec)
//           + λ_id·(|G_AB(b) − b|₁ + |G_BA(a) − a|₁)                         (λ_id =
//           loss.lambda_id)
//   a = images of culture model.domain_a, b = of model.domain_b; other cultures in a batch are
//   masked out (each term is a mean over this rank's samples of that culture).
// Both: optional DiffAugment before D, WGAN-GP (dcgan), R1 as a lazy D_reg phase
// (loss.r1_gamma, loss.r1_interval; the penalty is scaled by the interval as in StyleGAN2),
// linear lr decay after optim.decay_start.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "trainer/config.h"
#include "trainer/gan_algorithm.h"
#include "trainer/losses.h"
#include "trainer/models/zoo.h"
#include "trainer/regularizers.h"

namespace culturegan::trainer {

/// z [B, z_dim] for the batch of `in`, one N(0, I) vector per global sample index.
torch::Tensor counter_noise(const StepInput& in, int64_t z_dim, uint64_t stream);

class DcganAlgorithm : public GanAlgorithm {
 public:
  DcganAlgorithm(const Config& cfg, int64_t num_cultures, torch::Device device);
  std::vector<Phase>& phases() override { return phases_; }
  void after_step(int64_t step) override;
  std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> modules() override;
  std::vector<std::pair<std::string, torch::optim::Optimizer*>> optimizers() override;
  /// Noise → image: x only sets the count; row i uses a fixed z_i (same for every call).
  torch::Tensor translate(const torch::Tensor& x, int64_t target) override;
  /// Writes G_ema as a generator bundle (model "dcgan"; culturegan-infer --count generates).
  void export_bundle(const std::string& path, const std::vector<std::string>& cultures) override;

 private:
  LossTerms d_main(const StepInput& in);
  LossTerms d_reg(const StepInput& in);
  LossTerms g_main(const StepInput& in);

  Config cfg_;
  int64_t num_cultures_;
  AdversarialLoss adv_;
  models::DcganSpec spec_;
  models::DcganGenerator g_{nullptr}, g_ema_{nullptr};
  models::DcganDiscriminator d_{nullptr};
  std::unique_ptr<torch::optim::Adam> opt_g_, opt_d_;
  std::vector<Phase> phases_;
};

class CycleGanAlgorithm : public GanAlgorithm {
 public:
  CycleGanAlgorithm(const Config& cfg, int64_t num_cultures, torch::Device device);
  std::vector<Phase>& phases() override { return phases_; }
  void after_step(int64_t) override {}
  std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> modules() override;
  std::vector<std::pair<std::string, torch::optim::Optimizer*>> optimizers() override;
  /// target == domain_b: G_AB(x); target == domain_a: G_BA(x); any other culture: x.
  torch::Tensor translate(const torch::Tensor& x, int64_t target) override;
  /// Writes G_AB and G_BA as a generator bundle (model "cyclegan", cultures {A, B}).
  void export_bundle(const std::string& path, const std::vector<std::string>& cultures) override;

 private:
  LossTerms d_main(const StepInput& in);
  LossTerms d_reg(const StepInput& in);
  LossTerms g_main(const StepInput& in);

  Config cfg_;
  AdversarialLoss adv_;
  models::ResnetGenerator g_ab_{nullptr}, g_ba_{nullptr};
  models::PatchDiscriminator d_a_{nullptr}, d_b_{nullptr};
  std::unique_ptr<torch::optim::Adam> opt_g_, opt_d_;
  ImagePool pool_a_, pool_b_;
  std::vector<Phase> phases_;
};

}  // namespace culturegan::trainer
