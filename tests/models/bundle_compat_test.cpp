// Bundles across the conditioning / upsample options: bundles and outputs written by the build
// before them (tests/models/data) load and translate unchanged, the defaults build the same
// networks from the same seed, and the new layers round-trip bit for bit.
//
// tests/models/data/stargan_v1_paper.bundle: a stargan bundle (6 spec keys), written by the
// earlier build from torch::manual_seed(20240611) with StarGanSpec{num_cultures 3, image_size 16,
// g_conv_dim 4, g_res_blocks 1, d_conv_dim 4}; golden_v1_io.pt: a torch pickle {str: Tensor} of
// inputs and that build's outputs (the recipe is in each test below).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "models/bundle.h"
#include "models/culture_generator.h"
#include "tests/models/small_spec.h"

using namespace culturegan;

namespace {
const std::string kData = CULTUREGAN_MODELS_TEST_DATA;

std::map<std::string, torch::Tensor> golden() {
  std::ifstream in(kData + "/golden_v1_io.pt", std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::map<std::string, torch::Tensor> out;
  for (const auto& kv : torch::pickle_load(bytes).toGenericDict())
    out[kv.key().toStringRef()] = kv.value().toTensor();
  return out;
}

// Per process: other builds may run the same tests at the same time.
std::string unique_temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / (std::to_string(::getpid()) + "_" + name))
      .string();
}

models::GeneratorBundle save_and_load(const models::GeneratorBundle& b, const std::string& name) {
  const auto path = unique_temp_path(name);
  models::save_bundle(path, b);
  auto loaded = models::load_bundle(path);
  std::remove(path.c_str());
  return loaded;
}

models::GeneratorBundle without(models::GeneratorBundle b, const std::string& key) {
  for (auto it = b.spec.begin(); it != b.spec.end(); ++it)
    if (it->first == key) {
      b.spec.erase(it);
      break;
    }
  return b;
}

bool same(const torch::Tensor& a, const torch::Tensor& b) {
  return a.sizes() == b.sizes() && torch::allclose(a, b, /*rtol=*/0, /*atol=*/1e-6);
}

models::StarGanSpec paper_spec() { return culturegan::testing::small_spec(16, 3); }
}  // namespace

TEST(BundleCompat, PaperStarGanBundleOfTheEarlierBuildTranslatesUnchanged) {
  torch::NoGradGuard no_grad;
  const auto path = kData + "/stargan_v1_paper.bundle";
  const auto b = models::load_bundle(path);  // its checksum covers the 6 keys it has
  ASSERT_EQ(b.spec.size(), 6u);
  EXPECT_EQ(b.spec_value_or("conditioning", -1), -1);
  const auto spec = models::stargan_spec(b, path);
  EXPECT_EQ(spec.conditioning, 0);
  EXPECT_EQ(spec.upsample, 0);
  auto g = golden();
  auto gen = models::make_culture_generator(b, path);
  EXPECT_TRUE(same(gen->translate(g["x"], g["c"], -1, 0), g["stargan_y"]));
  EXPECT_TRUE(same(models::make_generator(b, path)->forward(g["x"], g["c"]), g["stargan_y"]));

  // The same seed builds the same paper G, weight for weight, and the same D.
  torch::manual_seed(20240611);
  models::StarGanGenerator fresh(paper_spec());
  std::map<std::string, torch::Tensor> stored(b.weights.begin(), b.weights.end());
  ASSERT_EQ(fresh->named_parameters().size(), stored.size());
  for (const auto& p : fresh->named_parameters())
    EXPECT_TRUE(torch::equal(p.value(), stored.at(p.key()))) << p.key();
  fresh->eval();
  EXPECT_TRUE(same(fresh->forward(g["x"], g["c"]), g["stargan_y"]));
  torch::manual_seed(7);
  (void)torch::rand({2, 3, 16, 20});  // the golden x
  models::StarGanDiscriminator d(paper_spec());
  auto [src, cls] = d->forward(torch::rand({2, 3, 16, 16}));
  EXPECT_NEAR(src.sum().item<double>(), g["d_src_sum"].item<double>(), 1e-5);
  EXPECT_NEAR(cls.sum().item<double>(), g["d_cls_sum"].item<double>(), 1e-5);
  // A re-export of it writes the new keys as 0 and still translates the same.
  auto again = save_and_load(models::make_bundle(fresh, b.cultures), "cg_compat_again.bundle");
  EXPECT_EQ(again.spec_value("conditioning"), 0);
  EXPECT_EQ(again.spec_value("upsample"), 0);
  EXPECT_TRUE(same(models::make_culture_generator(again, "again")->translate(g["x"], g["c"], -1, 0),
                   g["stargan_y"]));
}

