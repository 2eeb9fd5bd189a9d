// A one-line progress bar on a terminal ("\r" redraws), or sparse lines (every 10 %)
// when the stream is not a terminal. Thread-compatible: call update() from one thread.
#pragma once
#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>

namespace culturegan::data {

class ProgressBar {
 public:
  /// `enabled` false prints nothing. `tty` selects redrawing vs. sparse lines.
  ProgressBar(std::string label, int64_t total, bool enabled, bool tty, std::ostream& out);
  /// Reports `done` of `total` items finished.
  void update(int64_t done);
  /// Final redraw and newline.
  void finish();

 private:
  void draw(int64_t done, bool final);
  std::string label_;
  int64_t total_;
  bool enabled_, tty_;
  std::ostream& out_;
  std::chrono::steady_clock::time_point start_, last_;
  int last_decile_ = -1;
};

}  // namespace culturegan::data
