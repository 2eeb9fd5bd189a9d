// Tensor shapes through G and D, and the generator bundle round trip.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "models/bundle.h"
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

  // Flip one byte in the middle of the file: the checksum (or the parser) must catch it.
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(0, std::ios::end);
  const auto size = static_cast<std::streamoff>(f.tellg());
  f.seekp(size * 2 / 3);
  char ch = 0;
  f.seekg(size * 2 / 3);
  f.get(ch);
  f.seekp(size * 2 / 3);
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
