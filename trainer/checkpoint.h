// Checkpoints: everything needed to resume a run exactly, written atomically.
//
// Layout (docs/checkpoint-format.md):
//   <run.dir>/checkpoints/step-000000120/   one directory per checkpoint
//       G.pt D.pt G_ema.pt                   torch::serialize archives of each module
//       optim_G.pt optim_D.pt                optimizer state (Adam moments, step counts)
//       rng.pt                               torch's default CPU generator state
//       state.toml                           step, epoch, sampler (seed, epoch, consumed), world
//                                            size, config hash, cultures, [ada], library
//                                            versions, save time
//       config.toml                          the resolved config
//       MANIFEST                             "<crc32 hex> <bytes> <file>" for every file above
//   <run.dir>/checkpoints/latest             name of the newest complete checkpoint
// A save writes into "step-N.tmp-<pid>", fsyncs every file and the directory, renames it to
// "step-N", then replaces `latest` the same way; only then are old ones beyond `keep` removed.
// A save that fails (disk full, unwritable directory) removes its temp dir and leaves the
// previous checkpoints and `latest` untouched.
#pragma once
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "data/sampler.h"
#include "trainer/algorithms/ada.h"
#include "trainer/algorithms/gan_algorithm.h"
#include "trainer/config.h"

namespace culturegan::trainer {

/// A checkpoint that cannot be written or read. what() names the file and the problem.
class CheckpointError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The run's position, saved beside the weights.
struct TrainingState {
  int64_t step = 0;                   ///< steps completed
  data::SamplerState sampler;         ///< sampler state after `step` steps
  int64_t world_size = 1;             ///< world size that wrote it (resume may use another)
  std::string config_hash;            ///< Config::hash() of the run that wrote it
  std::vector<std::string> cultures;  ///< the model's cultures, in index order ("" list: unknown)
  std::optional<AdaState> ada;        ///< ADA's p and open interval, when the run uses ADA
};

class Checkpointer {
 public:
  /// `run_dir`: run.dir; checkpoints go to run_dir/checkpoints. `keep` < 1 is taken as 1.
  /// Touches no file.
  Checkpointer(std::string run_dir, int64_t keep);

  /// Writes a checkpoint of `algo` at `state.step` (call on rank 0 only). Returns its
  /// directory. Also removes temp dirs left by a crashed save. Throws CheckpointError
  /// naming the path and the OS reason (disk full, unwritable directory); the previous
  /// checkpoints and `latest` then stay intact.
  std::string save(const TrainingState& state, GanAlgorithm& algo, const Config& cfg);

  /// Size in bytes and wall time in seconds of the last successful save() (0 before one).
  uint64_t last_save_bytes() const { return last_bytes_; }
  double last_save_seconds() const { return last_seconds_; }

  /// Resolves --resume: "auto" → the checkpoint `latest` names if it verifies, else the
  /// newest one whose MANIFEST verifies; each damaged one skipped and the fallback chosen
  /// are reported as one line each in `notes` (may be null). nullopt when there is none.
  /// Otherwise `resume` is a checkpoint directory that must verify.
  /// Throws CheckpointError ("--resume PATH: <file>: <reason>") when an explicit PATH fails.
  std::optional<std::string> resolve(const std::string& resume,
                                     std::vector<std::string>* notes) const;

  /// Verifies the MANIFEST of `dir` and loads modules, optimizers and RNG into `algo`, and
  /// returns the state from state.toml. Throws CheckpointError naming the file that is
  /// missing, damaged or does not match this model (e.g. another config's widths).
  TrainingState load(const std::string& dir, GanAlgorithm& algo) const;

  /// Checkpoint directories (complete ones only: no temp dirs), oldest first.
  std::vector<std::string> list() const;
  const std::string& root() const { return root_; }

 private:
  std::string root_;
  int64_t keep_;
  uint64_t last_bytes_ = 0;
  double last_seconds_ = 0;
};

/// The `cultures` of dir/state.toml, in index order; empty when the checkpoint predates them.
/// Throws CheckpointError when state.toml is missing or not valid TOML.
std::vector<std::string> checkpoint_cultures(const std::string& dir);

/// Checks every file listed in dir/MANIFEST (size and CRC-32). Returns "" when all verify,
/// else a one-line reason naming the file.
std::string verify_checkpoint(const std::string& dir);

/// verify_checkpoint, and also fills `listed` (not null) with the file names the MANIFEST
/// lists: a reader of someone else's checkpoint reads only those (verified) files.
std::string verify_checkpoint(const std::string& dir, std::vector<std::string>* listed);

}  // namespace culturegan::trainer
