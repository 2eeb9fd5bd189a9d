// Bundles of every model kind: round trip through save/load, and CultureGenerator's
// translate / translate_reference / generate against the networks called directly.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

#include "models/bundle.h"
#include "models/culture_generator.h"

using namespace culturegan;

namespace {
std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / name).string();
}

models::StarGanV2Spec v2_spec() {
  models::StarGanV2Spec s;
  s.num_cultures = 3;
  s.image_size = 16;
  s.g_conv_dim = 4;
  s.g_res_blocks = 1;
  s.d_conv_dim = 4;
  s.z_dim = 5;
  s.style_dim = 8;
  return s;
}

// Loads `b` back from disk and builds its generator.
std::unique_ptr<models::CultureGenerator> round_trip(const models::GeneratorBundle& b,
                                                     const std::string& name) {
  const auto path = temp_path(name);
  models::save_bundle(path, b);
  auto loaded = models::load_bundle(path);
  std::remove(path.c_str());
  EXPECT_EQ(loaded.model, b.model);
  EXPECT_EQ(loaded.spec, b.spec);
  EXPECT_EQ(loaded.weights.size(), b.weights.size());
  return models::make_culture_generator(loaded, path);
}
}  // namespace

TEST(CultureGenerator, StarGanV2LatentReferenceAndSourceStyle) {
  torch::manual_seed(3);
  const auto spec = v2_spec();
  models::StarGanV2Generator g(spec);
  models::StarGanV2Mapping f(spec);
  models::StarGanV2Trunk e(spec, spec.style_dim);
  auto gen = round_trip(models::make_starganv2_bundle(spec, *g, *f, *e, {"photo", "b", "c"}),
                        "cg_v2.bundle");
  ASSERT_TRUE(gen->translates());
  ASSERT_TRUE(gen->has_style_encoder());
  g->eval();
  torch::NoGradGuard no_grad;
  auto x = torch::rand({2, 3, 16, 16}) * 2 - 1;
  auto z = models::seeded_noise(2, spec.z_dim, 7);
  auto target = torch::tensor({2, 2}, torch::kLong);

  // Latent-guided, one-hot target, no source: G(x, F_2(z)).
  auto c = torch::zeros({2, 3});
  c.select(1, 2).fill_(1.0);
  auto want = g->forward(x, f->forward(z, target));
  EXPECT_TRUE(torch::allclose(gen->translate(x, c, -1, 7), want, 1e-5, 1e-6));
  // Another seed gives another style.
  EXPECT_FALSE(torch::allclose(gen->translate(x, c, -1, 8), want, 1e-3, 1e-3));

  // Half target, half source (photo): s = 0.5·F_2(z) + 0.5·E_0(x).
  auto c_half = torch::full({2, 3}, 0.0);
  c_half.select(1, 0).fill_(0.5);
  c_half.select(1, 2).fill_(0.5);
  auto s_half = 0.5 * f->forward(z, target) + 0.5 * e->forward(x, torch::zeros({2}, torch::kLong));
  EXPECT_TRUE(torch::allclose(gen->translate(x, c_half, 0, 7), g->forward(x, s_half), 1e-5, 1e-6));

  // Reference-guided: s = E_1(ref) for every row.
  auto ref = torch::rand({1, 3, 16, 16}) * 2 - 1;
  auto s_ref = e->forward(ref, torch::tensor({1}, torch::kLong)).expand({2, -1});
  EXPECT_TRUE(torch::allclose(gen->translate_reference(x, ref, 1, 1.0, -1), g->forward(x, s_ref),
                              1e-5, 1e-6));
  // Strength 0 without a source culture returns the input pixels.
  EXPECT_TRUE(torch::allclose(gen->translate_reference(x, ref, 1, 0.0, -1), x, 1e-6, 1e-6));
  // A reference at the wrong size is refused with its shape.
  EXPECT_THROW(gen->translate_reference(x, torch::zeros({1, 3, 8, 8}), 1, 1.0, -1), c10::Error);
  EXPECT_THROW(gen->generate(c, 0), std::invalid_argument);
}

