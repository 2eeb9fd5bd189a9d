// culturegan-device-comm-check: the data-plane communicator on the device it is meant for.
//   mpirun -np N culturegan-device-comm-check --backend nccl   (GPU machine: one GPU per rank)
//   mpirun -np N culturegan-device-comm-check --backend mpi    (CPU dry run: the same cases)
// Cases: the backend and device each rank gets (cuda:<local rank mod GPUs>), all-reduce of every
// dtype the interface lists (sum, average), many async all-reduces in flight finished out of
// order, broadcast, all-gather, barrier, the errors for tensors a backend cannot carry, and
// (CUDA) the stream ordering of NCCL's own stream against LibTorch's compute stream:
//   compute -> comm: a tensor written by the compute stream just before the collective, while
//   that stream is still busy, must reach the collective with its new value (the collective
//   waits on an event recorded on the compute stream). A control copy on an unordered stream
//   shows whether this GPU makes the race visible at all (reported, not asserted).
//   comm -> compute: work enqueued on the compute stream after wait() sees the result.
// Every rank runs every case; the failure count is summed over ranks, so one rank's failure
// fails the run (exit 1).
#include <mpi.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "distributed/communicator.h"
#include "distributed/nccl_communicator.h"
#include "distributed/process_env.h"

#ifdef CULTUREGAN_TORCH_HAS_CUDA
#include <cuda_runtime_api.h>

#include "common/torch_compat.h"
#endif

namespace cgd = culturegan::distributed;

