// The content and artefact measures (eval/content_metrics.h) and the KID floor on cases with
// known answers, and their place in eval::evaluate and its JSON.
#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>

#include "eval/content_metrics.h"
#include "eval/metrics.h"

using namespace culturegan;
namespace F = torch::nn::functional;

namespace {
// A gray image [1,3,rows,cols] whose every row is `row` (all three channels equal: luma = value).
torch::Tensor gray_rows(const std::vector<double>& row, int64_t rows) {
  auto r = torch::tensor(row, torch::kDouble).view({1, 1, 1, -1});
  return r.expand({1, 3, rows, static_cast<int64_t>(row.size())}).contiguous();
}

// Photo-like structure [n,1,s,s] in about [-1,1]: blurred noise plus a bright rectangle (edges).
torch::Tensor structure(int64_t n, int64_t s) {
  auto x = torch::randn({n, 1, s, s}, torch::kDouble);
  for (int k = 0; k < 2; ++k)
    x = F::avg_pool2d(x, F::AvgPool2dFuncOptions(5).stride(1).padding(2).count_include_pad(false));
  x = x / x.abs().max();
  x.narrow(2, s / 4, s / 2).narrow(3, s / 3, s / 3) += 0.5;
  return x.clamp(-1, 1);
}

// Colour photos [n,3,s,s]: channel c = gain_c · structure + offset_c.
torch::Tensor colour_photos(int64_t n, int64_t s) {
  auto st = structure(n, s);
  return torch::cat({0.8 * st + 0.1, 0.5 * st - 0.2, 0.3 * st}, 1);
}

torch::Tensor checker(int64_t h, int64_t w) {
  auto i = torch::arange(h, torch::kDouble).view({h, 1}), j = torch::arange(w, torch::kDouble);
  return 1.0 - 2.0 * torch::remainder(i + j, 2.0);  // (−1)^(i+j)
}
}  // namespace

// ----- content score: gradient-magnitude correlation

TEST(ContentMetrics, SobelMagnitudeByHand) {
  // Rows [0, 0, .1, .3, .6]: gx at the 3 valid columns = 4·(x[j+1] − x[j−1]) = .4, 1.2, 2.0; gy =
  // 0.
  auto m = eval::sobel_magnitude(eval::luma(gray_rows({0, 0, .1, .3, .6}, 3)));
  ASSERT_EQ(m.sizes(), (std::vector<int64_t>{1, 1, 1, 3}));
  EXPECT_NEAR(m[0][0][0][0].item<double>(), 0.4, 1e-12);
  EXPECT_NEAR(m[0][0][0][1].item<double>(), 1.2, 1e-12);
  EXPECT_NEAR(m[0][0][0][2].item<double>(), 2.0, 1e-12);
  EXPECT_NEAR(eval::luma(torch::tensor({1.0, 0.0, 0.0}).view({1, 3, 1, 1})).item<double>(), 0.299,
              1e-12);
}

TEST(ContentMetrics, GradientCorrelationHandComputed) {
  // Magnitudes (.4, 1.2, 2.0) vs (1.2, .4, .8) (rows [0, .2, .3, .3, .5]): centred (−.8, 0, .8)
  // and (.4, −.4, 0): r = −.32 / √(1.28 · .32) = −0.5.
  auto a = gray_rows({0, 0, .1, .3, .6}, 3), b = gray_rows({0, .2, .3, .3, .5}, 3);
  EXPECT_NEAR(eval::gradient_correlation(a, b), -0.5, 1e-12);
  // The same columns as rows (gy instead of gx): the same answer.
  EXPECT_NEAR(eval::gradient_correlation(a.transpose(2, 3), b.transpose(2, 3)), -0.5, 1e-12);
  EXPECT_NEAR(eval::gradient_correlation(a, a), 1.0, 1e-12);
}

