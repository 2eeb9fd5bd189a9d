// EMA of generator weights (trainer/algorithms/ema.h).
#include <gtest/gtest.h>

#include "models/stargan.h"
#include "tests/models/small_spec.h"
#include "trainer/algorithms/ema.h"

using namespace culturegan;

using culturegan::testing::small_spec;

TEST(Ema, FollowsTheFormula) {
  torch::manual_seed(0);
  models::StarGanGenerator g(small_spec()), ema(small_spec());
  trainer::copy_weights(*ema, *g);
  auto p0 = g->parameters()[0];
  const auto before = ema->parameters()[0].clone();
  {
    torch::NoGradGuard ng;
    p0.add_(1.0);
  }
  trainer::ema_update(*ema, *g, 0.9);
  EXPECT_TRUE(torch::allclose(ema->parameters()[0], 0.9 * before + 0.1 * p0, 1e-6, 1e-6));
}

TEST(Ema, DecayWarmsUp) {
  EXPECT_DOUBLE_EQ(trainer::ema_beta_at(0.999, 0), 0.1);  // (1 + 0) / (10 + 0)
  EXPECT_DOUBLE_EQ(trainer::ema_beta_at(0.999, 90), 91.0 / 100.0);
  EXPECT_DOUBLE_EQ(trainer::ema_beta_at(0.999, 100000), 0.999);  // capped at beta
  EXPECT_DOUBLE_EQ(trainer::ema_beta_at(0.0, 5), 0.0);
}
