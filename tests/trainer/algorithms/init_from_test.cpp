// Starting from trained weights (trainer/init_from.h): cultures matched by name, new cultures
// added, the old ones' translations unchanged, clear errors for another architecture.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "models/bundle.h"
#include "trainer/algorithms/stargan.h"
#include "trainer/checkpoint.h"
#include "trainer/init_from.h"

using namespace culturegan;
using namespace culturegan::trainer;
namespace fs = std::filesystem;

namespace {
Config tiny(models::Conditioning conditioning = models::kConditioningCin) {
  Config cfg;
  cfg.data.corpus = "unused.h5";
  cfg.data.image_size = 16;
  cfg.model.g_conv_dim = 4;
  cfg.model.g_res_blocks = 1;
  cfg.model.d_conv_dim = 4;
  cfg.model.conditioning =
      conditioning == models::kConditioningCin ? Conditioning::kCin : Conditioning::kPlanes;
  return cfg;
}

std::string temp_path(const std::string& name) {
  const auto dir = fs::temp_directory_path() / "culturegan-init-from-test";
  fs::create_directories(dir);
  return (dir / name).string();
}

torch::Tensor images() {
  torch::manual_seed(11);
  return torch::rand({2, 3, 16, 16}) * 2 - 1;
}

// Trains a few steps' worth of change into G and G_ema (so they differ from a fresh init).
void perturb(StarGanAlgorithm& algo) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(5);
  for (auto& [name, m] : algo.modules())
    for (auto& p : m->parameters()) p.add_(torch::randn_like(p) * 0.05);
}

torch::Tensor bundle_translation(const std::string& bundle, const torch::Tensor& x,
                                 const std::string& culture) {
  const auto b = models::load_bundle(bundle);
  auto g = models::make_generator(b, bundle);
  const auto k = std::find(b.cultures.begin(), b.cultures.end(), culture) - b.cultures.begin();
  torch::NoGradGuard no_grad;
  auto labels = torch::full({x.size(0)}, static_cast<int64_t>(k), torch::kLong);
  return g->forward(x, models::one_hot(labels, b.num_cultures()));
}
}  // namespace

TEST(InitFrom, BundleReproducesItsTranslationsBitwiseAtStepZero) {
  torch::manual_seed(1);
  StarGanAlgorithm src(tiny(), 3, torch::kCPU);
  perturb(src);
  const std::vector<std::string> cultures{"ink", "photo", "ukiyo_e"};
  const auto path = temp_path("same.bundle");
  src.export_bundle(path, cultures);

  torch::manual_seed(2);  // another init: everything must come from the file
  StarGanAlgorithm dst(tiny(), 3, torch::kCPU);
  const std::string note = initialize_from(path, dst, cultures);
  EXPECT_NE(note.find("loaded G, G_ema"), std::string::npos) << note;
  EXPECT_NE(note.find("fresh D"), std::string::npos) << note;
  const auto x = images();
  for (int64_t k = 0; k < 3; ++k) {
    EXPECT_TRUE(torch::equal(dst.translate(x, k), bundle_translation(path, x, cultures[k])))
        << cultures[k];
  }
  // G itself starts from the same weights as G_ema.
  const auto g = dst.generator()->named_parameters(), e = dst.generator_ema()->named_parameters();
  for (size_t i = 0; i < g.size(); ++i) EXPECT_TRUE(torch::equal(g[i].value(), e[i].value()));
}

TEST(InitFrom, AnAddedCultureLeavesTheOldCulturesTranslationsUnchanged) {
  for (const auto cond : {models::kConditioningCin, models::kConditioningPlanes}) {
    SCOPED_TRACE(cond == models::kConditioningCin ? "cin" : "planes");
    torch::manual_seed(1);
    StarGanAlgorithm src(tiny(cond), 3, torch::kCPU);
    perturb(src);
    const std::vector<std::string> old_cultures{"ink", "photo", "ukiyo_e"};
    const auto path = temp_path("old.bundle");
    src.export_bundle(path, old_cultures);
    // The new corpus: ink, impressionism (new), photo; ukiyo_e is kept from the weights.
    const auto model = merged_cultures({"impressionism", "ink", "photo"}, old_cultures);
    ASSERT_EQ(model, (std::vector<std::string>{"impressionism", "ink", "photo", "ukiyo_e"}));
    torch::manual_seed(2);
    StarGanAlgorithm dst(tiny(cond), 4, torch::kCPU, /*trained_cultures=*/3);
    const std::string note = initialize_from(path, dst, model);
    EXPECT_NE(note.find("3 from the weights"), std::string::npos) << note;
    EXPECT_NE(note.find("1 new (impressionism"), std::string::npos) << note;
    const auto x = images();
    for (int64_t k = 1; k < 4; ++k) {
      const auto want = bundle_translation(path, x, model[k]), got = dst.translate(x, k);
      if (cond == models::kConditioningCin)  // c·E with a one-hot c picks the same row exactly
        EXPECT_TRUE(torch::equal(got, want)) << model[k];
      else  // one more all-zero input plane: the convolution sums in another order
        EXPECT_TRUE(torch::allclose(got, want, 1e-5, 1e-6)) << model[k];
    }
    // The new culture's slice is the mean of the old ones'.
    if (cond == models::kConditioningCin) {
      const auto b = models::load_bundle(path);
      torch::Tensor old_embed;
      for (const auto& [n, t] : b.weights)
        if (n == "embed") old_embed = t;
      auto new_embed = dst.generator()->named_parameters()["embed"];
      EXPECT_TRUE(torch::allclose(new_embed[0], old_embed.mean(0)));
      EXPECT_TRUE(torch::equal(new_embed[3], old_embed[2]));  // ukiyo_e kept
    }
  }
}

