// Model zoo: losses and stabilisers against hand-computed values, R1 against finite
// differences, DiffAugment primitives, spectral norm, the image pool, lr decay, model shapes.
// (The offline metrics' known-answer tests are in tests/eval/metrics_test.cpp.)
#include <gtest/gtest.h>

#include <cmath>

#include "models/zoo.h"
#include "trainer/algorithms/cyclegan.h"
#include "trainer/algorithms/dcgan.h"
#include "trainer/algorithms/losses.h"
#include "trainer/algorithms/regularizers.h"
#include "trainer/algorithms/sample_randomness.h"

using namespace culturegan;
using namespace culturegan::trainer;

namespace {
double v(const torch::Tensor& t) { return t.item<double>(); }
}  // namespace

TEST(ZooLosses, WganCriticByHand) {
  const auto logits = torch::tensor({2.0f, -1.0f, 0.5f, 0.0f});  // mean 0.375
  EXPECT_NEAR(v(d_loss_real(AdversarialLoss::kWgan, logits)), -0.375, 1e-6);
  EXPECT_NEAR(v(d_loss_fake(AdversarialLoss::kWgan, logits)), 0.375, 1e-6);
  EXPECT_NEAR(v(g_loss_adv(AdversarialLoss::kWgan, logits)), -0.375, 1e-6);
  EXPECT_EQ(parse_adversarial_loss("wgan-gp"), AdversarialLoss::kWgan);
}

TEST(ZooLosses, GradientPenaltyByHand) {
  // Linear critic D(x) = Σ w·x: ∇D = w everywhere, so GP = (‖w‖ − 1)². ‖w‖ = 2 → 1.
  auto w = torch::zeros({1, 1, 2, 2});
  w[0][0][0][0] = 2.0f;
  auto linear = [&](const torch::Tensor& x) { return (x * w).flatten(1).sum(1); };
  auto real = torch::randn({3, 1, 2, 2}), fake = torch::randn({3, 1, 2, 2});
  EXPECT_NEAR(v(gradient_penalty(linear, real, fake, torch::rand({3}))), 1.0, 1e-6);
  // Quadratic critic D(x) = ½‖x‖²: ∇D(x̂) = x̂ = α·real + (1 − α)·fake.
  auto quad = [](const torch::Tensor& x) { return 0.5 * x.pow(2).flatten(1).sum(1); };
  auto r = torch::full({2, 1, 1, 2}, 1.0f), f = torch::full({2, 1, 1, 2}, 3.0f);
  // α = 0.5 → x̂ = 2 in both pixels: ‖x̂‖ = 2√2; α = 1 → x̂ = 1: ‖x̂‖ = √2.
  const double want = (std::pow(2 * std::sqrt(2.0) - 1, 2) + std::pow(std::sqrt(2.0) - 1, 2)) / 2;
  EXPECT_NEAR(v(gradient_penalty(quad, r, f, torch::tensor({0.5f, 1.0f}))), want, 1e-5);
}

