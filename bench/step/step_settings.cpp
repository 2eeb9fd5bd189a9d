#include "bench/step/step_settings.h"

#include <stdexcept>

#include <fmt/format.h>

#include "models/stargan.h"

namespace culturegan::bench {

const std::vector<StepSize>& step_sizes() {
  static const std::vector<StepSize> sizes = {
      {"quickstart", "configs/quickstart.toml as it is (64 px, batch 8)", {}, 3},
      {"paper64",
       "StarGAN paper settings at 64 px (g 64, 6 res blocks, d 64, planes, convT, WGAN-GP, "
       "batch 16)",
       {"model.g_conv_dim=64",
        "model.g_res_blocks=6",
        "model.d_conv_dim=64",
        "model.d_layers=0",
        "model.conditioning=\"planes\"",
        "model.upsample=\"transposed\"",
        "model.d_per_culture=false",
        "loss.adversarial=\"wgan-gp\"",
        "loss.gp_lambda=10.0",
        "loss.lambda_cls=1.0",
        "loss.lambda_rec=10.0",
        "loss.lambda_id=0.0",
        "loss.lambda_nce=0.0",
        "loss.diffaugment=\"\"",
        "optim.g_lr=1e-4",
        "optim.d_lr=1e-4",
        "optim.beta1=0.5",
        "optim.beta2=0.999",
        "optim.n_critic=1",
        "train.batch_size=16"},
       1},
  };
  return sizes;
}

trainer::Config size_config(const StepSize& size, const std::string& base_config,
                            const std::vector<std::string>& extra) {
  std::vector<std::string> overrides = size.overrides;
  overrides.insert(overrides.end(), extra.begin(), extra.end());
  return trainer::load_config(base_config, overrides);
}

std::vector<std::string> reference_arguments(const trainer::Config& cfg, int64_t num_cultures,
                                             int threads, int warmup) {
  auto unmirrored = [](const std::string& what) {
    throw std::invalid_argument("the Python reference does not mirror " + what);
  };
  if (cfg.model.kind != trainer::ModelKind::kStargan)
    unmirrored("model.kind = " + trainer::to_string(cfg.model.kind));
  if (cfg.loss.lambda_id > 0) unmirrored("loss.lambda_id > 0");
  if (cfg.loss.lambda_gram > 0) unmirrored("loss.lambda_gram > 0");
  if (cfg.loss.r1_gamma > 0) unmirrored("loss.r1_gamma > 0 (the D_reg phase)");
  if (cfg.ada.target > 0) unmirrored("ada.target > 0");
  if (cfg.optim.decay_start > 0) unmirrored("optim.decay_start > 0");
  if (!cfg.train.freeze.empty()) unmirrored("train.freeze");
  if (cfg.train.precision != trainer::Precision::kFp32) unmirrored("train.precision = bf16");
  models::StarGanSpec spec;
  spec.image_size = cfg.data.image_size;
  spec.d_layers = cfg.model.d_layers;
  auto num = [](double v) { return fmt::format("{}", v); };
  // clang-format off
  std::vector<std::string> args = {
          "--serve",         "--count-flops",
          "--device",        "cpu",
          "--precision",     "fp32",
          "--threads",       std::to_string(threads),
          "--warmup",        std::to_string(warmup),
          "--image-size",    std::to_string(cfg.data.image_size),
          "--batch",         std::to_string(cfg.train.batch_size),
          "--cultures",      std::to_string(num_cultures),
          "--g-conv-dim",    std::to_string(cfg.model.g_conv_dim),
          "--g-res-blocks",  std::to_string(cfg.model.g_res_blocks),
          "--d-conv-dim",    std::to_string(cfg.model.d_conv_dim),
          "--d-layers",      std::to_string(spec.resolved_d_layers()),
          "--conditioning",  trainer::to_string(cfg.model.conditioning),
          "--upsample",      trainer::to_string(cfg.model.upsample),
          "--d-per-culture", cfg.model.d_per_culture ? "1" : "0",
          "--adversarial",   trainer::to_string(cfg.loss.adversarial),
          "--gp-lambda",     num(cfg.loss.gp_lambda),
          "--lambda-cls",    num(cfg.loss.lambda_cls),
          "--lambda-rec",    num(cfg.loss.lambda_rec),
          "--lambda-nce",    num(cfg.loss.lambda_nce),
          "--nce-patches",   std::to_string(cfg.loss.nce_patches),
          "--nce-tau",       num(cfg.loss.nce_tau),
          "--diffaugment",   cfg.loss.diffaugment.empty() ? "none" : cfg.loss.diffaugment,
          "--g-lr",          num(cfg.optim.g_lr),
          "--d-lr",          num(cfg.optim.d_lr),
          "--beta1",         num(cfg.optim.beta1),
          "--beta2",         num(cfg.optim.beta2),
          "--n-critic",      std::to_string(cfg.optim.n_critic),
          "--ema-beta",      num(cfg.train.ema_beta)};
  // clang-format on
  if (cfg.train.channels_last) args.push_back("--channels-last");  // the same layout on both sides
  return args;
}

}  // namespace culturegan::bench
