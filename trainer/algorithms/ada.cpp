#include "trainer/algorithms/ada.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "trainer/algorithms/regularizers.h"
#include "trainer/algorithms/sample_randomness.h"

namespace culturegan::trainer {
namespace F = torch::nn::functional;
namespace {

constexpr double kPi = 3.14159265358979323846;

// 3×3 row-major affine map in affine_grid's normalised coordinates (output → input).
using Affine = std::array<double, 9>;
constexpr Affine kIdentity{1, 0, 0, 0, 1, 0, 0, 0, 1};

Affine mul(const Affine& a, const Affine& b) {
  Affine c{};
  for (int r = 0; r < 3; ++r)
    for (int k = 0; k < 3; ++k) {
      double s = 0;
      for (int j = 0; j < 3; ++j) s += a[r * 3 + j] * b[j * 3 + k];
      c[r * 3 + k] = s;
    }
  return c;
}
Affine scale(double sx, double sy) { return {sx, 0, 0, 0, sy, 0, 0, 0, 1}; }
Affine translate(double tx, double ty) { return {1, 0, tx, 0, 1, ty, 0, 0, 1}; }
Affine rotate(double a) {
  const double c = std::cos(a), s = std::sin(a);
  return {c, -s, 0, s, c, 0, 0, 0, 1};
}

bool is_geometric(const std::string& op) {
  return op == "xflip" || op == "rotate90" || op == "translate" || op == "scale" ||
         op == "rotate" || op == "aniso";
}
bool is_known(const std::string& op) {
  return is_geometric(op) || op == "cutout" || op == "brightness" || op == "contrast" ||
         op == "saturation";
}

}  // namespace

AdaptiveAugment::AdaptiveAugment(const AdaConfig& cfg, double midpoint)
    : cfg_(cfg),
      midpoint_(midpoint),
      interval_(std::max<int64_t>(1, cfg.interval)),
      p_(cfg.p_init) {
  for (const auto& op : cfg_.pipeline)
    if (!is_known(op))
      throw std::invalid_argument("ada.pipeline: unknown operation \"" + op + "\"");
}

torch::Tensor AdaptiveAugment::apply(const torch::Tensor& x, const StepInput& in,
                                     uint64_t stream) const {
  if (p_ <= 0 || cfg_.pipeline.empty()) return x;
  const int64_t b = x.size(0), h = x.size(2), w = x.size(3);
  // Operation j of the pipeline draws from sub-streams stream·64 + 4j .. 4j+3 of each sample.
  auto u = [&](int64_t i, uint64_t k) {
    return counter_uniform(in.seed, static_cast<uint64_t>(in.step),
                           static_cast<uint64_t>(in.global_offset + i), stream * 64 + k);
  };
  auto normal = [&](int64_t i, uint64_t k) {  // Box-Muller from two uniforms
    return std::sqrt(-2.0 * std::log(1.0 - u(i, k))) * std::cos(2.0 * kPi * u(i, k + 1));
  };
  torch::Tensor out = x;
  std::vector<Affine> inv(static_cast<size_t>(b), kIdentity);
  std::vector<bool> warped(static_cast<size_t>(b), false);
  auto flush = [&]() {  // resample the samples whose map is not the identity
    std::vector<int64_t> idx;
    std::vector<float> theta;
    for (int64_t i = 0; i < b; ++i) {
      if (!warped[static_cast<size_t>(i)]) continue;
      idx.push_back(i);
      for (int k = 0; k < 6; ++k)
        theta.push_back(static_cast<float>(inv[static_cast<size_t>(i)][k]));
      inv[static_cast<size_t>(i)] = kIdentity;
      warped[static_cast<size_t>(i)] = false;
    }
    if (idx.empty()) return;
    const auto n = static_cast<int64_t>(idx.size());
    auto index = torch::tensor(idx, torch::kLong).to(x.device());
    auto th = torch::tensor(theta, torch::kFloat).view({n, 2, 3}).to(x.device());
    auto grid = F::affine_grid(th, {n, x.size(1), h, w}, /*align_corners=*/false);
    auto sel = out.index_select(0, index);
    auto res = F::grid_sample(sel, grid,
                              F::GridSampleFuncOptions()
                                  .mode(torch::kBilinear)
                                  .padding_mode(torch::kReflection)
                                  .align_corners(false));
    out = out.index_copy(0, index, res);
  };
  for (size_t j = 0; j < cfg_.pipeline.size(); ++j) {
    const std::string& op = cfg_.pipeline[j];
    const uint64_t k = 4 * static_cast<uint64_t>(j);
    if (!is_geometric(op)) flush();
    if (is_geometric(op)) {
      for (int64_t i = 0; i < b; ++i) {
        if (u(i, k) >= p_) continue;
        Affine t = kIdentity;
        if (op == "xflip") {
          t = scale(u(i, k + 1) < 0.5 ? -1.0 : 1.0, 1.0);
        } else if (op == "rotate90") {
          t = rotate(-0.5 * kPi * std::floor(u(i, k + 1) * 4.0));
        } else if (op == "translate") {  // whole pixels; a pixel is 2/W in these coordinates
          const double tx = std::round((u(i, k + 1) * 0.25 - 0.125) * static_cast<double>(w));
          const double ty = std::round((u(i, k + 2) * 0.25 - 0.125) * static_cast<double>(h));
          t = translate(-2.0 * tx / static_cast<double>(w), -2.0 * ty / static_cast<double>(h));
        } else if (op == "scale") {
          const double s = std::exp2(0.2 * normal(i, k + 1));
          t = scale(1.0 / s, 1.0 / s);
        } else if (op == "rotate") {
          t = rotate(-(u(i, k + 1) * 2.0 - 1.0) * kPi);
        } else if (op == "aniso") {
          const double s = std::exp2(0.2 * normal(i, k + 1));
          t = scale(1.0 / s, s);
        }
        inv[static_cast<size_t>(i)] = mul(inv[static_cast<size_t>(i)], t);
        warped[static_cast<size_t>(i)] = true;
      }
      continue;
    }
    bool any = false;
    if (op == "cutout") {
      const int64_t size = static_cast<int64_t>(static_cast<double>(h) * 0.5 + 0.5);
      std::vector<int64_t> x0(static_cast<size_t>(b), -2 * size - w), y0(static_cast<size_t>(b), 0);
      for (int64_t i = 0; i < b; ++i) {
        if (u(i, k) >= p_) continue;
        any = true;
        x0[static_cast<size_t>(i)] =
            static_cast<int64_t>(u(i, k + 1) * static_cast<double>(w)) - size / 2;
        y0[static_cast<size_t>(i)] =
            static_cast<int64_t>(u(i, k + 2) * static_cast<double>(h)) - size / 2;
      }
      if (any) out = augment_cutout(out, x0, y0, size);
      continue;
    }
    const bool additive = op == "brightness";
    auto param = torch::full({b}, additive ? 0.0f : 1.0f, torch::kFloat);
    for (int64_t i = 0; i < b; ++i) {
      if (u(i, k) >= p_) continue;
      any = true;
      const double z = normal(i, k + 1);
      param[i] = static_cast<float>(op == "brightness" ? 0.2 * z
                                    : op == "contrast" ? std::exp2(0.5 * z)
                                                       : std::exp2(z));
    }
    if (!any) continue;
    if (op == "brightness") out = augment_brightness(out, param);
    if (op == "contrast") out = augment_contrast(out, param);
    if (op == "saturation") out = augment_saturation(out, param);
  }
  flush();
  return out;
}

void AdaptiveAugment::observe(const torch::Tensor& real_scores) {
  torch::NoGradGuard no_grad;
  const auto per_image = real_scores.detach().reshape({real_scores.size(0), -1}).mean(1);
  const auto s = (per_image.to(torch::kDouble) - midpoint_).sign().sum();
  sign_sum_ = sign_sum_.defined() ? sign_sum_ + s : s;
  images_ += real_scores.size(0);
}

std::array<double, 2> AdaptiveAugment::local_stats() const {
  const double s = restored_sum_ + (sign_sum_.defined() ? sign_sum_.item<double>() : 0.0);
  return {s, static_cast<double>(images_)};
}

void AdaptiveAugment::adjust(double sign_sum, double images) {
  if (images > 0) {
    r_t_ = sign_sum / images;
    const double dir = (r_t_ > cfg_.target) - (r_t_ < cfg_.target);
    p_ = std::clamp(p_ + dir * images / (1000.0 * cfg_.kimg), 0.0, 1.0);
  }
  sign_sum_ = torch::Tensor();
  restored_sum_ = 0;
  images_ = 0;
}

AdaState AdaptiveAugment::state() const {
  const auto s = local_stats();
  return AdaState{p_, s[0], images_, r_t_};
}

void AdaptiveAugment::restore(const AdaState& s) {
  p_ = s.p;
  r_t_ = s.r_t;
  sign_sum_ = torch::Tensor();
  restored_sum_ = s.sign_sum;
  images_ = s.images;
}

}  // namespace culturegan::trainer