TEST(ZooLosses, R1MatchesFiniteDifferences) {
  torch::manual_seed(3);
  auto conv = torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 4, 3).padding(1));
  conv->to(torch::kDouble);
  auto d = [&](const torch::Tensor& x) { return torch::tanh(conv->forward(x)).flatten(1).sum(1); };
  auto x0 = torch::randn({2, 3, 4, 4}, torch::kDouble);
  auto x = x0.clone().requires_grad_(true);
  auto r1 = v(r1_penalty(d(x), x));
  // Central differences of D per pixel: ∇_x D(x_i), then mean_i ‖·‖².
  const double h = 1e-6;
  double want = 0;
  for (int64_t i = 0; i < 2; ++i) {
    auto flat = x0[i].flatten();
    double sq = 0;
    for (int64_t k = 0; k < flat.numel(); ++k) {
      auto plus = x0[i].clone().flatten(), minus = x0[i].clone().flatten();
      plus[k] += h;
      minus[k] -= h;
      const double g = (v(d(plus.view({1, 3, 4, 4}))) - v(d(minus.view({1, 3, 4, 4})))) / (2 * h);
      sq += g * g;
    }
    want += sq / 2;
  }
  EXPECT_NEAR(r1, want, 1e-6 * std::max(1.0, want));
  // And R1's own gradient with respect to a weight (double backprop) against R1's differences.
  auto xr = x0.clone().requires_grad_(true);
  auto penalty = r1_penalty(d(xr), xr);
  auto gw = torch::autograd::grad({penalty}, {conv->weight})[0];
  auto r1_at = [&](double delta) {
    torch::NoGradGuard ng;
    conv->weight[0][0][1][1] += delta;
    torch::GradMode::set_enabled(true);
    auto xx = x0.clone().requires_grad_(true);
    const double out = v(r1_penalty(d(xx), xx));
    torch::GradMode::set_enabled(false);
    conv->weight[0][0][1][1] -= delta;
    return out;
  };
  const double fd = (r1_at(1e-6) - r1_at(-1e-6)) / 2e-6;
  EXPECT_NEAR(v(gw[0][0][1][1]), fd, 1e-5 * std::max(1.0, std::abs(fd)));
}

TEST(ZooAugment, PrimitivesByHand) {
  auto px = torch::tensor({0.2f, 0.4f, 0.6f}).view({1, 3, 1, 1});
  auto sat = augment_saturation(px, torch::tensor({2.0f}));  // mean 0.4: (x − 0.4)·2 + 0.4
  EXPECT_NEAR(v(sat[0][0][0][0]), 0.0, 1e-6);
  EXPECT_NEAR(v(sat[0][2][0][0]), 0.8, 1e-6);
  EXPECT_NEAR(v(augment_brightness(px, torch::tensor({-0.5f}))[0][1][0][0]), -0.1, 1e-6);
  auto con = augment_contrast(px, torch::tensor({0.5f}));  // mean 0.4: 0.3, 0.4, 0.5
  EXPECT_NEAR(v(con[0][0][0][0]), 0.3, 1e-6);
  auto img = torch::arange(1, 10, torch::kFloat).view({1, 1, 3, 3});  // 1 2 3 / 4 5 6 / 7 8 9
  auto t = augment_translation(img, {1}, {-1});                       // right by 1, up by 1
  auto want = torch::tensor({0.0f, 4.0f, 5.0f, 0.0f, 7.0f, 8.0f, 0.0f, 0.0f, 0.0f});
  EXPECT_TRUE(torch::equal(t.flatten(), want)) << t;
  auto c = augment_cutout(img, {1}, {0}, 2);  // zero rows 0-1, cols 1-2
  EXPECT_TRUE(torch::equal(c.flatten(),
                           torch::tensor({1.0f, 0.0f, 0.0f, 4.0f, 0.0f, 0.0f, 7.0f, 8.0f, 9.0f})));
}

TEST(ZooAugment, SameForAnySplitOfTheGlobalBatchAndDifferentiable) {
  auto x = torch::randn({4, 3, 16, 16}).requires_grad_(true);
  StepInput all{x, torch::zeros({4}, torch::kLong), 7, 0, 11, {}};
  auto full = diff_augment(x, "color,translation,cutout", all, 1);
  StepInput lo{x.narrow(0, 0, 2), torch::zeros({2}, torch::kLong), 7, 0, 11, {}};
  StepInput hi{x.narrow(0, 2, 2), torch::zeros({2}, torch::kLong), 7, 2, 11, {}};
  auto split = torch::cat({diff_augment(lo.images, "color,translation,cutout", lo, 1),
                           diff_augment(hi.images, "color,translation,cutout", hi, 1)});
  EXPECT_TRUE(torch::allclose(full, split));
  EXPECT_FALSE(torch::allclose(full, x));
  full.sum().backward();
  EXPECT_TRUE(x.grad().defined());
  EXPECT_TRUE(torch::isfinite(x.grad()).all().item<bool>());
  EXPECT_TRUE(torch::equal(diff_augment(x, "", all, 1), x));
}

