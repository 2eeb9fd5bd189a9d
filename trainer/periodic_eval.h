// In-training evaluation (config [eval], docs/eval.md): every eval.every steps rank 0 exports
// the current generator bundle, loads it as culturegan-infer would, and scores it with
// eval::evaluate against a culture classifier trained beforehand by culturegan-eval. The
// results are one line of metrics.jsonl: {"step": N, "eval.target_accuracy_mean": ..., ...},
// and the whole report (culturegan-eval's JSON, with the confusion matrix) in
// run.dir/eval/step-<9 digits>.json, which culturegan-report shows.
// The other ranks wait at their next collective meanwhile, so eval time counts against
// distributed.timeout_s.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/corpus_reader.h"
#include "eval/metrics.h"
#include "trainer/algorithms/gan_algorithm.h"
#include "trainer/config.h"

namespace culturegan::trainer {

class PeriodicEval {
 public:
  /// Loads eval.classifier (C = the corpus's cultures, width eval.classifier_width) and the
  /// corpus's splits. Throws ConfigError naming key 'eval.classifier' and the file when it is
  /// missing or does not match, or 'sample.source_culture' when that is not a corpus culture.
  PeriodicEval(const Config& cfg, const data::CorpusReader& corpus);

  /// eval.every > 0 and step is a multiple of it.
  bool due(int64_t step) const;

  /// Exports `algo`'s bundle to run.dir/eval.bundle, evaluates it, writes the full report to
  /// run.dir/eval/step-<step, 9 digits>.json (atomically), and returns the JSON line
  /// (no trailing newline): step, eval.seconds, eval.classifier_val_accuracy,
  /// eval.target_accuracy_mean, eval.target_accuracy.<culture>, and the means over target
  /// cultures of eval.fid, eval.kid, eval.cycle_psnr_db, eval.cycle_ssim, eval.diversity, and
  /// eval.content_gradient_correlation, eval.content_gray_ssim, eval.checkerboard_index,
  /// eval.kid_floor (their _mean over the target cultures).
  /// Throws what the export or evaluation throws.
  std::string run(GanAlgorithm& algo, int64_t step);

 private:
  Config cfg_;
  eval::EvalSet set_;
  eval::CultureClassifier clf_{nullptr};
  int64_t source_ = 0;
  int64_t image_size_ = 0;
};

}  // namespace culturegan::trainer
