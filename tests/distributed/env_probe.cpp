// Prints this rank's ProcessEnv and checks it against the launcher's own variables
// (SLURM_PROCID/SLURM_LOCALID under srun, OMPI_COMM_WORLD_* under mpirun), then does one
// all-reduce. Exit status 0 only if every rank agrees. Used by the Slurm test.
// CULTUREGAN_PROBE_LEAK=1 loses 4 KiB on purpose (sanitizer builds: the leak check must still
// see culturegan's own leaks in an MPI process, distributed/process_env.cpp).
#include <cstdio>
#include <cstdlib>
#include <string>

#include "distributed/communicator.h"

namespace cgd = culturegan::distributed;

static int env_int(const char* a, const char* b) {
  const char* v = std::getenv(a);
  if (!v) v = std::getenv(b);
  return v ? std::atoi(v) : -1;
}

int main(int argc, char** argv) {
  cgd::MpiRuntime runtime(&argc, &argv);
  const auto& e = runtime.env();
  int bad = 0;
  const int launcher_rank = env_int("SLURM_PROCID", "OMPI_COMM_WORLD_RANK");
  const int launcher_local = env_int("SLURM_LOCALID", "OMPI_COMM_WORLD_LOCAL_RANK");
  if (launcher_rank >= 0 && launcher_rank != e.rank) ++bad;
  if (launcher_local >= 0 && launcher_local != e.local_rank) ++bad;
  auto comm = cgd::make_communicator("auto", e);
  torch::Tensor t = torch::ones({1});
  comm->all_reduce(t, cgd::ReduceOp::kSum, "probe");
  if (t.item<float>() != static_cast<float>(e.world_size)) ++bad;
  std::printf(
      "rank %d of %d, local rank %d of %d, nodes %d, host %s, device %s, backend %s, launcher rank "
      "%d local %d%s\n",
      e.rank, e.world_size, e.local_rank, e.local_world_size, e.node_count, e.hostname.c_str(),
      cgd::device_for(e).c_str(), comm->backend().c_str(), launcher_rank, launcher_local,
      bad ? " MISMATCH" : "");
  std::fflush(stdout);
  if (const char* leak = std::getenv("CULTUREGAN_PROBE_LEAK"); leak && std::string(leak) == "1") {
    volatile char* lost = static_cast<char*>(std::malloc(4096));
    lost[0] = 1;
    lost = nullptr;
  }
  torch::Tensor total = torch::full({1}, bad, torch::kLong);
  comm->all_reduce(total, cgd::ReduceOp::kSum, "probe/bad");
  return total.item<int64_t>() == 0 ? 0 : 1;
}
