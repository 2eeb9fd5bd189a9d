#include "trainer/step_log.h"

#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

namespace culturegan::trainer {

void StepLog::add(int64_t step, std::vector<std::string> names, torch::Tensor values,
                  std::map<std::string, double> host) {
  const int64_t k = values.defined() ? values.numel() : 0;
  if (k != static_cast<int64_t>(names.size()))
    throw std::invalid_argument(
        fmt::format("StepLog::add: step {}: {} names for {} values", step, names.size(), k));
  pending_.push_back({step, std::move(names), std::move(values), std::move(host)});
  if (progress_.due(step) || pending_.size() >= kMaxPending) flush();
}

void StepLog::flush() {
  if (pending_.empty()) return;
  std::vector<torch::Tensor> device_values;
  for (const auto& p : pending_)
    if (p.values.defined()) device_values.push_back(p.values.reshape({-1}));
  const torch::Tensor all = device_values.empty()
                                ? torch::Tensor()
                                : torch::cat(device_values).to(torch::kCPU, torch::kDouble);
  const double* v = all.defined() ? all.data_ptr<double>() : nullptr;
  for (const auto& p : pending_) {
    std::map<std::string, double> values = p.host;
    for (const auto& name : p.names) values[name] = *v++;
    progress_.record(p.step, values);
    if (!metrics_ || !*metrics_) continue;
    std::string line = fmt::format("{{\"step\": {}", p.step + 1);
    for (const auto& [key, x] : values)
      line +=
          fmt::format(", \"{}\": {}", key, std::isfinite(x) ? fmt::format("{:.6g}", x) : "null");
    *metrics_ << line << "}\n";
  }
  progress_.print_if_due(pending_.back().step);
  pending_.clear();
}

}  // namespace culturegan::trainer
