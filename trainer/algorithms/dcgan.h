// Conditional DCGAN: noise + culture → image (Radford et al. 2016, with the BCE losses of
// Goodfellow et al. 2014 and a projection discriminator, Miyato & Koyama 2018):
//   D_main: L_D = −[log D(x, c) + log(1 − D(G(z, c), c))]   (loss.adversarial = bce)
//   G_main: L_G = −log D(G(z, c), c)                         (non-saturating)
// Fakes use the real batch's cultures; z ~ N(0, I) per sample from counter_noise(), so N
// ranks × b draw the same z as 1 × N·b (BatchNorm still couples a rank's batch). Options:
// DiffAugment before D, WGAN-GP, lazy R1 (algorithm_base.h), lr decay after optim.decay_start.
#pragma once
#include <string>
#include <vector>

#include "models/zoo.h"
#include "trainer/algorithms/algorithm_base.h"
#include "trainer/algorithms/losses.h"

namespace culturegan::trainer {

class DcganAlgorithm : public AlgorithmBase {
 public:
  /// Throws ConfigError naming data.image_size when the architecture cannot produce it.
  DcganAlgorithm(const Config& cfg, int64_t num_cultures, torch::Device device);
  /// Noise → image: x only sets the count; row i uses a fixed z_i (same for every call).
  torch::Tensor translate(const torch::Tensor& x, int64_t target) override;
  /// Writes G_ema as a generator bundle (model "dcgan"; culturegan-infer --count generates).
  void export_bundle(const std::string& path, const std::vector<std::string>& cultures) override;

 private:
  LossTerms d_main(const StepInput& in);
  torch::Tensor r1(const StepInput& in);
  LossTerms g_main(const StepInput& in);

  int64_t num_cultures_;
  AdversarialLoss adv_;
  models::DcganSpec spec_;
  models::DcganGenerator g_{nullptr}, g_ema_{nullptr};
  models::DcganDiscriminator d_{nullptr};
};

}  // namespace culturegan::trainer
