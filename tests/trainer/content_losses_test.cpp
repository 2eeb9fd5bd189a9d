// Content and style losses that need no pretrained network: PatchNCE (CUT) and the Gram-matrix
// style loss, each against values computed by hand.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "trainer/algorithms/patch_nce.h"
#include "trainer/algorithms/style_loss.h"

using namespace culturegan::trainer;

namespace {
double value_of(const torch::Tensor& t) { return t.item<double>(); }

// [1,C,1,W] map from per-channel rows.
torch::Tensor map1(const std::vector<std::vector<float>>& rows) {
  std::vector<torch::Tensor> ch;
  for (const auto& r : rows) ch.push_back(torch::tensor(r).view({1, 1, 1, -1}));
  return torch::cat(ch, 1);
}

// Sampled, projected, normalised patches as patch_nce_loss builds them: [N,S,dim].
torch::Tensor project(PatchNceHead& head, int64_t layer, const torch::Tensor& f,
                      const torch::Tensor& ids) {
  const auto n = f.size(0), c = f.size(1), s = ids.size(0);
  auto p = f.flatten(2).index_select(2, ids).permute({0, 2, 1}).reshape({n * s, c});
  auto y = head->forward(layer, p);
  y = y / (y.pow(2).sum(-1, true).sqrt() + 1e-7);
  return y.view({n, s, -1});
}
}  // namespace

// ---------------------------------------------------------------- Gram-matrix style loss

TEST(StyleLoss, GramMatrixByHand) {
  // ch0 = [1,2], ch1 = [3,4]; C·H·W = 2·1·2 = 4.
  // G00 = (1+4)/4 = 1.25, G01 = G10 = (3+8)/4 = 2.75, G11 = (9+16)/4 = 6.25.
  const auto g = gram_matrix(map1({{1, 2}, {3, 4}}));
  ASSERT_EQ(g.sizes(), (std::vector<int64_t>{1, 2, 2}));
  EXPECT_NEAR(value_of(g[0][0][0]), 1.25, 1e-6);
  EXPECT_NEAR(value_of(g[0][0][1]), 2.75, 1e-6);
  EXPECT_NEAR(value_of(g[0][1][0]), 2.75, 1e-6);
  EXPECT_NEAR(value_of(g[0][1][1]), 6.25, 1e-6);
  // Per sample: a batch of two gives each its own matrix.
  const auto two = gram_matrix(torch::cat({map1({{1, 2}, {3, 4}}), map1({{1, 0}, {0, 1}})}));
  EXPECT_NEAR(value_of(two[1][0][0]), 0.25, 1e-6);
  EXPECT_NEAR(value_of(two[1][0][1]), 0.0, 1e-6);
  EXPECT_EQ(gram_matrix(torch::ones({1, 2, 2, 2}, torch::kHalf)).scalar_type(), torch::kFloat);
}

TEST(StyleLoss, ZeroForIdenticalFeatures) {
  torch::manual_seed(0);
  const std::vector<torch::Tensor> f = {torch::randn({3, 4, 5, 5}), torch::randn({3, 8, 2, 2})};
  // Identical batches have identical per-sample Gram matrices but the target is their mean;
  // a batch of one copy of the same image is exactly 0.
  const std::vector<torch::Tensor> one = {f[0].slice(0, 0, 1), f[1].slice(0, 0, 1)};
  EXPECT_NEAR(value_of(gram_style_loss(one, one)), 0.0, 1e-12);
  const std::vector<torch::Tensor> same3 = {one[0].expand({3, 4, 5, 5}),
                                            one[1].expand({3, 8, 2, 2})};
  EXPECT_NEAR(value_of(gram_style_loss(same3, same3)), 0.0, 1e-12);
  const auto labels = torch::tensor({1, 1, 1}, torch::kLong);
  EXPECT_NEAR(value_of(gram_style_loss(same3, labels, culture_gram_sums(same3, labels, 2))), 0.0,
              1e-12);
}

