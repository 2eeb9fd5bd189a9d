// The training loop: sharded data → GAN phases → reduced gradients → optimizer steps, with
// checkpoints, progress, sample grids and the final generator bundle.
#pragma once
#include <string>
#include <vector>

#include "distributed/process_env.h"
#include "trainer/config.h"

namespace culturegan::trainer {

/// Exit codes of culturegan-train (documented in README.md).
enum ExitCode : int {
  kExitOk = 0,
  kExitError = 1,     ///< a runtime failure (I/O, non-finite loss with non_finite=stop, ...)
  kExitBadInput = 2,  ///< bad flags, config, corpus or checkpoint: fix the input
  kExitRequeue = 75,  ///< preempted (SIGUSR1/SIGTERM): a checkpoint was saved; requeue me
};

struct TrainOptions {
  Config config;
  std::string config_path;
  std::string resume;  ///< "" (fresh start), "auto", or a checkpoint directory
};

/// Runs training on this rank; every rank of MPI_COMM_WORLD calls it. Returns an ExitCode.
/// Throws ConfigError / data::CorpusError / CheckpointError for bad input (the same on every
/// rank), other exceptions for runtime failures.
int run_training(const TrainOptions& options, const distributed::ProcessEnv& env);

}  // namespace culturegan::trainer
