// Tensor shapes through G and D, and the generator bundle round trip.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <caffe2/serialize/inline_container.h>

#include "models/bundle.h"
#include "models/norm_stats.h"
#include "models/stargan.h"
#include "tests/models/small_spec.h"

using namespace culturegan;

using culturegan::testing::small_spec;

TEST(StarGan, GeneratorKeepsShapeAndRange) {
  models::StarGanGenerator g(small_spec());
  auto x = torch::rand({2, 3, 32, 32}) * 2 - 1;
  auto c = models::one_hot(torch::tensor({1, 3}, torch::kLong), 4);
  EXPECT_EQ(c.sizes(), (std::vector<int64_t>{2, 4}));
  auto y = g->forward(x, c);
  EXPECT_EQ(y.sizes(), x.sizes());
  EXPECT_LE(y.abs().max().item<float>(), 1.0f);
  // Fully convolutional: non-square inputs with sides divisible by 4 work (inference).
  EXPECT_EQ(g->forward(torch::zeros({1, 3, 24, 40}), c.slice(0, 0, 1)).sizes(),
            (std::vector<int64_t>{1, 3, 24, 40}));
  EXPECT_THROW(g->forward(torch::zeros({1, 3, 30, 32}), c.slice(0, 0, 1)), c10::Error);
  EXPECT_THROW(g->forward(x, torch::zeros({2, 5})), c10::Error);
}

TEST(StarGan, DiscriminatorHeads) {
  models::StarGanDiscriminator d(small_spec(64, 6));  // d_layers auto: 5 → 2x2 patches
  auto [src, cls] = d->forward(torch::zeros({3, 3, 64, 64}));
  EXPECT_EQ(src.sizes(), (std::vector<int64_t>{3, 1, 2, 2}));
  EXPECT_EQ(cls.sizes(), (std::vector<int64_t>{3, 6}));
  auto spec = small_spec(64, 6);
  spec.d_layers = 4;
  models::StarGanDiscriminator d4(spec);
  EXPECT_EQ(d4->forward(torch::zeros({1, 3, 64, 64})).first.sizes(),
            (std::vector<int64_t>{1, 1, 4, 4}));
  spec.d_layers = 7;  // 64 / 128 is not an integer
  EXPECT_THROW(models::StarGanDiscriminator{spec}, std::invalid_argument);
}

TEST(StarGan, InstanceNormHasNoRunningStats) {
  models::StarGanGenerator g(small_spec());
  EXPECT_EQ(g->buffers().size(), 0u);
}

TEST(Bundle, RoundTripsAndDetectsDamage) {
  torch::manual_seed(1);
  models::StarGanGenerator g(small_spec());
  const std::vector<std::string> cultures{"a", "b", "c", "d"};
  const auto path = (std::filesystem::temp_directory_path() / "cg_bundle_test.bundle").string();
  models::save_bundle(path, models::make_bundle(g, cultures));
  const auto b = models::load_bundle(path);
  EXPECT_EQ(b.cultures, cultures);
  EXPECT_EQ(b.spec_value("g_conv_dim"), 4);
  auto g2 = models::make_generator(b, path);
  auto x = torch::rand({1, 3, 32, 32});
  auto c = models::one_hot(torch::tensor({2}, torch::kLong), 4);
  g->eval();
  EXPECT_TRUE(torch::equal(g->forward(x, c), g2->forward(x, c)));

  // Flip one byte in the middle of the largest weight's storage record: the checksum must catch
  // it. (The record is located through the zip's directory: a fixed file position can land in
  // the alignment padding, which LibTorch 2.x lays out differently from 1.13.)
  std::streamoff at = 0;
  {
    caffe2::serialize::PyTorchStreamReader reader(path);
    size_t largest = 0;
    for (const auto& r : reader.getAllRecords()) {
      if (r.rfind("data/", 0) != 0) continue;
      const size_t n = std::get<1>(reader.getRecord(r));
      if (n > largest) {
        largest = n;
        at = static_cast<std::streamoff>(reader.getRecordOffset(r) + n / 2);
      }
    }
    ASSERT_GT(largest, 0u) << "no data/<n> record in " << path;
  }
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  char ch = 0;
  f.seekg(at);
  f.get(ch);
  f.seekp(at);
  f.put(static_cast<char>(ch ^ 0x5a));
  f.close();
  EXPECT_THROW(models::load_bundle(path), models::BundleError);

  std::ofstream(path) << "not a bundle";
  try {
    models::load_bundle(path);
    FAIL() << "expected BundleError";
  } catch (const models::BundleError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  std::remove(path.c_str());
}

// The inference statistics hook (models/norm_stats.h): with no scope open HookedInstanceNorm2d
// is bitwise nn::InstanceNorm2d, forward and backward; replayed whole-image statistics make a
// crop normalise as the whole image does.
TEST(NormStats, HookedInstanceNormIsBitwiseInstanceNormAndReplayUsesRecordedStats) {
  namespace nn = torch::nn;
  torch::manual_seed(3);
  const auto opts = nn::InstanceNorm2dOptions(5).affine(true).track_running_stats(false);
  nn::InstanceNorm2d ref(opts);
  models::HookedInstanceNorm2d hooked(opts);
  {
    torch::NoGradGuard ng;
    ref->weight.uniform_(0.5, 1.5);
    ref->bias.uniform_(-1, 1);
    hooked->weight.copy_(ref->weight);
    hooked->bias.copy_(ref->bias);
  }
  EXPECT_EQ(hooked->named_parameters().size(), ref->named_parameters().size());
  auto x1 = torch::randn({2, 5, 12, 8}).requires_grad_(true);
  auto x2 = x1.detach().clone().requires_grad_(true);
  auto y1 = ref->forward(x1), y2 = hooked->forward(x2);
  EXPECT_TRUE(torch::equal(y1, y2));
  (y1 * y1).sum().backward();
  (y2 * y2).sum().backward();
  EXPECT_TRUE(torch::equal(x1.grad(), x2.grad()));
  EXPECT_TRUE(torch::equal(ref->weight.grad(), hooked->weight.grad()));

  torch::NoGradGuard ng;
  auto x = torch::randn({1, 5, 16, 16}) * 3 + 1;
  models::NormStats stats;
  torch::Tensor whole;
  {
    models::NormStatsScope rec(models::NormStatsMode::kRecord, &stats);
    whole = hooked->forward(x);
  }
  ASSERT_EQ(stats.layers.size(), 1u);
  EXPECT_TRUE(torch::allclose(whole, hooked->forward(x), 1e-5, 1e-5));  // record ≈ off
  auto crop = x.slice(2, 0, 8).repeat({3, 1, 1, 1});  // a batch of 3 copies of one crop
  torch::Tensor replayed;
  {
    models::NormStatsScope rep(models::NormStatsMode::kReplay, &stats);
    replayed = hooked->forward(crop);
    EXPECT_EQ(rep.replayed(), 1u);
    EXPECT_THROW(hooked->forward(crop), std::runtime_error);  // more calls than recorded
  }
  EXPECT_TRUE(torch::allclose(replayed[2], whole[0].slice(1, 0, 8), 1e-5, 1e-5));
  EXPECT_FALSE(torch::allclose(hooked->forward(crop)[0], whole[0].slice(1, 0, 8), 1e-3, 1e-3));
}
