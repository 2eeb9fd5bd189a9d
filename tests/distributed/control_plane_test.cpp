// The control plane (host values over MPI), the strict data-plane double, the shared monitor
// and the non-finite flag carried by the reducer's last bucket.
#include <cmath>

#include "distributed/communicator.h"
#include "distributed/control_plane.h"
#include "distributed/gradient_reducer.h"
#include "distributed/strict_data_plane.h"
#include "tests/distributed/mpi_test_main.h"

namespace cgd = culturegan::distributed;
using cgd::testing::env;

TEST(ControlPlane, AgreesOnHostValues) {
  auto comm = cgd::make_communicator("mpi", env());
  auto control = cgd::make_control_plane(*comm);
  const int n = control->world_size(), r = control->rank();
  ASSERT_EQ(n, env().world_size);
  EXPECT_FALSE(control->any(false, "t/any0"));
  EXPECT_TRUE(control->any(r == n - 1, "t/any1"));
  EXPECT_EQ(control->count(r % 2 == 0, "t/count"), (n + 1) / 2);
  const auto s = control->sum({1.0, static_cast<double>(r)}, "t/sum");
  EXPECT_EQ(s[0], n);
  EXPECT_EQ(s[1], n * (n - 1) / 2.0);
  EXPECT_EQ(control->min({static_cast<double>(r + 3)}, "t/min")[0], 3.0);
  EXPECT_EQ(control->max({static_cast<double>(r + 3)}, "t/max")[0], n + 2.0);
  EXPECT_EQ(control->broadcast(r == 1 ? "from rank one" : "other", 1, "t/bcast"), "from rank one");
  EXPECT_EQ(control->broadcast(r == 0 ? std::string(100000, 'x') : "", 0, "t/big").size(), 100000u);
  EXPECT_THROW(control->broadcast("x", n, "t/bad"), cgd::CommunicatorError);
  // Lengths may differ between ranks.
  std::vector<int64_t> mine(static_cast<size_t>(r + 1), 10 * r);
  const auto rows = control->all_gather(mine, "t/gather");
  ASSERT_EQ(static_cast<int>(rows.size()), n);
  for (int q = 0; q < n; ++q) {
    ASSERT_EQ(static_cast<int>(rows[q].size()), q + 1);
    EXPECT_EQ(rows[q].back(), 10 * q);
  }
}

TEST(ControlPlane, SharesTheDataPlanesSequenceNumbers) {
  auto comm = cgd::make_communicator("mpi", env());
  auto control = cgd::make_control_plane(*comm);
  const uint64_t before = comm->sequence();
  control->any(false, "t/seq");
  torch::Tensor t = torch::ones({3});
  comm->all_reduce(t, cgd::ReduceOp::kSum, "t/seq2");
  EXPECT_EQ(comm->sequence(), before + 2);  // one counter for both planes
}

TEST(StrictDataPlane, RejectsHostValuesAndPassesTrainingState) {
  auto strict = cgd::make_strict_data_plane(cgd::make_communicator("mpi", env()));
  const int n = strict->world_size();
  torch::Tensor grads = torch::ones({5});
  strict->all_reduce(grads, cgd::ReduceOp::kSum, "t/grads");
  EXPECT_EQ(grads[4].item<float>(), static_cast<float>(n));
  auto work = strict->all_reduce_async(grads, cgd::ReduceOp::kAverage, "t/async");
  work->wait();
  torch::Tensor flag = torch::tensor({1.0}, torch::kDouble);  // what the trainer used to send
  try {
    strict->all_reduce(flag, cgd::ReduceOp::kSum, "t/flag");
    FAIL() << "a float64 host value reached the data plane";
  } catch (const cgd::CommunicatorError& e) {
    EXPECT_NE(std::string(e.what()).find("host values go over the control plane"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(strict->all_gather(torch::zeros({2}, torch::kLong), "t/ids"),
               cgd::CommunicatorError);
}

TEST(GradientReducer, NonFiniteFlagTravelsWithTheLastBucket) {
  auto comm = cgd::make_communicator("mpi", env());
  const int n = comm->world_size(), r = comm->rank();
  auto w = torch::ones({64}, torch::requires_grad());
  cgd::GradientReducer reducer(*comm, cgd::ReducerOptions{});
  reducer.declare_phase("P", {w});
  for (int step = 0; step < 3; ++step) {
    // Step 1: the last rank's loss is non-finite; every rank learns it from the reduction.
    const bool bad = step == 1 && r == n - 1;
    const uint64_t before = comm->sequence();
    reducer.begin("P");
    (w * (bad ? std::nan("") : 1.0)).sum().backward();
    const int ranks = reducer.finish("P", torch::full({1}, bad ? 1.0f : 0.0f));
    EXPECT_EQ(ranks, step == 1 ? 1 : 0) << "step " << step;
    EXPECT_EQ(comm->sequence(), before + 1) << "one bucket, no extra collective";
    if (step != 1) {
      EXPECT_FLOAT_EQ(w.grad()[0].item<float>(), 1.0f);
    }
  }
  EXPECT_THROW(
      {
        reducer.begin("P");
        (w * 2).sum().backward();
        reducer.finish("P", torch::zeros({2}));
      },
      cgd::ReducerError);
}
