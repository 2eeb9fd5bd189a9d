// Under mpiexec -n 2: after 3 real StarGAN steps on different per-rank data, every rank
// holds bit-identical G, D and G_ema weights (initial broadcast + averaged gradients).
#include <gtest/gtest.h>
#include <mpi.h>

#include "distributed/communicator.h"
#include "distributed/gradient_reducer.h"
#include "distributed/process_env.h"
#include "trainer/algorithms/stargan.h"
#include "trainer/train_step.h"

using namespace culturegan;

namespace {
const distributed::ProcessEnv* g_env = nullptr;

trainer::Config tiny_config() {
  trainer::Config cfg;
  cfg.data.corpus = "unused.h5";
  cfg.data.image_size = 16;
  cfg.model.g_conv_dim = 4;
  cfg.model.g_res_blocks = 1;
  cfg.model.d_conv_dim = 4;
  cfg.train.batch_size = 2;
  cfg.train.seed = 3;
  return cfg;
}
}  // namespace

TEST(RanksAgree, BitIdenticalWeightsAfterThreeSteps) {
  const auto& env = *g_env;
  ASSERT_EQ(env.world_size, 2);
  const auto cfg = tiny_config();
  auto comm = distributed::make_communicator("mpi", env);
  // Different seeds per rank: without the initial broadcast the weights would differ.
  torch::manual_seed(100 + env.rank);
  trainer::StarGanAlgorithm algo(cfg, 3, torch::kCPU);
  std::vector<torch::Tensor> state;
  for (auto& [name, m] : algo.modules()) {
    for (auto& p : m->parameters()) state.push_back(p);
    for (auto& b : m->buffers()) state.push_back(b);
  }
  distributed::broadcast_tensors(*comm, state, 0);
  distributed::GradientReducer reducer(*comm, distributed::ReducerOptions{});
  for (auto& phase : algo.phases()) reducer.declare_phase(phase.name, phase.params);

  torch::manual_seed(1000 + env.rank);  // each rank's own data
  for (int64_t step = 0; step < 3; ++step) {
    trainer::StepInput in{torch::rand({2, 3, 16, 16}) * 2 - 1,
                          torch::randint(0, 3, {2}, torch::kLong),
                          step,
                          env.rank * 2,
                          3,
                          {}};
    trainer::run_step(algo, reducer, *comm, in, trainer::NonFinitePolicy::kStop);
  }
  // Compare every tensor with rank 0's, bit for bit.
  int mismatches = 0;
  for (auto& [name, m] : algo.modules()) {
    for (const auto& p : m->named_parameters()) {
      auto mine = p.value().detach().clone();
      auto root = mine.clone();
      comm->broadcast(root, 0);
      if (!torch::equal(mine, root)) {
        ++mismatches;
        ADD_FAILURE() << "rank " << env.rank << ": " << name << "." << p.key()
                      << " differs from rank 0";
      }
    }
  }
  EXPECT_EQ(mismatches, 0);
  // The ranks really saw different data: their D_main losses differ.
}

int main(int argc, char** argv) {
  distributed::MpiRuntime mpi(&argc, &argv);
  g_env = &mpi.env();
  ::testing::InitGoogleTest(&argc, argv);
  if (mpi.env().rank != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  int failed = RUN_ALL_TESTS() != 0 ? 1 : 0, any = 0;
  MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return any;
}
