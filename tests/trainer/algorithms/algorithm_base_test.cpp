// The shared algorithm parts (trainer/algorithms/algorithm_base.h): the phase list, the lazy
// R1 gain and StyleGAN2's lr/β correction, the lr schedule, EMA — the same for every algorithm.
#include <gtest/gtest.h>

#include <cmath>

#include "common/torch_compat.h"
#include "trainer/algorithms/cyclegan.h"
#include "trainer/algorithms/dcgan.h"
#include "trainer/algorithms/stargan.h"
#include "trainer/algorithms/starganv2.h"

using namespace culturegan;
using namespace culturegan::trainer;

namespace {
Config tiny(ModelKind kind) {
  Config cfg;
  cfg.model.kind = kind;
  cfg.data.corpus = "unused.h5";
  cfg.data.image_size = 32;
  cfg.model.g_conv_dim = 4;
  cfg.model.g_res_blocks = 1;
  cfg.model.d_conv_dim = 4;
  cfg.model.z_dim = 4;
  cfg.train.steps = 100;
  return cfg;
}

std::vector<std::unique_ptr<GanAlgorithm>> every_algorithm(const Config& base) {
  std::vector<std::unique_ptr<GanAlgorithm>> out;
  auto with = [&](ModelKind k) {
    Config c = base;
    c.model.kind = k;
    return c;
  };
  out.push_back(std::make_unique<StarGanAlgorithm>(with(ModelKind::kStargan), 3, torch::kCPU));
  out.push_back(std::make_unique<StarGanV2Algorithm>(with(ModelKind::kStarganV2), 3, torch::kCPU));
  out.push_back(std::make_unique<DcganAlgorithm>(with(ModelKind::kDcgan), 3, torch::kCPU));
  out.push_back(std::make_unique<CycleGanAlgorithm>(with(ModelKind::kCycleGan), 3, torch::kCPU));
  return out;
}

double adam_lr(torch::optim::Optimizer* opt) {
  return static_cast<torch::optim::AdamOptions&>(opt->param_groups()[0].options()).lr();
}
}  // namespace

TEST(AlgorithmBase, EveryAlgorithmGetsTheSamePhaseListAndLazyR1Correction) {
  Config cfg = tiny(ModelKind::kStargan);
  cfg.loss.r1_gamma = 2.0;
  cfg.loss.r1_interval = 4;
  cfg.optim.n_critic = 2;
  cfg.optim.d_lr = 1e-3;
  cfg.optim.beta1 = 0.5;
  cfg.optim.beta2 = 0.99;
  for (auto& algo : every_algorithm(cfg)) {
    auto& ph = algo->phases();
    ASSERT_EQ(ph.size(), 3u);
    EXPECT_EQ(ph[0].name, "D_main");
    EXPECT_EQ(ph[1].name, "D_reg");
    EXPECT_EQ(ph[2].name, "G_main");
    EXPECT_EQ(ph[0].interval, 1);
    EXPECT_EQ(ph[1].interval, 4);
    EXPECT_EQ(ph[2].interval, 2);
    EXPECT_EQ(ph[0].optimizer, ph[1].optimizer);
    // StyleGAN2: lr · k/(k+1), β ^ (k/(k+1)) for D when D_reg runs every k = 4 steps.
    auto& o = static_cast<torch::optim::AdamOptions&>(ph[0].optimizer->param_groups()[0].options());
    EXPECT_NEAR(o.lr(), 1e-3 * 0.8, 1e-12);
    EXPECT_NEAR(std::get<0>(o.betas()), std::pow(0.5, 0.8), 1e-12);
    EXPECT_NEAR(std::get<1>(o.betas()), std::pow(0.99, 0.8), 1e-12);
    EXPECT_NEAR(adam_lr(ph[2].optimizer), cfg.optim.g_lr, 1e-15);  // G is not corrected
    // The D_reg loss is γ/2 · k · R1.
    StepInput in{
        torch::rand({2, 3, 32, 32}) * 2 - 1, torch::tensor({0, 1}, torch::kLong), 0, 0, 5, {}};
    const LossTerms t = ph[1].loss(in);
    ASSERT_EQ(t.terms.size(), 1u);
    EXPECT_EQ(t.terms[0].first, "r1");
    EXPECT_NEAR(t.total.item<double>(), 0.5 * 2.0 * 4 * t.terms[0].second.item<double>(), 1e-5);
  }
  cfg.loss.r1_gamma = 0;
  for (auto& algo : every_algorithm(cfg)) EXPECT_EQ(algo->phases().size(), 2u);
}

TEST(AlgorithmBase, LrScheduleIsSetBeforeEachMainPhase) {
  Config cfg = tiny(ModelKind::kStargan);
  cfg.optim.decay_start = 50;
  cfg.train.steps = 100;
  for (auto& algo : every_algorithm(cfg)) {
    auto& ph = algo->phases();
    StepInput in{
        torch::rand({2, 3, 32, 32}) * 2 - 1, torch::tensor({0, 1}, torch::kLong), 75, 0, 5, {}};
    ph.front().loss(in);
    ph.back().loss(in);
    EXPECT_NEAR(adam_lr(ph.front().optimizer), cfg.optim.d_lr * 0.5, 1e-12);  // halfway down
    EXPECT_NEAR(adam_lr(ph.back().optimizer), cfg.optim.g_lr * 0.5, 1e-12);
  }
}

