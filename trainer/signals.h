// Preemption signals: SIGUSR1 and SIGTERM only set a flag; the training loop polls it once a
// step and the ranks agree on it with an all-reduce (a handler never does I/O). After the
// agreed step every rank saves one checkpoint together and exits with kExitRequeue (75).
// Also: the Slurm context line and the test-only non-finite fault switch.
#pragma once
#include <cstdint>
#include <string>

#include <torch/torch.h>

namespace culturegan::trainer {

/// Installs handlers for SIGUSR1 and SIGTERM (idempotent) that only record the signal
/// number. SA_RESTART is set, so blocking calls are resumed, not failed with EINTR.
void install_preemption_handlers();
/// The signal number received so far (SIGUSR1 or SIGTERM), or 0.
int preemption_signal();
/// Clears the flag (tests).
void clear_preemption_signal();

/// "Slurm job J, SLURM_RESTART_COUNT=N" when SLURM_JOB_ID is set (N is 0 when
/// SLURM_RESTART_COUNT is unset, i.e. the first run), else "" (not under Slurm).
std::string slurm_context();

/// Test-only fault switch (docs/checkpoint-format.md, "Fault switches"): when the
/// environment has CULTUREGAN_FAULT_NAN_AT_STEP=k and this is step k on rank
/// CULTUREGAN_FAULT_NAN_RANK (default 0), returns `images` filled with NaN, so the first
/// phase's loss terms are non-finite on that rank only; otherwise returns `images` as is.
/// Unset (the normal case) it costs one cached branch per step.
torch::Tensor maybe_inject_nan_fault(const torch::Tensor& images, int64_t step, int rank);

}  // namespace culturegan::trainer