TEST(StyleLoss, OneChannelByHand) {
  // fake [1,2]: G = (1+4)/2 = 2.5; real [0,1]: G = 1/2 = 0.5; (2.5 − 0.5)² = 4.
  EXPECT_NEAR(value_of(gram_style_loss({map1({{1, 2}})}, {map1({{0, 1}})})), 4.0, 1e-6);
  // Mean over layers: a second layer with fake [2,0] (G = 2) = real [2,0] adds 0 → 4/2 = 2.
  EXPECT_NEAR(
      value_of(gram_style_loss({map1({{1, 2}}), map1({{2, 0}})}, {map1({{0, 1}}), map1({{2, 0}})})),
      2.0, 1e-6);
}

TEST(StyleLoss, TwoChannelsAgainstTheMeanOfTheRealBatch) {
  // fake: G = [[1.25, 2.75], [2.75, 6.25]] (see GramMatrixByHand).
  // real 1: ch0 = [1,0], ch1 = [0,1] → [[0.25, 0], [0, 0.25]];
  // real 2: ch0 = ch1 = [1,1]       → [[0.5, 0.5], [0.5, 0.5]];
  // target = mean = [[0.375, 0.25], [0.25, 0.375]]; diff = [[0.875, 2.5], [2.5, 5.875]];
  // mean of squares = (0.765625 + 6.25 + 6.25 + 34.515625) / 4 = 11.9453125.
  const auto fake = map1({{1, 2}, {3, 4}});
  const auto real = torch::cat({map1({{1, 0}, {0, 1}}), map1({{1, 1}, {1, 1}})});
  EXPECT_NEAR(value_of(gram_style_loss({fake}, {real})), 11.9453125, 1e-5);
  // Real images of another resolution have Gram matrices of the same [C,C] shape.
  EXPECT_NO_THROW(gram_style_loss({fake}, {torch::ones({2, 2, 3, 3})}));
}

TEST(StyleLoss, PerCultureTargetsByHand) {
  // Reals (1 channel, 1x2): [0,1] → 0.5 and [1,1] → 1 of culture 0, [2,0] → 2 of culture 2.
  // Culture means: 0 → 0.75, 1 → none, 2 → 2.
  const auto real = torch::cat({map1({{0, 1}}), map1({{1, 1}}), map1({{2, 0}})});
  const auto labels = torch::tensor({0, 0, 2}, torch::kLong);
  const auto table = culture_gram_sums({real}, labels, 3);
  EXPECT_TRUE(torch::allclose(table.count, torch::tensor({2.0f, 0.0f, 1.0f})));
  EXPECT_TRUE(torch::allclose(table.sum[0].flatten(), torch::tensor({1.5f, 0.0f, 2.0f})));
  // Fakes [1,2] → 2.5 (target 0), [1,0] → 0.5 (target 1: no real, counts 0),
  // [1,1] → 1 (target 2): ((2.5 − 0.75)² + 0 + (1 − 2)²) / 3 = (3.0625 + 1) / 3.
  const auto fake = torch::cat({map1({{1, 2}}), map1({{1, 0}}), map1({{1, 1}})});
  const auto targets = torch::tensor({0, 1, 2}, torch::kLong);
  EXPECT_NEAR(value_of(gram_style_loss({fake}, targets, table)), 4.0625 / 3, 1e-6);
  // No fake with a target: 0 and still differentiable.
  auto f = fake.clone().requires_grad_(true);
  auto none = gram_style_loss({f}, torch::tensor({1, 1, 1}, torch::kLong), table);
  EXPECT_EQ(value_of(none), 0.0);
  none.backward();
  EXPECT_EQ(value_of(f.grad().abs().sum()), 0.0);
}