TEST(ZooModels, SpectralNormBringsTheLargestSingularValueToOne) {
  torch::manual_seed(0);
  models::SNConv2d conv(4, 8, 3, 1, 1, true, true);
  conv->train();
  torch::Tensor w;
  for (int i = 0; i < 50; ++i) w = conv->effective_weight();
  auto sv = std::get<1>(torch::svd(w.detach().flatten(1)));
  EXPECT_NEAR(v(sv[0]), 1.0, 1e-3);
  models::SNConv2d plain(4, 8, 3, 1, 1, true, false);
  EXPECT_TRUE(torch::equal(plain->effective_weight(), plain->weight));
}

TEST(ZooModels, Shapes) {
  models::DcganSpec s;
  s.num_cultures = 3;
  s.image_size = 64;
  models::DcganGenerator g(s);
  models::DcganDiscriminator d(s);
  auto c = torch::eye(3).narrow(0, 0, 2);
  auto img = g->forward(torch::randn({2, s.z_dim}), c);
  EXPECT_EQ(img.sizes(), (std::vector<int64_t>{2, 3, 64, 64}));
  EXPECT_EQ(d->forward(img, c).sizes(), (std::vector<int64_t>{2}));
  // Widths 512-256-128-64 at 64 px with g_conv_dim 64.
  std::vector<int64_t> widths;
  for (auto& p : g->named_parameters())
    if (p.value().dim() == 4) widths.push_back(p.value().size(1));
  EXPECT_EQ(widths, (std::vector<int64_t>{512, 256, 128, 64, 3}));
  models::ResnetGenerator rg(8, 1);
  EXPECT_EQ(rg->forward(torch::randn({1, 3, 32, 32})).sizes(),
            (std::vector<int64_t>{1, 3, 32, 32}));
  models::PatchDiscriminator pd(4, false);  // 70×70 receptive field: 30×30 patches at 256 px
  EXPECT_EQ(pd->forward(torch::randn({1, 3, 256, 256})).sizes(),
            (std::vector<int64_t>{1, 1, 30, 30}));
}

TEST(ZooTraining, ImagePoolAndLrDecay) {
  ImagePool pool(2);
  StepInput in{torch::zeros({3, 1, 1, 1}), torch::zeros({3}, torch::kLong), 0, 0, 5, {}};
  auto first =
      pool.query(torch::tensor({1.0f, 2.0f, 3.0f}).view({3, 1, 1, 1}), {true, true, false}, in, 1);
  EXPECT_TRUE(torch::equal(first.flatten(), torch::tensor({1.0f, 2.0f, 3.0f})));
  EXPECT_EQ(pool.size(), 2);
  for (int step = 1; step < 20; ++step) {
    in.step = step;
    const float q = 10.0f + step;
    const float out = pool.query(torch::full({1, 1, 1, 1}, q), {true}, in, 1).item<float>();
    EXPECT_TRUE(out == q || out < q) << "returned an image never queried";
  }
  EXPECT_DOUBLE_EQ(decayed_lr(2e-4, 50, 200, 100), 2e-4);
  EXPECT_DOUBLE_EQ(decayed_lr(2e-4, 150, 200, 100), 1e-4);
  EXPECT_NEAR(decayed_lr(2e-4, 199, 200, 100), 2e-6, 1e-12);
  EXPECT_DOUBLE_EQ(decayed_lr(2e-4, 150, 200, 0), 2e-4);
}

TEST(ZooTraining, CounterNoiseIsPerGlobalSample) {
  StepInput all{torch::zeros({4, 3, 2, 2}), torch::zeros({4}, torch::kLong), 3, 0, 1, {}};
  StepInput hi{torch::zeros({2, 3, 2, 2}), torch::zeros({2}, torch::kLong), 3, 2, 1, {}};
  EXPECT_TRUE(torch::equal(counter_noise(all, 5, 3).narrow(0, 2, 2), counter_noise(hi, 5, 3)));
  EXPECT_FALSE(torch::equal(counter_noise(all, 5, 3)[0], counter_noise(all, 5, 3)[1]));
}
