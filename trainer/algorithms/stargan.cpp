#include "trainer/algorithms/stargan.h"

#include "models/bundle.h"
#include "trainer/algorithms/regularizers.h"
#include "trainer/algorithms/sample_randomness.h"
#include "trainer/algorithms/style_loss.h"

namespace culturegan::trainer {
namespace {

// D_main runs with G frozen (train_step.cpp); this re-enables G's gradients for one forward so
// that G_main of the same step can back-propagate through it, and freezes G again afterwards
// (before D_main's backward, which only sees the detached output).
class GradientsFor {
 public:
  explicit GradientsFor(std::vector<torch::Tensor> params) : params_(std::move(params)) {
    for (auto& p : params_) {
      was_.push_back(p.requires_grad());
      p.set_requires_grad(true);
    }
  }
  ~GradientsFor() {
    for (size_t i = 0; i < params_.size(); ++i) params_[i].set_requires_grad(was_[i]);
  }
  GradientsFor(const GradientsFor&) = delete;
  GradientsFor& operator=(const GradientsFor&) = delete;

 private:
  std::vector<torch::Tensor> params_;
  std::vector<bool> was_;
};

}  // namespace

StarGanAlgorithm::StarGanAlgorithm(const Config& cfg, int64_t num_cultures, torch::Device device,
                                   int64_t trained_cultures)
    : AlgorithmBase(cfg),
      num_cultures_(num_cultures),
      trained_cultures_(trained_cultures > 0 ? std::min(trained_cultures, num_cultures)
                                             : num_cultures),
      adv_(cfg.loss.adversarial) {
  if (cfg.ada.target > 0)
    ada_ = std::make_unique<AdaptiveAugment>(
        cfg.ada, adv_ == AdversarialLoss::kLsgan ? 0.5 : 0.0);  // LSGAN's targets are 1 and 0
  models::StarGanSpec spec;
  spec.num_cultures = num_cultures;
  spec.image_size = cfg.data.image_size;
  spec.g_conv_dim = cfg.model.g_conv_dim;
  spec.g_res_blocks = cfg.model.g_res_blocks;
  spec.d_conv_dim = cfg.model.d_conv_dim;
  spec.d_layers = cfg.model.d_layers;
  spec.conditioning = static_cast<int64_t>(cfg.model.conditioning);
  spec.upsample = static_cast<int64_t>(cfg.model.upsample);
  spec.d_per_culture = cfg.model.d_per_culture ? 1 : 0;
  g_ = models::StarGanGenerator(spec);
  d_ = models::StarGanDiscriminator(spec);
  g_ema_ = models::StarGanGenerator(spec);
  track("G", g_.ptr(), device);
  track("D", d_.ptr(), device);
  track("G_ema", g_ema_.ptr(), device);
  track_ema(g_ema_.ptr(), g_.ptr());
  g_ema_->eval();
  std::vector<std::shared_ptr<torch::nn::Module>> g_nets{g_.ptr()};
  if (cfg.loss.lambda_nce > 0) {
    // CUT's H_l: trained with G (same optimizer and phase), checkpointed, not exported.
    nce_head_ = PatchNceHead(g_->encode_channels());
    track("NCE_head", nce_head_.ptr(), device);
    g_nets.push_back(nce_head_.ptr());
  }
  build({d_.ptr()}, g_nets,
        {[this](const StepInput& in) { return d_main(in); },
         [this](const StepInput& in) { return g_main(in); },
         [this](const StepInput& in) { return r1(in); }});
}

LossTerms StarGanAlgorithm::d_main(const StepInput& in) {
  const auto& cfg = this->cfg();
  const auto c_trg = target_labels(in, trained_cultures_);
  auto real_aug = augment(in.images, in, 10);
  const auto oh_trg = models::one_hot(c_trg, num_cultures_);
  torch::Tensor x_fake;
  fake_step_ = -1;
  if (in.step % cfg.optim.n_critic == 0) {
    // G_main runs this step and needs the same G(x, c') (D_main changes only D): compute it
    // once, with G's graph, and hand it over; D sees it detached.
    GradientsFor grad(trainable_parameters(*g_));
    if (cfg.loss.lambda_nce > 0) {
      auto [y, feats] = g_->forward_with_features(in.images, oh_trg);
      fake_ = y;
      fake_src_feats_.clear();
      for (auto& f : feats) fake_src_feats_.push_back(f.detach());
    } else {
      fake_ = g_->forward(in.images, oh_trg);
    }
    fake_step_ = in.step;
    x_fake = fake_.detach();
  } else {
    torch::NoGradGuard no_grad;
    x_fake = g_->forward(in.images, oh_trg);
  }
  auto fake_aug = augment(x_fake, in, 11);
  // One D call on the real and the fake batch together: D has no layer that mixes samples, so
  // each half's outputs are those of two calls (up to the convolutions' summation order), and
  // its convolutions run once at twice the batch, forward and backward (fewer, larger calls;
  // BENCHMARKS.md has the before/after).
  const int64_t n = real_aug.size(0);
  auto [src, cls] = d_->forward_culture(torch::cat({real_aug, fake_aug}),
                                        torch::cat({in.labels, c_trg.to(in.labels.device())}));
  const auto src_real = src.narrow(0, 0, n), src_fake = src.narrow(0, n, n);
  const auto cls_real = cls.narrow(0, 0, n);
  if (ada_) ada_->observe(src_real);
  auto loss_real = d_loss_real(adv_, src_real);
  auto loss_cls = culture_classification_loss(cls_real, in.labels);
  auto loss_fake = d_loss_fake(adv_, src_fake);
  auto total = loss_real + loss_fake + cfg.loss.lambda_cls * loss_cls;
  LossTerms out{total, {{"adv_real", loss_real}, {"adv_fake", loss_fake}, {"cls", loss_cls}}};
  if (adv_ == AdversarialLoss::kWgan && cfg.loss.gp_lambda > 0) {
    // Interpolates are judged as the real image's culture (the single map without d_per_culture).
    auto gp = gradient_penalty(
        [&](const torch::Tensor& x) { return d_->forward_culture(x, in.labels).first; }, real_aug,
        fake_aug, batch_uniform(in, 12));
    out.total = out.total + cfg.loss.gp_lambda * gp;
    out.terms.emplace_back("gp", gp);
  }
  return out;
}

torch::Tensor StarGanAlgorithm::r1(const StepInput& in) {
  auto x = in.images.detach().requires_grad_(true);
  auto src = d_->forward_culture(augment(x, in, 13), in.labels).first;
  return r1_penalty(src, x);
}

LossTerms StarGanAlgorithm::g_main(const StepInput& in) {
  const auto& cfg = this->cfg();
  const auto c_trg = target_labels(in, trained_cultures_);
  const auto oh_trg = models::one_hot(c_trg, num_cultures_);
  const auto oh_src = models::one_hot(in.labels, num_cultures_);
  torch::Tensor x_fake;
  std::vector<torch::Tensor> feats_src;
  if (fake_step_ == in.step) {  // computed by this step's D_main
    x_fake = std::move(fake_);
    feats_src = std::move(fake_src_feats_);
    fake_ = torch::Tensor();
    fake_src_feats_.clear();
    fake_step_ = -1;
  } else {
    x_fake = g_->forward(in.images, oh_trg);
  }
  auto [src_fake, cls_fake] = d_->forward_culture(augment(x_fake, in, 14), c_trg);
  auto loss_adv = g_loss_adv(adv_, src_fake);
  auto loss_cls = culture_classification_loss(cls_fake, c_trg);
  auto x_rec = g_->forward(x_fake, oh_src);
  auto loss_rec = reconstruction_loss(in.images, x_rec);
  LossTerms out{loss_adv + cfg.loss.lambda_cls * loss_cls + cfg.loss.lambda_rec * loss_rec,
                {{"adv", loss_adv}, {"cls", loss_cls}, {"rec", loss_rec}}};
  if (cfg.loss.lambda_id > 0) {  // G(x, c_src) ≈ x
    auto idt = reconstruction_loss(in.images, g_->forward(in.images, oh_src));
    out.total = out.total + cfg.loss.lambda_id * idt;
    out.terms.emplace_back("idt", idt);
  }
  if (cfg.loss.lambda_nce > 0) {  // CUT: patches of G(x) match the same patches of x
    if (feats_src.empty()) {
      torch::NoGradGuard no_grad;  // keys are detached (CUT)
      feats_src = g_->encode(in.images, oh_trg);
    }
    const auto feats_fake = g_->encode(x_fake, oh_trg);
    // The same locations on every rank: the seed depends on (train.seed, step) only.
    const uint64_t seed = counter_hash(in.seed, static_cast<uint64_t>(in.step), 0, /*stream=*/40);
    auto nce = patch_nce_loss(nce_head_, feats_src, feats_fake, seed, cfg.loss.nce_patches,
                              cfg.loss.nce_tau);
    out.total = out.total + cfg.loss.lambda_nce * nce;
    out.terms.emplace_back("nce", nce);
  }
  if (cfg.loss.lambda_gram > 0) {  // content + style: Gram matrices of D's features
    CultureGrams targets;
    {
      torch::NoGradGuard no_grad;
      targets = culture_gram_sums(d_->features(in.images), in.labels, num_cultures_);
    }
    auto sty = gram_style_loss(d_->features(x_fake), c_trg, targets);
    out.total = out.total + cfg.loss.lambda_gram * sty;
    out.terms.emplace_back("gram", sty);
  }
  return out;
}

torch::Tensor StarGanAlgorithm::augment(const torch::Tensor& x, const StepInput& in,
                                        uint64_t stream) const {
  auto y = diff_augment(x, cfg().loss.diffaugment, in, stream);
  return ada_ ? ada_->apply(y, in, stream + 50) : y;  // ADA streams 60-64
}

std::vector<CultureTensor> StarGanAlgorithm::culture_tensors() const {
  std::vector<CultureTensor> out;
  for (const auto& a : g_->culture_axes()) {
    out.push_back({"G." + a.tensor, a.dim, a.offset});
    out.push_back({"G_ema." + a.tensor, a.dim, a.offset});
  }
  for (const auto& a : d_->culture_axes()) out.push_back({"D." + a.tensor, a.dim, a.offset});
  return out;
}

torch::Tensor StarGanAlgorithm::translate(const torch::Tensor& x, int64_t target) {
  torch::NoGradGuard no_grad;
  auto labels = torch::full({x.size(0)}, target,
                            torch::TensorOptions().dtype(torch::kLong).device(x.device()));
  return g_ema_->forward(x, models::one_hot(labels, num_cultures_));
}

void StarGanAlgorithm::export_bundle(const std::string& path,
                                     const std::vector<std::string>& cultures) {
  models::save_bundle(path, models::make_bundle(g_ema_, cultures));
}

}  // namespace culturegan::trainer
