// Checkpoints: everything needed to resume a run exactly, written atomically.
//
// Layout (docs/checkpoint-format.md):
//   <run.dir>/checkpoints/step-000000120/   one directory per checkpoint
//       G.pt D.pt G_ema.pt                   torch::serialize archives of each module
//       optim_G.pt optim_D.pt                optimizer state (Adam moments, step counts)
//       rng.pt                               torch's default CPU generator state
//       state.toml                           step, sampler (seed, epoch, consumed), world size,
//                                            config hash, library versions
//       config.toml                          the resolved config
//       MANIFEST                             "<crc32 hex> <bytes> <file>" for every file above
//   <run.dir>/checkpoints/latest             name of the newest complete checkpoint
// A save writes into "step-N.tmp-<pid>", fsyncs every file and the directory, renames it to
// "step-N", then replaces `latest` the same way; only then are old ones beyond `keep` removed.
#pragma once
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "data/sampler.h"
#include "trainer/config.h"
#include "trainer/gan_algorithm.h"

namespace culturegan::trainer {

/// A checkpoint that cannot be written or read. what() names the file and the problem.
class CheckpointError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The run's position, saved beside the weights.
struct TrainingState {
  int64_t step = 0;            ///< steps completed
  data::SamplerState sampler;  ///< sampler state after `step` steps
  int64_t world_size = 1;      ///< world size that wrote it (resume may use another)
  std::string config_hash;     ///< Config::hash() of the run that wrote it
};

class Checkpointer {
 public:
  /// `run_dir`: run.dir; checkpoints go to run_dir/checkpoints. `keep` >= 1.
  Checkpointer(std::string run_dir, int64_t keep);

  /// Writes a checkpoint of `algo` at `state.step` (call on rank 0 only). Returns its
  /// directory. Throws CheckpointError (disk full, unwritable directory); the previous
  /// checkpoints and `latest` stay intact.
  std::string save(const TrainingState& state, GanAlgorithm& algo, const Config& cfg);

  /// Resolves --resume: "auto" → the newest checkpoint whose MANIFEST verifies (skipping
  /// damaged ones, each reported in `notes`), or nullopt when there is none; otherwise
  /// `resume` is a checkpoint directory that must verify. Throws CheckpointError.
  std::optional<std::string> resolve(const std::string& resume, std::vector<std::string>* notes) const;

  /// Verifies the MANIFEST of `dir` and loads modules, optimizers and RNG into `algo`.
  /// Throws CheckpointError naming the file that is missing, damaged or mismatched.
  TrainingState load(const std::string& dir, GanAlgorithm& algo) const;

  /// Checkpoint directories, oldest first.
  std::vector<std::string> list() const;
  const std::string& root() const { return root_; }

 private:
  std::string root_;
  int64_t keep_;
};

/// Checks every file listed in dir/MANIFEST (size and CRC-32). Returns "" when all verify,
/// else a one-line reason naming the file.
std::string verify_checkpoint(const std::string& dir);

}  // namespace culturegan::trainer