TEST(CultureGenerator, CycleGanDirectionsAndIdentityForTheSource) {
  torch::manual_seed(4);
  models::ResnetGenerator g_ab(4, 1), g_ba(4, 1);
  auto gen = round_trip(models::make_cyclegan_bundle(16, 4, 1, *g_ab, *g_ba, {"photo", "ukiyo_e"}),
                        "cg_cycle.bundle");
  g_ab->eval();
  g_ba->eval();
  torch::NoGradGuard no_grad;
  auto x = torch::rand({1, 3, 16, 16}) * 2 - 1;
  auto to_b = torch::tensor({{0.0f, 1.0f}}), to_a = torch::tensor({{1.0f, 0.0f}});
  EXPECT_TRUE(torch::allclose(gen->translate(x, to_b, -1, 0), g_ab->forward(x), 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(gen->translate(x, to_a, -1, 0), g_ba->forward(x), 1e-5, 1e-6));
  // With the source known (photo = A), weight on A keeps the input.
  auto mix = torch::tensor({{0.25f, 0.75f}});
  EXPECT_TRUE(torch::allclose(gen->translate(x, mix, 0, 0), 0.25 * x + 0.75 * g_ab->forward(x),
                              1e-5, 1e-6));
  EXPECT_THROW(gen->translate_reference(x, x, 1, 1.0, -1), std::invalid_argument);
}

TEST(CultureGenerator, DcganGeneratesAndRefusesToTranslate) {
  torch::manual_seed(5);
  models::DcganSpec spec;
  spec.num_cultures = 3;
  spec.image_size = 16;
  spec.z_dim = 6;
  spec.g_conv_dim = 4;
  models::DcganGenerator g(spec);
  auto gen = round_trip(models::make_dcgan_bundle(spec, *g, {"a", "b", "c"}), "cg_dcgan.bundle");
  EXPECT_FALSE(gen->translates());
  torch::NoGradGuard no_grad;
  auto c = torch::tensor({{0.0f, 1.0f, 0.0f}, {0.0f, 0.0f, 1.0f}});
  g->train();  // batch statistics, as in training and sampling (no running stats)
  auto want = g->forward(models::seeded_noise(2, 6, 9), c);
  auto got = gen->generate(c, 9);
  EXPECT_EQ(got.sizes(), (std::vector<int64_t>{2, 3, 16, 16}));
  EXPECT_TRUE(torch::allclose(got, want, 1e-5, 1e-6));
  EXPECT_THROW(gen->translate(torch::zeros({1, 3, 16, 16}), c.narrow(0, 0, 1), -1, 0),
               std::invalid_argument);
}

TEST(CultureGenerator, BundleWithWrongSpecOrWeightsIsRefused) {
  torch::manual_seed(6);
  const auto spec = v2_spec();
  models::StarGanV2Generator g(spec);
  models::StarGanV2Mapping f(spec);
  models::StarGanV2Trunk e(spec, spec.style_dim);
  auto b = models::make_starganv2_bundle(spec, *g, *f, *e, {"a", "b", "c"});
  b.weights.pop_back();  // drop E's last tensor
  try {
    models::make_culture_generator(b, "x.bundle");
    FAIL() << "expected BundleError";
  } catch (const models::BundleError& err) {
    EXPECT_NE(std::string(err.what()).find("x.bundle: weights: missing tensor 'E."),
              std::string::npos)
        << err.what();
  }
  b.model = "stylegan9";
  const auto path = temp_path("cg_bad_model.bundle");
  models::save_bundle(path, b);
  try {
    models::load_bundle(path);
    FAIL() << "expected BundleError";
  } catch (const models::BundleError& err) {
    EXPECT_NE(std::string(err.what()).find("model: expected \"stargan\", \"starganv2\""),
              std::string::npos)
        << err.what();
  }
  std::remove(path.c_str());
}
