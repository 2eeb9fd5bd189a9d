#include "trainer/resume.h"

#include <fmt/format.h>

namespace culturegan::trainer {
namespace {

// This rank's view of --resume: the loaded state, or the error text.
TrainingState load_local(const std::string& resume, const Config& cfg, bool root, int world_size,
                         Checkpointer& checkpointer, GanAlgorithm& algo, std::string* error) {
  TrainingState state;
  state.sampler.seed = static_cast<uint64_t>(cfg.train.seed);
  state.world_size = world_size;
  state.config_hash = cfg.hash();
  if (resume.empty()) return state;
  try {
    std::vector<std::string> notes;
    const auto dir = checkpointer.resolve(resume, &notes);
    if (root)
      for (const auto& n : notes) fmt::print("culturegan-train: {}\n", n);
    if (!dir) {
      if (root)
        fmt::print("culturegan-train: --resume {}: no checkpoint in {}, starting from step 0\n",
                   resume, checkpointer.root());
      return state;
    }
    state = checkpointer.load(*dir, algo);
    if (root) {
      fmt::print(
          "culturegan-train: resumed from {} at step {} (written by world size {}, now {})\n", *dir,
          state.step, state.world_size, world_size);
      if (state.config_hash != cfg.hash())
        fmt::print(
            "culturegan-train: note: the config differs from the checkpoint's (hash {} vs "
            "{})\n",
            state.config_hash, cfg.hash());
    }
    state.world_size = world_size;
    state.config_hash = cfg.hash();
  } catch (const CheckpointError& e) {
    *error = e.what();
  }
  return state;
}

}  // namespace

std::optional<TrainingState> start_or_resume(const std::string& resume, const Config& cfg,
                                             const distributed::ProcessEnv& env,
                                             Checkpointer& checkpointer, GanAlgorithm& algo,
                                             distributed::ControlPlane& control) {
  const bool root = env.rank == 0;
  std::string error;
  TrainingState state = load_local(resume, cfg, root, env.world_size, checkpointer, algo, &error);
  // [ranks with an error, rank 0 has one], then [step, -step] for "same step everywhere".
  const bool mine = !error.empty();
  const auto bad = control.sum({mine ? 1.0 : 0.0, root && mine ? 1.0 : 0.0}, "resume_error_check");
  if (bad[0] > 0) {
    if (mine && (root || bad[1] == 0)) fmt::print(stderr, "culturegan-train: error: {}\n", error);
    return std::nullopt;
  }
  const double step = static_cast<double>(state.step);
  const auto lo = control.min({step}, "resume_step_check")[0];
  const auto hi = control.max({step}, "resume_step_check")[0];
  if (lo != hi)
    throw CheckpointError(
        "ranks resumed from different checkpoints: is run.dir on a shared file system?");
  return state;
}

}  // namespace culturegan::trainer
