// The two settings culturegan-bench-step times (issue 14): culturegan's config for each, and
// the Python reference's arguments derived from that same config, so both run one step.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "trainer/config.h"

namespace culturegan::bench {

/// One benchmarked setting: a name, what it is, and the `--set` overrides applied on top of
/// the base config (configs/quickstart.toml).
struct StepSize {
  std::string name;
  std::string what;
  std::vector<std::string> overrides;
  int default_steps = 1;  ///< steps per timed repeat when --steps is 0 (about 5-20 s each)
};

/// "quickstart": configs/quickstart.toml as it is (64 px, cin, nearest, per-culture D, LSGAN,
/// PatchNCE 0.5 on 64 patches, DiffAugment translation+cutout, Adam 2e-4, batch 8).
/// "paper64": the StarGAN paper's settings at 64 px (Choi et al. 2018, Sec. 4 and appendix):
/// g 64, 6 residual blocks, d 64, the culture as input planes, transposed-conv decoder, one
/// src map, WGAN-GP λ_gp 10, λ_cls 1, λ_rec 10, no PatchNCE, no DiffAugment,
/// Adam 1e-4 (0.5, 0.999), n_critic 1, batch 16.
const std::vector<StepSize>& step_sizes();

/// The config culturegan-train would run for `size`: load_config(base_config, size.overrides
/// then `extra`), the same parsing and validation. Throws trainer::ConfigError.
trainer::Config size_config(const StepSize& size, const std::string& base_config,
                            const std::vector<std::string>& extra);

/// stargan_reference.py's arguments (after the script path) for the step `cfg` runs with
/// `num_cultures` cultures on `threads` threads, in --serve mode with the FLOP count: every
/// setting the step reads, taken from `cfg`. Throws std::invalid_argument naming the first
/// option the reference does not mirror (model.kind other than stargan, loss.lambda_id,
/// loss.lambda_gram, loss.r1_gamma, ada.target, optim.decay_start, train.freeze,
/// train.precision bf16).
std::vector<std::string> reference_arguments(const trainer::Config& cfg, int64_t num_cultures,
                                             int threads, int warmup);

}  // namespace culturegan::bench
