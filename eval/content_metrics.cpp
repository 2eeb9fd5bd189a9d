#include "eval/content_metrics.h"

#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "eval/metrics.h"

namespace culturegan::eval {
namespace F = torch::nn::functional;

namespace {
std::string shape(const torch::Tensor& t) {
  std::string s = "[";
  for (int64_t d = 0; d < t.dim(); ++d) s += fmt::format("{}{}", d ? "," : "", t.size(d));
  return s + "]";
}

void check_images(const char* fn, const torch::Tensor& x, int64_t min_side) {
  if (x.dim() != 4 || x.size(0) < 1 || x.size(1) != 3 || x.size(2) < min_side ||
      x.size(3) < min_side)
    throw std::invalid_argument(fmt::format(
        "{}: expected images [N>=1,3,H,W] with H, W >= {}, found {}", fn, min_side, shape(x)));
}

void check_pair(const char* fn, const torch::Tensor& a, const torch::Tensor& b, int64_t min_side) {
  check_images(fn, a, min_side);
  check_images(fn, b, min_side);
  if (a.sizes() != b.sizes())
    throw std::invalid_argument(fmt::format(
        "{}: expected two image sets of one shape, found {} and {}", fn, shape(a), shape(b)));
}
}  // namespace

torch::Tensor luma(const torch::Tensor& images) {
  check_images("luma", images, 1);
  auto x = images.to(torch::kDouble);
  return 0.299 * x.narrow(1, 0, 1) + 0.587 * x.narrow(1, 1, 1) + 0.114 * x.narrow(1, 2, 1);
}

torch::Tensor sobel_magnitude(const torch::Tensor& gray) {
  if (gray.dim() != 4 || gray.size(1) != 1 || gray.size(2) < 3 || gray.size(3) < 3)
    throw std::invalid_argument(
        fmt::format("sobel_magnitude: expected [N,1,H,W] with H, W >= 3, found {}", shape(gray)));
  auto gx = torch::tensor({-1.0, 0.0, 1.0, -2.0, 0.0, 2.0, -1.0, 0.0, 1.0}, torch::kDouble)
                .view({1, 1, 3, 3});
  auto gy = gx.transpose(2, 3).contiguous();
  auto y = gray.to(torch::kDouble);
  return (F::conv2d(y, gx).pow(2) + F::conv2d(y, gy).pow(2)).sqrt();
}

double gradient_correlation(const torch::Tensor& a, const torch::Tensor& b) {
  torch::NoGradGuard no_grad;
  check_pair("gradient_correlation", a, b, 3);
  auto ga = sobel_magnitude(luma(a)).flatten(1), gb = sobel_magnitude(luma(b)).flatten(1);
  ga = ga - ga.mean(1, true);
  gb = gb - gb.mean(1, true);
  auto va = ga.pow(2).mean(1), vb = gb.pow(2).mean(1), cov = (ga * gb).mean(1);
  auto flat = (va < 1e-12).logical_or(vb < 1e-12);
  auto r = torch::where(flat, torch::zeros_like(cov), cov / (va * vb).clamp_min(1e-300).sqrt());
  return r.mean().item<double>();
}

double gray_ssim(const torch::Tensor& a, const torch::Tensor& b) {
  torch::NoGradGuard no_grad;
  check_pair("gray_ssim", a, b, 1);
  return ssim(luma(a), luma(b));
}

torch::Tensor checkerboard_energy(const torch::Tensor& images) {
  torch::NoGradGuard no_grad;
  check_images("checkerboard_energy", images, 4);
  const int64_t h = images.size(2), w = images.size(3);
  if (h % 4 != 0 || w % 4 != 0)
    throw std::invalid_argument(fmt::format(
        "checkerboard_energy: expected H and W multiples of 4, found {}", shape(images)));
  auto y = luma(images).squeeze(1);
  y = y - y.mean({1, 2}, true);
  auto spec = torch::fft::fft2(y);
  auto power = torch::real(spec).pow(2) + torch::imag(spec).pow(2);
  auto mask = torch::zeros({h, w}, torch::kBool);
  for (int64_t k : {1, 2, 3}) {
    mask.select(0, k * h / 4).fill_(true);
    mask.select(1, k * w / 4).fill_(true);
  }
  const double norm = static_cast<double>(h) * static_cast<double>(w);
  return (power * mask.to(torch::kDouble)).sum({1, 2}) / (norm * norm);
}

double checkerboard_index(const torch::Tensor& translation, const torch::Tensor& source,
                          double eps) {
  check_pair("checkerboard_index", translation, source, 4);
  const double et = checkerboard_energy(translation).mean().item<double>();
  const double es = checkerboard_energy(source).mean().item<double>();
  return (et + eps) / (es + eps);
}

}  // namespace culturegan::eval
