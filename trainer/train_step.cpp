#include "trainer/train_step.h"

#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

namespace culturegan::trainer {
namespace {
void set_frozen(Phase& phase, bool frozen) {
  for (auto& m : phase.frozen)
    for (auto& p : m->parameters()) p.set_requires_grad(!frozen);
}
}  // namespace

StepResult run_step(GanAlgorithm& algo, distributed::GradientReducer& reducer,
                    distributed::Communicator& comm, const StepInput& in,
                    const std::string& non_finite) {
  StepResult result;
  for (auto& phase : algo.phases()) {
    if (in.step % phase.interval != 0) continue;
    set_frozen(phase, true);
    phase.optimizer->zero_grad();
    LossTerms terms = phase.loss(in);
    // Every rank must agree on non-finite losses, or they would diverge (or hang).
    std::string bad;
    for (auto& [name, t] : terms.terms)
      if (bad.empty() && !std::isfinite(t.item<double>())) bad = name;
    auto flag = torch::tensor({bad.empty() ? 0.0 : 1.0}, torch::kDouble);
    comm.all_reduce(flag, distributed::ReduceOp::kSum, phase.name + "/finite_check");
    if (flag.item<double>() > 0) {
      set_frozen(phase, false);
      if (non_finite == "stop")
        throw NonFiniteLossError(
            fmt::format("non-finite loss at step {} in phase {}{} ({} of {} ranks)", in.step,
                        phase.name, bad.empty() ? " on another rank" : ", term '" + bad + "'",
                        static_cast<int>(flag.item<double>()), comm.world_size()),
            !bad.empty());
      result.skipped = true;
      return result;
    }
    reducer.begin(phase.name);
    terms.total.backward();
    reducer.finish(phase.name);
    phase.optimizer->step();
    set_frozen(phase, false);
    for (auto& [name, t] : terms.terms) result.losses[phase.name + "." + name] = t.item<double>();
  }
  algo.after_step(in.step);
  return result;
}

}  // namespace culturegan::trainer
