// Run configuration: TOML file + `--set key=value` overrides, validated against the one
// schema (trainer/config_schema.cpp: each key's type, default, allowed values, the model
// kinds that read it, and its one-line doc; docs/config.md is generated from it).
// The field comments below name the keys; the schema holds their documentation.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "trainer/choices.h"

namespace culturegan::trainer {

/// A config problem. what() names the file (or the --set flag), the line:column, the key,
/// what was expected and what was found, e.g.
/// "configs/x.toml:3:1: key 'train.stepz' is unknown (did you mean 'train.steps'?)".
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct RunConfig {
  std::string dir = "runs/default";  ///< run.dir: checkpoints, samples, bundle, logs
};
struct DataConfig {
  std::string corpus;                         ///< data.corpus: path of the HDF5 corpus (required)
  int64_t image_size = 64;                    ///< data.image_size: must equal the corpus's S
  int64_t threads = 2;                        ///< data.threads: loader threads per rank
  int64_t prefetch = 4;                       ///< data.prefetch: batches queued ahead
  bool hflip = true;                          ///< data.hflip
  std::vector<std::string> no_flip_cultures;  ///< data.no_flip_cultures
  bool culture_balanced = false;              ///< data.culture_balanced
};
struct ModelConfig {
  ModelKind kind = ModelKind::kStargan;  ///< model.kind
  int64_t g_conv_dim = 64;               ///< model.g_conv_dim: first generator width
  int64_t g_res_blocks = 6;              ///< model.g_res_blocks
  int64_t d_conv_dim = 64;               ///< model.d_conv_dim
  int64_t d_layers = 0;                  ///< model.d_layers: stride-2 convs in D; 0 = log2(S) - 1
  Conditioning conditioning = Conditioning::kCin;  ///< model.conditioning (stargan)
  Upsample upsample = Upsample::kNearest;          ///< model.upsample (G's decoder)
  bool d_per_culture = true;                       ///< model.d_per_culture (stargan)
  int64_t z_dim = 100;                             ///< model.z_dim: noise length (dcgan)
  bool spectral_norm =
      false;  ///< model.spectral_norm: spectral norm on D's convs (dcgan, cyclegan)
};
struct LossConfig {
  AdversarialLoss adversarial = AdversarialLoss::kLsgan;  ///< loss.adversarial
  double lambda_cls = 1.0;                                ///< loss.lambda_cls: StarGAN's λ_cls
  double lambda_rec = 10.0;                               ///< loss.lambda_rec: StarGAN's λ_rec
  double lambda_id = 0.0;     ///< loss.lambda_id: identity |G(x, c_src) − x|₁ (stargan)
  double lambda_nce = 0.0;    ///< loss.lambda_nce: PatchNCE (CUT) on G's encoder (stargan)
  int64_t nce_patches = 256;  ///< loss.nce_patches: sampled locations per layer
  double nce_tau = 0.07;      ///< loss.nce_tau: InfoNCE temperature
  double lambda_gram = 0.0;   ///< loss.lambda_gram: Gram-matrix style term on D's features
  double gp_lambda = 10.0;    ///< loss.gp_lambda: WGAN-GP penalty weight (adversarial = wgan-gp)
  double r1_gamma = 0.0;      ///< loss.r1_gamma: R1 weight; > 0 adds a D_reg phase
  int64_t r1_interval = 16;   ///< loss.r1_interval: D_reg runs every this many steps (lazy R1)
  std::string diffaugment;    ///< loss.diffaugment: "" or a list of color,translation,cutout
};
struct OptimConfig {
  double g_lr = 1e-4;    ///< optim.g_lr
  double d_lr = 1e-4;    ///< optim.d_lr
  double beta1 = 0.5;    ///< optim.beta1
  double beta2 = 0.999;  ///< optim.beta2
  int64_t n_critic = 1;  ///< optim.n_critic: D steps per G step
  int64_t decay_start =
      0;  ///< optim.decay_start: lr decays linearly to 0 from this step (0 = constant)
};
struct TrainConfig {
  int64_t steps = 1000;      ///< train.steps: total optimizer steps of D
  int64_t batch_size = 8;    ///< train.batch_size: per rank
  int64_t seed = 0;          ///< train.seed
  double ema_beta = 0.999;   ///< train.ema_beta
  double log_every_s = 5.0;  ///< train.log_every_s: progress line period, seconds
  int64_t sample_every = 0;  ///< train.sample_every: sample grid period in steps (0 = end only)
  int64_t threads = 0;       ///< train.threads: intra-op threads per rank (0 = OMP_NUM_THREADS)
  DeviceChoice device = DeviceChoice::kAuto;            ///< train.device
  NonFinitePolicy non_finite = NonFinitePolicy::kStop;  ///< train.non_finite
  Precision precision = Precision::kFp32;               ///< train.precision
  bool channels_last = false;       ///< train.channels_last: 4-D weights and batches in NHWC layout
  double max_minutes = 0.0;         ///< train.max_minutes: wall-time budget (0 = off)
  std::string init_from;            ///< train.init_from: bundle or checkpoint to take weights from
  std::vector<std::string> freeze;  ///< train.freeze: parameters that do not train
};
struct CheckpointConfig {
  int64_t every = 500;  ///< checkpoint.every: steps between checkpoints (0 = only at the end)
  int64_t keep = 3;     ///< checkpoint.keep: newest checkpoints kept
};
struct DistributedConfig {
  BackendChoice backend = BackendChoice::kAuto;  ///< distributed.backend
  double bucket_mb = 25.0;                       ///< distributed.bucket_mb
  double first_bucket_mb = 1.0;                  ///< distributed.first_bucket_mb
  double timeout_s = 300.0;       ///< distributed.timeout_s: watchdog limit per collective
  int64_t check_every = 100;      ///< distributed.check_every: parameter checksum period (0 = off)
  bool scrub_non_finite = false;  ///< distributed.scrub_non_finite
};
struct SampleConfig {
  std::string source_culture = "photo";  ///< sample.source_culture: rows of the sample grid
  int64_t count = 8;                     ///< sample.count: rows
};

struct EvalConfig {
  int64_t every = 0;              ///< eval.every: steps between evaluations on rank 0 (0 = off)
  std::string classifier;         ///< eval.classifier: file from culturegan-eval --classifier
  int64_t classifier_width = 32;  ///< eval.classifier_width: its --width
};

/// The live run report (docs/report.md): run.dir/report.html, written by culturegan-report.
struct ReportConfig {
  int64_t every = 500;  ///< report.every: steps between refreshes on rank 0 (0 = only at the end)
};

/// Adaptive discriminator augmentation (Karras et al. 2020, "Training Generative Adversarial
/// Networks with Limited Data", Sec. 3 and Appendix C; NVlabs stylegan2-ada-pytorch).
struct AdaConfig {
  double target = 0.0;   ///< ada.target: r_t target (0 = ADA off; the paper: 0.6)
  int64_t interval = 4;  ///< ada.interval: steps between adjustments of p
  double kimg = 10.0;    ///< ada.kimg: thousands of real images for p to move by 1
  double p_init = 0.0;   ///< ada.p_init: p at step 0
  std::vector<std::string> pipeline{"xflip", "translate", "scale", "rotate",
                                    "aniso", "cutout"};  ///< ada.pipeline: augmentations, in order
};

/// StarGAN v2's loss weights (Choi et al. 2020, eq. 5): λ_sty, λ_ds, λ_cyc.
struct StarGanV2Config {
  double lambda_sty = 1.0;  ///< starganv2.lambda_sty: style reconstruction
  double lambda_ds = 1.0;   ///< starganv2.lambda_ds: diversity sensitivity
  double lambda_cyc = 1.0;  ///< starganv2.lambda_cyc: cycle consistency
};

/// CycleGAN's settings (Zhu et al. 2017, eq. 3 and Sec. 4, 7.1).
struct CycleGanConfig {
  double lambda_cyc = 10.0;  ///< cyclegan.lambda_cyc: cycle consistency λ
  double lambda_id = 0.0;    ///< cyclegan.lambda_id: identity term (the paper: 0.5·λ)
  int64_t pool_size = 50;    ///< cyclegan.pool_size: fake-image history per domain (0 = off)
  int64_t domain_a = 0;      ///< cyclegan.domain_a: culture index of domain A
  int64_t domain_b = 1;      ///< cyclegan.domain_b: culture index of domain B
};

struct Config {
  RunConfig run;
  DataConfig data;
  ModelConfig model;
  LossConfig loss;
  OptimConfig optim;
  TrainConfig train;
  CheckpointConfig checkpoint;
  DistributedConfig distributed;
  SampleConfig sample;
  EvalConfig eval;
  ReportConfig report;
  AdaConfig ada;
  StarGanV2Config starganv2;
  CycleGanConfig cyclegan;

  /// The resolved config as TOML: every key that model.kind reads, defaults filled in; what
  /// run.dir/config.toml and checkpoints store. parse_config() of it gives the same config.
  std::string to_toml() const;
  /// FNV-1a 64 of to_toml(), as 16 hex digits.
  std::string hash() const;
};

/// Loads `path`, applies each override "a.b=value" in order (value is TOML; a bare word
/// that is not valid TOML is a string), checks every key and type against the schema and
/// the value ranges. Throws ConfigError.
Config load_config(const std::string& path, const std::vector<std::string>& overrides = {});

/// The same from TOML text; `origin` names it in errors.
/// Besides types and ranges it rejects a key that model.kind does not read (it would do
/// nothing), naming the kinds that do, and a key renamed for the kind (e.g. loss.lambda_cls
/// with model.kind = "starganv2"), naming the new key.
Config parse_config(const std::string& toml_text, const std::string& origin,
                    const std::vector<std::string>& overrides = {});

/// docs/config.md: a Markdown reference of every key (type, default, allowed values, the
/// kinds that read it, its doc), generated from the schema (`culturegan-train --config-docs`).
std::string config_reference_markdown();

}  // namespace culturegan::trainer