TEST(ContentMetrics, GradientCorrelationIdentityPaletteConstantNoise) {
  torch::manual_seed(3);
  auto x = colour_photos(4, 32);
  EXPECT_NEAR(eval::gradient_correlation(x, x), 1.0, 1e-12);
  // Per-channel gain and offsets: luma = 0.6·Y + const, gradients scale by 0.6 → exactly 1.
  auto tint = 0.6 * x + torch::tensor({0.3, -0.1, 0.2}, torch::kDouble).view({1, 3, 1, 1});
  EXPECT_NEAR(eval::gradient_correlation(x, tint), 1.0, 1e-9);
  // Swapping R and B (a different palette; luma is still an affine map of the structure) plus
  // a little colour noise: near 1.
  auto swapped = x.flip({1}) + 0.01 * torch::randn_like(x);
  EXPECT_GT(eval::gradient_correlation(x, swapped), 0.9);
  // Content lost: a flat image scores 0 by definition, independent noise about 0.
  EXPECT_DOUBLE_EQ(eval::gradient_correlation(x, torch::full_like(x, 0.3)), 0.0);
  EXPECT_LT(std::abs(eval::gradient_correlation(x, torch::rand_like(x) * 2 - 1)), 0.1);
  EXPECT_THROW(eval::gradient_correlation(x, x.narrow(2, 0, 16)), std::invalid_argument);
  EXPECT_THROW(eval::gradient_correlation(x.narrow(1, 0, 1), x.narrow(1, 0, 1)),
               std::invalid_argument);
}

// ----- gray SSIM

TEST(ContentMetrics, GraySsimIdentityLumaPreservingPaletteAndFlatCase) {
  torch::manual_seed(4);
  auto x = colour_photos(2, 32);
  EXPECT_NEAR(eval::gray_ssim(x, x), 1.0, 1e-12);
  // A shift along (0.114, 0, −0.299) leaves the luma unchanged: gray SSIM 1, colour SSIM not.
  auto shifted = x + torch::tensor({0.228, 0.0, -0.598}, torch::kDouble).view({1, 3, 1, 1});
  EXPECT_NEAR(eval::gray_ssim(x, shifted), 1.0, 1e-9);
  EXPECT_LT(eval::ssim(x, shifted), 0.95);
  // Flat images, luma 0 and −0.5 → 0.5 and 0.25 on [0,1], no variance:
  // SSIM = (2·0.5·0.25 + C1) / (0.5² + 0.25² + C1), C1 = 0.01².
  auto a = torch::zeros({1, 3, 16, 16}), b = torch::full({1, 3, 16, 16}, -0.5);
  EXPECT_NEAR(eval::gray_ssim(a, b), (0.25 + 1e-4) / (0.3125 + 1e-4), 1e-9);
  EXPECT_THROW(eval::gray_ssim(a, b.narrow(3, 0, 8)), std::invalid_argument);
}

// ----- checkerboard index

TEST(ContentMetrics, CheckerboardEnergyKnownBins) {
  const int64_t h = 16, w = 24;
  const double a = 0.2, b = 0.3;
  // a·(−1)^(h+w): one bin (H/2, W/2), |F|² = a²·H²·W², energy |F|²/(H·W)² = a².
  auto cb = (a * checker(h, w)).expand({1, 3, h, w});
  EXPECT_NEAR(eval::checkerboard_energy(cb).item<double>(), a * a, 1e-12);
  // b·cos(2πh/4): bins (H/4, 0) and (3H/4, 0), |F|² = (b·H·W/2)² each → b²/2.
  auto rows = torch::arange(h, torch::kDouble).view({h, 1}).expand({h, w});
  auto stripe = (b * torch::cos(2 * M_PI * rows / 4)).expand({1, 3, h, w});
  EXPECT_NEAR(eval::checkerboard_energy(stripe).item<double>(), b * b / 2, 1e-12);
  // Low frequencies (1, 2) and (3, 1) and a constant are not counted.
  auto cols = torch::arange(w, torch::kDouble).view({1, w}).expand({h, w});
  auto smooth = 0.4 * torch::cos(2 * M_PI * (rows / h + 2 * cols / w)) +
                0.3 * torch::sin(2 * M_PI * (3 * rows / h + cols / w)) + 0.5;
  EXPECT_NEAR(eval::checkerboard_energy(smooth.expand({1, 3, h, w})).item<double>(), 0.0, 1e-12);
  EXPECT_THROW(eval::checkerboard_energy(torch::zeros({1, 3, 18, 16})), std::invalid_argument);
}

