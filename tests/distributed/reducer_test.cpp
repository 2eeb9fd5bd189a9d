// GradientReducer: equivalence with single-process training on the real GAN step,
// overlap with backward, graphs that change, scrubbing, misuse.
#include <chrono>
#include <map>

#include "distributed/communicator.h"
#include "distributed/consistency.h"
#include "distributed/gradient_reducer.h"
#include "tests/distributed/mpi_test_main.h"
#include "tests/distributed/tiny_gan.h"

namespace cgd = culturegan::distributed;
using cgd::testing::env;
using cgd::testing::make_batch;
using cgd::testing::PhaseHooks;
using cgd::testing::TinyGan;

namespace {

constexpr int64_t kPerRank = 2;
constexpr int kSteps = 5;

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void declare_gan_phases(cgd::GradientReducer& reducer, TinyGan& gan) {
  reducer.declare_phase("D_main", gan.d->parameters());
  reducer.declare_phase("D_reg", gan.d->parameters());
  reducer.declare_phase("G_main", gan.g->parameters());
}

PhaseHooks reducer_hooks(cgd::GradientReducer& reducer) {
  PhaseHooks h;
  h.begin = [&reducer](const std::string& p) { reducer.begin(p); };
  h.finish = [&reducer](const std::string& p) { reducer.finish(p); };
  return h;
}

// N ranks x batch b == 1 rank x batch N*b after 5 real GAN steps, to 1e-5 relative.
void check_equivalence(const cgd::ReducerOptions& options, torch::ScalarType dtype = torch::kDouble,
                       bool adam = true) {
  auto comm = cgd::make_communicator("mpi", env());
  const int n = comm->world_size(), r = comm->rank();
  TinyGan dist(7, dtype, adam), ref(7, dtype, adam);
  std::vector<torch::Tensor> all;
  for (auto& [name, t] : dist.named_tensors()) all.push_back(t);
  cgd::broadcast_tensors(*comm, all);
  cgd::GradientReducer reducer(*comm, options);
  declare_gan_phases(reducer, dist);
  PhaseHooks hooks = reducer_hooks(reducer), none;
  for (int s = 0; s < kSteps; ++s) {
    const auto global = make_batch(s, n * kPerRank);
    dist.step(global.slice(r * kPerRank, kPerRank), hooks);
    if (r == 0) ref.step(global, none);  // the 1-rank reference, on rank 0 only
  }
  auto a = dist.named_tensors(), b = ref.named_tensors();
  torch::Tensor worst = torch::zeros({1}, torch::kDouble);
  std::string worst_name;
  if (r == 0) {
    for (size_t i = 0; i < a.size(); ++i) {
      const double rel = (a[i].second - b[i].second).norm().item<double>() /
                         (b[i].second.norm().item<double>() + 1e-30);
      if (rel > worst.item<double>()) worst.fill_(rel), worst_name = a[i].first;
    }
    std::printf("equivalence over %d ranks: worst relative difference %.2e (%s)\n", n,
                worst.item<double>(), worst_name.c_str());
  }
  comm->broadcast(worst, 0, "test/worst");
  EXPECT_LT(worst.item<double>(), 1e-5) << "worst tensor " << worst_name;
  // Moved away from the initial weights, and all replicas identical bit for bit.
  EXPECT_NO_THROW(cgd::check_consistency(*comm, a, kSteps));
  EXPECT_EQ(reducer.redo_count(), 0);
}

TEST(GradientReducer, EquivalentToOneRankWithTheGlobalBatch) {
  check_equivalence(cgd::ReducerOptions{});
}

TEST(GradientReducer, EquivalentWithManySmallBuckets) {
  cgd::ReducerOptions o;
  o.first_bucket_mb = 0.002;
  o.bucket_mb = 0.004;
  check_equivalence(o);
}

TEST(GradientReducer, EquivalentInFloat32WithSgd) {
  cgd::ReducerOptions o;
  o.first_bucket_mb = 0.002;
  o.bucket_mb = 0.004;
  check_equivalence(o, torch::kFloat, false);
}

TEST(GradientReducer, EquivalentWithoutOverlap) {
  cgd::ReducerOptions o;
  o.overlap = false;
  o.bucket_mb = 0.004;
  check_equivalence(o, torch::kFloat, false);
}

// Buckets start inside backward: the event log shows a bucket start issued from a
// gradient hook before the phase's backward returned (every step after the first).
TEST(GradientReducer, BucketsStartBeforeBackwardReturns) {
  auto comm = cgd::make_communicator("mpi", env());
  TinyGan gan(3, torch::kFloat);
  cgd::ReducerOptions o;
  o.first_bucket_mb = 0.001;
  o.bucket_mb = 0.002;
  o.log_events = true;
  cgd::GradientReducer reducer(*comm, o);
  declare_gan_phases(reducer, gan);
  for (const char* phase : {"D_main", "G_main"})
    EXPECT_GE(reducer.bucket_numels(phase).size(), 3u) << phase;
  std::map<std::string, int64_t> returned;
  PhaseHooks hooks = reducer_hooks(reducer);
  hooks.backward_returned = [&returned](const std::string& p) { returned[p] = now_ns(); };
  for (int s = 0; s < 3; ++s) {
    reducer.clear_events();
    gan.step(make_batch(s, comm->world_size() * kPerRank).slice(comm->rank() * kPerRank, kPerRank),
             hooks);
    std::map<std::string, int> early;
    for (const auto& e : reducer.events()) {
      if (e.kind == cgd::ReducerEvent::Kind::kBucketStart && e.from_hook &&
          e.time_ns < returned[e.phase])
        ++early[e.phase];
    }
    if (s == 0) {
      EXPECT_TRUE(early.empty()) << "the first step learns the hook counts and reduces in finish()";
    } else {
      for (const char* phase : {"D_main", "D_reg", "G_main"}) {
        const int buckets = static_cast<int>(reducer.bucket_numels(phase).size());
        // All but the last bucket (kept for finish()) start during backward.
        EXPECT_EQ(early[phase], buckets - 1) << phase << " step " << s;
      }
    }
  }
}

// A parameter that gets no gradient on some rank contributes zeros; a phase whose hook
// counts change after the first step (an extra backward on one rank only) is re-reduced
// and still exact.
TEST(GradientReducer, UnusedParametersAndChangingGraphs) {
  auto comm = cgd::make_communicator("mpi", env());
  const int n = comm->world_size(), r = comm->rank();
  auto a = torch::ones({300}, torch::requires_grad());
  auto b = torch::ones({300}, torch::requires_grad());
  auto c = torch::ones({5000}, torch::requires_grad());
  cgd::ReducerOptions o;
  o.first_bucket_mb = 0.001;
  o.bucket_mb = 0.001;
  cgd::GradientReducer reducer(*comm, o);
  reducer.declare_phase("P", {a, b, c});
  ASSERT_EQ(reducer.bucket_numels("P").size(), 3u);
  for (int step = 0; step < 4; ++step) {
    reducer.begin("P");
    // Rank 0 never uses b. From step 2 on, rank 1 runs a second backward through a and c.
    ((a * (r + 1)).sum() + (r == 0 ? torch::zeros({}) : (b * 2).sum()) + (c * r).sum()).backward();
    const bool extra = step >= 2 && r == 1;
    if (extra) ((a * 10).sum() + (c * 10).sum()).backward();
    reducer.finish("P");
    double want_a = 0, want_b = 0, want_c = 0;
    for (int q = 0; q < n; ++q) {
      want_a += (q + 1) + (step >= 2 && q == 1 ? 10 : 0);
      want_b += q == 0 ? 0 : 2;
      want_c += q + (step >= 2 && q == 1 ? 10 : 0);
    }
    EXPECT_FLOAT_EQ(a.grad()[7].item<float>(), want_a / n) << "step " << step;
    EXPECT_FLOAT_EQ(b.grad()[7].item<float>(), want_b / n) << "step " << step;
    EXPECT_FLOAT_EQ(c.grad()[4999].item<float>(), want_c / n) << "step " << step;
  }
  // Step 2 needed one re-reduction (the counts rose); step 3 used the raised counts.
  EXPECT_EQ(reducer.redo_count(), n > 1 ? 1 : 0);
}

TEST(GradientReducer, ScrubsNonFiniteGradients) {
  auto comm = cgd::make_communicator("mpi", env());
  auto w = torch::ones({4}, torch::requires_grad());
  cgd::ReducerOptions o;
  o.scrub_non_finite = true;
  cgd::GradientReducer reducer(*comm, o);
  reducer.declare_phase("P", {w});
  reducer.begin("P");
  const float bad = comm->rank() == 0 ? std::numeric_limits<float>::quiet_NaN() : 1.0f;
  (w * torch::tensor({bad, std::numeric_limits<float>::infinity(), 2.0f, 2.0f})).sum().backward();
  reducer.finish("P");
  const int n = comm->world_size();
  EXPECT_FLOAT_EQ(w.grad()[0].item<float>(), (n - 1) / static_cast<float>(n));
  EXPECT_FLOAT_EQ(w.grad()[1].item<float>(), 0.0f);
  EXPECT_FLOAT_EQ(w.grad()[2].item<float>(), 2.0f);
}

TEST(GradientReducer, MisuseIsAClearError) {
  auto comm = cgd::make_communicator("mpi", env());
  auto w = torch::ones({4}, torch::requires_grad());
  cgd::GradientReducer reducer(*comm, cgd::ReducerOptions{});
  reducer.declare_phase("P", {w});
  EXPECT_THROW(reducer.declare_phase("P", {w}), cgd::ReducerError);
  EXPECT_THROW(reducer.declare_phase("Q", {w, w}), cgd::ReducerError);
  EXPECT_THROW(reducer.declare_phase("R", {torch::ones({2})}), cgd::ReducerError);
  EXPECT_THROW(reducer.begin("nope"), cgd::ReducerError);
  EXPECT_THROW(reducer.finish("P"), cgd::ReducerError);
  reducer.begin("P");
  EXPECT_THROW(reducer.begin("P"), cgd::ReducerError);
  w.sum().backward();
  reducer.finish("P");
  EXPECT_FLOAT_EQ(w.grad()[0].item<float>(), 1.0f);
}

}  // namespace