TEST(StyleLoss, PerCultureWithOneCultureEqualsTheBatchMeanForm) {
  torch::manual_seed(1);
  const std::vector<torch::Tensor> fake = {torch::randn({3, 4, 6, 6}), torch::randn({3, 8, 3, 3})};
  const std::vector<torch::Tensor> real = {torch::randn({2, 4, 6, 6}), torch::randn({2, 8, 3, 3})};
  const auto table = culture_gram_sums(real, torch::tensor({1, 1}, torch::kLong), 4);
  EXPECT_NEAR(value_of(gram_style_loss(fake, torch::tensor({1, 1, 1}, torch::kLong), table)),
              value_of(gram_style_loss(fake, real)), 1e-6);
}

TEST(StyleLoss, GradientReachesFakeNotReal) {
  torch::manual_seed(2);
  auto fake = torch::randn({2, 3, 4, 4}, torch::requires_grad());
  auto real = torch::randn({2, 3, 4, 4}, torch::requires_grad());
  gram_style_loss({fake}, {real}).backward();
  ASSERT_TRUE(fake.grad().defined());
  EXPECT_GT(value_of(fake.grad().abs().sum()), 0.0);
  EXPECT_FALSE(real.grad().defined());
}

TEST(StyleLoss, MismatchedShapesThrow) {
  const auto a = torch::ones({1, 2, 2, 2});
  const auto b = torch::ones({1, 3, 2, 2});
  EXPECT_THROW(gram_matrix(torch::ones({2, 2, 2})), c10::Error);
  EXPECT_THROW(gram_style_loss({a}, {b}), c10::Error);
  EXPECT_THROW(gram_style_loss({a, a}, {a}), c10::Error);
  EXPECT_THROW(gram_style_loss({}, {}), c10::Error);
  const auto table = culture_gram_sums({a}, torch::tensor({0}, torch::kLong), 2);
  EXPECT_THROW(gram_style_loss({b}, torch::tensor({0}, torch::kLong), table), c10::Error);
  EXPECT_THROW(gram_style_loss({a}, torch::tensor({2}, torch::kLong), table), c10::Error);
  EXPECT_THROW(gram_style_loss({a}, torch::tensor({0, 1}, torch::kLong), table), c10::Error);
  EXPECT_THROW(culture_gram_sums({a}, torch::tensor({0, 1}, torch::kLong), 2), c10::Error);
  EXPECT_THROW(culture_gram_sums({a}, torch::tensor({5}, torch::kLong), 2), c10::Error);
}

// ---------------------------------------------------------------- PatchNCE

TEST(PatchNce, InfoNceTwoPatchesByHand) {
  // q0 = (1,0), q1 = (0,1); k0 = (1,0), k1 = (0.6,0.8); τ = 0.5.
  // Row 0: [q0·k0, q0·k0 → −10 (diagonal), q0·k1] / τ = [2, −20, 1.2].
  // Row 1: [q1·k1, q1·k0, q1·k1 → −10] / τ = [1.6, 0, −20].
  // loss_i = logsumexp(row_i) − row_i[0].
  const auto q = torch::tensor({{1.0f, 0.0f}, {0.0f, 1.0f}});
  const auto k = torch::tensor({{1.0f, 0.0f}, {0.6f, 0.8f}});
  const double l0 = std::log(std::exp(2.0) + std::exp(-20.0) + std::exp(1.2)) - 2.0;
  const double l1 = std::log(std::exp(1.6) + std::exp(0.0) + std::exp(-20.0)) - 1.6;
  EXPECT_NEAR(value_of(info_nce(q, k, 0.5)), (l0 + l1) / 2, 1e-6);
  // Batched form [B,S,D]: two images, each only its own negatives.
  const auto qb = torch::stack({q, q});
  const auto kb = torch::stack({k, k.flip(0)});
  // Image 1: k0' = (0.6,0.8), k1' = (1,0): row 0 = [1.2, −20, 2], row 1 = [0, 1.6, −20].
  const double m0 = std::log(std::exp(1.2) + std::exp(-20.0) + std::exp(2.0)) - 1.2;
  const double m1 = std::log(std::exp(0.0) + std::exp(1.6) + std::exp(-20.0)) - 0.0;
  EXPECT_NEAR(value_of(info_nce(qb, kb, 0.5)), (l0 + l1 + m0 + m1) / 4, 1e-6);
  // CUT's default τ = 0.07: the masked diagonal contributes exp(−10/0.07) ≈ 0.
  const double t = 0.07;
  const double c0 = std::log(std::exp(1 / t) + std::exp(0.6 / t)) - 1 / t;
  const double c1 = std::log(std::exp(0.8 / t) + std::exp(0.0)) - 0.8 / t;
  EXPECT_NEAR(value_of(info_nce(q, k)), (c0 + c1) / 2, 1e-5);
  EXPECT_THROW(info_nce(q, k.slice(0, 0, 1)), c10::Error);
  EXPECT_THROW(info_nce(q, k, 0.0), c10::Error);
}

