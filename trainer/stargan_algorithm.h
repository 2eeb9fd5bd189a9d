// The multi-domain culture translator's training step (StarGAN recipe) as phases.
//
// D_main: L_D = L_adv(D(x), real) + L_adv(D(G(x,c').detach()), fake) + λ_cls · CE(D_cls(x), c)
// G_main: L_G = L_adv(D(G(x,c')), real) + λ_cls · CE(D_cls(G(x,c')), c') + λ_rec · |x −
// G(G(x,c'),c)|₁ (Choi et al. 2018, eq. 5–6; the adversarial term is LSGAN by default instead of
// WGAN-GP). Options: loss.adversarial = wgan-gp adds λ_gp·GP to D_main (eq. 7 of the paper's
// appendix); loss.r1_gamma > 0 adds a lazy D_reg phase (γ/2·R1 every loss.r1_interval steps,
// StarGAN v2); loss.diffaugment augments D's inputs (real and fake) differentiably. The target
// culture c' of each sample is drawn uniformly among the other cultures by a counter-based hash of
// (seed, step, global sample index), so N ranks × batch b see the same targets as 1 rank × batch
// N·b.
#pragma once
#include <string>
#include <vector>

#include "trainer/config.h"
#include "trainer/gan_algorithm.h"
#include "trainer/losses.h"
#include "trainer/models/stargan.h"

namespace culturegan::trainer {

class StarGanAlgorithm : public GanAlgorithm {
 public:
  /// Builds G, D, G_ema (a copy of G) and both Adam optimizers from `cfg`, on `device`.
  /// Weights are initialised from the current torch seed (the trainer seeds it).
  StarGanAlgorithm(const Config& cfg, int64_t num_cultures, torch::Device device);

  std::vector<Phase>& phases() override { return phases_; }
  void after_step(int64_t step) override;
  std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> modules() override;
  std::vector<std::pair<std::string, torch::optim::Optimizer*>> optimizers() override;
  torch::Tensor translate(const torch::Tensor& x, int64_t target) override;
  void export_bundle(const std::string& path, const std::vector<std::string>& cultures) override;

  /// Target cultures for a batch: [B] int64, each != labels[i] when C > 1.
  static torch::Tensor target_labels(const StepInput& in, int64_t num_cultures);

  models::StarGanGenerator& generator() { return g_; }
  models::StarGanDiscriminator& discriminator() { return d_; }
  models::StarGanGenerator& generator_ema() { return g_ema_; }

 private:
  LossTerms d_main(const StepInput& in);
  LossTerms d_reg(const StepInput& in);  ///< R1 on real images (loss.r1_gamma > 0)
  LossTerms g_main(const StepInput& in);

  Config cfg_;
  int64_t num_cultures_;
  AdversarialLoss adv_;
  models::StarGanGenerator g_{nullptr};
  models::StarGanGenerator g_ema_{nullptr};
  models::StarGanDiscriminator d_{nullptr};
  std::unique_ptr<torch::optim::Adam> opt_g_;
  std::unique_ptr<torch::optim::Adam> opt_d_;
  std::vector<Phase> phases_;
};

}  // namespace culturegan::trainer
