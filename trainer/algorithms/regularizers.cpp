#include "trainer/algorithms/regularizers.h"

#include <sstream>
#include <stdexcept>

namespace culturegan::trainer {
namespace {
// Penalties in float32 (or float64) whatever the forward's precision (train.precision = bf16).
torch::Tensor upcast(const torch::Tensor& t) {
  const auto s = t.scalar_type();
  return (s == torch::kHalf || s == torch::kBFloat16) ? t.to(torch::kFloat) : t;
}
}  // namespace

torch::Tensor gradient_penalty(const std::function<torch::Tensor(const torch::Tensor&)>& critic,
                               const torch::Tensor& real, const torch::Tensor& fake,
                               const torch::Tensor& alpha) {
  auto a = alpha.to(real.dtype()).view({-1, 1, 1, 1});
  auto x_hat = (a * real.detach() + (1 - a) * fake.detach()).requires_grad_(true);
  auto scores = critic(x_hat);
  auto grad =
      torch::autograd::grad({scores.sum()}, {x_hat}, /*grad_outputs=*/{}, /*retain_graph=*/true,
                            /*create_graph=*/true)[0];
  auto norm = upcast(grad).flatten(1).norm(2, 1);
  return (norm - 1).pow(2).mean();
}

torch::Tensor r1_penalty(const torch::Tensor& real_scores, const torch::Tensor& real) {
  auto grad = torch::autograd::grad({real_scores.sum()}, {real}, {}, /*retain_graph=*/true,
                                    /*create_graph=*/true)[0];
  return upcast(grad).pow(2).flatten(1).sum(1).mean();
}

torch::Tensor augment_brightness(const torch::Tensor& x, const torch::Tensor& shift) {
  return x + shift.to(x.options()).view({-1, 1, 1, 1});
}

torch::Tensor augment_saturation(const torch::Tensor& x, const torch::Tensor& factor) {
  auto mean = x.mean(1, /*keepdim=*/true);
  return (x - mean) * factor.to(x.options()).view({-1, 1, 1, 1}) + mean;
}

torch::Tensor augment_contrast(const torch::Tensor& x, const torch::Tensor& factor) {
  auto mean = x.mean({1, 2, 3}, /*keepdim=*/true);
  return (x - mean) * factor.to(x.options()).view({-1, 1, 1, 1}) + mean;
}

torch::Tensor augment_translation(const torch::Tensor& x, const std::vector<int64_t>& dx,
                                  const std::vector<int64_t>& dy) {
  const int64_t b = x.size(0), h = x.size(2), w = x.size(3);
  int64_t pad = 0;
  for (size_t i = 0; i < dx.size(); ++i) pad = std::max({pad, std::abs(dx[i]), std::abs(dy[i])});
  auto padded = torch::constant_pad_nd(x, {pad, pad, pad, pad}, 0.0);
  std::vector<torch::Tensor> rows;
  for (int64_t i = 0; i < b; ++i)
    rows.push_back(padded[i].narrow(1, pad - dy[i], h).narrow(2, pad - dx[i], w));
  return torch::stack(rows);
}

torch::Tensor augment_cutout(const torch::Tensor& x, const std::vector<int64_t>& x0,
                             const std::vector<int64_t>& y0, int64_t size) {
  const int64_t b = x.size(0), h = x.size(2), w = x.size(3);
  auto mask = torch::ones({b, 1, h, w}, torch::kFloat);
  for (int64_t i = 0; i < b; ++i) {
    const int64_t ys = std::clamp<int64_t>(y0[i], 0, h),
                  ye = std::clamp<int64_t>(y0[i] + size, 0, h);
    const int64_t xs = std::clamp<int64_t>(x0[i], 0, w),
                  xe = std::clamp<int64_t>(x0[i] + size, 0, w);
    if (ye > ys && xe > xs) mask[i].narrow(1, ys, ye - ys).narrow(2, xs, xe - xs).zero_();
  }
  return x * mask.to(x.options());
}

torch::Tensor diff_augment(const torch::Tensor& x, const std::string& policy, const StepInput& in,
                           uint64_t stream) {
  if (policy.empty()) return x;
  const int64_t b = x.size(0), h = x.size(2), w = x.size(3);
  // Parameters follow the sample's global index: a separate sub-stream per parameter.
  auto u = [&](int64_t i, uint64_t k) {
    return counter_uniform(in.seed, static_cast<uint64_t>(in.step),
                           static_cast<uint64_t>(in.global_offset + i), stream * 16 + k);
  };
  auto per_sample = [&](uint64_t k, double lo, double hi) {
    auto t = torch::empty({b}, torch::kFloat);
    for (int64_t i = 0; i < b; ++i) t[i] = static_cast<float>(lo + (hi - lo) * u(i, k));
    return t;
  };
  torch::Tensor out = x;
  std::stringstream items(policy);
  std::string item;
  while (std::getline(items, item, ',')) {
    if (item == "color") {
      out = augment_brightness(out, per_sample(1, -0.5, 0.5));
      out = augment_saturation(out, per_sample(2, 0.0, 2.0));
      out = augment_contrast(out, per_sample(3, 0.5, 1.5));
    } else if (item == "translation") {
      const int64_t sx = static_cast<int64_t>(w * 0.125 + 0.5),
                    sy = static_cast<int64_t>(h * 0.125 + 0.5);
      std::vector<int64_t> dx(b), dy(b);
      for (int64_t i = 0; i < b; ++i) {
        dx[i] = std::min<int64_t>(sx, static_cast<int64_t>(u(i, 4) * (2 * sx + 1)) - sx);
        dy[i] = std::min<int64_t>(sy, static_cast<int64_t>(u(i, 5) * (2 * sy + 1)) - sy);
      }
      out = augment_translation(out, dx, dy);
    } else if (item == "cutout") {
      const int64_t size = static_cast<int64_t>(h * 0.5 + 0.5);
      std::vector<int64_t> x0(b), y0(b);
      for (int64_t i = 0; i < b; ++i) {
        // Centre uniform over the image, as in the reference (square may be clipped).
        x0[i] = static_cast<int64_t>(u(i, 6) * (w + 1 - size % 2)) - size / 2;
        y0[i] = static_cast<int64_t>(u(i, 7) * (h + 1 - size % 2)) - size / 2;
      }
      out = augment_cutout(out, x0, y0, size);
    } else {
      throw std::invalid_argument("diffaugment: expected color | translation | cutout, found \"" +
                                  item + "\"");
    }
  }
  return out;
}

torch::Tensor ImagePool::query(const torch::Tensor& images, const std::vector<bool>& use,
                               const StepInput& in, uint64_t stream) {
  if (capacity_ <= 0) return images;
  std::vector<torch::Tensor> out;
  for (int64_t i = 0; i < images.size(0); ++i) {
    auto img = images[i].detach().clone();
    if (!use[static_cast<size_t>(i)]) {
      out.push_back(img);
      continue;
    }
    if (size() < capacity_) {
      stored_.push_back(img);
      out.push_back(img);
      continue;
    }
    const uint64_t h = counter_hash(in.seed, static_cast<uint64_t>(in.step),
                                    static_cast<uint64_t>(in.global_offset + i), stream);
    if ((h & 1u) == 0) {
      const auto k = static_cast<size_t>((h >> 1) % static_cast<uint64_t>(capacity_));
      out.push_back(stored_[k]);
      stored_[k] = img;
    } else {
      out.push_back(img);
    }
  }
  return torch::stack(out);
}

double decayed_lr(double base, int64_t step, int64_t steps, int64_t decay_start) {
  if (decay_start <= 0 || step < decay_start || steps <= decay_start) return base;
  const double frac =
      static_cast<double>(step - decay_start) / static_cast<double>(steps - decay_start);
  return base * std::max(0.0, 1.0 - frac);
}

void set_lr(torch::optim::Optimizer& opt, double lr) {
  for (auto& group : opt.param_groups()) group.options().set_lr(lr);
}

}  // namespace culturegan::trainer
