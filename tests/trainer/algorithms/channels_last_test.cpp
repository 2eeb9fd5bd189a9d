// train.channels_last: the same network and training as NCHW up to float rounding, with every
// 4-D weight (and so every convolution's output) in channels-last layout, kept by the steps.
#include <gtest/gtest.h>

#include "common/torch_compat.h"
#include "models/memory_format.h"
#include "trainer/algorithms/stargan.h"

using namespace culturegan;
using namespace culturegan::trainer;

namespace {

Config tiny_stargan(bool channels_last) {
  Config cfg;
  cfg.model.kind = ModelKind::kStargan;
  cfg.data.corpus = "unused.h5";
  cfg.data.image_size = 32;
  cfg.model.g_conv_dim = 8;
  cfg.model.g_res_blocks = 1;
  cfg.model.d_conv_dim = 8;
  cfg.loss.lambda_nce = 1.0;  // G's encoder features and the NCE head too
  cfg.loss.nce_patches = 8;
  cfg.train.steps = 100;
  cfg.train.channels_last = channels_last;
  return cfg;
}

// 4-D tensors whose layout can differ (a 1×1 kernel is both NCHW and NHWC).
bool spatial(const torch::Tensor& t) { return t.dim() == 4 && (t.size(2) > 1 || t.size(3) > 1); }

// `steps` steps as trainer/train_step.cpp runs them (freeze, zero, loss, backward, step).
void train(StarGanAlgorithm& algo, bool channels_last, int steps) {
  for (int64_t step = 0; step < steps; ++step) {
    torch::manual_seed(10 + step);
    StepInput in;
    in.images = torch::rand({4, 3, 32, 32}) * 2 - 1;
    if (channels_last)
      in.images = models::in_memory_format(in.images, torch::MemoryFormat::ChannelsLast);
    in.labels = torch::tensor({0, 1, 2, 0}, torch::kLong);
    in.step = step;
    in.seed = 1;
    for (auto& phase : algo.phases()) {
      for (auto& t : phase.frozen) t.set_requires_grad(false);
      compat::zero_grad(*phase.optimizer);
      phase.loss(in).total.backward();
      phase.optimizer->step();
      for (auto& t : phase.frozen) t.set_requires_grad(true);
    }
    algo.after_step(step);
  }
}

}  // namespace

TEST(ChannelsLast, EveryConvolutionWeightIsNhwcAndTrainingMatchesNchw) {
  torch::manual_seed(3);
  StarGanAlgorithm nchw(tiny_stargan(false), 3, torch::kCPU);
  torch::manual_seed(3);
  StarGanAlgorithm nhwc(tiny_stargan(true), 3, torch::kCPU);
  int spatial_weights = 0;
  for (auto& [name, m] : nhwc.modules()) {
    if (name != "NCE_head") {  // linear layers only: nothing to convert
      EXPECT_EQ(models::memory_format_of(*m), torch::MemoryFormat::ChannelsLast) << name;
    }
    for (const auto& p : m->named_parameters())
      if (spatial(p.value())) {
        ++spatial_weights;
        EXPECT_TRUE(p.value().is_contiguous(torch::MemoryFormat::ChannelsLast))
            << name << "." << p.key();
        EXPECT_FALSE(p.value().is_contiguous()) << name << "." << p.key();
      }
  }
  EXPECT_GE(spatial_weights, 8);
  for (auto& [name, m] : nchw.modules())
    EXPECT_EQ(models::memory_format_of(*m), torch::MemoryFormat::Contiguous) << name;

  // The G(x, c') of the first D_main is channels-last all the way through.
  {
    torch::NoGradGuard no_grad;
    auto x = models::in_memory_format(torch::rand({2, 3, 32, 32}) * 2 - 1,
                                      torch::MemoryFormat::ChannelsLast);
    const auto y = nhwc.translate(x, 1);
    EXPECT_TRUE(y.is_contiguous(torch::MemoryFormat::ChannelsLast));
    EXPECT_TRUE(torch::allclose(y, nchw.translate(x.contiguous(), 1), 1e-4, 1e-5));
  }

  train(nchw, false, 3);
  train(nhwc, true, 3);
  auto a = nchw.modules(), b = nhwc.modules();
  ASSERT_EQ(a.size(), b.size());
  int moved = 0, compared = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    auto pa = a[i].second->named_parameters(), pb = b[i].second->named_parameters();
    ASSERT_EQ(pa.size(), pb.size());
    for (size_t k = 0; k < pa.size(); ++k) {
      const auto& x = pa[k].value();
      const auto& y = pb[k].value();
      const std::string what = a[i].first + "." + pa[k].key();
      if (spatial(y)) {
        EXPECT_TRUE(y.is_contiguous(torch::MemoryFormat::ChannelsLast)) << what;
      }
      // Adam's first updates are lr·sign(g): an element whose gradient is zero up to rounding
      // may move the other way, so the bound is on the tensor's relative norm difference.
      const double rel = (x - y).norm().item<double>() / (x.norm().item<double>() + 1e-12);
      EXPECT_LT(rel, 2e-3) << what;
      ++compared;
    }
  }
  EXPECT_GT(compared, 20);
  // And the steps did train: G moved from its initial weights.
  torch::manual_seed(3);
  StarGanAlgorithm init(tiny_stargan(true), 3, torch::kCPU);
  auto p0 = init.modules()[0].second->parameters(), p1 = nhwc.modules()[0].second->parameters();
  for (size_t k = 0; k < p0.size(); ++k) moved += !torch::equal(p0[k], p1[k]);
  EXPECT_GT(moved, static_cast<int>(p0.size()) / 2);
}

TEST(ChannelsLast, ConvertsBackAndRefusesOtherFormats) {
  torch::nn::Conv2d conv(torch::nn::Conv2dOptions(3, 4, 3));
  models::to_memory_format(*conv, torch::MemoryFormat::ChannelsLast);
  EXPECT_EQ(models::memory_format_of(*conv), torch::MemoryFormat::ChannelsLast);
  const auto w = conv->weight;
  models::to_memory_format(*conv, torch::MemoryFormat::Contiguous);
  EXPECT_TRUE(conv->weight.is_contiguous());
  EXPECT_TRUE(conv->weight.is_same(w));  // the same tensor (optimizers keep holding it)
  EXPECT_THROW(models::to_memory_format(*conv, torch::MemoryFormat::Preserve),
               std::invalid_argument);
  const auto v = torch::rand({5});
  EXPECT_TRUE(models::in_memory_format(v, torch::MemoryFormat::ChannelsLast).is_same(v));
}
