// Rank 0's live run report (docs/report.md): every report.every steps and at the end of the
// run, the trainer starts `culturegan-report RUN_DIR -o RUN_DIR/report.html` as a child
// process (posix_spawn of the launcher next to this executable, /proc/self/exe; with
// `--nice 10` during training, so the ranks come first) and trains on; the child reads the
// run directory and renames the finished page over the old one.
// Never two at once: while one is still running a refresh is skipped. The child's output goes
// to RUN_DIR/report.log; it inherits no descriptor but stdin (/dev/null), stdout and stderr.
// A report that cannot be made is a warning on stderr, never a stop of training.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <string>

namespace culturegan::trainer {

class ReportRefresher {
 public:
  struct Stats {
    int64_t started = 0;         ///< refreshes started during training (not the final one)
    int64_t skipped = 0;         ///< refreshes skipped because the previous one still ran
    int64_t failed = 0;          ///< children that exited non-zero (or could not start)
    double longest_call_ms = 0;  ///< longest time start() / finish()'s reaping took on the
                                 ///< training thread, excluding finish()'s bounded waits
    bool final_written = false;  ///< the final report exited 0 within finish()'s wait
    double final_s = 0;          ///< seconds finish() waited for the final report
  };

  /// `run_dir`: run.dir; `every`: report.every (0 = only at the end). `tool`: the launcher to
  /// run; "" = `culturegan-report` in the directory of /proc/self/exe. Does not start anything.
  ReportRefresher(std::string run_dir, int64_t every, std::string tool = "");
  /// Reaps a finished child; one still running is left to finish on its own.
  ~ReportRefresher();
  ReportRefresher(const ReportRefresher&) = delete;
  ReportRefresher& operator=(const ReportRefresher&) = delete;

  /// every > 0 and `step` is a positive multiple of it.
  bool due(int64_t step) const;

  /// Starts a refresh in the background, unless the previous one is still running (then it
  /// counts a skip). Reaps a finished previous child first and warns if it failed. Never waits
  /// for a child and never throws. Returns true when a child was started.
  bool start();

  /// The end of the run: waits up to `wait_s` for a running refresh, then starts the final
  /// one and waits up to `final_wait_s` for it (a child still running then is left to finish
  /// and named in a warning). Returns true when the final report was written in time.
  bool finish(double wait_s, double final_wait_s);

  const Stats& stats() const { return stats_; }
  /// RUN_DIR/report.html.
  const std::string& output() const { return output_; }
  /// The launcher this refresher runs.
  const std::string& tool() const { return tool_; }

 private:
  /// Starts the child; `lower_priority` passes --nice 10. False (with a warning) on failure.
  bool spawn(bool lower_priority);
  /// Reaps the child if it has exited (waiting up to `timeout_s`, 0 = poll); true when none
  /// is left running.
  bool reap(double timeout_s);
  void warn_failed(int status);

  std::string run_dir_, output_, log_, tool_;
  int64_t every_;
  pid_t child_ = -1;
  bool tool_missing_warned_ = false;
  Stats stats_;
};

}  // namespace culturegan::trainer
