#include "inference/translate.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace culturegan::inference {
namespace {

int64_t culture_index(const std::string& name, const std::vector<std::string>& cultures) {
  auto it = std::find(cultures.begin(), cultures.end(), name);
  if (it == cultures.end())
    throw std::invalid_argument(fmt::format("--target: unknown culture '{}'; the bundle knows: {}",
                                            name, fmt::join(cultures, ", ")));
  return it - cultures.begin();
}

torch::Device parse_device(const std::string& d) {
  if (d == "cpu") return torch::kCPU;
  if (d == "cuda") {
    if (!torch::cuda::is_available())
      throw std::invalid_argument(
          "--device cuda: no CUDA device is available (torch::cuda::is_available() is false)");
    return torch::kCUDA;
  }
  throw std::invalid_argument(fmt::format("--device: expected cpu or cuda, found '{}'", d));
}

}  // namespace

std::vector<TargetSpec> parse_targets(const std::string& text,
                                      const std::vector<std::string>& cultures) {
  if (text == "all") {
    std::vector<TargetSpec> out;
    for (const auto& c : cultures) out.push_back({{c, 1.0}});
    return out;
  }
  TargetSpec spec;
  std::stringstream ss(text);
  std::string item;
  double sum = 0;
  while (std::getline(ss, item, ',')) {
    std::string name = item;
    double w = 1.0;
    if (const auto colon = item.find(':'); colon != std::string::npos) {
      name = item.substr(0, colon);
      const std::string ws = item.substr(colon + 1);
      char* end = nullptr;
      w = std::strtod(ws.c_str(), &end);
      if (ws.empty() || *end != '\0' || !std::isfinite(w) || w < 0)
        throw std::invalid_argument(
            fmt::format("--target: weight of '{}': expected a number >= 0, found '{}'", name, ws));
    }
    culture_index(name, cultures);
    spec.emplace_back(name, w);
    sum += w;
  }
  if (spec.empty())
    throw std::invalid_argument("--target: expected CULTURE, CULTURE:w,... or all; found nothing");
  if (sum <= 0)
    throw std::invalid_argument(fmt::format("--target '{}': the weights sum to 0", text));
  for (auto& [name, w] : spec) w /= sum;
  return {spec};
}

std::string target_label(const TargetSpec& spec) {
  if (spec.size() == 1) return spec[0].first;
  std::string out;
  for (const auto& [name, w] : spec)
    out += fmt::format("{}{}-{:.2f}", out.empty() ? "" : "+", name, w);
  return out;
}

Translator::Translator(const std::string& bundle_path, const std::string& device)
    : device_(parse_device(device)) {
  gen_ = models::make_culture_generator(models::load_bundle(bundle_path), bundle_path);
  gen_->to(device_);
}

torch::Tensor Translator::culture_vector(const TargetSpec& spec, double strength,
                                         const std::string& source) const {
  if (!(strength >= 0 && strength <= 1))
    throw std::invalid_argument(
        fmt::format("--strength: expected a value in [0,1], found {}", strength));
  auto c = torch::zeros({static_cast<int64_t>(cultures().size())}, torch::kFloat);
  for (const auto& [name, w] : spec) c[culture_index(name, cultures())] += w;
  if (!source.empty()) {
    auto src = torch::zeros_like(c);
    src[culture_index(source, cultures())] = 1.0;
    c = strength * c + (1.0 - strength) * src;
  }
  return c;
}

torch::Tensor Translator::to_tensor(const data::RgbImage& image) const {
  return torch::from_blob(const_cast<uint8_t*>(image.pixels.data()),
                          {1, image.height, image.width, 3}, torch::kUInt8)
      .permute({0, 3, 1, 2})
      .to(torch::kFloat)
      .div(127.5)
      .sub(1.0)
      .to(device_);
}

namespace {
data::RgbImage to_image(const torch::Tensor& y) {
  auto u8 = y.add(1.0)
                .mul(127.5)
                .round()
                .clamp(0, 255)
                .to(torch::kUInt8)
                .permute({0, 2, 3, 1})
                .contiguous()
                .to(torch::kCPU);
  data::RgbImage out;
  out.height = static_cast<int>(y.size(2));
  out.width = static_cast<int>(y.size(3));
  out.pixels.assign(u8.data_ptr<uint8_t>(), u8.data_ptr<uint8_t>() + u8.numel());
  return out;
}
// Resized so the short side is `s`, sides rounded to multiples of 4.
data::RgbImage to_working_size(const data::RgbImage& image, int64_t s) {
  const double scale = static_cast<double>(s) / std::min(image.width, image.height);
  auto round4 = [](double v) { return std::max(4, static_cast<int>(std::lround(v / 4.0)) * 4); };
  return data::resize_to(image, round4(image.width * scale), round4(image.height * scale));
}
}  // namespace

data::RgbImage Translator::translate(const data::RgbImage& image, const TargetSpec& spec,
                                     double strength, const std::string& source,
                                     uint64_t seed) const {
  torch::NoGradGuard no_grad;
  auto x = to_tensor(to_working_size(image, image_size()));
  auto c = culture_vector(spec, strength, source).unsqueeze(0).to(device_);
  const int64_t src = source.empty() ? -1 : culture_index(source, cultures());
  auto y = gen_->translate(x, c, src, seed);
  if (source.empty()) y = strength * y + (1.0 - strength) * x;
  return data::resize_to(to_image(y), image.width, image.height);
}

data::RgbImage Translator::translate_reference(const data::RgbImage& image,
                                               const data::RgbImage& reference,
                                               const std::string& target, double strength,
                                               const std::string& source) const {
  if (!(strength >= 0 && strength <= 1))
    throw std::invalid_argument(
        fmt::format("--strength: expected a value in [0,1], found {}", strength));
  torch::NoGradGuard no_grad;
  auto x = to_tensor(to_working_size(image, image_size()));
  const int s = static_cast<int>(image_size());
  auto ref = to_tensor(data::resize_square(reference, s));
  const int64_t src = source.empty() ? -1 : culture_index(source, cultures());
  auto y = gen_->translate_reference(x, ref, culture_index(target, cultures()), strength, src);
  return data::resize_to(to_image(y), image.width, image.height);
}

data::RgbImage Translator::generate(const TargetSpec& spec, uint64_t seed) const {
  torch::NoGradGuard no_grad;
  auto c = culture_vector(spec, 1.0, "").unsqueeze(0);
  return to_image(gen_->generate(c, seed));
}

}  // namespace culturegan::inference
