// MPI backend, process environment, broadcast_tensors, backend selection.
#include <cstdlib>

#include "distributed/communicator.h"
#include "distributed/consistency.h"
#include "tests/distributed/mpi_test_main.h"

namespace cgd = culturegan::distributed;
using cgd::testing::env;

namespace {

std::unique_ptr<cgd::Communicator> mpi() { return cgd::make_communicator("mpi", env()); }

TEST(ProcessEnv, RanksAndLocalRanks) {
  int rank = 0, size = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  EXPECT_EQ(env().rank, rank);
  EXPECT_EQ(env().world_size, size);
  // One node here: local rank equals rank, every rank is local.
  EXPECT_EQ(env().node_count, 1);
  EXPECT_EQ(env().local_world_size, size);
  EXPECT_EQ(env().local_rank, rank);
  EXPECT_FALSE(env().hostname.empty());
  EXPECT_TRUE(env().mpi_thread_multiple);
  EXPECT_EQ(cgd::device_for(env()), "cpu");  // no CUDA in LibTorch here
}

TEST(MpiCommunicator, AllReduceSumAndAverage) {
  auto comm = mpi();
  const int n = comm->world_size(), r = comm->rank();
  for (auto dtype : {torch::kFloat, torch::kDouble, torch::kBFloat16, torch::kHalf}) {
    torch::Tensor t = torch::arange(5, torch::TensorOptions().dtype(dtype)) + r;
    comm->all_reduce(t, cgd::ReduceOp::kSum, "test/sum");
    torch::Tensor want = torch::arange(5, torch::kDouble) * n + n * (n - 1) / 2.0;
    EXPECT_TRUE(torch::allclose(t.to(torch::kDouble), want)) << c10::toString(dtype);
    torch::Tensor a =
        torch::full({3, 2}, static_cast<double>(r), torch::TensorOptions().dtype(dtype));
    comm->all_reduce(a, cgd::ReduceOp::kAverage, "test/avg");
    EXPECT_TRUE(
        torch::allclose(a.to(torch::kDouble), torch::full({3, 2}, (n - 1) / 2.0, torch::kDouble)));
  }
  torch::Tensor i = torch::full({4}, r + 1, torch::kLong);
  comm->all_reduce(i, cgd::ReduceOp::kSum);
  EXPECT_EQ(i[0].item<int64_t>(), n * (n + 1) / 2);
  EXPECT_THROW(comm->all_reduce(i, cgd::ReduceOp::kAverage), cgd::CommunicatorError);
  torch::Tensor nc = torch::zeros({4, 4}).t();
  EXPECT_THROW(comm->all_reduce(nc, cgd::ReduceOp::kSum), cgd::CommunicatorError);
}

TEST(MpiCommunicator, AsyncAllReduce) {
  auto comm = mpi();
  const int n = comm->world_size();
  std::vector<torch::Tensor> ts;
  std::vector<std::shared_ptr<cgd::Work>> works;
  for (int k = 0; k < 4; ++k) {
    ts.push_back(torch::full({1000 * (k + 1)}, static_cast<float>(comm->rank() + k)));
    works.push_back(comm->all_reduce_async(ts.back(), cgd::ReduceOp::kAverage, "test/async"));
  }
  for (auto& w : works) w->wait();
  for (int k = 0; k < 4; ++k) EXPECT_FLOAT_EQ(ts[k][7].item<float>(), (n - 1) / 2.0f + k);
  torch::Tensor h = torch::full({10}, 1.0, torch::kBFloat16);
  comm->all_reduce_async(h, cgd::ReduceOp::kSum)->wait();
  EXPECT_EQ(h[3].item<float>(), static_cast<float>(n));
}

TEST(MpiCommunicator, BroadcastAllGatherBarrier) {
  auto comm = mpi();
  const int n = comm->world_size(), r = comm->rank();
  torch::Tensor t = torch::full({2, 3}, static_cast<float>(r));
  comm->broadcast(t, n - 1, "test/bcast");
  EXPECT_TRUE(torch::equal(t, torch::full({2, 3}, static_cast<float>(n - 1))));
  auto parts = comm->all_gather(torch::full({2}, r * 10, torch::kLong), "test/gather");
  ASSERT_EQ(static_cast<int>(parts.size()), n);
  for (int q = 0; q < n; ++q) EXPECT_EQ(parts[q][1].item<int64_t>(), q * 10);
  EXPECT_THROW(comm->broadcast(t, n, "bad"), cgd::CommunicatorError);
  const uint64_t before = comm->sequence();
  comm->barrier("test/barrier");
  EXPECT_EQ(comm->sequence(), before + 1);
}

TEST(BroadcastTensors, AllRanksGetRootWeights) {
  auto comm = mpi();
  torch::manual_seed(100 + comm->rank());  // different init per rank
  torch::nn::Conv2d conv(torch::nn::Conv2dOptions(3, 4, 3));
  torch::nn::BatchNorm2d bn(4);
  bn->running_mean.fill_(comm->rank());
  std::vector<torch::Tensor> all;
  for (auto& p : conv->parameters()) all.push_back(p);
  for (auto& b : bn->buffers()) all.push_back(b);
  cgd::broadcast_tensors(*comm, all, 0);
  std::vector<std::pair<std::string, torch::Tensor>> named;
  for (auto& p : conv->named_parameters()) named.emplace_back(p.key(), p.value());
  for (auto& b : bn->named_buffers()) named.emplace_back(b.key(), b.value());
  EXPECT_NO_THROW(cgd::check_consistency(*comm, named, 1));
  EXPECT_EQ(bn->running_mean[0].item<float>(), 0.0f);
  EXPECT_EQ(bn->num_batches_tracked.item<int64_t>(), 0);
}

TEST(MakeCommunicator, BackendChoiceAndErrors) {
  auto comm = cgd::make_communicator("auto", env());
  EXPECT_EQ(comm->backend(), "mpi");  // no CUDA here
  try {
    cgd::make_communicator("gloo", env());
    FAIL() << "expected CommunicatorError";
  } catch (const cgd::CommunicatorError& e) {
    EXPECT_NE(std::string(e.what()).find("expected \"auto\", \"mpi\" or \"nccl\", found \"gloo\""),
              std::string::npos);
  }
}

// Asking for NCCL without a GPU must be a clear error on every rank, not a crash or a hang.
TEST(MakeCommunicator, NcclWithoutGpuIsAClearError) {
  try {
    cgd::make_communicator("nccl", env());
    FAIL() << "expected CommunicatorError: there is no GPU here";
  } catch (const cgd::CommunicatorError& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind("nccl backend: ", 0), 0u) << what;
    EXPECT_TRUE(what.find("no CUDA device") != std::string::npos ||
                what.find("no NCCL") != std::string::npos ||
                what.find("without CUDA") != std::string::npos)
        << what;
    std::printf("rank %d: make_communicator(\"nccl\") -> %s\n", env().rank, what.c_str());
  }
  // The ranks are still in step afterwards.
  auto comm = mpi();
  comm->barrier("after-nccl");
}

}  // namespace