namespace {

std::string g_backend = "mpi";
const cgd::ProcessEnv* g_env = nullptr;
std::unique_ptr<cgd::Communicator> g_comm;

bool on_gpu() { return g_backend == "nccl"; }
torch::Device device() {
  return on_gpu() ? torch::Device(cgd::device_for(*g_env)) : torch::Device(torch::kCPU);
}
cgd::Communicator& comm() { return *g_comm; }

TEST(DeviceCommCheck, BackendAndDevice) {
  EXPECT_EQ(comm().backend(), g_backend);
  EXPECT_EQ(comm().rank(), g_env->rank);
  EXPECT_EQ(comm().world_size(), g_env->world_size);
  if (on_gpu()) {
    const auto count = static_cast<int>(torch::cuda::device_count());
    ASSERT_GT(count, 0);
    EXPECT_EQ(cgd::device_for(*g_env), "cuda:" + std::to_string(g_env->local_rank % count));
#ifdef CULTUREGAN_TORCH_HAS_CUDA
    int current = -1;
    ASSERT_EQ(cudaGetDevice(&current), cudaSuccess);
    EXPECT_EQ(current, g_env->local_rank % count) << "the NCCL communicator set another device";
#endif
  } else {
    EXPECT_EQ(cgd::device_for(*g_env), "cpu");
  }
}

TEST(DeviceCommCheck, AllReduceEveryDtype) {
  const int n = comm().world_size(), r = comm().rank();
  for (auto dtype : {torch::kFloat, torch::kDouble, torch::kHalf, torch::kBFloat16, torch::kInt,
                     torch::kLong, torch::kByte}) {
    auto opts = torch::TensorOptions().dtype(dtype).device(device());
    torch::Tensor t = (torch::arange(7, torch::kLong) + r).to(opts);
    comm().all_reduce(t, cgd::ReduceOp::kSum, "check/sum");
    const auto want = torch::arange(7, torch::kDouble) * n + n * (n - 1) / 2.0;
    EXPECT_TRUE(torch::equal(t.cpu().to(torch::kDouble), want)) << c10::toString(dtype);
    if (at::isFloatingType(dtype)) {
      torch::Tensor a = torch::full({5, 3}, static_cast<double>(r), opts);
      comm().all_reduce(a, cgd::ReduceOp::kAverage, "check/avg");
      EXPECT_TRUE(torch::allclose(a.cpu().to(torch::kDouble),
                                  torch::full({5, 3}, (n - 1) / 2.0, torch::kDouble)))
          << c10::toString(dtype);
    }
  }
}

TEST(DeviceCommCheck, AsyncInFlightFinishedOutOfOrder) {
  const int n = comm().world_size(), r = comm().rank();
  std::vector<torch::Tensor> ts;
  std::vector<std::shared_ptr<cgd::Work>> works;
  for (int k = 0; k < 8; ++k) {
    ts.push_back(torch::full({(1 << 16) * (k + 1)}, static_cast<float>(r + k),
                             torch::TensorOptions().device(device())));
    works.push_back(comm().all_reduce_async(ts.back(), cgd::ReduceOp::kSum, "check/async"));
  }
  for (int k = 7; k >= 0; --k) works[k]->wait();
  for (int k = 0; k < 8; ++k) {
    const float want = static_cast<float>(n * k + n * (n - 1) / 2);
    EXPECT_TRUE(torch::equal(ts[k].cpu(), torch::full_like(ts[k].cpu(), want))) << "tensor " << k;
    EXPECT_TRUE(works[k]->test());
  }
}

TEST(DeviceCommCheck, BroadcastAllGatherBarrier) {
  const int n = comm().world_size(), r = comm().rank();
  const auto opts = torch::TensorOptions().device(device());
  torch::Tensor b = torch::full({1000}, static_cast<float>(r), opts);
  comm().broadcast(b, n - 1, "check/bcast");
  EXPECT_TRUE(torch::equal(b.cpu(), torch::full({1000}, static_cast<float>(n - 1))));
  const auto parts = comm().all_gather(torch::full({3, 2}, static_cast<float>(r * 10), opts));
  ASSERT_EQ(static_cast<int>(parts.size()), n);
  for (int k = 0; k < n; ++k) {
    EXPECT_EQ(parts[k].sizes(), (std::vector<int64_t>{3, 2}));
    EXPECT_TRUE(torch::equal(parts[k].cpu(), torch::full({3, 2}, static_cast<float>(k * 10))));
  }
  comm().barrier("check/barrier");
}

TEST(DeviceCommCheck, RejectsWhatTheBackendCannotCarry) {
  torch::Tensor nc = torch::zeros({4, 4}, torch::TensorOptions().device(device())).t();
  EXPECT_THROW(comm().all_reduce(nc, cgd::ReduceOp::kSum), cgd::CommunicatorError);
  torch::Tensor i = torch::ones({4}, torch::TensorOptions().dtype(torch::kLong).device(device()));
  EXPECT_THROW(comm().all_reduce(i, cgd::ReduceOp::kAverage), cgd::CommunicatorError);
  if (on_gpu()) {
    torch::Tensor host = torch::ones({4});
    EXPECT_THROW(comm().all_reduce(host, cgd::ReduceOp::kSum), cgd::CommunicatorError);
  }
}

#ifdef CULTUREGAN_TORCH_HAS_CUDA
// Keeps the compute stream busy for tens of milliseconds (fp32 matrix products), then writes
// `t` on it: anything that reads t without waiting on the compute stream reads the old value.
void busy_then_fill(torch::Tensor& t, double value) {
  auto a = torch::rand({4096, 4096}, t.options()) / 4096.0;
  for (int k = 0; k < 12; ++k) a = torch::mm(a, a) + 1e-3;
  t.fill_(value);
}
#endif

TEST(DeviceCommCheck, StreamOrderingComputeToCommunication) {
  if (!on_gpu()) GTEST_SKIP() << "CPU backend: collectives are synchronous, nothing to order";
#ifndef CULTUREGAN_TORCH_HAS_CUDA
  GTEST_SKIP() << "LibTorch without CUDA: no compute stream";
#else
  const int n = comm().world_size(), r = comm().rank();
  const int dev = g_env->local_rank % static_cast<int>(torch::cuda::device_count());
  const auto opts = torch::TensorOptions().device(device());
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);

