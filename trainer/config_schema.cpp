#include "trainer/config_schema.h"

#include <fmt/format.h>

namespace culturegan::trainer {
namespace {

unsigned kinds(std::initializer_list<ModelKind> ks) {
  unsigned m = 0;
  for (auto k : ks) m |= 1u << static_cast<unsigned>(k);
  return m;
}
constexpr unsigned kAll = 0;
const unsigned kStarGan = kinds({ModelKind::kStargan});
const unsigned kV2 = kinds({ModelKind::kStarganV2});
const unsigned kCycle = kinds({ModelKind::kCycleGan});

Range gt0() { return Range{true, true, false, false, 0, 0}; }
Range ge0() { return Range{true, false, false, false, 0, 0}; }
Range unit_open() { return Range{true, false, true, true, 0, 1}; }  // [0,1)

std::pair<std::string, std::string> split_key(const std::string& key) {
  const auto dot = key.find('.');
  return {key.substr(0, dot), key.substr(dot + 1)};
}

toml::table& section_of(toml::table& out, const std::string& key) {
  const auto sect = split_key(key).first;
  if (!out.contains(sect)) out.insert(sect, toml::table{});
  return *out[sect].as_table();
}

template <typename V>
KeyType type_of() {
  if constexpr (std::is_same_v<V, int64_t>) return KeyType::kInt;
  if constexpr (std::is_same_v<V, double>) return KeyType::kFloat;
  if constexpr (std::is_same_v<V, bool>) return KeyType::kBool;
  if constexpr (std::is_same_v<V, std::string>) return KeyType::kString;
  if constexpr (std::is_same_v<V, std::vector<std::string>>) return KeyType::kStringArray;
  return KeyType::kChoice;
}

// A plain key (int, float, bool, string, string array) stored in Config::*section.*field.
template <typename S, typename V>
KeySpec key(const char* name, S Config::*section, V S::*field, std::string doc,
            unsigned owners = kAll, std::optional<Range> range = std::nullopt) {
  KeySpec k;
  k.key = name;
  k.type = type_of<V>();
  k.range = range;
  k.owners = owners;
  k.doc = std::move(doc);
  k.set = [section, field](Config& c, const toml::node& n) {
    auto& dst = (c.*section).*field;
    if constexpr (std::is_same_v<V, std::vector<std::string>>) {
      dst.clear();
      for (const auto& e : *n.as_array()) dst.push_back(*e.value<std::string>());
    } else if constexpr (std::is_same_v<V, double>) {
      dst = *n.value<double>();  // integers promote
    } else {
      dst = *n.value<V>();
    }
  };
  const std::string leaf = split_key(name).second;
  k.get = [section, field, name = std::string(name), leaf](const Config& c, toml::table& out) {
    const auto& v = (c.*section).*field;
    auto& t = section_of(out, name);
    if constexpr (std::is_same_v<V, std::vector<std::string>>) {
      toml::array a;
      for (const auto& s : v) a.push_back(s);
      t.insert_or_assign(leaf, std::move(a));
    } else {
      t.insert_or_assign(leaf, v);
    }
  };
  return k;
}

// A string choice stored as the enum E.
template <typename S, typename E>
KeySpec choice(const char* name, S Config::*section, E S::*field, std::string doc,
               unsigned owners = kAll) {
  KeySpec k;
  k.key = name;
  k.type = KeyType::kChoice;
  for (const auto& [n, v] : choice_names<E>()) k.choices.push_back(n);
  k.owners = owners;
  k.doc = std::move(doc);
  k.set = [section, field](Config& c, const toml::node& n) {
    const std::string s = *n.value<std::string>();
    for (const auto& [name, v] : choice_names<E>())
      if (name == s) (c.*section).*field = v;
  };
  const std::string leaf = split_key(name).second;
  k.get = [section, field, name = std::string(name), leaf](const Config& c, toml::table& out) {
    section_of(out, name).insert_or_assign(leaf, to_string((c.*section).*field));
  };
  return k;
}

std::vector<KeySpec> build() {
  using C = Config;
  std::vector<KeySpec> s;
  // run, data
  s.push_back(key("run.dir", &C::run, &RunConfig::dir,
                  "output folder: checkpoints/, samples/, generator.bundle, summary.json, "
                  "metrics.jsonl, report.html"));
  s.push_back(
      key("data.corpus", &C::data, &DataConfig::corpus, "the HDF5 corpus (culturegan-ingest)"));
  s.back().required = true;
  s.push_back(key("data.image_size", &C::data, &DataConfig::image_size,
                  "must equal the corpus's image size; a multiple of 4", kAll, gt0()));
  s.push_back(
      key("data.threads", &C::data, &DataConfig::threads, "loader threads per rank", kAll, gt0()));
  s.push_back(key("data.prefetch", &C::data, &DataConfig::prefetch, "batches queued ahead per rank",
                  kAll, gt0()));
  s.push_back(key("data.hflip", &C::data, &DataConfig::hflip, "random horizontal flips"));
  s.push_back(key("data.no_flip_cultures", &C::data, &DataConfig::no_flip_cultures,
                  "cultures never flipped (calligraphy, seals)"));
  s.push_back(key("data.culture_balanced", &C::data, &DataConfig::culture_balanced,
                  "sample cultures equally often (weights inverse to frequency)"));
  // model
  s.push_back(choice("model.kind", &C::model, &ModelConfig::kind,
                     "the GAN: `stargan` (multi-domain culture translator), `starganv2` "
                     "(style-based translator), `dcgan` (noise + culture → image), `cyclegan` "
                     "(two cultures); docs/recipes.md"));
  s.push_back(key("model.g_conv_dim", &C::model, &ModelConfig::g_conv_dim,
                  "G's first width (doubled by each downsampling)", kAll, gt0()));
  s.push_back(
      key("model.g_res_blocks", &C::model, &ModelConfig::g_res_blocks, "G's residual blocks",
          kinds({ModelKind::kStargan, ModelKind::kStarganV2, ModelKind::kCycleGan}), ge0()));
  s.push_back(
      key("model.d_conv_dim", &C::model, &ModelConfig::d_conv_dim, "D's first width", kAll, gt0()));
  s.push_back(key("model.d_layers", &C::model, &ModelConfig::d_layers,
                  "D's stride-2 convs; 0 = log2(S) − 1", kStarGan, ge0()));
  s.push_back(choice("model.conditioning", &C::model, &ModelConfig::conditioning,
                     "how the target culture enters G: `cin` (conditional InstanceNorm from a "
                     "learned culture embedding in the residual and decoder blocks, Dumoulin et "
                     "al. 2017) or `planes` (one-hot planes concatenated to the input, the "
                     "StarGAN paper)",
                     kStarGan));
  s.push_back(choice("model.upsample", &C::model, &ModelConfig::upsample,
                     "G's decoder upsampling: `nearest` / `bilinear` ×2 then conv 3×3 "
                     "(resize-convolution, Odena et al. 2016: no checkerboard) or `transposed` "
                     "(conv-transpose 4×4 stride 2, the papers' layers)",
                     kinds({ModelKind::kStargan, ModelKind::kCycleGan, ModelKind::kDcgan})));
  s.push_back(key("model.d_per_culture", &C::model, &ModelConfig::d_per_culture,
                  "D judges real/fake per culture (one patch map per culture, StarGAN v2's "
                  "multi-task D), so a palette alone cannot pass it; false = one map (paper)",
                  kStarGan));
  s.push_back(key("model.z_dim", &C::model, &ModelConfig::z_dim,
                  "noise length (dcgan), latent size (starganv2)",
                  kinds({ModelKind::kDcgan, ModelKind::kStarganV2}), gt0()));
  s.push_back(key("model.spectral_norm", &C::model, &ModelConfig::spectral_norm,
                  "spectral norm on D's convs (dcgan: replaces D's BatchNorm)",
                  kinds({ModelKind::kDcgan, ModelKind::kCycleGan})));
  // loss (shared by the algorithms, except λ_cls and λ_rec: StarGAN's)
  s.push_back(choice("loss.adversarial", &C::loss, &LossConfig::adversarial,
                     "adversarial loss; `wgan-gp` = critic loss + `loss.gp_lambda`·GP (stargan, "
                     "dcgan)"));
  s.push_back(key("loss.lambda_cls", &C::loss, &LossConfig::lambda_cls,
                  "StarGAN λ_cls: culture classification weight (Choi et al. 2018, eq. 5–6)",
                  kStarGan, ge0()));
  s.push_back(key("loss.lambda_rec", &C::loss, &LossConfig::lambda_rec,
                  "StarGAN λ_rec: cycle reconstruction weight (eq. 6)", kStarGan, ge0()));
  s.push_back(key("loss.lambda_id", &C::loss, &LossConfig::lambda_id,
                  "identity weight: |G(x, c_src) − x|₁ on the image's own culture (CycleGAN's "
                  "identity term for the translator)",
                  kStarGan, ge0()));
  s.push_back(key("loss.lambda_nce", &C::loss, &LossConfig::lambda_nce,
                  "PatchNCE weight (Park et al. 2020, CUT): contrastive content loss between the "
                  "photo's and the translation's G-encoder features; 0 = off",
                  kStarGan, ge0()));
  s.push_back(key("loss.nce_patches", &C::loss, &LossConfig::nce_patches,
                  "PatchNCE: locations sampled per layer (all when fewer)", kStarGan, gt0()));
  s.push_back(key("loss.nce_tau", &C::loss, &LossConfig::nce_tau, "PatchNCE: temperature τ",
                  kStarGan, gt0()));
  s.push_back(key("loss.lambda_gram", &C::loss, &LossConfig::lambda_gram,
                  "style weight: Gram matrices of D's features of the translation vs the mean "
                  "Gram of this rank's real images of the target culture (Gatys et al. 2016 "
                  "with D instead of VGG); 0 = off",
                  kStarGan, ge0()));
  s.push_back(key("loss.gp_lambda", &C::loss, &LossConfig::gp_lambda,
                  "WGAN-GP penalty weight λ (with `loss.adversarial = \"wgan-gp\"`)",
                  kinds({ModelKind::kStargan, ModelKind::kDcgan}), ge0()));
  s.push_back(key("loss.r1_gamma", &C::loss, &LossConfig::r1_gamma,
                  "R1 weight γ; > 0 adds a lazy `D_reg` phase: γ/2·E‖∇D(x)‖² on real images", kAll,
                  ge0()));
  s.push_back(key("loss.r1_interval", &C::loss, &LossConfig::r1_interval,
                  "`D_reg` runs every this many steps: its penalty × the interval, D's lr × "
                  "k/(k+1) and betas ^ k/(k+1) (StyleGAN2's lazy regularisation)",
                  kAll, gt0()));
  s.push_back(key("loss.diffaugment", &C::loss, &LossConfig::diffaugment,
                  "DiffAugment before D: \"\" or a comma list of `color`, `translation`, "
                  "`cutout`"));
  // optim
  s.push_back(
      key("optim.g_lr", &C::optim, &OptimConfig::g_lr, "G's Adam learning rate", kAll, gt0()));
  s.push_back(
      key("optim.d_lr", &C::optim, &OptimConfig::d_lr, "D's Adam learning rate", kAll, gt0()));
  s.push_back(key("optim.beta1", &C::optim, &OptimConfig::beta1, "Adam β1", kAll, unit_open()));
  s.push_back(key("optim.beta2", &C::optim, &OptimConfig::beta2, "Adam β2", kAll, unit_open()));
  s.push_back(
      key("optim.n_critic", &C::optim, &OptimConfig::n_critic, "D steps per G step", kAll, gt0()));
  s.push_back(key("optim.decay_start", &C::optim, &OptimConfig::decay_start,
                  "constant lr until this step, then linear to 0 at `train.steps` (0 = "
                  "constant; CycleGAN's schedule)",
                  kAll, ge0()));
  // train
  s.push_back(key("train.steps", &C::train, &TrainConfig::steps, "total steps", kAll, gt0()));
  s.push_back(key("train.batch_size", &C::train, &TrainConfig::batch_size,
                  "per-rank batch (global batch = world size × this)", kAll, gt0()));
  s.push_back(key("train.seed", &C::train, &TrainConfig::seed,
                  "seeds weights, sampler, augmentation and target cultures"));
  s.push_back(key("train.ema_beta", &C::train, &TrainConfig::ema_beta,
                  "G_ema decay β; step t uses min(β, (1+t)/(10+t))",
                  kinds({ModelKind::kStargan, ModelKind::kStarganV2, ModelKind::kDcgan}),
                  unit_open()));
  s.push_back(key("train.log_every_s", &C::train, &TrainConfig::log_every_s,
                  "seconds between progress lines (0 = every step)", kAll, ge0()));
  s.push_back(key("train.sample_every", &C::train, &TrainConfig::sample_every,
                  "steps between sample grids (0 = only the final one)", kAll, ge0()));
  s.push_back(key("train.threads", &C::train, &TrainConfig::threads,
                  "intra-op threads per rank (0 = OMP_NUM_THREADS)", kAll, ge0()));
  s.push_back(choice("train.device", &C::train, &TrainConfig::device,
                     "`auto` (CUDA when LibTorch sees it), `cpu`, `cuda` (`cuda:<local rank>`)"));
  s.push_back(choice("train.non_finite", &C::train, &TrainConfig::non_finite,
                     "a non-finite loss: `stop` with a diagnostic, or `skip` the step (all "
                     "ranks agree)"));
  s.push_back(choice("train.precision", &C::train, &TrainConfig::precision,
                     "forward passes in `fp32`, or `bf16` (autocast; weights, Adam state, "
                     "gradient all-reduce, losses and EMA stay float32; on a CPU without "
                     "AVX-512 BF16 it falls back to fp32 with a warning)"));
  s.push_back(key("train.channels_last", &C::train, &TrainConfig::channels_last,
                  "every 4-D weight and each batch of images in channels-last (NHWC) memory "
                  "layout: the same network and values up to rounding; for GPUs (tensor cores "
                  "read NHWC) and CPUs whose oneDNN kernels prefer it (BENCHMARKS.md has this "
                  "machine's figures)"));
  s.push_back(key("train.max_minutes", &C::train, &TrainConfig::max_minutes,
                  "wall-time budget: then the ranks stop, checkpoint and export as at the end "
                  "(0 = off)",
                  kAll, ge0()));
  s.push_back(key("train.init_from", &C::train, &TrainConfig::init_from,
                  "start from trained weights (`--init-from`): a generator bundle (G, G_ema) or a "
                  "checkpoint directory (G, D, G_ema, NCE_head); weights only (fresh optimizers, "
                  "step 0), cultures matched by name (docs/new-culture.md); \"\" = off",
                  kStarGan));
  s.push_back(key("train.freeze", &C::train, &TrainConfig::freeze,
                  "parameters that do not train, as `<network>` or `<network>.<part>` (e.g. "
                  "`[\"G.encoder\"]`): no gradient, no bucket, no optimizer state"));
  // ada (Karras et al. 2020)
  s.push_back(key("ada.target", &C::ada, &AdaConfig::target,
                  "adaptive discriminator augmentation: the target of r_t = E[sign(D(x_real) − "
                  "m)] (m: midpoint of the loss's real/fake targets); 0 = off, the paper: 0.6",
                  kStarGan, Range{true, false, true, true, 0, 1}));
  s.push_back(key("ada.interval", &C::ada, &AdaConfig::interval,
                  "steps between adjustments of the augmentation probability p", kStarGan, gt0()));
  s.push_back(key("ada.kimg", &C::ada, &AdaConfig::kimg,
                  "thousands of real images over which p can move by 1 (the paper: 500)", kStarGan,
                  gt0()));
  s.push_back(key("ada.p_init", &C::ada, &AdaConfig::p_init, "p at step 0", kStarGan,
                  Range{true, false, true, false, 0, 1}));
  s.push_back(key("ada.pipeline", &C::ada, &AdaConfig::pipeline,
                  "augmentations applied to D's real and fake inputs, each with probability p: "
                  "`xflip`, `rotate90`, `translate`, `scale`, `rotate`, `aniso`, `cutout`, "
                  "`brightness`, `contrast`, `saturation`",
                  kStarGan));
  // checkpoint, distributed, sample, eval
  s.push_back(key("checkpoint.every", &C::checkpoint, &CheckpointConfig::every,
                  "steps between checkpoints (0 = only at the end)", kAll, ge0()));
  s.push_back(key("checkpoint.keep", &C::checkpoint, &CheckpointConfig::keep,
                  "newest checkpoints kept", kAll, gt0()));
  s.push_back(choice("distributed.backend", &C::distributed, &DistributedConfig::backend,
                     "gradient all-reduce: `auto` (NCCL with CUDA, else MPI), `mpi`, `nccl`"));
  s.push_back(key("distributed.bucket_mb", &C::distributed, &DistributedConfig::bucket_mb,
                  "MiB per gradient bucket after the first", kAll, gt0()));
  s.push_back(key("distributed.first_bucket_mb", &C::distributed,
                  &DistributedConfig::first_bucket_mb, "MiB of the first gradient bucket", kAll,
                  gt0()));
  s.push_back(key("distributed.timeout_s", &C::distributed, &DistributedConfig::timeout_s,
                  "watchdog limit for one collective, seconds", kAll, gt0()));
  s.push_back(key("distributed.check_every", &C::distributed, &DistributedConfig::check_every,
                  "steps between cross-rank parameter checksums (0 = off)", kAll, ge0()));
  s.push_back(key("distributed.scrub_non_finite", &C::distributed,
                  &DistributedConfig::scrub_non_finite, "zero NaN/Inf gradients before reducing"));
  s.push_back(key("sample.source_culture", &C::sample, &SampleConfig::source_culture,
                  "culture of the sample grid's rows (val split)"));
  s.push_back(key("sample.count", &C::sample, &SampleConfig::count, "rows of the sample grid", kAll,
                  ge0()));
  s.push_back(key("eval.every", &C::eval, &EvalConfig::every,
                  "steps between in-training evaluations on rank 0 into `metrics.jsonl` (0 = "
                  "off; docs/eval.md)",
                  kAll, ge0()));
  s.push_back(key("eval.classifier", &C::eval, &EvalConfig::classifier,
                  "culture classifier from `culturegan-eval --classifier FILE` (required when "
                  "`eval.every` > 0)"));
  s.push_back(key("eval.classifier_width", &C::eval, &EvalConfig::classifier_width,
                  "the `--width` it was trained with", kAll, gt0()));
  s.push_back(key("report.every", &C::report, &ReportConfig::every,
                  "steps between refreshes of `run.dir/report.html` by rank 0 (culturegan-report "
                  "in the background; 0 = only at the end; docs/report.md)",
                  kAll, ge0()));
  // starganv2 (Choi et al. 2020, eq. 5)
  s.push_back(key("starganv2.lambda_sty", &C::starganv2, &StarGanV2Config::lambda_sty,
                  "λ_sty: style reconstruction |s̃ − E_ỹ(G(x, s̃))|₁", kV2, ge0()));
  s.push_back(key("starganv2.lambda_ds", &C::starganv2, &StarGanV2Config::lambda_ds,
                  "λ_ds: diversity sensitivity |G(x, s̃₁) − G(x, s̃₂)|₁ (subtracted)", kV2, ge0()));
  s.push_back(key("starganv2.lambda_cyc", &C::starganv2, &StarGanV2Config::lambda_cyc,
                  "λ_cyc: cycle consistency |x − G(G(x, s̃), E_y(x))|₁", kV2, ge0()));
  // cyclegan (Zhu et al. 2017)
  s.push_back(key("cyclegan.lambda_cyc", &C::cyclegan, &CycleGanConfig::lambda_cyc,
                  "λ: cycle consistency weight (eq. 3)", kCycle, ge0()));
  s.push_back(key("cyclegan.lambda_id", &C::cyclegan, &CycleGanConfig::lambda_id,
                  "identity term weight (Sec. 5.2; the paper uses 0.5·λ)", kCycle, ge0()));
  s.push_back(key("cyclegan.pool_size", &C::cyclegan, &CycleGanConfig::pool_size,
                  "fake-image history per domain shown to D (0 = off; per rank, not "
                  "checkpointed)",
                  kCycle, ge0()));
  s.push_back(key("cyclegan.domain_a", &C::cyclegan, &CycleGanConfig::domain_a,
                  "culture index (corpus order, sorted by name) of domain A", kCycle, ge0()));
  s.push_back(key("cyclegan.domain_b", &C::cyclegan, &CycleGanConfig::domain_b,
                  "culture index of domain B (≠ domain A)", kCycle, ge0()));
  return s;
}

}  // namespace

bool Range::contains(double v) const {
  if (has_lo && (lo_open ? !(v > lo) : !(v >= lo))) return false;
  if (has_hi && (hi_open ? !(v < hi) : !(v <= hi))) return false;
  return true;
}

std::string Range::text() const {
  if (has_lo && has_hi)
    return fmt::format("in {}{},{}{}", lo_open ? "(" : "[", lo, hi, hi_open ? ")" : "]");
  if (has_lo) return fmt::format("{} {}", lo_open ? ">" : ">=", lo);
  return fmt::format("{} {}", hi_open ? "<" : "<=", hi);
}

const std::vector<KeySpec>& config_schema() {
  static const std::vector<KeySpec> s = build();
  return s;
}

const KeySpec* find_key(const std::string& key) {
  for (const auto& k : config_schema())
    if (k.key == key) return &k;
  return nullptr;
}

const std::vector<RenamedKey>& renamed_keys() {
  static const std::vector<RenamedKey> r = {
      {"loss.lambda_cls", ModelKind::kStarganV2, "starganv2.lambda_sty"},
      {"loss.lambda_rec", ModelKind::kStarganV2, "starganv2.lambda_cyc"},
      {"loss.lambda_id", ModelKind::kStarganV2, "starganv2.lambda_ds"},
      {"loss.lambda_rec", ModelKind::kCycleGan, "cyclegan.lambda_cyc"},
      {"loss.lambda_id", ModelKind::kCycleGan, "cyclegan.lambda_id"},
      {"train.pool_size", ModelKind::kCycleGan, "cyclegan.pool_size"},
      {"model.domain_a", ModelKind::kCycleGan, "cyclegan.domain_a"},
      {"model.domain_b", ModelKind::kCycleGan, "cyclegan.domain_b"},
  };
  return r;
}

}  // namespace culturegan::trainer