// StarGAN's D_main hands G(x, c') with its graph to the same step's G_main (one G forward per
// step fewer): G's gradients are the ones G_main computes on its own, with and without PatchNCE.
TEST(StarGanStep, GMainReusesDMainsTranslationWithTheSameGradients) {
  for (const double nce : {0.0, 1.0}) {
    SCOPED_TRACE(::testing::Message() << "lambda_nce " << nce);
    Config cfg = tiny(ModelKind::kStargan);
    cfg.loss.lambda_nce = nce;
    cfg.loss.nce_patches = 8;
    auto grads_of_g_main = [&](bool after_d_main) {
      torch::manual_seed(3);
      StarGanAlgorithm algo(cfg, 3, torch::kCPU);
      torch::manual_seed(4);
      StepInput in;
      in.images = torch::rand({4, 3, 32, 32}) * 2 - 1;
      in.labels = torch::tensor({0, 1, 2, 0}, torch::kLong);
      in.step = 0;
      in.seed = 1;
      auto& ph = algo.phases();
      auto freeze = [](Phase& p, bool f) {
        for (auto& t : p.frozen) t.set_requires_grad(!f);
      };
      if (after_d_main) {  // as train_step.cpp runs it: D_main with G frozen, then G_main
        freeze(ph[0], true);
        ph[0].loss(in).total.backward();
        freeze(ph[0], false);
      }
      freeze(ph[1], true);
      ph[1].loss(in).total.backward();
      freeze(ph[1], false);
      std::vector<torch::Tensor> grads;
      for (auto& p : ph[1].params)
        grads.push_back(p.grad().defined() ? p.grad().clone() : torch::zeros_like(p));
      return grads;
    };
    const auto fresh = grads_of_g_main(false), reused = grads_of_g_main(true);
    ASSERT_EQ(fresh.size(), reused.size());
    for (size_t i = 0; i < fresh.size(); ++i)
      EXPECT_TRUE(torch::allclose(fresh[i], reused[i], 1e-5, 1e-7)) << "parameter " << i;
    EXPECT_GT(reused[0].abs().sum().item<double>(), 0.0);
  }
}

TEST(AlgorithmBase, FrozenParametersAreInNoPhaseAndStayBitwiseUnchanged) {
  Config cfg = tiny(ModelKind::kStargan);
  cfg.train.freeze = {"G.encoder", "D.trunk.0"};
  torch::manual_seed(3);
  StarGanAlgorithm algo(cfg, 3, torch::kCPU);
  std::vector<std::pair<std::string, torch::Tensor>> frozen, trained;
  for (auto& [name, m] : algo.modules()) {
    if (name == "G_ema") continue;
    for (const auto& p : m->named_parameters()) {
      const std::string full = name + "." + p.key();
      const bool f = full.rfind("G.encoder.", 0) == 0 || full.rfind("D.trunk.0.", 0) == 0;
      (f ? frozen : trained).emplace_back(full, p.value().clone());
      EXPECT_EQ(p.value().requires_grad(), !f) << full;
    }
  }
  ASSERT_GE(frozen.size(), 4u);
  auto& ph = algo.phases();
  for (const auto& phase : ph)
    for (const auto& p : phase.params)
      for (auto& [name, m] : algo.modules())
        for (const auto& q : m->named_parameters())
          if (q.value().is_same(p)) {
            const std::string full = name + "." + q.key();
            EXPECT_FALSE(full.rfind("G.encoder.", 0) == 0 || full.rfind("D.trunk.0.", 0) == 0)
                << phase.name << " holds frozen " << full;
          }
  // Three steps as train_step.cpp runs them.
  for (int64_t step = 0; step < 3; ++step) {
    torch::manual_seed(10 + step);
    StepInput in;
    in.images = torch::rand({4, 3, 32, 32}) * 2 - 1;
    in.labels = torch::tensor({0, 1, 2, 0}, torch::kLong);
    in.step = step;
    in.seed = 1;
    for (auto& phase : ph) {
      for (auto& t : phase.frozen) t.set_requires_grad(false);
      culturegan::compat::zero_grad(*phase.optimizer);
      phase.loss(in).total.backward();
      phase.optimizer->step();
      for (auto& t : phase.frozen) t.set_requires_grad(true);
    }
    algo.after_step(step);
  }
  auto current = [&](const std::string& full) {
    const auto dot = full.find('.');
    for (auto& [name, m] : algo.modules())
      if (name == full.substr(0, dot)) return m->named_parameters()[full.substr(dot + 1)];
    return torch::Tensor();
  };
  for (auto& [full, before] : frozen) {
    EXPECT_TRUE(torch::equal(current(full), before)) << full << " moved";
    EXPECT_FALSE(current(full).grad().defined()) << full << " got a gradient";
  }
  int moved = 0;
  for (auto& [full, before] : trained) moved += !torch::equal(current(full), before);
  EXPECT_GT(moved, static_cast<int>(trained.size()) / 2);
}

TEST(AlgorithmBase, AFreezeEntryThatNamesNothingIsOneClearError) {
  Config cfg = tiny(ModelKind::kStargan);
  cfg.train.freeze = {"G.encodr"};
  try {
    StarGanAlgorithm algo(cfg, 3, torch::kCPU);
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("key 'train.freeze': \"G.encodr\" names no trained parameter"),
              std::string::npos)
        << m;
    EXPECT_NE(m.find("G.encoder"), std::string::npos) << m;
    EXPECT_EQ(m.find("G_ema"), std::string::npos) << "G_ema does not train: " << m;
  }
  cfg.train.freeze = {"D"};  // all of D: no D phase at all, G still trains
  StarGanAlgorithm g_only(cfg, 3, torch::kCPU);
  ASSERT_EQ(g_only.phases().size(), 1u);
  EXPECT_EQ(g_only.phases()[0].name, "G_main");
}
