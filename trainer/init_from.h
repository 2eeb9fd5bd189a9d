// Starting a run from trained weights (train.init_from, `culturegan-train --init-from PATH`):
// a generator bundle (culturegan's generator.bundle: G_ema's weights) or a checkpoint directory
// (every module). Weights only: the optimizers, the step (0), the sampler and the RNG start
// fresh; a new run.dir. Cultures are matched by name (docs/new-culture.md):
//   * the model has the corpus's cultures, in corpus order, then the source's cultures that
//     the corpus lacks (kept: still in the bundle this run writes, not trained on);
//   * a culture-indexed tensor (GanAlgorithm::culture_tensors: G's culture embedding or input
//     planes, D's classifier and per-culture real/fake outputs) gets each known culture's
//     slice from the source and, for a culture the source lacks, the mean of the source's
//     cultures' slices (the new culture starts as the average culture: at step 0 G translates
//     to it as to a blend of all the source's cultures; the old cultures' translations are
//     unchanged);
//   * every other tensor must have the same name and shape as in the source.
// A module the source does not hold keeps its fresh initialisation (from a bundle: D and
// NCE_head). A run that finds a checkpoint to resume resumes it and does not re-initialise.
#pragma once
#include <string>
#include <vector>

#include "trainer/algorithms/gan_algorithm.h"

namespace culturegan::trainer {

/// The cultures of an init source, in its order: a bundle's `cultures`, or `cultures` in a
/// checkpoint's state.toml. Throws ConfigError "train.init_from = PATH: ..." when PATH does
/// not exist, is neither a bundle nor a checkpoint directory, fails its checksum (bundle) or
/// MANIFEST (checkpoint), or is a checkpoint written before culturegan recorded cultures.
std::vector<std::string> init_source_cultures(const std::string& path);

/// The model's cultures for training on a corpus with `corpus` cultures from weights with
/// `source` cultures: `corpus` in its order, then the names of `source` that `corpus` lacks,
/// in source order.
std::vector<std::string> merged_cultures(const std::vector<std::string>& corpus,
                                         const std::vector<std::string>& source);

/// Copies the weights of `path` into `algo` (parameters and buffers of every module the
/// source holds; "G" and "G_ema" from a bundle), mapping culture-indexed tensors from the
/// source's cultures to `model_cultures` as above. Returns a one-line summary (modules loaded
/// and kept fresh; cultures matched, added, kept). Throws ConfigError
/// "train.init_from = PATH: tensor 'G.encoder.0.weight': shape [32, 3, 7, 7] in the file, [64,
/// 3, 7, 7] expected by this config" (or "... missing in the file") for another architecture,
/// and as init_source_cultures.
std::string initialize_from(const std::string& path, GanAlgorithm& algo,
                            const std::vector<std::string>& model_cultures);

}  // namespace culturegan::trainer
