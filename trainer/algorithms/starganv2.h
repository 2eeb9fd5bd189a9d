// StarGAN v2-style multi-domain translator (Choi et al., "StarGAN v2: Diverse Image Synthesis
// for Multiple Domains", CVPR 2020), latent-guided, at small scale:
//   mapping network F: z → per-culture style s̃ = F_y(z);  style encoder E: x → E_y(x);
//   generator G(x, s): IN residual encoder, AdaIN residual decoder (style injected by
//   AdaIN(h, s) = (1 + γ(s))·IN(h) + β(s), Huang & Belongie 2017);
//   discriminator D: conv trunk with one real/fake output per culture, D_y(x).
// Networks: models/starganv2.h. Steps alternate between latent guidance (even steps:
// s̃ = F_ỹ(z), ỹ random) and reference guidance (odd steps: s̃ = E_ỹ(x_ref), x_ref = the neighbour
// row (rows swap in pairs), ỹ its culture), as the paper trains both (it does both every step; we
// alternate, halving the cost per step).
// D_main: adv_real(D_y(x)) + adv_fake(D_ỹ(G(x, s̃)))                       (eq. 1)
// D_reg:  R1 with γ = loss.r1_gamma (1 in the paper), lazy every loss.r1_interval steps
// G_main: adv(D_ỹ(G(x, s̃))) + λ_sty·|s̃ − E_ỹ(G(x, s̃))|₁                    (eq. 2)
//         − λ_ds·|G(x, s̃₁) − G(x, s̃₂)|₁ + λ_cyc·|x − G(G(x, s̃), E_y(x))|₁   (eq. 3, 4)
// Keys: model.z_dim = latent size, starganv2.lambda_sty, starganv2.lambda_ds,
// starganv2.lambda_cyc (the paper's symbols). Style size 64. F, E and G share the G
// optimizer and G_main phase (the paper uses a 100× smaller lr for F). In reference steps the
// diversity partner s̃₂ is F_ỹ(z₂) (a batch rarely holds two references of one culture), so F
// gets no gradient then. The export is a generator bundle with model "starganv2" (G_ema,
// F_ema, E_ema), which culturegan-infer reads (latent-guided, or --reference IMG).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "models/starganv2.h"
#include "trainer/algorithms/algorithm_base.h"
#include "trainer/algorithms/losses.h"

namespace culturegan::trainer {

/// The networks' spec from the config: model.g_conv_dim, g_res_blocks, d_conv_dim, z_dim and
/// data.image_size; style size 64.
models::StarGanV2Spec v2_spec(const Config& cfg, int64_t num_cultures);

class StarGanV2Algorithm : public AlgorithmBase {
 public:
  /// Throws ConfigError naming data.image_size (not a power of two >= 16) or loss.adversarial
  /// (wgan-gp: no gradient penalty here).
  StarGanV2Algorithm(const Config& cfg, int64_t num_cultures, torch::Device device);
  ~StarGanV2Algorithm() override;
  /// Latent-guided: style F_target(z_row) with a fixed z per row, G_ema.
  torch::Tensor translate(const torch::Tensor& x, int64_t target) override;
  /// Reference-guided: style E_target(reference) (reference [N,3,S,S]), G_ema.
  torch::Tensor translate_reference(const torch::Tensor& x, const torch::Tensor& reference,
                                    int64_t target);
  /// Writes G_ema, F_ema and E_ema as a generator bundle (model "starganv2",
  /// docs/bundle-format.md). Throws models::BundleError naming the path.
  void export_bundle(const std::string& path, const std::vector<std::string>& cultures) override;

  struct Nets;

 private:
  /// Target cultures [N] int64 and style codes [N,64] for the step (training nets, with grad).
  struct Guide {
    torch::Tensor target, style;
  };
  /// True on odd steps: the step is reference-guided.
  static bool reference_step(const StepInput& in);
  Guide guide(const StepInput& in);
  LossTerms d_main(const StepInput& in);
  torch::Tensor r1(const StepInput& in);
  LossTerms g_main(const StepInput& in);

  int64_t num_cultures_;
  AdversarialLoss adv_;
  std::unique_ptr<Nets> nets_;
};

}  // namespace culturegan::trainer
