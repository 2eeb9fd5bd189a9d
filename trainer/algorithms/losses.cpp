#include "trainer/algorithms/losses.h"

#include <stdexcept>

namespace culturegan::trainer {
namespace F = torch::nn::functional;

AdversarialLoss parse_adversarial_loss(const std::string& name) {
  if (name == "lsgan") return AdversarialLoss::kLsgan;
  if (name == "bce") return AdversarialLoss::kBce;
  if (name == "hinge") return AdversarialLoss::kHinge;
  if (name == "wgan-gp") return AdversarialLoss::kWgan;
  throw std::invalid_argument("adversarial loss: expected lsgan | bce | hinge | wgan-gp, found \"" +
                              name + "\"");
}

namespace {
// Losses are computed in float32 (or the inputs' float64) whatever the forward's precision
// (train.precision = bf16): reduced-precision inputs are upcast.
torch::Tensor f32(const torch::Tensor& t) {
  const auto s = t.scalar_type();
  return (s == torch::kHalf || s == torch::kBFloat16) ? t.to(torch::kFloat) : t;
}
}  // namespace

torch::Tensor d_loss_real(AdversarialLoss kind, const torch::Tensor& real_logits_in) {
  const auto real_logits = f32(real_logits_in);
  switch (kind) {
    case AdversarialLoss::kLsgan:
      return (real_logits - 1).pow(2).mean();
    case AdversarialLoss::kBce:
      return F::softplus(-real_logits).mean();
    case AdversarialLoss::kHinge:
      return torch::relu(1 - real_logits).mean();
    case AdversarialLoss::kWgan:
      return -real_logits.mean();
  }
  throw std::logic_error("unreachable");
}

torch::Tensor d_loss_fake(AdversarialLoss kind, const torch::Tensor& fake_logits_in) {
  const auto fake_logits = f32(fake_logits_in);
  switch (kind) {
    case AdversarialLoss::kLsgan:
      return fake_logits.pow(2).mean();
    case AdversarialLoss::kBce:
      return F::softplus(fake_logits).mean();
    case AdversarialLoss::kHinge:
      return torch::relu(1 + fake_logits).mean();
    case AdversarialLoss::kWgan:
      return fake_logits.mean();
  }
  throw std::logic_error("unreachable");
}

torch::Tensor g_loss_adv(AdversarialLoss kind, const torch::Tensor& fake_logits_in) {
  const auto fake_logits = f32(fake_logits_in);
  switch (kind) {
    case AdversarialLoss::kLsgan:
      return (fake_logits - 1).pow(2).mean();
    case AdversarialLoss::kBce:
      return F::softplus(-fake_logits).mean();
    case AdversarialLoss::kHinge:
      return -fake_logits.mean();
    case AdversarialLoss::kWgan:
      return -fake_logits.mean();
  }
  throw std::logic_error("unreachable");
}

torch::Tensor culture_classification_loss(const torch::Tensor& logits,
                                          const torch::Tensor& labels) {
  return F::cross_entropy(f32(logits), labels.to(torch::kLong));
}

torch::Tensor reconstruction_loss(const torch::Tensor& x, const torch::Tensor& x_rec) {
  return (f32(x) - f32(x_rec)).abs().mean();
}

}  // namespace culturegan::trainer
