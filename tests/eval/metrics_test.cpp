// The offline metrics (eval/metrics.h) on cases with known answers.
#include <gtest/gtest.h>

#include <cmath>

#include "eval/metrics.h"

using namespace culturegan;

// ----- metrics with known answers

TEST(EvalMetrics, FrechetAndKernelDistances) {
  torch::manual_seed(1);
  auto f = torch::randn({200, 8}, torch::kDouble);
  EXPECT_NEAR(eval::frechet_distance(f, f), 0.0, 1e-6);
  // 1-D by hand: {0,2} (mean 1, var 2) vs {1,3} (mean 2, var 2): 1 + 2 + 2 − 2·2 = 1.
  auto a = torch::tensor({0.0, 2.0}, torch::kDouble).view({2, 1});
  auto b = torch::tensor({1.0, 3.0}, torch::kDouble).view({2, 1});
  EXPECT_NEAR(eval::frechet_distance(a, b), 1.0, 1e-9);
  // Two diagonal Gaussians, covariances 1 and 4: tr(1 + 4 − 2·2) = 1 per dimension (population).
  auto g = torch::randn({20000, 2}, torch::kDouble);
  EXPECT_NEAR(eval::frechet_distance(g, 2 * g + 1), 2 * 1.0 + 2 * 1.0, 0.1);
  // KID: near 0 for two samples of one distribution, clearly positive for shifted ones.
  auto p = torch::randn({300, 8}, torch::kDouble), q = torch::randn({300, 8}, torch::kDouble);
  EXPECT_LT(std::abs(eval::kernel_distance(p, q)), 0.05);
  EXPECT_GT(eval::kernel_distance(p, q + 1), 0.5);
}

TEST(EvalMetrics, PsnrSsimDiversity) {
  auto x = torch::zeros({2, 3, 16, 16});
  EXPECT_NEAR(eval::psnr(x, x + 0.2), 20.0, 1e-4);  // [0,1] difference 0.1 → MSE 0.01
  auto img = torch::rand({2, 3, 16, 16}) * 2 - 1;
  EXPECT_NEAR(eval::ssim(img, img), 1.0, 1e-9);
  EXPECT_LT(eval::ssim(img, torch::rand({2, 3, 16, 16}) * 2 - 1), 0.2);
  auto f = torch::zeros({4, 2});
  EXPECT_NEAR(eval::mean_pairwise_distance({f, f + 3}), std::sqrt(18.0), 1e-9);  // ‖(3,3)‖
  EXPECT_NEAR(eval::mean_pairwise_distance({f, f}), 0.0, 1e-12);
}

namespace {
// Synthetic two-culture set: culture 0 is reddish, culture 1 bluish, with noise.
torch::Tensor culture_images(int64_t c, int64_t n, int64_t s) {
  auto base = torch::full({n, 3, s, s}, -0.6f);
  base.select(1, c == 0 ? 0 : 2).fill_(0.6f);
  return (base + 0.2 * torch::randn({n, 3, s, s})).clamp(-1, 1);
}
}  // namespace

TEST(EvalMetrics, PerfectTranslatorOnTwoCulturesScoresTargetAccuracyOne) {
  torch::manual_seed(2);
  const int64_t s = 16;
  eval::EvalSet set;
  set.cultures = {"photo", "ukiyo_e"};
  set.train_images = torch::cat({culture_images(0, 24, s), culture_images(1, 24, s)});
  set.train_labels =
      torch::cat({torch::zeros({24}, torch::kLong), torch::ones({24}, torch::kLong)});
  set.val_images = torch::cat({culture_images(0, 8, s), culture_images(1, 8, s)});
  set.val_labels = torch::cat({torch::zeros({8}, torch::kLong), torch::ones({8}, torch::kLong)});
  eval::ClassifierOptions co;
  co.width = 8;
  co.epochs = 40;
  co.lr = 3e-3;
  co.batch_size = 16;
  auto clf = eval::train_classifier(set.train_images, set.train_labels, 2, co);
  // A perfect translator: an image of the requested culture.
  eval::TranslateFn perfect = [&](const torch::Tensor& x, const torch::Tensor& c) {
    auto out = torch::empty_like(x);
    for (int64_t i = 0; i < x.size(0); ++i)
      out[i] = culture_images(c[i].argmax().item<int64_t>(), 1, s)[0];
    return out;
  };
  eval::EvalOptions eo;
  auto r = eval::evaluate(clf, set, perfect, eo);
  EXPECT_DOUBLE_EQ(r.ceiling, 1.0);
  EXPECT_DOUBLE_EQ(r.target_accuracy.at("ukiyo_e"), 1.0);
  EXPECT_EQ(r.confusion[1][1], 8);
  EXPECT_EQ(r.source_images, 8);
  // The identity "translator" keeps photos photos: target accuracy 0.
  auto r0 = eval::evaluate(
      clf, set, [](const torch::Tensor& x, const torch::Tensor&) { return x; }, eo);
  EXPECT_DOUBLE_EQ(r0.target_accuracy.at("ukiyo_e"), 0.0);
  EXPECT_GT(r0.cycle_psnr.at("ukiyo_e"), 99.0);
  EXPECT_NEAR(r0.cycle_ssim.at("ukiyo_e"), 1.0, 1e-9);
  const auto json = r.to_json(set.cultures, 0);
  for (const char* key :
       {"classifier_val_accuracy", "target_accuracy", "confusion_target_to_predicted", "fid", "kid",
        "cycle_psnr_db", "cycle_ssim", "diversity"})
    EXPECT_NE(json.find(key), std::string::npos) << key;
}