TEST(ContentMetrics, CheckerboardIndexFormula) {
  const int64_t h = 16, w = 16;
  const double a = 0.2, b = 0.1, eps = 1e-6;
  auto rows = torch::arange(h, torch::kDouble).view({h, 1}).expand({h, w});
  auto cols = torch::arange(w, torch::kDouble).view({1, w}).expand({h, w});
  // Photo: smooth content (no energy in the period-2/4 bins) + a period-4 stripe of energy b²/2.
  auto photo =
      (0.4 * torch::cos(2 * M_PI * (rows / h + 2 * cols / w)) + b * torch::cos(2 * M_PI * rows / 4))
          .expand({2, 3, h, w})
          .contiguous();
  EXPECT_NEAR(eval::checkerboard_index(photo, photo), 1.0, 1e-12);
  // Translation = photo + a·(−1)^(h+w): energy b²/2 + a² (different bins, no cross term).
  auto translated = photo + a * checker(h, w);
  const double expected = (b * b / 2 + a * a + eps) / (b * b / 2 + eps);  // = 9.0 (to 1e-4)
  EXPECT_NEAR(eval::checkerboard_index(translated, photo, eps), expected, 1e-9 * expected);
  EXPECT_GT(expected, 8.99);
}

TEST(ContentMetrics, CheckerboardIndexOnPhotoLikeImages) {
  torch::manual_seed(5);
  auto x = colour_photos(4, 32);
  EXPECT_NEAR(eval::checkerboard_index(x, x), 1.0, 1e-12);
  // A luma-preserving palette change: exactly the photo's energy.
  auto shifted = x + torch::tensor({0.114, 0.0, -0.299}, torch::kDouble).view({1, 3, 1, 1});
  EXPECT_NEAR(eval::checkerboard_index(shifted, x), 1.0, 1e-9);
  // Smoother than the photo: no more period-2/4 energy.
  auto blurred =
      F::avg_pool2d(x, F::AvgPool2dFuncOptions(3).stride(1).padding(1).count_include_pad(false));
  EXPECT_LT(eval::checkerboard_index(blurred, x), 1.0);
  // A checkerboard of amplitude a on top: ≈ (E + a²) / E, E the photos' mean energy (the cross
  // term with the photo's own (H/2, W/2) bin is small for smooth content).
  const double a = 0.1;
  const double e = eval::checkerboard_energy(x).mean().item<double>();
  const double idx = eval::checkerboard_index(x + a * checker(32, 32), x);
  EXPECT_GT(idx, 3.0);
  EXPECT_NEAR(idx, (e + a * a + 1e-6) / (e + 1e-6), 0.05 * idx);
}

// ----- KID floor and the report

namespace {
// Two synthetic cultures: reddish (0) and bluish (1) with noise, [n,3,s,s] in [-1,1].
torch::Tensor tinted_culture_images(int64_t c, int64_t n, int64_t s) {
  auto base = torch::full({n, 3, s, s}, -0.6f);
  base.select(1, c == 0 ? 0 : 2).fill_(0.6f);
  return (base + 0.2 * torch::randn({n, 3, s, s})).clamp(-1, 1);
}

eval::EvalSet two_culture_set(int64_t n_train, int64_t n_val, int64_t s) {
  eval::EvalSet set;
  set.cultures = {"photo", "ukiyo_e"};
  set.train_images =
      torch::cat({tinted_culture_images(0, n_train, s), tinted_culture_images(1, n_train, s)});
  set.train_labels =
      torch::cat({torch::zeros({n_train}, torch::kLong), torch::ones({n_train}, torch::kLong)});
  set.val_images =
      torch::cat({tinted_culture_images(0, n_val, s), tinted_culture_images(1, n_val, s)});
  set.val_labels =
      torch::cat({torch::zeros({n_val}, torch::kLong), torch::ones({n_val}, torch::kLong)});
  return set;
}
}  // namespace