namespace {

// A replica that drifted is caught: every rank throws the same ConsistencyError naming the
// step, the first differing tensor and the ranks that differ.
TEST(ConsistencyCheck, NamesTheFirstDifferingTensorAndTheRanks) {
  auto comm = mpi();
  const int n = comm->world_size(), r = comm->rank();
  std::vector<std::pair<std::string, torch::Tensor>> named = {
      {"G.c1.weight", torch::ones({3, 3})},
      {"D.c2.bias", torch::arange(4.0)},
      {"D.bn.running_mean", torch::zeros({4})}};
  EXPECT_NO_THROW(cgd::check_consistency(*comm, named, 100));
  if (r == n - 1) named[1].second[2] += 1e-6;  // one ulp-ish drift on the last rank
  if (r == n - 1) named[2].second[0] = 1;
  try {
    cgd::check_consistency(*comm, named, 200);
    FAIL() << "expected ConsistencyError";
  } catch (const cgd::ConsistencyError& e) {
    EXPECT_EQ(e.tensor(), "D.c2.bias");
    EXPECT_EQ(e.ranks(), std::vector<int>{n - 1});
    const std::string want =
        "consistency check at step 200: tensor 'D.c2.bias' (#1 of 3) differs on ranks " +
        std::to_string(n - 1) + " from rank 0";
    EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << e.what();
  }
  // A rank with a different tensor list is named too.
  if (r == n - 1) named.pop_back();
  EXPECT_THROW(cgd::check_consistency(*comm, named, 300), cgd::ConsistencyError);
  EXPECT_TRUE(cgd::is_check_step(300, 100));
  EXPECT_FALSE(cgd::is_check_step(301, 100));
  EXPECT_FALSE(cgd::is_check_step(300, 0));
}

}  // namespace
