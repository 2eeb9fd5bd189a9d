// The multi-domain culture translator's training step (StarGAN recipe) as phases.
//
// D_main: L_D = L_adv(D(x), real) + L_adv(D(G(x,c').detach()), fake) + λ_cls · CE(D_cls(x), c)
// G_main: L_G = L_adv(D(G(x,c')), real) + λ_cls · CE(D_cls(G(x,c')), c') + λ_rec · |x −
// G(G(x,c'),c)|₁ (Choi et al. 2018, eq. 5–6; the adversarial term is LSGAN by default instead of
// WGAN-GP). Options: loss.adversarial = wgan-gp adds λ_gp·GP to D_main (eq. 7 of the paper's
// appendix); loss.r1_gamma > 0 adds the lazy D_reg phase (algorithm_base.h); loss.diffaugment
// augments D's inputs (real and fake) differentiably. The target culture c' of each sample is
// drawn uniformly among the other cultures by target_labels() (sample_randomness.h), so N ranks ×
// batch b see the same targets as 1 rank × batch N·b. Keys: loss.lambda_cls, loss.lambda_rec.
//
// Options for a translation that keeps the photo's content (issue "translations a person
// recognises"): model.conditioning = cin (the culture modulates G's norms instead of entering
// as input planes), model.upsample = nearest|bilinear (resize-conv decoder), model.d_per_culture
// (D_main/G_main judge each image against its own culture's real/fake map), and in G_main:
//   + λ_id · |G(x, c) − x|₁                         identity on the source culture
//   + λ_nce · PatchNCE(H(E_G(x)), H(E_G(G(x,c'))))   Park et al. 2020, eq. 3 (encoder of G)
//   + λ_gram · Σ_l ‖Gram(D_l(G(x,c'))) − mean Gram(D_l(real of c'))‖²   Gatys et al. 2016
// The Gram targets are the means over this rank's real images of each culture, so with
// λ_gram > 0 the N ranks × b ≡ 1 × N·b equivalence holds only approximately.
//
// G(x, c') is computed once per step: D_main (which changes only D) computes it with G's graph
// on steps where G_main runs, judges it detached, and G_main of the same step reuses it (and,
// with PatchNCE, the encoder features of x from the same pass).
#pragma once
#include <string>
#include <vector>

#include "models/stargan.h"
#include "trainer/algorithms/ada.h"
#include "trainer/algorithms/algorithm_base.h"
#include "trainer/algorithms/losses.h"
#include "trainer/algorithms/patch_nce.h"

namespace culturegan::trainer {

class StarGanAlgorithm : public AlgorithmBase {
 public:
  /// Builds G, D, G_ema (a copy of G) and both Adam optimizers from `cfg`, on `device`, for
  /// `num_cultures` cultures, of which the first `trained_cultures` (0 = all) have images:
  /// target cultures are drawn among those; the others (kept from --init-from weights) are
  /// carried along in G and D. Weights are initialised from the current torch seed (the
  /// trainer seeds it). Throws ConfigError for a bad train.freeze.
  StarGanAlgorithm(const Config& cfg, int64_t num_cultures, torch::Device device,
                   int64_t trained_cultures = 0);

  torch::Tensor translate(const torch::Tensor& x, int64_t target) override;
  void export_bundle(const std::string& path, const std::vector<std::string>& cultures) override;
  /// G.*, G_ema.* (models::StarGanGenerator::culture_axes) and D.* (the discriminator's).
  std::vector<CultureTensor> culture_tensors() const override;
  AdaptiveAugment* adaptive_augment() override { return ada_.get(); }

  models::StarGanGenerator& generator() { return g_; }
  models::StarGanDiscriminator& discriminator() { return d_; }
  models::StarGanGenerator& generator_ema() { return g_ema_; }

 private:
  LossTerms d_main(const StepInput& in);
  torch::Tensor r1(const StepInput& in);  ///< R1 on real images (loss.r1_gamma > 0)
  LossTerms g_main(const StepInput& in);
  /// What D sees of x: DiffAugment (loss.diffaugment), then ADA when on. `stream` names the use.
  torch::Tensor augment(const torch::Tensor& x, const StepInput& in, uint64_t stream) const;

  int64_t num_cultures_;
  int64_t trained_cultures_;
  std::unique_ptr<AdaptiveAugment> ada_;  ///< ada.target > 0
  AdversarialLoss adv_;
  models::StarGanGenerator g_{nullptr};
  models::StarGanGenerator g_ema_{nullptr};
  models::StarGanDiscriminator d_{nullptr};
  PatchNceHead nce_head_{nullptr};  ///< loss.lambda_nce > 0: CUT's projection heads H_l
  // G(x, c') with G's graph and (with PatchNCE) the detached encoder features of x, computed
  // by D_main of step fake_step_ for that step's G_main: one generator forward per step fewer.
  torch::Tensor fake_;
  std::vector<torch::Tensor> fake_src_feats_;
  int64_t fake_step_ = -1;
};

}  // namespace culturegan::trainer
