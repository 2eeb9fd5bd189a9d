#include "models/norm_stats.h"

#include <stdexcept>
#include <string>

namespace culturegan::models {
namespace F = torch::nn::functional;
namespace {

struct State {
  NormStatsMode mode = NormStatsMode::kOff;
  NormStats* stats = nullptr;
  size_t cursor = 0;
};
thread_local State g_state;

std::string shape(const torch::Tensor& t) {
  std::string s = "[";
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? "," : "") + std::to_string(t.size(i));
  return s + "]";
}

}  // namespace

NormStatsScope::NormStatsScope(NormStatsMode mode, NormStats* stats)
    : prev_mode_(g_state.mode), prev_stats_(g_state.stats), prev_cursor_(g_state.cursor) {
  if (mode != NormStatsMode::kOff && stats == nullptr)
    throw std::invalid_argument("NormStatsScope: record/replay needs a NormStats target");
  if (mode == NormStatsMode::kRecord) stats->layers.clear();
  g_state = State{mode, stats, 0};
}

NormStatsScope::~NormStatsScope() { g_state = State{prev_mode_, prev_stats_, prev_cursor_}; }

size_t NormStatsScope::replayed() const { return g_state.cursor; }

torch::Tensor instance_norm_2d(const torch::Tensor& x, double eps) {
  if (g_state.mode == NormStatsMode::kOff)
    return F::instance_norm(x, F::InstanceNormFuncOptions().eps(eps));
  TORCH_CHECK(x.dim() == 4, "instance_norm_2d: x must be [N,C,H,W], got ", x.sizes());
  if (g_state.mode == NormStatsMode::kRecord) {
    auto [var, mean] = torch::var_mean(x, {2, 3}, /*unbiased=*/false, /*keepdim=*/true);
    g_state.stats->layers.emplace_back(mean, var);
    return (x - mean) * torch::rsqrt(var + eps);
  }
  const size_t k = g_state.cursor++;
  const auto& layers = g_state.stats->layers;
  if (k >= layers.size())
    throw std::runtime_error("InstanceNorm statistics replay: norm call " + std::to_string(k) +
                             " but only " + std::to_string(layers.size()) +
                             " were recorded (a different network or conditioning?)");
  const auto& [mean, var] = layers[k];
  if (mean.size(1) != x.size(1) || (mean.size(0) != 1 && mean.size(0) != x.size(0)))
    throw std::runtime_error("InstanceNorm statistics replay: norm call " + std::to_string(k) +
                             ": recorded statistics " + shape(mean) + " do not fit input " +
                             shape(x));
  return (x - mean) * torch::rsqrt(var + eps);
}

HookedInstanceNorm2dImpl::HookedInstanceNorm2dImpl(const torch::nn::InstanceNorm2dOptions& o)
    : options(o) {
  if (o.track_running_stats())
    throw std::invalid_argument("HookedInstanceNorm2d: track_running_stats must be false");
  reset();
}

void HookedInstanceNorm2dImpl::reset() {
  if (options.affine()) {
    weight = register_parameter("weight", torch::ones({options.num_features()}));
    bias = register_parameter("bias", torch::zeros({options.num_features()}));
  }
}

torch::Tensor HookedInstanceNorm2dImpl::forward(const torch::Tensor& x) {
  TORCH_CHECK(x.dim() == 4, "InstanceNorm2d: expected a 4-D input [N,C,H,W], got ", x.sizes());
  if (g_state.mode == NormStatsMode::kOff) {
    auto o = F::InstanceNormFuncOptions().eps(options.eps()).momentum(options.momentum());
    if (options.affine()) o = o.weight(weight).bias(bias);
    return F::instance_norm(x, o);
  }
  auto h = instance_norm_2d(x, options.eps());
  if (options.affine()) h = h * weight.view({1, -1, 1, 1}) + bias.view({1, -1, 1, 1});
  return h;
}

void HookedInstanceNorm2dImpl::pretty_print(std::ostream& stream) const {
  stream << "culturegan::models::HookedInstanceNorm2d(" << options.num_features()
         << ", eps=" << options.eps() << ", affine=" << options.affine() << ")";
}

}  // namespace culturegan::models
