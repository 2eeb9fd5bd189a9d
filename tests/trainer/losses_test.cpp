// Each loss against values computed by hand.
#include <gtest/gtest.h>

#include <cmath>

#include "trainer/algorithms/losses.h"

using namespace culturegan::trainer;

namespace {
double v(const torch::Tensor& t) { return t.item<double>(); }
const auto kLogits = torch::tensor({2.0f, -1.0f, 0.5f, 0.0f});
double softplus(double x) { return std::log1p(std::exp(x)); }
}  // namespace

TEST(Losses, Lsgan) {
  // mean((x-1)^2) = (1 + 4 + 0.25 + 1) / 4 = 1.5625 ; mean(x^2) = (4 + 1 + 0.25 + 0)/4 = 1.3125
  EXPECT_NEAR(v(d_loss_real(AdversarialLoss::kLsgan, kLogits)), 1.5625, 1e-6);
  EXPECT_NEAR(v(d_loss_fake(AdversarialLoss::kLsgan, kLogits)), 1.3125, 1e-6);
  EXPECT_NEAR(v(g_loss_adv(AdversarialLoss::kLsgan, kLogits)), 1.5625, 1e-6);
}

TEST(Losses, BceMatchesTheLogFormulas) {
  // L_D = -[log D(x) + log(1 - D(G(z)))], D = sigmoid; L_G = -log D(G(z)).
  double real = 0, fake = 0;
  for (double x : {2.0, -1.0, 0.5, 0.0}) {
    const double d = 1.0 / (1.0 + std::exp(-x));
    real += -std::log(d) / 4;
    fake += -std::log(1 - d) / 4;
  }
  EXPECT_NEAR(v(d_loss_real(AdversarialLoss::kBce, kLogits)), real, 1e-6);
  EXPECT_NEAR(v(d_loss_fake(AdversarialLoss::kBce, kLogits)), fake, 1e-6);
  EXPECT_NEAR(v(g_loss_adv(AdversarialLoss::kBce, kLogits)), real, 1e-6);
  EXPECT_NEAR(real, (softplus(-2) + softplus(1) + softplus(-0.5) + softplus(0)) / 4, 1e-9);
}

TEST(Losses, Hinge) {
  // relu(1-x): 0, 2, 0.5, 1 → 0.875 ; relu(1+x): 3, 0, 1.5, 1 → 1.375 ; -mean(x) = -0.375
  EXPECT_NEAR(v(d_loss_real(AdversarialLoss::kHinge, kLogits)), 0.875, 1e-6);
  EXPECT_NEAR(v(d_loss_fake(AdversarialLoss::kHinge, kLogits)), 1.375, 1e-6);
  EXPECT_NEAR(v(g_loss_adv(AdversarialLoss::kHinge, kLogits)), -0.375, 1e-6);
}

TEST(Losses, CultureClassificationIsSoftmaxCrossEntropy) {
  auto logits = torch::tensor({{1.0f, 2.0f, 3.0f}, {0.0f, 0.0f, 0.0f}});
  auto labels = torch::tensor({2, 0}, torch::kLong);
  const double row0 = -std::log(std::exp(3.0) / (std::exp(1.0) + std::exp(2.0) + std::exp(3.0)));
  const double row1 = std::log(3.0);
  EXPECT_NEAR(v(culture_classification_loss(logits, labels)), (row0 + row1) / 2, 1e-6);
}

TEST(Losses, ReconstructionIsMeanAbsoluteError) {
  auto x = torch::tensor({0.0f, 1.0f, -1.0f, 0.5f});
  auto y = torch::tensor({0.5f, 1.0f, 1.0f, 0.0f});
  EXPECT_NEAR(v(reconstruction_loss(x, y)), (0.5 + 0 + 2 + 0.5) / 4, 1e-6);
}

TEST(Losses, UnknownNameIsAnError) {
  EXPECT_THROW(parse_adversarial_loss("wgan"), std::invalid_argument);
  EXPECT_EQ(parse_adversarial_loss("hinge"), AdversarialLoss::kHinge);
}