TEST(BundleCompat, ZooDefaultsBuildTheEarlierNetworks) {
  torch::NoGradGuard no_grad;
  auto g = golden();
  torch::manual_seed(31);
  models::ResnetGenerator a(4, 1), b(4, 1);
  a->eval();
  b->eval();
  EXPECT_TRUE(same(a->forward(g["cx"]), g["cyclegan_ab"]));
  EXPECT_TRUE(same(b->forward(g["cx"]), g["cyclegan_ba"]));
  models::DcganSpec s;
  s.num_cultures = 3;
  s.image_size = 16;
  s.z_dim = 6;
  s.g_conv_dim = 4;
  torch::manual_seed(41);
  models::DcganGenerator dg(s);
  dg->train();
  EXPECT_TRUE(same(dg->forward(g["z"], g["dc"]), g["dcgan_y"]));
}

TEST(BundleCompat, BundlesWithoutTheOptionalKeysLoad) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(8);
  auto x = torch::rand({1, 3, 16, 16}) * 2 - 1;
  auto c = torch::tensor({{0.2f, 0.0f, 0.8f}});
  models::StarGanGenerator g(paper_spec());
  g->eval();
  auto old = without(without(models::make_bundle(g, {"a", "b", "c"}), "conditioning"), "upsample");
  auto loaded = save_and_load(old, "cg_compat_old_stargan.bundle");
  EXPECT_EQ(loaded.spec, old.spec);
  EXPECT_TRUE(torch::equal(models::make_generator(loaded, "old")->forward(x, c), g->forward(x, c)));

  models::ResnetGenerator ab(4, 1), ba(4, 1);
  ab->eval();
  auto old_cycle =
      without(models::make_cyclegan_bundle(16, 4, 1, *ab, *ba, {"photo", "ukiyo_e"}), "upsample");
  auto cycle = models::make_culture_generator(
      save_and_load(old_cycle, "cg_compat_old_cycle.bundle"), "old_cycle");
  EXPECT_TRUE(
      torch::equal(cycle->translate(x, torch::tensor({{0.0f, 1.0f}}), -1, 0), ab->forward(x)));

  models::DcganSpec ds;
  ds.num_cultures = 3;
  ds.image_size = 16;
  ds.z_dim = 6;
  ds.g_conv_dim = 4;
  models::DcganGenerator dg(ds);
  auto old_dcgan = without(models::make_dcgan_bundle(ds, *dg, {"a", "b", "c"}), "upsample");
  auto dcgan = models::make_culture_generator(
      save_and_load(old_dcgan, "cg_compat_old_dcgan.bundle"), "old_dcgan");
  dg->train();
  EXPECT_TRUE(torch::equal(dcgan->generate(c, 3), dg->forward(models::seeded_noise(1, 6, 3), c)));
}

TEST(BundleCompat, CinResizeStarGanRoundTripsBitwise) {
  torch::NoGradGuard no_grad;
  for (const int64_t up : {1, 2}) {
    torch::manual_seed(9);
    auto spec = paper_spec();
    spec.conditioning = models::kConditioningCin;
    spec.upsample = up;
    models::StarGanGenerator g(spec);
    g->eval();
    auto b = models::make_bundle(g, {"photo", "ukiyo_e", "ink"});
    EXPECT_EQ(b.spec_value("conditioning"), 1);
    EXPECT_EQ(b.spec_value("upsample"), up);
    auto loaded = save_and_load(b, "cg_compat_cin.bundle");
    EXPECT_EQ(loaded.spec, b.spec);
    auto x = torch::rand({2, 3, 16, 12}) * 2 - 1;
    auto c = torch::tensor({{0.0f, 1.0f, 0.0f}, {0.0f, 0.0f, 1.0f}});
    auto gen = models::make_culture_generator(loaded, "cin");
    EXPECT_TRUE(torch::equal(gen->translate(x, c, -1, 0), g->forward(x, c)));
    EXPECT_TRUE(
        torch::equal(models::make_generator(loaded, "cin")->forward(x, c), g->forward(x, c)));
    // --strength s from photo to ink: c = (1 − s)·e_photo + s·e_ink = the blended embedding.
    auto soft = torch::tensor({{0.7f, 0.0f, 0.3f}, {0.7f, 0.0f, 0.3f}});
    auto e = 0.7 * g->embed(torch::tensor({{1.0f, 0.0f, 0.0f}, {1.0f, 0.0f, 0.0f}})) +
             0.3 * g->embed(torch::tensor({{0.0f, 0.0f, 1.0f}, {0.0f, 0.0f, 1.0f}}));
    EXPECT_TRUE(
        torch::allclose(gen->translate(x, soft, 0, 0), g->forward_embedded(x, e), 1e-5, 1e-6));
  }
}

