// Preemption signals: SIGUSR1 and SIGTERM only set a flag; the training loop polls it once a
// step and the ranks agree on it with an all-reduce (a handler never does I/O).
#pragma once

namespace culturegan::trainer {

/// Installs handlers for SIGUSR1 and SIGTERM (idempotent).
void install_preemption_handlers();
/// The signal number received so far, or 0.
int preemption_signal();
/// Clears the flag (tests).
void clear_preemption_signal();

}  // namespace culturegan::trainer