TEST(PatchNce, HeadHasEveryParameterAtConstruction) {
  PatchNceHead head(std::vector<int64_t>{4, 8}, 16);
  EXPECT_EQ(head->num_layers(), 2);
  const auto params = head->named_parameters();
  ASSERT_EQ(params.size(), 8u);  // 2 layers × 2 Linear × (weight, bias)
  EXPECT_EQ(params["mlp_0.0.weight"].sizes(), (std::vector<int64_t>{16, 4}));
  EXPECT_EQ(params["mlp_0.2.weight"].sizes(), (std::vector<int64_t>{16, 16}));
  EXPECT_EQ(params["mlp_1.0.weight"].sizes(), (std::vector<int64_t>{16, 8}));
  EXPECT_EQ(value_of(params["mlp_1.0.bias"].abs().sum()), 0.0);
  EXPECT_EQ(head->forward(1, torch::randn({5, 8})).sizes(), (std::vector<int64_t>{5, 16}));
  EXPECT_EQ(PatchNceHead(std::vector<int64_t>{3})->dim(), 256);
  EXPECT_THROW(head->forward(0, torch::randn({5, 8})), c10::Error);
  EXPECT_THROW(head->forward(2, torch::randn({5, 8})), c10::Error);
  EXPECT_THROW(PatchNceHead(std::vector<int64_t>{}), c10::Error);
}

TEST(PatchNce, LossIsTheLayerMeanOfInfoNceOnTheSampledPatches) {
  torch::manual_seed(3);
  PatchNceHead head(std::vector<int64_t>{4, 6}, 32);
  const std::vector<torch::Tensor> src = {torch::randn({2, 4, 3, 3}), torch::randn({2, 6, 2, 4})};
  const std::vector<torch::Tensor> fake = {torch::randn({2, 4, 3, 3}), torch::randn({2, 6, 2, 4})};
  const std::vector<torch::Tensor> ids = {torch::tensor({0, 5, 3, 8}, torch::kLong),
                                          torch::tensor({7, 1, 2}, torch::kLong)};
  double expected = 0;
  for (int64_t l = 0; l < 2; ++l) {
    expected +=
        value_of(info_nce(project(head, l, fake[l], ids[l]), project(head, l, src[l], ids[l]))) / 2;
  }
  EXPECT_NEAR(value_of(patch_nce_loss(head, src, fake, ids)), expected, 1e-5);

  // Per-image ids [N,S]: equal rows give the shared-ids loss; different rows give the mean of
  // each image's loss with its own ids.
  const std::vector<torch::Tensor> rows_equal = {ids[0].expand({2, 4}), ids[1].expand({2, 3})};
  EXPECT_NEAR(value_of(patch_nce_loss(head, src, fake, rows_equal)), expected, 1e-5);
  const std::vector<torch::Tensor> per_image = {
      torch::tensor({{0, 5, 3, 8}, {1, 2, 4, 6}}, torch::kLong),
      torch::tensor({{7, 1, 2}, {0, 3, 5}}, torch::kLong)};
  double mean_of_images = 0;
  for (int64_t i = 0; i < 2; ++i) {
    const std::vector<torch::Tensor> s = {src[0].slice(0, i, i + 1), src[1].slice(0, i, i + 1)};
    const std::vector<torch::Tensor> f = {fake[0].slice(0, i, i + 1), fake[1].slice(0, i, i + 1)};
    mean_of_images += value_of(patch_nce_loss(head, s, f, {per_image[0][i], per_image[1][i]})) / 2;
  }
  EXPECT_NEAR(value_of(patch_nce_loss(head, src, fake, per_image)), mean_of_images, 1e-5);

  // The seeded overload draws its ids with sample_patch_ids(feats_src, S, seed).
  EXPECT_NEAR(value_of(patch_nce_loss(head, src, fake, uint64_t{9}, 5)),
              value_of(patch_nce_loss(head, src, fake, sample_patch_ids(src, 5, 9))), 1e-6);
}

