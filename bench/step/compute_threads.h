// How much CPU each side of culturegan-bench-step gets: the same explicit thread count for
// culturegan (in this process) and the Python reference (a child), whatever the launch.
#pragma once
#include <string>
#include <vector>

namespace culturegan::bench {

struct ThreadSetup {
  int threads = 1;             ///< LibTorch intra-op (OpenMP) threads, and OpenBLAS's pool
  int openblas_threads = 0;    ///< openblas_get_num_threads() afterwards (0: no OpenBLAS loaded)
  std::string inherited_cpus;  ///< CPUs this process was bound to at start, e.g. "0" under mpirun
  std::string cpus;            ///< CPUs it (and so the reference it starts) may use afterwards
  std::string error;           ///< non-empty when the mask could not be read or widened
};

/// Makes the rates independent of how the benchmark was launched: widens this process's CPU
/// mask to every online CPU (mpirun binds a rank to one core and a child inherits the mask;
/// the kernel keeps the cgroup's cpuset), then sets LibTorch's intra-op threads
/// (torch::set_num_threads) and, when OpenBLAS is loaded, its own thread pool
/// (openblas_set_num_threads, found with dlsym) to `threads`.
ThreadSetup setup_compute_threads(int threads);

/// The environment for the reference: this process's, without MPI/PMIx/Slurm launcher
/// variables (this process may be an MPI singleton or rank), with OMP_NUM_THREADS,
/// OPENBLAS_NUM_THREADS and MKL_NUM_THREADS set to `threads`. "NAME=value" strings.
std::vector<std::string> child_environment(int threads);

/// /proc/loadavg's 1-, 5- and 15-minute load averages, e.g. "3.95 3.80 3.20" ("" if unreadable).
std::string load_average();

}  // namespace culturegan::bench
