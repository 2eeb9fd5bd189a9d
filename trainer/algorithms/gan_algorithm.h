// A GAN algorithm as data: a list of phases (D_main, D_reg, G_main), each with its
// parameter set, optimizer and loss. The trainer runs them; the reducer averages each
// phase's gradients across ranks. Structure after NVlabs stylegan3 training_loop.py
// (phases as a list of {name, module, opt, interval}).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

namespace culturegan::trainer {

/// What a phase's loss sees of the current step.
struct StepInput {
  torch::Tensor images;       ///< [B,3,S,S] float32 in [-1,1], this rank's part of the batch
  torch::Tensor labels;       ///< [B] int64 culture of each image
  int64_t step = 0;           ///< 0-based optimizer step
  int64_t global_offset = 0;  ///< global index of images[0] within the global batch (rank·B)
  uint64_t seed = 0;          ///< train.seed, for counter-based per-sample randomness
  /// [B] int64 `labels` on the host (the loader's copy), so per-sample randomness that
  /// depends on the labels needs no device-to-host read; undefined: read from `labels`.
  torch::Tensor host_labels;
};

/// A phase's loss: `total` is what backward() runs on; `terms` are the named parts that are
/// logged and checked for non-finite values.
struct LossTerms {
  torch::Tensor total;
  std::vector<std::pair<std::string, torch::Tensor>> terms;
};

struct Phase {
  std::string name;                   ///< "D_main" | "D_reg" | "G_main"
  int64_t interval = 1;               ///< runs when step % interval == 0
  std::vector<torch::Tensor> params;  ///< what this phase updates (declared to the reducer)
  torch::optim::Optimizer* optimizer = nullptr;
  std::function<LossTerms(const StepInput&)> loss;
  /// Parameters that need no gradient during this phase: the other networks' trainable ones
  /// (e.g. D's during G_main). Parameters frozen by train.freeze are in no phase at all.
  std::vector<torch::Tensor> frozen;
};

/// A culture-indexed tensor of a tracked module, "<module>.<tensor>" (e.g. "G.embed"), with
/// the dimension the cultures lie along and the index of culture 0 (models::CultureAxis).
struct CultureTensor {
  std::string name;
  int64_t dim = 0;
  int64_t offset = 0;
};

class AdaptiveAugment;

class GanAlgorithm {
 public:
  virtual ~GanAlgorithm() = default;
  virtual std::vector<Phase>& phases() = 0;
  /// Called after every step's phases (EMA update).
  virtual void after_step(int64_t step) = 0;
  /// Every module whose state a checkpoint keeps, by name ("G", "D", "G_ema").
  virtual std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> modules() = 0;
  /// Every optimizer, by name ("optim_G", "optim_D").
  virtual std::vector<std::pair<std::string, torch::optim::Optimizer*>> optimizers() = 0;
  /// Translates x [N,3,S,S] into culture `target` with G_ema (no grad). [N,3,S,S] in [-1,1].
  virtual torch::Tensor translate(const torch::Tensor& x, int64_t target) = 0;
  /// Writes the generator bundle for culturegan-infer.
  virtual void export_bundle(const std::string& path, const std::vector<std::string>& cultures) = 0;
  /// The tensors of modules() that hold one slice per culture (--init-from maps them by
  /// culture name). Empty for models whose cultures cannot be remapped.
  virtual std::vector<CultureTensor> culture_tensors() const { return {}; }
  /// Adaptive discriminator augmentation when the config enables it (ada.target > 0), else
  /// null. The trainer all-reduces its statistics and adjusts p (trainer/algorithms/ada.h).
  virtual AdaptiveAugment* adaptive_augment() { return nullptr; }
};

}  // namespace culturegan::trainer
