#include "trainer/progress.h"

#include <cmath>
#include <ctime>

#include <fmt/format.h>

namespace culturegan::trainer {
namespace {

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20) {
      out += fmt::format("\\u{:04x}", c);
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

std::string json_number(double v) { return std::isfinite(v) ? fmt::format("{}", v) : "null"; }

}  // namespace

std::string summary_json(const RunSummary& s) {
  std::map<std::string, std::string> kv;  // sorted keys
  std::string cultures = "[";
  for (size_t i = 0; i < s.cultures.size(); ++i)
    cultures += (i ? ", " : "") + json_string(s.cultures[i]);
  kv["cultures"] = cultures + "]";
  kv["exit_reason"] = json_string(s.exit_reason);
  if (s.exit_code >= 0) kv["exit_code"] = std::to_string(s.exit_code);
  if (s.preempted_at_step >= 0) kv["preempted_at_step"] = std::to_string(s.preempted_at_step);
  if (!s.error.empty()) kv["error"] = json_string(s.error);
  kv["global_batch"] = std::to_string(s.global_batch);
  kv["images_per_second"] = json_number(s.images_per_second);
  kv["steps"] = std::to_string(s.steps);
  kv["steps_total"] = std::to_string(s.steps_total);
  kv["updated_unix_s"] = std::to_string(static_cast<int64_t>(std::time(nullptr)));
  kv["wall_s"] = json_number(s.wall_s);
  kv["world_size"] = std::to_string(s.world_size);
  std::string out = "{";
  for (const auto& [k, v] : kv) out += (out.size() > 1 ? ", " : "") + json_string(k) + ": " + v;
  return out + "}\n";
}

std::string format_duration(double seconds) {
  if (seconds < 0 || seconds != seconds) return "?";
  const int64_t s = static_cast<int64_t>(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}h{:02d}m{:02d}s", s / 3600, (s / 60) % 60, s % 60);
  if (s >= 60) return fmt::format("{}m{:02d}s", s / 60, s % 60);
  return fmt::format("{}s", s);
}

Progress::Progress(int64_t first_step, int64_t total_steps, int64_t global_batch, double period_s)
    : first_step_(first_step),
      total_steps_(total_steps),
      global_batch_(global_batch),
      period_s_(period_s),
      start_(Clock::now()),
      last_print_(start_) {}

double Progress::elapsed_s() const {
  return std::chrono::duration<double>(Clock::now() - start_).count();
}

double Progress::images_per_second() const {
  const double t = elapsed_s();
  return t > 0 ? static_cast<double>(steps_done_ * global_batch_) / t : 0.0;
}

bool Progress::update(int64_t step, const std::map<std::string, double>& losses) {
  record(step, losses);
  return print_if_due(step);
}

void Progress::record(int64_t /*step*/, const std::map<std::string, double>& losses) {
  ++steps_done_;
  ++samples_;
  for (const auto& [k, v] : losses) sums_[k] += v;
}

bool Progress::due(int64_t step) const {
  return step + 1 >= total_steps_ ||
         std::chrono::duration<double>(Clock::now() - last_print_).count() >= period_s_;
}

bool Progress::print_if_due(int64_t step) {
  if (!due(step)) return false;
  last_print_ = Clock::now();
  const double ips = images_per_second();
  const double remaining =
      static_cast<double>(total_steps_ - step - 1) * global_batch_ / (ips > 0 ? ips : 1);
  std::string terms;
  for (const auto& [k, v] : sums_)
    terms += fmt::format(" {} {:.4f}", k, v / static_cast<double>(samples_));
  fmt::print("step {}/{} ({:.1f}%) | {:.1f} img/s |{} | elapsed {} | ETA {}\n", step + 1,
             total_steps_,
             100.0 * static_cast<double>(step + 1) / static_cast<double>(total_steps_), ips, terms,
             format_duration(elapsed_s()), format_duration(remaining));
  std::fflush(stdout);
  sums_.clear();
  samples_ = 0;
  (void)first_step_;
  return true;
}

}  // namespace culturegan::trainer
