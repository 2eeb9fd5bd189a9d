#include "bench/step/compute_threads.h"

#include "bench/cpu_mask.h"

#include <dlfcn.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <torch/torch.h>

extern char** environ;

namespace culturegan::bench {
namespace {

bool launcher_variable(const std::string& kv) {
  for (const char* prefix :
       {"OMPI_", "PMIX_", "OPAL_", "ORTE_", "PMI_", "HYDRA_", "MPI_LOCAL", "SLURM_"})
    if (kv.rfind(prefix, 0) == 0) return true;
  for (const char* set_below : {"OMP_NUM_THREADS=", "OPENBLAS_NUM_THREADS=", "MKL_NUM_THREADS="})
    if (kv.rfind(set_below, 0) == 0) return true;
  return false;
}

}  // namespace

ThreadSetup setup_compute_threads(int threads) {
  ThreadSetup s;
  s.threads = threads;
  const CpuMask mask = widen_cpu_mask();
  s.inherited_cpus = mask.inherited;
  s.cpus = mask.now;
  s.error = mask.error;
  torch::set_num_threads(threads);
  using SetThreads = void (*)(int);
  using GetThreads = int (*)();
  if (auto* set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
    set(threads);
  if (auto* get = reinterpret_cast<GetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads")))
    s.openblas_threads = get();
  return s;
}

std::vector<std::string> child_environment(int threads) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e)
    if (!launcher_variable(*e)) env.emplace_back(*e);
  for (const char* name : {"OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"})
    env.push_back(fmt::format("{}={}", name, threads));
  return env;
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  if (!(in >> a >> b >> c)) return "";
  return a + " " + b + " " + c;
}

}  // namespace culturegan::bench