  // Control: a copy on a stream that does not wait for the compute stream.
  {
    torch::Tensor t = torch::zeros({1 << 20}, opts), out = torch::full({1 << 20}, -1.0f, opts);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    cudaStream_t side = nullptr;
    ASSERT_EQ(cudaStreamCreateWithFlags(&side, cudaStreamNonBlocking), cudaSuccess);
    busy_then_fill(t, 7.0);
    ASSERT_EQ(cudaMemcpyAsync(out.data_ptr(), t.data_ptr(), t.nbytes(), cudaMemcpyDeviceToDevice, side),
              cudaSuccess);
    ASSERT_EQ(cudaStreamSynchronize(side), cudaSuccess);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    cudaStreamDestroy(side);
    const bool race_seen = out.ne(7.0).any().item<bool>();
    if (r == 0)
      std::printf("[ control  ] an unordered copy %s the stale value: the ordering cases below %s\n",
                  race_seen ? "read" : "did not read",
                  race_seen ? "would fail without the event wait" : "may not detect a missing wait here");
  }

  // all_gather is out of place, so a missing wait is visible even with one rank.
  {
    torch::Tensor t = torch::zeros({1 << 20}, opts);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    busy_then_fill(t, 7.0 + r);
    const auto parts = comm().all_gather(t, "check/order_gather");
    for (int k = 0; k < n; ++k)
      EXPECT_TRUE(parts[k].eq(7.0 + k).all().item<bool>())
          << "all_gather read rank " << k << "'s tensor before the compute stream wrote it";
  }
  // all_reduce_async: the collective must see the value written just before it.
  {
    torch::Tensor t = torch::zeros({1 << 20}, opts);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    busy_then_fill(t, 1.0 + r);
    auto work = comm().all_reduce_async(t, cgd::ReduceOp::kSum, "check/order_reduce");
    work->wait();
    // comm -> compute: enqueued after wait(), on the compute stream.
    const auto doubled = t * 2;
    EXPECT_TRUE(doubled.eq(static_cast<double>(n * (n + 1))).all().item<bool>())
        << "the compute stream did not see the all-reduce's result (or the all-reduce read the "
           "tensor before the compute stream wrote it)";
  }
  EXPECT_EQ(culturegan::compat::current_cuda_stream(dev),
            c10::cuda::getCurrentCUDAStream(static_cast<c10::DeviceIndex>(dev)).stream());
#endif
}

}  // namespace

int main(int argc, char** argv) {
  cgd::MpiRuntime runtime(&argc, &argv);
  g_env = &runtime.env();
  ::testing::InitGoogleTest(&argc, argv);
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--backend") == 0 && i + 1 < argc) g_backend = argv[++i];
  }
  const int rank = g_env->rank;
  if (rank == 0)
    std::printf("culturegan-device-comm-check: backend %s, %d rank(s), LibTorch %s, NCCL %s\n",
                g_backend.c_str(), g_env->world_size, TORCH_VERSION,
                cgd::nccl_compiled_in() ? "compiled in" : "not compiled in");
  std::fflush(stdout);
  try {
    g_comm = cgd::make_communicator(g_backend, *g_env);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "culturegan-device-comm-check: rank %d: %s\n", rank, e.what());
    return 2;
  }
  if (rank != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  const int local_rc = RUN_ALL_TESTS();
  const auto* unit = ::testing::UnitTest::GetInstance();
  int failed = unit->failed_test_count() + (local_rc != 0 && unit->failed_test_count() == 0 ? 1 : 0);
  if (failed && rank != 0) std::fprintf(stderr, "rank %d: %d case(s) FAILED\n", rank, failed);
  int total = 0;
  MPI_Allreduce(&failed, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  g_comm.reset();
  if (rank == 0)
    std::printf("culturegan-device-comm-check: %s (%d failure(s) over all ranks)\n",
                total ? "FAILED" : "passed", total);
  return total == 0 ? 0 : 1;
}
