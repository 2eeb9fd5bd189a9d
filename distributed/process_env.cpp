#include "distributed/process_env.h"

#include <mpi.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include <fmt/format.h>
#include <torch/torch.h>

// LeakSanitizer and OpenMPI (sanitizer builds only, docs/sanitizers.md): OpenMPI 4.1 keeps
// much of what MPI_Init allocates and loses the rest when MPI_Finalize unloads its components
// (dlclose: the stacks end in "unknown module" and no suppression can name them). So what
// MPI_Init allocates is not tracked, and the leak check runs when culturegan's own objects are
// gone but before MPI_Finalize; the end-of-process check is then skipped (LSan's contract for
// __lsan_do_leak_check).
#if defined(__SANITIZE_ADDRESS__)
#define CULTUREGAN_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CULTUREGAN_LSAN 1
#endif
#endif
#ifdef CULTUREGAN_LSAN
#include <sanitizer/lsan_interface.h>
#endif

namespace culturegan::distributed {

ProcessEnv query_process_env() {
  ProcessEnv env;
  MPI_Comm_rank(MPI_COMM_WORLD, &env.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &env.world_size);
  MPI_Comm local = MPI_COMM_NULL;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, env.rank, MPI_INFO_NULL, &local);
  MPI_Comm_rank(local, &env.local_rank);
  MPI_Comm_size(local, &env.local_world_size);
  MPI_Comm_free(&local);
  int leader = env.local_rank == 0 ? 1 : 0;
  MPI_Allreduce(&leader, &env.node_count, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) == 0) env.hostname = host;
  int provided = MPI_THREAD_SINGLE;
  MPI_Query_thread(&provided);
  env.mpi_thread_multiple = provided >= MPI_THREAD_MULTIPLE;
  return env;
}

MpiRuntime::MpiRuntime(int* argc, char*** argv) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    // Waiting ranks yield the core instead of spinning flat out: on CPU nodes the ranks
    // share cores with loader threads (and, in CI, with other jobs), and a spinning rank
    // delays the one it waits for. No cost when a core is free. Set it to 0 to override.
    setenv("OMPI_MCA_mpi_yield_when_idle", "1", /*overwrite=*/0);
    // The reducer's buckets (>= 1 MiB) go through MPI_Iallreduce; libnbc's ring algorithm
    // (reduce-scatter + all-gather, bandwidth-optimal) beat its default choice by 2-3x on
    // the quickstart gradient set (bench/comm/RESULTS.md).
    setenv("OMPI_MCA_coll_libnbc_iallreduce_algorithm", "1", /*overwrite=*/0);
    int provided = MPI_THREAD_SINGLE;
    {
#ifdef CULTUREGAN_LSAN
      __lsan::ScopedDisabler not_ours;
#endif
      MPI_Init_thread(argc, argv, MPI_THREAD_MULTIPLE, &provided);
    }
    owns_mpi_ = true;
    if (provided < MPI_THREAD_FUNNELED) {
      MPI_Finalize();
      throw std::runtime_error(fmt::format(
          "MPI granted thread level {} but culturegan needs at least MPI_THREAD_FUNNELED",
          provided));
    }
  }
  env_ = query_process_env();
}

MpiRuntime::~MpiRuntime() {
  if (!owns_mpi_) return;
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized) return;
#ifdef CULTUREGAN_LSAN
  __lsan_do_leak_check();
#endif
  MPI_Finalize();
}

std::string device_for(const ProcessEnv& env, int cuda_device_count) {
  if (cuda_device_count > 0) return fmt::format("cuda:{}", env.local_rank % cuda_device_count);
  return "cpu";
}

std::string device_for(const ProcessEnv& env) {
  const int count = torch::cuda::is_available() ? static_cast<int>(torch::cuda::device_count()) : 0;
  return device_for(env, count);
}

void abort_all(int code) {
  std::fflush(stdout);
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);  // MPI_Abort does not return; this keeps [[noreturn]] honest
}

}  // namespace culturegan::distributed
