#include "trainer/signals.h"

#include <atomic>
#include <csignal>

namespace culturegan::trainer {
namespace {
volatile std::sig_atomic_t g_signal = 0;
extern "C" void on_preemption_signal(int sig) { g_signal = sig; }
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

}  // namespace culturegan::trainer
