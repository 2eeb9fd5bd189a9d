#include "trainer/signals.h"

#include <csignal>
#include <cstdlib>
#include <limits>

#include <fmt/format.h>

namespace culturegan::trainer {
namespace {
volatile std::sig_atomic_t g_signal = 0;
extern "C" void on_preemption_signal(int sig) { g_signal = sig; }

int64_t env_int(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  const long long x = std::strtoll(v, &end, 10);
  return (end && *end == '\0') ? static_cast<int64_t>(x) : fallback;
}
}  // namespace

void install_preemption_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_preemption_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

int preemption_signal() { return g_signal; }
void clear_preemption_signal() { g_signal = 0; }

std::string slurm_context() {
  const char* job = std::getenv("SLURM_JOB_ID");
  if (!job || !*job) return "";
  const char* restarts = std::getenv("SLURM_RESTART_COUNT");
  return fmt::format("Slurm job {}, SLURM_RESTART_COUNT={}", job,
                     (restarts && *restarts) ? restarts : "0");
}

torch::Tensor maybe_inject_nan_fault(const torch::Tensor& images, int64_t step, int rank) {
  static const int64_t at = env_int("CULTUREGAN_FAULT_NAN_AT_STEP", -1);
  static const int64_t on_rank = env_int("CULTUREGAN_FAULT_NAN_RANK", 0);
  if (at < 0 || step != at || rank != on_rank) return images;
  return torch::full_like(images, std::numeric_limits<float>::quiet_NaN());
}

}  // namespace culturegan::trainer
