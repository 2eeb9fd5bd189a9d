#include "trainer/algorithms/starganv2.h"

#include "models/bundle.h"
#include "trainer/algorithms/regularizers.h"
#include "trainer/algorithms/sample_randomness.h"

namespace culturegan::trainer {
namespace nn = torch::nn;

struct StarGanV2Algorithm::Nets {
  models::StarGanV2Generator g{nullptr}, g_ema{nullptr};
  models::StarGanV2Mapping f{nullptr}, f_ema{nullptr};
  models::StarGanV2Trunk e{nullptr}, e_ema{nullptr}, d{nullptr};
};

StarGanV2Algorithm::~StarGanV2Algorithm() = default;

StarGanV2Algorithm::StarGanV2Algorithm(const Config& cfg, int64_t num_cultures,
                                       torch::Device device)
    : AlgorithmBase(cfg),
      num_cultures_(num_cultures),
      adv_(cfg.loss.adversarial),
      nets_(std::make_unique<Nets>()) {
  if (cfg.data.image_size < 16 || (cfg.data.image_size & (cfg.data.image_size - 1)) != 0)
    throw ConfigError("key 'data.image_size': model.kind = starganv2 needs a power of two >= 16");
  if (adv_ == AdversarialLoss::kWgan)
    throw ConfigError(
        "key 'loss.adversarial': model.kind = starganv2 supports lsgan | bce | hinge (no "
        "gradient penalty), found \"wgan-gp\"");
  auto& n = *nets_;
  const models::StarGanV2Spec spec = v2_spec(cfg, num_cultures);
  n.g = models::StarGanV2Generator(spec);
  n.g_ema = models::StarGanV2Generator(spec);
  n.f = models::StarGanV2Mapping(spec);
  n.f_ema = models::StarGanV2Mapping(spec);
  n.e = models::StarGanV2Trunk(spec, spec.style_dim);
  n.e_ema = models::StarGanV2Trunk(spec, spec.style_dim);
  n.d = models::StarGanV2Trunk(spec, 1);
  track("G", n.g.ptr(), device);
  track("F", n.f.ptr(), device);
  track("E", n.e.ptr(), device);
  track("D", n.d.ptr(), device);
  track("G_ema", n.g_ema.ptr(), device);
  track("F_ema", n.f_ema.ptr(), device);
  track("E_ema", n.e_ema.ptr(), device);
  track_ema(n.g_ema.ptr(), n.g.ptr());
  track_ema(n.f_ema.ptr(), n.f.ptr());
  track_ema(n.e_ema.ptr(), n.e.ptr());
  // F, E and G share the G optimizer and the G_main phase.
  build({n.d.ptr()}, {n.g.ptr(), n.f.ptr(), n.e.ptr()},
        {[this](const StepInput& in) { return d_main(in); },
         [this](const StepInput& in) { return g_main(in); },
         [this](const StepInput& in) { return r1(in); }});
}

models::StarGanV2Spec v2_spec(const Config& cfg, int64_t num_cultures) {
  models::StarGanV2Spec spec;
  spec.num_cultures = num_cultures;
  spec.image_size = cfg.data.image_size;
  spec.g_conv_dim = cfg.model.g_conv_dim;
  spec.g_res_blocks = cfg.model.g_res_blocks;
  spec.d_conv_dim = cfg.model.d_conv_dim;
  spec.z_dim = cfg.model.z_dim;
  return spec;
}

bool StarGanV2Algorithm::reference_step(const StepInput& in) { return in.step % 2 == 1; }

StarGanV2Algorithm::Guide StarGanV2Algorithm::guide(const StepInput& in) {
  auto& n = *nets_;
  Guide out;
  if (reference_step(in)) {
    // Reference-guided: rows swap in pairs (0↔1, 2↔3, ...; an odd last row is its own
    // reference), so each row's target culture is its reference's culture (the paper samples
    // x_ref of y_trg). Pairs never straddle ranks when the per-rank batch is even, so N ranks
    // × b match 1 rank × N·b.
    const int64_t b = in.images.size(0);
    auto idx = torch::arange(b, torch::TensorOptions().dtype(torch::kLong)).bitwise_xor(1);
    idx = torch::where(idx < b, idx, torch::arange(b, idx.options())).to(in.images.device());
    out.target = in.labels.index_select(0, idx);
    out.style = n.e->forward(in.images.index_select(0, idx), out.target);
  } else {
    out.target = target_labels(in, num_cultures_);
    out.style = n.f->forward(counter_noise(in, cfg().model.z_dim, 31), out.target);
  }
  return out;
}

LossTerms StarGanV2Algorithm::d_main(const StepInput& in) {
  auto& n = *nets_;
  Guide gd;
  torch::Tensor fake;
  {
    torch::NoGradGuard no_grad;
    gd = guide(in);
    fake = n.g->forward(in.images, gd.style);
  }
  const auto& policy = cfg().loss.diffaugment;
  auto loss_real =
      d_loss_real(adv_, n.d->forward(diff_augment(in.images, policy, in, 10), in.labels));
  auto loss_fake = d_loss_fake(adv_, n.d->forward(diff_augment(fake, policy, in, 11), gd.target));
  LossTerms out;
  out.total = loss_real + loss_fake;
  out.terms = {{"adv_real", loss_real}, {"adv_fake", loss_fake}};
  return out;
}

torch::Tensor StarGanV2Algorithm::r1(const StepInput& in) {
  auto x = in.images.detach().requires_grad_(true);
  return r1_penalty(nets_->d->forward(diff_augment(x, cfg().loss.diffaugment, in, 13), in.labels),
                    x);
}

LossTerms StarGanV2Algorithm::g_main(const StepInput& in) {
  auto& n = *nets_;
  const auto& x = in.images;
  const Guide gd = guide(in);
  const auto& y_trg = gd.target;
  const auto& s1 = gd.style;
  // Diversity partner: a second latent style of the same culture (the paper uses a second
  // reference image of y_trg in reference steps; a batch rarely holds two per culture).
  auto s2 = n.f->forward(counter_noise(in, cfg().model.z_dim, 32), y_trg);
  auto fake = n.g->forward(x, s1);
  auto adv =
      g_loss_adv(adv_, n.d->forward(diff_augment(fake, cfg().loss.diffaugment, in, 14), y_trg));
  auto sty = (n.e->forward(fake, y_trg) - s1).abs().mean();
  auto fake2 = n.g->forward(x, s2).detach();
  auto ds = (fake - fake2).abs().mean();
  auto cyc = (n.g->forward(fake, n.e->forward(x, in.labels)) - x).abs().mean();
  LossTerms out;
  const auto& w = cfg().starganv2;
  out.total = adv + w.lambda_sty * sty - w.lambda_ds * ds + w.lambda_cyc * cyc;
  out.terms = {{"adv", adv}, {"sty", sty}, {"ds", ds}, {"cyc", cyc}};
  return out;
}

torch::Tensor StarGanV2Algorithm::translate(const torch::Tensor& x, int64_t target) {
  torch::NoGradGuard no_grad;
  StepInput fixed;
  fixed.images = x;
  fixed.seed = static_cast<uint64_t>(cfg().train.seed);
  fixed.step = -1;
  auto y = torch::full({x.size(0)}, target,
                       torch::TensorOptions().dtype(torch::kLong).device(x.device()));
  return nets_->g_ema->forward(
      x, nets_->f_ema->forward(counter_noise(fixed, cfg().model.z_dim, 99), y));
}

torch::Tensor StarGanV2Algorithm::translate_reference(const torch::Tensor& x,
                                                      const torch::Tensor& reference,
                                                      int64_t target) {
  torch::NoGradGuard no_grad;
  auto y = torch::full({reference.size(0)}, target,
                       torch::TensorOptions().dtype(torch::kLong).device(x.device()));
  return nets_->g_ema->forward(x, nets_->e_ema->forward(reference, y));
}

void StarGanV2Algorithm::export_bundle(const std::string& path,
                                       const std::vector<std::string>& cultures) {
  auto& n = *nets_;
  models::save_bundle(path, models::make_starganv2_bundle(v2_spec(cfg(), num_cultures_), *n.g_ema,
                                                          *n.f_ema, *n.e_ema, cultures));
}

}  // namespace culturegan::trainer
