// Rank 0's progress line: step/total, images per second, losses, ETA.
#pragma once
#include <chrono>
#include <cstdint>
#include <map>
#include <string>

namespace culturegan::trainer {

class Progress {
 public:
  /// `period_s`: seconds between lines; `global_batch`: images per step over all ranks.
  Progress(int64_t first_step, int64_t total_steps, int64_t global_batch, double period_s);
  /// Records that step `step` (0-based) finished with these loss values; prints a line when
  /// `period_s` has passed since the last one, or on the last step. Returns true if it printed.
  bool update(int64_t step, const std::map<std::string, double>& losses);
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

/// "1h02m03s" style.
std::string format_duration(double seconds);

}  // namespace culturegan::trainer
