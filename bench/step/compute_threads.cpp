#include "bench/step/compute_threads.h"

#include <dlfcn.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <torch/torch.h>

extern char** environ;

namespace culturegan::bench {
namespace {

// "0-1,4" for a CPU set.
std::string cpu_list(const cpu_set_t& set) {
  std::string out;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (!CPU_ISSET(c, &set)) continue;
    int end = c;
    while (end + 1 < CPU_SETSIZE && CPU_ISSET(end + 1, &set)) ++end;
    out += (out.empty() ? "" : ",") + (end == c ? std::to_string(c) : fmt::format("{}-{}", c, end));
    c = end;
  }
  return out;
}

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
  cpu_set_t mine;
  CPU_ZERO(&mine);
  if (sched_getaffinity(0, sizeof(mine), &mine) != 0) {
    s.error = fmt::format("sched_getaffinity: {}", std::strerror(errno));
  } else {
    s.inherited_cpus = cpu_list(mine);
    cpu_set_t all;
    CPU_ZERO(&all);
    const long online = sysconf(_SC_NPROCESSORS_ONLN);
    for (long c = 0; c < online && c < CPU_SETSIZE; ++c) CPU_SET(c, &all);
    if (sched_setaffinity(0, sizeof(all), &all) != 0)
      s.error =
          fmt::format("sched_setaffinity(all {} online CPUs): {}", online, std::strerror(errno));
    cpu_set_t now;
    CPU_ZERO(&now);
    if (sched_getaffinity(0, sizeof(now), &now) == 0) s.cpus = cpu_list(now);
  }
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
