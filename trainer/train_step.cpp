#include "trainer/train_step.h"

#include <cmath>
#include <optional>
#include <stdexcept>

#include <fmt/format.h>

#include "common/torch_compat.h"

namespace culturegan::trainer {
namespace {
void set_frozen(Phase& phase, bool frozen) {
  for (auto& p : phase.frozen) p.set_requires_grad(!frozen);
}
}  // namespace

StepResult run_step(GanAlgorithm& algo, distributed::GradientReducer& reducer,
                    distributed::Communicator& comm, const StepInput& in,
                    NonFinitePolicy non_finite, Precision precision) {
  StepResult result;
  std::vector<torch::Tensor> logged;  // the completed phases' terms, read by the trainer later
  auto collect = [&] {
    if (!logged.empty()) result.loss_values = torch::cat(logged);
  };
  for (auto& phase : algo.phases()) {
    if (in.step % phase.interval != 0) continue;
    set_frozen(phase, true);
    compat::zero_grad(*phase.optimizer);
    LossTerms terms;
    {
      std::optional<compat::AutocastGuard> autocast;
      if (precision == Precision::kBf16) autocast.emplace(in.images.device().type(), at::kBFloat16);
      terms = phase.loss(in);
    }
    // This rank's finite flag, computed on the device and carried by the phase's last
    // gradient bucket: no collective of its own, no host read before backward.
    std::vector<torch::Tensor> values;
    for (auto& [name, t] : terms.terms) values.push_back(t.detach().reshape({1}).to(torch::kFloat));
    const torch::Tensor flag =
        values.empty()
            ? torch::zeros({1}, terms.total.options().dtype(torch::kFloat))
            : torch::cat(values).isfinite().all().logical_not().to(torch::kFloat).reshape({1});
    reducer.begin(phase.name);
    terms.total.backward();
    const int bad_ranks = reducer.finish(phase.name, flag);
    if (bad_ranks > 0) {
      set_frozen(phase, false);
      std::string bad;  // the first non-finite term of this rank (read only now)
      for (auto& [name, t] : terms.terms)
        if (bad.empty() && !std::isfinite(t.item<double>())) bad = name;
      if (non_finite == NonFinitePolicy::kStop)
        throw NonFiniteLossError(
            fmt::format("non-finite loss at step {} in phase {}{} ({} of {} ranks)", in.step,
                        phase.name, bad.empty() ? " on another rank" : ", term '" + bad + "'",
                        bad_ranks, comm.world_size()),
            !bad.empty());
      result.skipped = true;
      collect();
      return result;
    }
    phase.optimizer->step();
    set_frozen(phase, false);
    for (const auto& entry : terms.terms)
      result.loss_names.push_back(phase.name + "." + entry.first);
    logged.insert(logged.end(), values.begin(), values.end());
  }
  collect();
  algo.after_step(in.step);
  return result;
}

}  // namespace culturegan::trainer
