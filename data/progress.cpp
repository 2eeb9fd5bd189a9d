#include "data/progress.h"

#include <fmt/format.h>

namespace culturegan::data {

ProgressBar::ProgressBar(std::string label, int64_t total, bool enabled, bool tty,
                         std::ostream& out)
    : label_(std::move(label)),
      total_(total),
      enabled_(enabled),
      tty_(tty),
      out_(out),
      start_(std::chrono::steady_clock::now()),
      last_(start_) {}

void ProgressBar::update(int64_t done) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (tty_) {
    if (now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    draw(done, false);
  } else {
    const int decile = total_ > 0 ? static_cast<int>(done * 10 / total_) : 10;
    if (decile == last_decile_) return;
    last_decile_ = decile;
    draw(done, false);
  }
}

void ProgressBar::finish() {
  if (!enabled_ || (!tty_ && last_decile_ == 10)) return;
  draw(total_, true);
}

void ProgressBar::draw(int64_t done, bool final) {
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = secs > 0 ? done / secs : 0.0;
  constexpr int kWidth = 30;
  const int filled = total_ > 0 ? static_cast<int>(kWidth * done / total_) : kWidth;
  const std::string bar = std::string(static_cast<size_t>(filled), '#') +
                          std::string(static_cast<size_t>(kWidth - filled), '.');
  const std::string line =
      fmt::format("{} [{}] {}/{} {:.1f}/s {:.1f}s", label_, bar, done, total_, rate, secs);
  if (tty_) {
    out_ << '\r' << line << (final ? "\n" : "") << std::flush;
  } else {
    out_ << line << '\n' << std::flush;
  }
}

}  // namespace culturegan::data