TEST(PatchNce, MatchingLocationsScoreLowerThanASpatialPermutation) {
  torch::manual_seed(4);
  PatchNceHead head(std::vector<int64_t>{8, 16});
  const std::vector<torch::Tensor> src = {torch::randn({2, 8, 4, 4}), torch::randn({2, 16, 2, 2})};
  const auto ids = sample_patch_ids(src, 256, 123);  // every location of both layers
  const double same = value_of(patch_nce_loss(head, src, src, ids));
  // Roll the maps: each location of the "translation" now holds another location's features.
  const std::vector<torch::Tensor> rolled = {torch::roll(src[0], {1, 2}, {2, 3}),
                                             torch::roll(src[1], {1}, {3})};
  const double permuted = value_of(patch_nce_loss(head, src, rolled, ids));
  EXPECT_LT(same, permuted);
  EXPECT_LT(same, 0.5 * std::log(16.0));  // identical patches: far below chance (log S)
}

TEST(PatchNce, GradientsReachFakeFeaturesAndHeadButNotSource) {
  torch::manual_seed(5);
  PatchNceHead head(std::vector<int64_t>{4, 8}, 16);
  auto src0 = torch::randn({2, 4, 4, 4}, torch::requires_grad());
  auto src1 = torch::randn({2, 8, 2, 2}, torch::requires_grad());
  auto fake0 = torch::randn({2, 4, 4, 4}, torch::requires_grad());
  auto fake1 = torch::randn({2, 8, 2, 2}, torch::requires_grad());
  auto loss = patch_nce_loss(head, {src0, src1}, {fake0, fake1}, uint64_t{7}, 6);
  ASSERT_TRUE(loss.requires_grad());
  loss.backward();
  for (const auto& f : {fake0, fake1}) {
    ASSERT_TRUE(f.grad().defined());
    EXPECT_GT(value_of(f.grad().abs().sum()), 0.0);
  }
  EXPECT_FALSE(src0.grad().defined());  // keys are detached, as in CUT
  EXPECT_FALSE(src1.grad().defined());
  for (const auto& p : head->named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_GT(value_of(p.value().grad().abs().sum()), 0.0) << p.key();
  }
}

