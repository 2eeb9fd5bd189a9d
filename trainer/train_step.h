// One training step: every due phase's loss, backward, gradient all-reduce, optimizer step.
#pragma once
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "distributed/communicator.h"
#include "distributed/gradient_reducer.h"
#include "trainer/algorithms/gan_algorithm.h"
#include "trainer/choices.h"

namespace culturegan::trainer {

/// A non-finite loss with train.non_finite = "stop". Thrown on every rank alike (the ranks
/// agree first), so every rank can exit cleanly without MPI_Abort. `seen_here()` tells
/// whether this rank computed the non-finite term itself.
class NonFiniteLossError : public std::runtime_error {
 public:
  NonFiniteLossError(const std::string& what, bool seen_here)
      : std::runtime_error(what), seen_here_(seen_here) {}
  bool seen_here() const { return seen_here_; }

 private:
  bool seen_here_;
};

struct StepResult {
  bool skipped = false;  ///< a non-finite loss made every rank skip the rest of the step
  /// "<phase>.<term>" for each entry of loss_values, in order (the phases that completed).
  std::vector<std::string> loss_names;
  /// This rank's loss terms, [K] float32 on the batch's device (undefined when K = 0). Not
  /// read on the host here: the step has no host synchronisation for logging; the trainer
  /// reads many steps' values with one copy per log period.
  torch::Tensor loss_values;
};

/// Runs the phases of `algo` due at `in.step` (step % interval == 0), in order: freeze the
/// phase's `frozen` parameters, zero grads, loss, backward between reducer.begin/finish, optimizer
/// step. The ranks agree that every loss term is finite through a flag that travels with the
/// phase's gradient reduction (GradientReducer::finish(phase, flag)): no extra collective and
/// no host read before backward; the flag is read after the reduction.
/// A non-finite term: with NonFinitePolicy::kStop throws NonFiniteLossError naming the step,
/// phase and term on every rank; with "skip" the step's remaining phases are skipped on every
/// rank (kSkip). Calls algo.after_step unless skipped. Collective: every rank calls it.
/// Precision::kBf16 runs each phase's loss (the forward passes) under autocast to bfloat16 on
/// the batch's device (compat::AutocastGuard, PyTorch's torch.autocast); backward, the
/// reduction, the optimizer step and EMA run outside it, on the float32 parameters.
StepResult run_step(GanAlgorithm& algo, distributed::GradientReducer& reducer,
                    distributed::Communicator& comm, const StepInput& in,
                    NonFinitePolicy non_finite, Precision precision = Precision::kFp32);

}  // namespace culturegan::trainer
