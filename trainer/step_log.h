// Rank 0's per-step log: each step's line in run.dir/metrics.jsonl and the progress line.
// A step's loss values stay on the device until a progress line is due (or kMaxPending
// steps wait); then every waiting step's values come to the host in one copy, so a training
// step has no host synchronisation for logging (on a GPU, the step's kernels stay queued).
#pragma once
#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "trainer/progress.h"

namespace culturegan::trainer {

class StepLog {
 public:
  static constexpr size_t kMaxPending = 128;

  /// `progress` prints the lines; `metrics` receives one JSON line per step ({"step": s+1,
  /// "<phase>.<term>": value, ...}, keys sorted, non-finite values as null), or nullptr.
  /// Both must outlive the StepLog.
  StepLog(Progress& progress, std::ostream* metrics) : progress_(progress), metrics_(metrics) {}

  /// Step `step` (0-based) finished: `names[i]` is `values[i]` ([K] float32 on any device,
  /// or undefined when K = 0; not read now), `host` holds values already on the host
  /// (e.g. ada.p). Flushes when a progress line is due or kMaxPending steps wait.
  /// Throws std::invalid_argument when names and values disagree in length.
  void add(int64_t step, std::vector<std::string> names, torch::Tensor values,
           std::map<std::string, double> host);

  /// Writes every waiting step's metrics line and feeds the progress line, with one
  /// device-to-host copy. Call before anything else reads or appends to metrics.jsonl.
  void flush();

  size_t pending() const { return pending_.size(); }

 private:
  struct Pending {
    int64_t step;
    std::vector<std::string> names;
    torch::Tensor values;
    std::map<std::string, double> host;
  };
  Progress& progress_;
  std::ostream* metrics_;
  std::vector<Pending> pending_;
};

}  // namespace culturegan::trainer
