// Which BLAS LibTorch loaded, and its fp32 matrix-product rate on the benchmark's thread
// count: the practical ceiling that culturegan-bench-step compares the step's FLOP rate with.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace culturegan::bench {

struct BlasInfo {
  /// Resolved paths of the BLAS-like libraries mapped into this process (/proc/self/maps:
  /// libblas, libopenblas, libmkl, libblis, and oneDNN's libdnnl, which runs the convolutions).
  std::vector<std::string> libraries;
  /// Debian's libblas.so.3 alternative as `update-alternatives --query` reports it ("Value:"),
  /// or "" when there is none.
  std::string alternative;
  /// openblas_get_config() (version, kernel, threading) when OpenBLAS is loaded, else "".
  std::string openblas_config;
};

/// The BLAS this process has loaded (call after LibTorch is loaded, i.e. anywhere in main).
BlasInfo loaded_blas();

/// Median GFLOP/s (2·n³ / time) of an n×n by n×n float32 torch::mm on the current thread
/// settings, after `warmup` untimed products; `repeats` timed ones.
double gemm_gflops(int64_t n = 1024, int warmup = 2, int repeats = 7);

}  // namespace culturegan::bench
