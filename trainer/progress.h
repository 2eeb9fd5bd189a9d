// Rank 0's progress line (step/total, images per second, losses, ETA) and the run's
// summary.json (how far it got, how fast, and how it ended).
#pragma once
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace culturegan::trainer {

class Progress {
 public:
  /// `period_s`: seconds between lines; `global_batch`: images per step over all ranks.
  Progress(int64_t first_step, int64_t total_steps, int64_t global_batch, double period_s);
  /// Records that step `step` (0-based) finished with these loss values; prints a line when
  /// `period_s` has passed since the last one, or on the last step. Returns true if it printed.
  bool update(int64_t step, const std::map<std::string, double>& losses);
  /// update() in two halves, for a caller that reads several steps' losses at once:
  /// record() adds step `step`'s values to the running means without printing, and
  /// print_if_due(step) prints the line for the steps recorded so far when due().
  void record(int64_t step, const std::map<std::string, double>& losses);
  bool print_if_due(int64_t step);
  /// True when a line is due after step `step`: `period_s` has passed or it is the last step.
  bool due(int64_t step) const;
  /// Images per second since the first step (global, all ranks).
  double images_per_second() const;
  /// Seconds since construction.
  double elapsed_s() const;

 private:
  using Clock = std::chrono::steady_clock;
  int64_t first_step_, total_steps_, global_batch_;
  double period_s_;
  Clock::time_point start_, last_print_;
  int64_t steps_done_ = 0;
  std::map<std::string, double> sums_;
  int64_t samples_ = 0;
};

/// What run.dir/summary.json holds (docs/report.md). Rank 0 writes it at start-up and at each
/// report refresh with exit_reason "running", and on every way out with the final reason.
struct RunSummary {
  int64_t steps = 0;        ///< steps done so far (the next step to run)
  int64_t steps_total = 0;  ///< train.steps
  int64_t world_size = 0;
  int64_t global_batch = 0;           ///< world size × train.batch_size
  double images_per_second = 0;       ///< global, since this launch's first step
  double wall_s = 0;                  ///< seconds since this launch started training
  std::string exit_reason;            ///< running | finished | time_budget | preempted | failed
  int exit_code = -1;                 ///< the process's exit code; -1 while running (not written)
  int64_t preempted_at_step = -1;     ///< the step saved on preemption; -1 = not preempted
  std::string error;                  ///< failed: what stopped it
  std::vector<std::string> cultures;  ///< the corpus's cultures (columns of the sample grids)
};

/// summary.json's text: one JSON object, keys sorted, newline-terminated, with
/// updated_unix_s (now); exit_code, preempted_at_step and error only when set.
std::string summary_json(const RunSummary& s);

/// "1h02m03s" style.
std::string format_duration(double seconds);

}  // namespace culturegan::trainer
