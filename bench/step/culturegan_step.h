// culturegan's side of culturegan-bench-step: the training step exactly as culturegan-train
// runs it (trainer/trainer.cpp start() and train_one_step()), on an in-memory random batch.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "distributed/communicator.h"
#include "distributed/gradient_reducer.h"
#include "distributed/process_env.h"
#include "trainer/algorithms/gan_algorithm.h"
#include "trainer/config.h"

namespace culturegan::bench {

/// Wall and CPU time of a run of steps (CPU: every thread of the process).
struct StepTiming {
  int steps = 0;
  double seconds = 0;
  double cpu_seconds = 0;
};

/// Builds the step's parts as culturegan-train does: the communicator of distributed.backend
/// with the config's watchdog, torch::manual_seed(train.seed),
/// trainer::make_algorithm on the CPU, the initial broadcast, a GradientReducer with the
/// config's options and one declared phase per algorithm phase) and runs trainer::run_step
/// with train.non_finite and train.precision as resolved for the CPU. The batch:
/// train.batch_size images [B,3,S,S] uniform in [-1,1] and labels uniform over the cultures,
/// drawn once (seed 1) and reused every step; the step counter goes on across runs.
class CulturganStep {
 public:
  /// `env`: MPI's (distributed::MpiRuntime, alive for this object's lifetime). Throws
  /// trainer::ConfigError as make_algorithm does, distributed::CommunicatorError.
  CulturganStep(const trainer::Config& cfg, int64_t num_cultures,
                const distributed::ProcessEnv& env);
  ~CulturganStep();
  CulturganStep(const CulturganStep&) = delete;
  CulturganStep& operator=(const CulturganStep&) = delete;

  /// Runs `steps` training steps. Throws trainer::NonFiniteLossError (train.non_finite =
  /// "stop") or what run_step throws.
  StepTiming run(int steps);
  /// Parameter count of each tracked network but the EMA copies ("G", "D", "NCE_head"), to
  /// check that the reference builds the same layers.
  std::map<std::string, int64_t> parameter_counts();
  int64_t batch_size() const { return cfg_.train.batch_size; }

 private:
  trainer::Config cfg_;
  std::unique_ptr<distributed::Communicator> comm_;  // destroyed after the reducer
  std::unique_ptr<trainer::GanAlgorithm> algo_;
  std::unique_ptr<distributed::GradientReducer> reducer_;
  trainer::Precision precision_ = trainer::Precision::kFp32;
  torch::Tensor images_, labels_;
  int64_t step_ = 0;
};

}  // namespace culturegan::bench
