#include "bench/comm/comm_sweep.h"

#include <mpi.h>

#include <algorithm>
#include <chrono>

#include "distributed/bucket_plan.h"

namespace culturegan::bench {
namespace {

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double slowest(double local) {
  double out = local;
  MPI_Allreduce(&local, &out, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  return out;
}

// Times fn() `iters` times between barriers; returns seconds per call on the slowest rank.
template <typename Fn>
double time_it(Fn&& fn, int iters) {
  MPI_Barrier(MPI_COMM_WORLD);
  const double t0 = now();
  for (int i = 0; i < iters; ++i) fn();
  return slowest((now() - t0) / iters);
}

}  // namespace

std::vector<SweepRow> allreduce_sweep(distributed::Communicator& comm, int64_t min_bytes,
                                      int64_t max_bytes, double seconds_per_size) {
  std::vector<SweepRow> rows;
  const int n = comm.world_size();
  for (int64_t bytes = min_bytes; bytes <= max_bytes; bytes *= 4) {
    torch::Tensor t = torch::ones({bytes / 4}, torch::kFloat);
    comm.all_reduce(t, distributed::ReduceOp::kSum, "sweep/warmup");
    // Estimate the iteration count from one timed call, agreed on by all ranks.
    const double once =
        time_it([&] { comm.all_reduce(t, distributed::ReduceOp::kSum, "sweep"); }, 1);
    const int iters = std::max(3, static_cast<int>(seconds_per_size / std::max(once, 1e-6)));
    SweepRow row;
    row.bytes = bytes;
    row.seconds = time_it([&] { comm.all_reduce(t, distributed::ReduceOp::kSum, "sweep"); },
                          std::min(iters, 2000));
    row.algbw_gbs = bytes / row.seconds / 1e9;
    row.busbw_gbs = row.algbw_gbs * 2.0 * (n - 1) / n;
    rows.push_back(row);
  }
  return rows;
}

GradientSetResult gradient_set(distributed::Communicator& comm,
                               const std::vector<torch::Tensor>& grads, double first_mb,
                               double bucket_mb, int reps) {
  GradientSetResult r;
  r.tensors = static_cast<int64_t>(grads.size());
  for (const auto& g : grads) r.bytes += g.numel() * g.element_size();
  const auto specs = distributed::plan_buckets(grads, static_cast<int64_t>(first_mb * 1048576),
                                               static_cast<int64_t>(bucket_mb * 1048576));
  std::vector<torch::Tensor> buckets;
  for (const auto& s : specs) {
    buckets.push_back(torch::zeros({s.numel}, torch::kFloat));
    r.bucket_bytes.push_back(s.numel * 4);
  }
  torch::Tensor single = torch::zeros({r.bytes / 4}, torch::kFloat);
  std::vector<torch::Tensor> work_grads;
  for (const auto& g : grads) work_grads.push_back(g.clone());

  auto per_tensor = [&] {
    for (auto& g : work_grads)
      comm.all_reduce(g, distributed::ReduceOp::kAverage, "bench/per_tensor");
  };
  auto fused_comm = [&] {
    std::vector<std::shared_ptr<distributed::Work>> works;
    for (auto& b : buckets)
      works.push_back(comm.all_reduce_async(b, distributed::ReduceOp::kAverage, "bench/fused"));
    for (auto& w : works) w->wait();
  };
  auto fused_blocking = [&] {
    for (auto& b : buckets)
      comm.all_reduce(b, distributed::ReduceOp::kAverage, "bench/fused_blocking");
  };
  auto fused = [&] {
    for (size_t b = 0; b < specs.size(); ++b) {
      for (const auto& s : specs[b].slots)
        buckets[b].narrow(0, s.offset, s.numel).copy_(work_grads[s.param].reshape({-1}));
    }
    fused_comm();
    for (size_t b = 0; b < specs.size(); ++b) {
      for (const auto& s : specs[b].slots)
        work_grads[s.param].view({-1}).copy_(buckets[b].narrow(0, s.offset, s.numel));
    }
  };
  auto one = [&] {
    MPI_Allreduce(MPI_IN_PLACE, single.data_ptr(), static_cast<int>(single.numel()), MPI_FLOAT,
                  MPI_SUM, MPI_COMM_WORLD);
    single.div_(comm.world_size());
  };
  for (int w = 0; w < 3; ++w) per_tensor(), fused(), fused_comm(), fused_blocking(), one();
  // Interleave the variants in rounds so background load hits them alike; keep the best round.
  r.per_tensor_s = r.fused_s = r.fused_comm_s = r.fused_blocking_s = r.single_allreduce_s = 1e30;
  const int rounds = 5;
  const int per_round = std::max(1, reps / rounds);
  for (int k = 0; k < rounds; ++k) {
    r.per_tensor_s = std::min(r.per_tensor_s, time_it(per_tensor, per_round));
    r.fused_s = std::min(r.fused_s, time_it(fused, per_round));
    r.fused_comm_s = std::min(r.fused_comm_s, time_it(fused_comm, per_round));
    r.fused_blocking_s = std::min(r.fused_blocking_s, time_it(fused_blocking, per_round));
    r.single_allreduce_s = std::min(r.single_allreduce_s, time_it(one, per_round));
  }
  return r;
}

}  // namespace culturegan::bench
