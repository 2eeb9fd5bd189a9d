// Adaptive discriminator augmentation (trainer/algorithms/ada.h): p follows the overfitting
// heuristic, the pipeline is differentiable, deterministic per sample, a no-op at p = 0, and
// the same for N ranks × b as for 1 rank × N·b.
#include <gtest/gtest.h>

#include "trainer/algorithms/ada.h"
#include "trainer/algorithms/stargan.h"

using namespace culturegan;
using namespace culturegan::trainer;

namespace {
AdaConfig ada_config(double p_init = 0.0) {
  AdaConfig c;
  c.target = 0.6;
  c.interval = 4;
  c.kimg = 0.1;  // p moves by 1 per 100 images
  c.p_init = p_init;
  return c;
}

StepInput batch(int64_t n, int64_t offset = 0, int64_t step = 3) {
  torch::manual_seed(9);
  StepInput in;
  in.images = (torch::rand({8, 3, 16, 16}) * 2 - 1).narrow(0, offset, n);
  in.labels = torch::zeros({n}, torch::kLong);
  in.step = step;
  in.global_offset = offset;
  in.seed = 5;
  return in;
}
}  // namespace

TEST(Ada, PRisesOnADiscriminatorThatOverfitsAndFallsOnOneThatDoesNot) {
  AdaptiveAugment ada(ada_config(0.5), /*midpoint (LSGAN)=*/0.5);
  // Overfitting: D scores every real image as surely real (r_t = 1 > 0.6).
  for (int s = 0; s < 4; ++s) ada.observe(torch::full({5, 1, 2, 2}, 0.9f));
  auto st = ada.local_stats();
  EXPECT_DOUBLE_EQ(st[0], 20.0);
  EXPECT_DOUBLE_EQ(st[1], 20.0);
  ada.adjust(st[0], st[1]);
  EXPECT_DOUBLE_EQ(ada.r_t(), 1.0);
  EXPECT_NEAR(ada.p(), 0.5 + 20.0 / 100.0, 1e-12);
  // Not overfitting: half the real images look fake (r_t = 0 < 0.6).
  const double before = ada.p();
  for (int s = 0; s < 4; ++s)
    ada.observe(torch::cat({torch::full({5, 1, 2, 2}, 0.9f), torch::full({5, 1, 2, 2}, 0.1f)}));
  st = ada.local_stats();
  ada.adjust(st[0], st[1]);
  EXPECT_DOUBLE_EQ(ada.r_t(), 0.0);
  EXPECT_NEAR(ada.p(), before - 40.0 / 100.0, 1e-12);
  // Clamped to [0, 1].
  for (int k = 0; k < 5; ++k) ada.adjust(0.0, 100.0);
  EXPECT_EQ(ada.p(), 0.0);
  for (int k = 0; k < 5; ++k) ada.adjust(100.0, 100.0);
  EXPECT_EQ(ada.p(), 1.0);
}

TEST(Ada, StateRoundTripsMidInterval) {
  AdaptiveAugment a(ada_config(0.25), 0.0), b(ada_config(0.0), 0.0);
  a.observe(torch::tensor({1.0f, -2.0f, 3.0f}).view({3, 1}));
  a.adjust(3.0, 4.0);
  a.observe(torch::tensor({1.0f, 2.0f}).view({2, 1}));
  b.restore(a.state());
  EXPECT_EQ(b.p(), a.p());
  EXPECT_EQ(b.r_t(), a.r_t());
  EXPECT_EQ(b.local_stats(), a.local_stats());
}

TEST(Ada, AtPZeroThePipelineReturnsItsInputAndAtPOneItAugments) {
  auto in = batch(4);
  AdaptiveAugment off(ada_config(0.0), 0.0);
  EXPECT_TRUE(off.apply(in.images, in, 60).is_same(in.images));
  AdaConfig all = ada_config(1.0);
  all.pipeline = {"xflip", "rotate90", "translate",  "scale",    "rotate",
                  "aniso", "cutout",   "brightness", "contrast", "saturation"};
  AdaptiveAugment on(all, 0.0);
  auto x = in.images.clone().requires_grad_(true);
  auto y = on.apply(x, in, 60);
  EXPECT_EQ(y.sizes(), x.sizes());
  EXPECT_GT((y - x).abs().mean().item<double>(), 0.05);
  y.sum().backward();  // differentiable in x
  ASSERT_TRUE(x.grad().defined());
  EXPECT_GT(x.grad().abs().sum().item<double>(), 0.0);
  // Deterministic per (step, sample, stream); another stream differs.
  EXPECT_TRUE(torch::equal(on.apply(in.images, in, 60), on.apply(in.images, in, 60)));
  EXPECT_FALSE(torch::equal(on.apply(in.images, in, 60), on.apply(in.images, in, 61)));
}

TEST(Ada, TwoRanksOfTwoAugmentAsOneRankOfFour) {
  AdaptiveAugment ada(ada_config(0.7), 0.0);
  const auto whole = batch(4, 0);
  const auto y = ada.apply(whole.images, whole, 61);
  const auto a = batch(2, 0), b = batch(2, 2);
  const auto ya = ada.apply(a.images, a, 61), yb = ada.apply(b.images, b, 61);
  EXPECT_TRUE(torch::allclose(torch::cat({ya, yb}), y, 1e-6, 1e-6));
}

TEST(Ada, TheTranslatorObservesRealScoresOnlyWhenAdaIsOn) {
  Config cfg;
  cfg.data.corpus = "unused.h5";
  cfg.data.image_size = 16;
  cfg.model.g_conv_dim = 4;
  cfg.model.g_res_blocks = 1;
  cfg.model.d_conv_dim = 4;
  StarGanAlgorithm plain(cfg, 3, torch::kCPU);
  EXPECT_EQ(plain.adaptive_augment(), nullptr);
  cfg.ada.target = 0.6;
  cfg.ada.p_init = 0.5;
  StarGanAlgorithm with(cfg, 3, torch::kCPU);
  ASSERT_NE(with.adaptive_augment(), nullptr);
  auto in = batch(4);
  in.labels = torch::tensor({0, 1, 2, 0}, torch::kLong);
  with.phases()[0].loss(in);  // D_main
  EXPECT_EQ(with.adaptive_augment()->local_stats()[1], 4.0);
}