TEST(InitFrom, CheckpointLoadsEveryNetworkButNotTheOptimizers) {
  torch::manual_seed(1);
  Config cfg = tiny();
  StarGanAlgorithm src(cfg, 3, torch::kCPU);
  perturb(src);
  const auto run = temp_path("ckpt-run");
  fs::remove_all(run);
  Checkpointer ck(run, 1);
  TrainingState st;
  st.step = 7;
  st.cultures = {"ink", "photo", "ukiyo_e"};
  const std::string dir = ck.save(st, src, cfg);
  EXPECT_EQ(init_source_cultures(dir), st.cultures);

  // The corpus lost "ink" and gained "oil": model = photo, ukiyo_e, oil? No: corpus order first.
  const auto model = merged_cultures({"oil", "photo", "ukiyo_e"}, st.cultures);
  torch::manual_seed(2);
  StarGanAlgorithm dst(cfg, 4, torch::kCPU, 3);
  initialize_from(dir, dst, model);
  // D's trunk is the same; its classifier rows follow the culture names.
  auto sd = src.discriminator()->named_parameters(), dd = dst.discriminator()->named_parameters();
  EXPECT_TRUE(torch::equal(sd["trunk.0.weight"], dd["trunk.0.weight"]));
  EXPECT_TRUE(torch::equal(dd["cls_head.weight"][1], sd["cls_head.weight"][1]));  // photo
  EXPECT_TRUE(torch::equal(dd["cls_head.weight"][3], sd["cls_head.weight"][0]));  // ink, kept
  EXPECT_TRUE(torch::allclose(dd["cls_head.weight"][0], sd["cls_head.weight"].mean(0)));  // oil
  // G_ema from the checkpoint's G_ema (not a copy of G).
  EXPECT_TRUE(torch::equal(src.generator_ema()->named_parameters()["to_rgb.weight"],
                           dst.generator_ema()->named_parameters()["to_rgb.weight"]));
  for (auto& [name, opt] : dst.optimizers()) EXPECT_TRUE(opt->state().empty()) << name;
}

TEST(InitFrom, AnotherArchitectureNamesTheTensorAndBothShapes) {
  torch::manual_seed(1);
  StarGanAlgorithm src(tiny(), 3, torch::kCPU);
  const auto path = temp_path("narrow.bundle");
  src.export_bundle(path, {"a", "b", "c"});
  Config wide = tiny();
  wide.model.g_conv_dim = 8;
  StarGanAlgorithm dst(wide, 3, torch::kCPU);
  try {
    initialize_from(path, dst, {"a", "b", "c"});
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("train.init_from = " + path), std::string::npos) << m;
    EXPECT_NE(m.find("tensor 'G.encoder.0.weight': shape [4, 3, 7, 7] in the file, [8, 3, 7, 7] "
                     "expected by this config"),
              std::string::npos)
        << m;
  }
  // Input planes vs a culture embedding: a tensor the file lacks.
  StarGanAlgorithm planes(tiny(models::kConditioningPlanes), 3, torch::kCPU);
  try {
    initialize_from(path, planes, {"a", "b", "c"});
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("tensor 'G.net.0.weight': missing in the file"),
              std::string::npos)
        << e.what();
  }
}

TEST(InitFrom, BadSourcesGiveOneClearError) {
  StarGanAlgorithm dst(tiny(), 3, torch::kCPU);
  auto message = [&](const std::string& path) {
    try {
      initialize_from(path, dst, {"a", "b", "c"});
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message("/nonexistent/x.bundle").find("found nothing there"), std::string::npos);
  const auto junk = temp_path("junk.bundle");
  std::ofstream(junk) << "not a bundle";
  EXPECT_NE(message(junk).find("train.init_from = " + junk), std::string::npos) << message(junk);
  // A checkpoint written before cultures were recorded.
  const auto run = temp_path("old-ckpt");
  fs::remove_all(run);
  Checkpointer ck(run, 1);
  const std::string dir = ck.save(TrainingState{}, dst, tiny());
  EXPECT_NE(message(dir).find("key 'cultures'"), std::string::npos) << message(dir);
  // An archive the MANIFEST does not list (added or swapped in afterwards) is never read.
  const auto run2 = temp_path("unlisted-ckpt");
  fs::remove_all(run2);
  Checkpointer ck2(run2, 1);
  TrainingState st;
  st.cultures = {"a", "b", "c"};
  const std::string dir2 = ck2.save(st, dst, tiny());
  const std::string module = dst.modules().front().first;
  std::ifstream in(fs::path(dir2) / "MANIFEST");
  std::string kept, line;
  while (std::getline(in, line))
    if (line.find(" " + module + ".pt") == std::string::npos) kept += line + "\n";
  in.close();
  std::ofstream(fs::path(dir2) / "MANIFEST") << kept;
  const std::string m = message(dir2);
  EXPECT_NE(m.find(module + ".pt: not listed in MANIFEST"), std::string::npos) << m;
}