TEST(ContentMetrics, KidFloorOfOneDistributionIsNearZero) {
  torch::manual_seed(6);
  auto set = two_culture_set(64, 48, 16);  // train and val drawn from the same two distributions
  eval::ClassifierOptions co;
  co.width = 8;
  co.epochs = 10;
  co.lr = 3e-3;
  co.batch_size = 16;
  auto clf = eval::train_classifier(set.train_images, set.train_labels, 2, co);
  const auto floor = eval::kid_floor(clf, set);
  ASSERT_EQ(floor.size(), 2u);
  auto f_photo = eval::features(clf, set.train_images.narrow(0, 0, 64));
  auto f_ukiyo = eval::features(clf, set.train_images.narrow(0, 64, 64));
  const double between = eval::kernel_distance(f_photo, f_ukiyo);
  EXPECT_GT(between, 0.0);
  // Train and val of one culture are one distribution: ≈ 0 (measured 3e-4 here), far below the
  // distance between the two cultures (≈ 8).
  for (const auto& [culture, v] : floor) {
    EXPECT_LT(std::abs(v), 0.01) << culture;
    EXPECT_LT(std::abs(v), 0.01 * between) << culture;
  }
}

TEST(ContentMetrics, EvaluateReportsTheNewMeasures) {
  torch::manual_seed(7);
  auto set = two_culture_set(24, 8, 16);
  eval::CultureClassifier clf(2, 8);
  eval::EvalOptions eo;
  // The identity translator keeps every edge and adds no checkerboard.
  auto r = eval::evaluate(
      clf, set, [](const torch::Tensor& x, const torch::Tensor&) { return x; }, eo);
  EXPECT_NEAR(r.content_gradient_correlation.at("ukiyo_e"), 1.0, 1e-9);
  EXPECT_NEAR(r.content_gray_ssim.at("ukiyo_e"), 1.0, 1e-9);
  EXPECT_NEAR(r.checkerboard_index.at("ukiyo_e"), 1.0, 1e-9);
  EXPECT_NEAR(r.content_gradient_correlation_mean, 1.0, 1e-9);
  EXPECT_NEAR(r.content_gray_ssim_mean, 1.0, 1e-9);
  EXPECT_NEAR(r.checkerboard_index_mean, 1.0, 1e-9);
  EXPECT_EQ(r.content_gradient_correlation.count("photo"), 0u);   // targets only
  ASSERT_EQ(r.kid_floor.size(), 2u);                              // every culture
  EXPECT_DOUBLE_EQ(r.kid_floor_mean, r.kid_floor.at("ukiyo_e"));  // mean over targets
  const auto json = r.to_json(set.cultures, 0);
  for (const char* key :
       {"\"content_gradient_correlation\": {", "\"content_gradient_correlation_mean\": 1",
        "\"content_gray_ssim\": {", "\"content_gray_ssim_mean\": 1", "\"checkerboard_index\": {",
        "\"checkerboard_index_mean\": 1", "\"kid_floor\": {\"photo\": ", "\"kid_floor_mean\": "})
    EXPECT_NE(json.find(key), std::string::npos) << key << "\n" << json;
  // A flat "translation" keeps no content.
  auto flat = eval::evaluate(
      clf, set, [](const torch::Tensor& x, const torch::Tensor&) { return torch::zeros_like(x); },
      eo);
  EXPECT_DOUBLE_EQ(flat.content_gradient_correlation_mean, 0.0);
  // Without a translator: the floor is measured, the content measures are null.
  auto ceiling_only = eval::evaluate(clf, set, nullptr, eo);
  EXPECT_EQ(ceiling_only.kid_floor.size(), 2u);
  const auto json0 = ceiling_only.to_json(set.cultures, 0);
  EXPECT_NE(json0.find("\"content_gradient_correlation_mean\": null"), std::string::npos) << json0;
  EXPECT_NE(json0.find("\"checkerboard_index\": {}"), std::string::npos) << json0;
}
