// Start or resume: which checkpoint (--resume), loading it, and the ranks' agreement on it.
#pragma once
#include <optional>
#include <string>

#include "distributed/control_plane.h"
#include "distributed/process_env.h"
#include "trainer/checkpoint.h"
#include "trainer/config.h"

namespace culturegan::trainer {

/// Collective. With `resume` empty: a fresh state (step 0, sampler seeded by train.seed).
/// Otherwise resolves `resume` ("auto" or a directory) with `checkpointer`, loads it into
/// `algo`, and makes every rank agree over the control plane:
///   * a bad --resume (CheckpointError) on any rank: rank 0's message (or, when rank 0 had
///     none, the failing rank's) is printed once to stderr and every rank returns nullopt
///     (the caller exits with code 2);
///   * ranks that resumed from different steps (run.dir not shared): throws CheckpointError
///     on every rank.
/// Rank 0 prints what was resumed (step, the writer's world size, a config-hash note).
std::optional<TrainingState> start_or_resume(const std::string& resume, const Config& cfg,
                                             const distributed::ProcessEnv& env,
                                             Checkpointer& checkpointer, GanAlgorithm& algo,
                                             distributed::ControlPlane& control);

}  // namespace culturegan::trainer