TEST(PatchNce, SamplePatchIdsAreSeededDistinctAndInRange) {
  const auto a = sample_patch_ids(8, 8, 16, 42);
  const auto b = sample_patch_ids(8, 8, 16, 42);
  const auto c = sample_patch_ids(8, 8, 16, 43);
  ASSERT_EQ(a.sizes(), (std::vector<int64_t>{16}));
  EXPECT_EQ(a.scalar_type(), torch::kLong);
  EXPECT_TRUE(a.device().is_cpu());
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_FALSE(torch::equal(a, c));
  EXPECT_GE(value_of(a.min()), 0);
  EXPECT_LT(value_of(a.max()), 64);
  EXPECT_EQ(std::get<0>(torch::_unique(a)).numel(), 16);
  // The torch global generator is neither read nor advanced.
  torch::manual_seed(0);
  const auto r0 = torch::rand({1});
  torch::manual_seed(0);
  sample_patch_ids(8, 8, 16, 42);
  EXPECT_TRUE(torch::equal(r0, torch::rand({1})));
  // Per-layer helper: layers of the same shape get different, reproducible locations.
  const std::vector<torch::Tensor> feats = {torch::zeros({1, 1, 8, 8}), torch::zeros({1, 1, 8, 8})};
  const auto l1 = sample_patch_ids(feats, 16, 42);
  const auto l2 = sample_patch_ids(feats, 16, 42);
  EXPECT_TRUE(torch::equal(l1[0], l2[0]) && torch::equal(l1[1], l2[1]));
  EXPECT_FALSE(torch::equal(l1[0], l1[1]));
  EXPECT_THROW(sample_patch_ids(0, 8, 16, 1), c10::Error);
  EXPECT_THROW(sample_patch_ids(8, 8, 0, 1), c10::Error);
}

TEST(PatchNce, SamplePatchIdsReturnEveryLocationWhenThereAreFewer) {
  for (int64_t s : {6, 7, 256}) {
    const auto ids = sample_patch_ids(2, 3, s, 5);
    ASSERT_EQ(ids.numel(), 6);
    EXPECT_TRUE(torch::equal(std::get<0>(ids.sort()), torch::arange(6, torch::kLong)));
  }
}

TEST(PatchNce, MismatchedInputsThrow) {
  PatchNceHead head(std::vector<int64_t>{4}, 8);
  const auto f = torch::randn({2, 4, 3, 3});
  const auto ids = torch::tensor({0, 1, 2}, torch::kLong);
  EXPECT_NO_THROW(patch_nce_loss(head, {f}, {f}, {ids}));
  EXPECT_THROW(patch_nce_loss(head, {f}, {torch::randn({2, 4, 3, 2})}, {ids}), c10::Error);
  EXPECT_THROW(
      patch_nce_loss(head, {torch::randn({2, 5, 3, 3})}, {torch::randn({2, 5, 3, 3})}, {ids}),
      c10::Error);
  EXPECT_THROW(patch_nce_loss(head, {f, f}, {f, f}, {ids, ids}), c10::Error);
  EXPECT_THROW(patch_nce_loss(head, {f}, {f}, {ids.to(torch::kFloat)}), c10::Error);
  EXPECT_THROW(patch_nce_loss(head, {f}, {f}, {torch::tensor({0, 9}, torch::kLong)}), c10::Error);
  EXPECT_THROW(patch_nce_loss(head, {f}, {f}, {torch::zeros({3, 2}, torch::kLong)}), c10::Error);
  EXPECT_THROW(patch_nce_loss(head, {f}, {f}, {torch::zeros({0}, torch::kLong)}), c10::Error);
}

TEST(PatchNce, GradientIsFiniteWhenAProjectedPatchIsZero) {
  // A head whose projections are all zero (as ReLU features can make them at small widths):
  // the loss and every gradient stay finite (CUT's x / (‖x‖ + ε) has an infinite gradient).
  torch::manual_seed(3);
  culturegan::trainer::PatchNceHead head(std::vector<int64_t>{2});
  {
    torch::NoGradGuard no_grad;
    for (auto& p : head->parameters()) p.zero_();
  }
  auto src = torch::randn({1, 2, 4, 4});
  auto fake = torch::randn({1, 2, 4, 4}, torch::requires_grad());
  auto loss = culturegan::trainer::patch_nce_loss(head, {src}, {fake}, /*seed=*/1, 8);
  loss.backward();
  EXPECT_TRUE(std::isfinite(loss.item<double>()));
  for (auto& p : head->parameters()) EXPECT_TRUE(torch::isfinite(p.grad()).all().item<bool>());
}
