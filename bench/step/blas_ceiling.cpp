#include "bench/step/blas_ceiling.h"

#include <dlfcn.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <torch/torch.h>

namespace culturegan::bench {
namespace {

bool blas_like(const std::string& path) {
  const std::string name = path.substr(path.find_last_of('/') + 1);
  for (const char* key : {"libblas", "libopenblas", "libmkl", "libblis", "libdnnl"})
    if (name.find(key) != std::string::npos) return true;
  return false;
}

std::string command_output(const std::string& command) {
  std::string out;
  if (FILE* p = popen(command.c_str(), "r")) {
    std::array<char, 512> buf{};
    while (fgets(buf.data(), static_cast<int>(buf.size()), p)) out += buf.data();
    pclose(p);
  }
  return out;
}

}  // namespace

BlasInfo loaded_blas() {
  BlasInfo info;
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    const auto slash = line.find('/');
    if (slash == std::string::npos) continue;
    const std::string path = line.substr(slash);
    if (!blas_like(path)) continue;
    char resolved[4096];
    const std::string real = realpath(path.c_str(), resolved) ? std::string(resolved) : path;
    if (std::find(info.libraries.begin(), info.libraries.end(), real) == info.libraries.end())
      info.libraries.push_back(real);
  }
  std::istringstream alt(
      command_output("update-alternatives --query libblas.so.3-x86_64-linux-gnu 2>/dev/null"));
  while (std::getline(alt, line))
    if (line.rfind("Value: ", 0) == 0) info.alternative = line.substr(7);
  using GetConfig = char* (*)();
  if (auto* get = reinterpret_cast<GetConfig>(dlsym(RTLD_DEFAULT, "openblas_get_config")))
    info.openblas_config = get();
  return info;
}

double gemm_gflops(int64_t n, int warmup, int repeats) {
  torch::NoGradGuard no_grad;
  const auto a = torch::rand({n, n}), b = torch::rand({n, n});
  std::vector<double> times;
  for (int i = 0; i < warmup + repeats; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    auto c = torch::mm(a, b);
    const std::chrono::duration<double> dt = std::chrono::steady_clock::now() - t0;
    if (i >= warmup) times.push_back(dt.count());
  }
  std::sort(times.begin(), times.end());
  const double median = times.empty() ? 0 : times[times.size() / 2];
  return median > 0 ? 2.0 * static_cast<double>(n * n * n) / median / 1e9 : 0;
}

}  // namespace culturegan::bench
