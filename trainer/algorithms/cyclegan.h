// CycleGAN for one pair of cultures (Zhu et al. 2017, eq. 1–3 and Sec. 4/7.1):
//   D_main: ½·[(D_B(b) − 1)² + D_B(pool(G_AB(a)))²] + the same for D_A      (LSGAN)
//   G_main: (D_B(G_AB(a)) − 1)² + (D_A(G_BA(b)) − 1)²
//           + λ·(|G_BA(G_AB(a)) − a|₁ + |G_AB(G_BA(b)) − b|₁)              (cyclegan.lambda_cyc)
//           + λ_id·(|G_AB(b) − b|₁ + |G_BA(a) − a|₁)                        (cyclegan.lambda_id)
// a = images of culture cyclegan.domain_a, b = of cyclegan.domain_b; other cultures in a batch
// are masked out (each term is a mean over this rank's samples of that culture). A history pool
// of cyclegan.pool_size fakes per domain feeds D. Options: DiffAugment, lazy R1, lr decay.
#pragma once
#include <string>
#include <vector>

#include "models/zoo.h"
#include "trainer/algorithms/algorithm_base.h"
#include "trainer/algorithms/losses.h"
#include "trainer/algorithms/regularizers.h"

namespace culturegan::trainer {

class CycleGanAlgorithm : public AlgorithmBase {
 public:
  /// Throws ConfigError naming cyclegan.domain_a/_b when they are not corpus cultures, or
  /// loss.adversarial when it is wgan-gp (no gradient penalty here).
  CycleGanAlgorithm(const Config& cfg, int64_t num_cultures, torch::Device device);
  /// target == domain_b: G_AB(x); target == domain_a: G_BA(x); any other culture: x.
  torch::Tensor translate(const torch::Tensor& x, int64_t target) override;
  /// Writes G_AB and G_BA as a generator bundle (model "cyclegan", cultures {A, B}).
  void export_bundle(const std::string& path, const std::vector<std::string>& cultures) override;

 private:
  LossTerms d_main(const StepInput& in);
  torch::Tensor r1(const StepInput& in);
  LossTerms g_main(const StepInput& in);

  AdversarialLoss adv_;
  int64_t a_, b_;  // culture indices of domains A and B
  models::ResnetGenerator g_ab_{nullptr}, g_ba_{nullptr};
  models::PatchDiscriminator d_a_{nullptr}, d_b_{nullptr};
  ImagePool pool_a_, pool_b_;
};

}  // namespace culturegan::trainer
