// Part (c) of culturegan-bench-comm: training images/s at 1 and 2 ranks for culturegan-train
// (quickstart model) and for the PyTorch DDP reference (ddp_reference.py, gloo).
#pragma once
#include <string>

namespace culturegan::bench {

struct ScalingOptions {
  std::string source_dir;  ///< repository root (configs/, bench/comm/ddp_reference.py)
  std::string train_bin;   ///< culturegan-train
  std::string config = "configs/quickstart.toml";
  std::string python = "/usr/bin/python3";
  std::string extra_sets;  ///< more "--set k=v" for the trainer (e.g. data.corpus=...)
  int steps = 40;
  int repeats = 2;  ///< each run is repeated, alternating 1 and 2 ranks; the best counts
};

struct ScalingResult {
  double train_1 = 0, train_2 = 0;  ///< culturegan-train images/s (global) at 1 and 2 ranks
  double ddp_1 = 0, ddp_2 = 0;      ///< DDP gloo images/s at 1 and 2 ranks
  std::string error;                ///< why a number is missing (0 above)
  std::string commands;             ///< the exact commands run, one a line
};

/// What a benchmark rank's CPU binding was and what the runs it starts get.
struct AffinityReport {
  std::string inherited;  ///< CPUs this process was bound to at start (e.g. "0" under mpirun's
                          ///< --bind-to core)
  std::string children;   ///< CPUs a child process is allowed, read from its /proc/self/status
  std::string error;      ///< non-empty when the affinity could not be read or widened
};

/// mpirun binds each rank to one core by default (np <= 2), and a child inherits its
/// parent's CPU mask, so training runs started from a bound rank would share one core
/// whatever they pass to their own mpirun. This widens the calling process's affinity to
/// every online CPU (within its cgroup cpuset) so the children start unbound, and reports
/// both masks. Call it before train_scaling(), on the rank that starts the runs.
AffinityReport widen_affinity_for_children();

/// Runs the trainings (1 rank, 2 ranks, alternating, `repeats` times each; the best
/// images/s of each counts, which filters out bursts of load from other jobs) (call on one rank
/// only; the others should wait without spinning). Children get an environment without the parent's
/// MPI/PMIx variables, so `mpirun` can be nested inside an MPI job; OMP_NUM_THREADS=1 per rank.
ScalingResult train_scaling(const ScalingOptions& options);

}  // namespace culturegan::bench
