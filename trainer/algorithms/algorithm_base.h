// What every GAN algorithm shares, built once here instead of in each algorithm:
//   * the phase list (stylegan3 training_loop.py's phases as data): D_main every step, a lazy
//     D_reg (R1) every loss.r1_interval steps when loss.r1_gamma > 0, G_main every
//     optim.n_critic steps; each phase freezes the other network;
//   * lazy regularisation (Karras et al. 2020, StyleGAN2 Appendix B): the D_reg loss is
//     γ/2 · k · R1 for interval k, and D's Adam uses lr · k/(k+1) and β ^ (k/(k+1)) so the
//     D_reg steps do not change D's effective schedule (training/training_loop.py mb_ratio);
//   * the lr schedule: constant until optim.decay_start, then linear to 0 at train.steps,
//     set before each D_main / G_main loss (CycleGAN, Zhu et al. 2017 Sec. 7.1);
//   * EMA: after every step that ran G_main, each registered EMA network ← β·EMA + (1−β)·net
//     with β = ema_beta_at(train.ema_beta, step);
//   * train.freeze: the named parameters ("G.encoder" = every parameter of G whose name is
//     "encoder" or starts with "encoder.") get no gradient, are in no phase (so in no
//     reducer bucket and no optimizer) and stay bitwise unchanged;
//   * modules()/optimizers() for checkpoints, in registration order.
// An algorithm registers its networks, optimizers and loss functions; it writes no phase list.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "trainer/algorithms/gan_algorithm.h"
#include "trainer/config.h"

namespace culturegan::trainer {

class AlgorithmBase : public GanAlgorithm {
 public:
  std::vector<Phase>& phases() final { return phases_; }
  /// EMA updates (on steps where G_main ran).
  void after_step(int64_t step) final;
  std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> modules() final {
    return modules_;
  }
  std::vector<std::pair<std::string, torch::optim::Optimizer*>> optimizers() final;

 protected:
  explicit AlgorithmBase(const Config& cfg);

  /// Registers `module` for checkpoints as `name` (in order) and moves it to `device`.
  void track(const std::string& name, std::shared_ptr<torch::nn::Module> module,
             torch::Device device);
  /// Registers `ema` (already tracked) as the EMA copy of `model`: copies the weights,
  /// freezes it (no grad; the mode is left as it is: DCGAN's BatchNorm G_ema keeps train mode).
  void track_ema(std::shared_ptr<torch::nn::Module> ema, std::shared_ptr<torch::nn::Module> model);

  /// What an algorithm supplies for the phase list.
  struct Losses {
    std::function<LossTerms(const StepInput&)> d_main;
    std::function<LossTerms(const StepInput&)> g_main;
    /// The R1 penalty E‖∇_x D(x)‖² (without γ/2) of this rank's real batch; used when
    /// loss.r1_gamma > 0.
    std::function<torch::Tensor(const StepInput&)> r1;
  };
  /// Creates optim_G (Adam, optim.g_lr) and optim_D (Adam, optim.d_lr with the lazy-R1
  /// correction), and the phase list. d_nets / g_nets: the networks each optimizer updates
  /// (each phase freezes the others' parameters), all tracked. Applies train.freeze first; a
  /// phase left without parameters is dropped. Throws ConfigError naming a train.freeze entry
  /// that matches no parameter of d_nets or g_nets, with the names it could have matched.
  void build(const std::vector<std::shared_ptr<torch::nn::Module>>& d_nets,
             const std::vector<std::shared_ptr<torch::nn::Module>>& g_nets, Losses losses);

  const Config& cfg() const { return cfg_; }
  /// `module`'s parameters that train (not frozen by train.freeze); valid after build().
  std::vector<torch::Tensor> trainable_parameters(const torch::nn::Module& module) const;

 private:
  void apply_freeze(const std::vector<std::shared_ptr<torch::nn::Module>>& nets);

  Config cfg_;
  std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> modules_;
  std::vector<std::pair<std::shared_ptr<torch::nn::Module>, std::shared_ptr<torch::nn::Module>>>
      emas_;  // (ema, model)
  std::unique_ptr<torch::optim::Adam> opt_g_, opt_d_;
  double d_lr_ = 0;  // optim.d_lr with the lazy-R1 correction
  std::vector<Phase> phases_;
  std::vector<torch::Tensor> frozen_;  // train.freeze
};

/// StyleGAN2's lazy-regularisation ratio k/(k+1) for D_reg every k steps; 1 without R1.
double lazy_regularization_ratio(const Config& cfg);

}  // namespace culturegan::trainer