TEST(BundleCompat, ZooUpsampleRoundTrips) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(10);
  auto x = torch::rand({1, 3, 16, 16}) * 2 - 1;
  models::ResnetGenerator ab(4, 1, 1), ba(4, 1, 1);
  auto b = models::make_cyclegan_bundle(16, 4, 1, *ab, *ba, {"photo", "ukiyo_e"});
  EXPECT_EQ(b.spec_value("upsample"), 1);
  auto cycle = models::make_culture_generator(save_and_load(b, "cg_compat_cycle.bundle"), "cycle");
  ab->eval();
  ba->eval();
  EXPECT_TRUE(
      torch::equal(cycle->translate(x, torch::tensor({{0.0f, 1.0f}}), -1, 0), ab->forward(x)));
  EXPECT_TRUE(
      torch::equal(cycle->translate(x, torch::tensor({{1.0f, 0.0f}}), -1, 0), ba->forward(x)));
  models::ResnetGenerator other(4, 1, 2);
  EXPECT_THROW(models::make_cyclegan_bundle(16, 4, 1, *ab, *other, {"a", "b"}),
               models::BundleError);

  for (const int64_t up : {1, 2}) {
    models::DcganSpec ds;
    ds.num_cultures = 3;
    ds.image_size = 16;
    ds.z_dim = 6;
    ds.g_conv_dim = 4;
    ds.upsample = up;
    models::DcganGenerator dg(ds);
    auto db = models::make_dcgan_bundle(ds, *dg, {"a", "b", "c"});
    EXPECT_EQ(db.spec_value("upsample"), up);
    auto dcgan =
        models::make_culture_generator(save_and_load(db, "cg_compat_dcgan.bundle"), "dcgan");
    auto c = torch::tensor({{0.0f, 1.0f, 0.0f}, {1.0f, 0.0f, 0.0f}});
    dg->train();
    EXPECT_TRUE(torch::equal(dcgan->generate(c, 4), dg->forward(models::seeded_noise(2, 6, 4), c)));
  }
}

TEST(BundleCompat, UnknownKeysAndBadValuesAreRefused) {
  models::StarGanGenerator g(paper_spec());
  auto b = models::make_bundle(g, {"a", "b", "c"});
  b.spec.emplace_back("style_mix", 1);
  const auto path = unique_temp_path("cg_compat_unknown.bundle");
  models::save_bundle(path, b);
  try {
    models::load_bundle(path);
    FAIL() << "expected BundleError";
  } catch (const models::BundleError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown key(s) style_mix"), std::string::npos)
        << e.what();
  }
  std::remove(path.c_str());

  auto bad = models::make_bundle(g, {"a", "b", "c"});
  for (auto& [k, v] : bad.spec)
    if (k == "conditioning") v = 5;
  try {
    models::make_culture_generator(bad, "bad.bundle");
    FAIL() << "expected BundleError";
  } catch (const models::BundleError& e) {
    EXPECT_NE(std::string(e.what()).find("bad.bundle: spec: StarGanSpec: conditioning"),
              std::string::npos)
        << e.what();
  }
  models::ResnetGenerator ab(4, 1), ba(4, 1);
  auto cyc = models::make_cyclegan_bundle(16, 4, 1, *ab, *ba, {"a", "b"});
  cyc.spec.back().second = 9;  // upsample
  EXPECT_THROW(models::make_culture_generator(cyc, "cyc.bundle"), models::BundleError);
}
