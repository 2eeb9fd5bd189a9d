#include "inference/translate.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "models/norm_stats.h"

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

WorkingSize parse_working_size(const std::string& text) {
  if (text == "train") return {WorkingSize::kTrain, 0};
  if (text == "native") return {WorkingSize::kNative, 0};
  char* end = nullptr;
  const long long n = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || n < 16 || n > 65536)
    throw std::invalid_argument(fmt::format(
        "--size: expected train, native or a short side N in [16, 65536] pixels, found '{}'",
        text));
  return {WorkingSize::kShortSide, static_cast<int64_t>(n)};
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
      .div_(127.5)
      .sub_(1.0)
      .to(device_);
}

namespace {
data::RgbImage to_image(const torch::Tensor& y) {
  auto t = y.add(1.0);  // in place from here: one float copy of a large image, not five
  t.mul_(127.5).round_().clamp_(0, 255);
  auto u8 = t.to(torch::kUInt8).permute({0, 2, 3, 1}).contiguous().to(torch::kCPU);
  t = torch::Tensor();
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
// Edge-pads x [1,3,H,W] on the right/bottom to multiples of 4.
torch::Tensor pad4(const torch::Tensor& x) {
  namespace F = torch::nn::functional;
  const int64_t ph = (4 - x.size(2) % 4) % 4, pw = (4 - x.size(3) % 4) % 4;
  if (ph == 0 && pw == 0) return x;
  return F::pad(x, F::PadFuncOptions({0, pw, 0, ph}).mode(torch::kReplicate));
}
// Clears the generator's style image however the tiled pass ends.
struct StyleImageGuard {
  models::CultureGenerator& gen;
  ~StyleImageGuard() { gen.set_style_image(torch::Tensor()); }
};
}  // namespace

data::RgbImage Translator::run(const data::RgbImage& image, const InferOptions& opt,
                               const std::function<torch::Tensor(const torch::Tensor&)>& fn) const {
  check_tile_options(opt.tiles);
  if (opt.stats_size != 0 && (opt.stats_size < 16 || opt.stats_size > 65536))
    throw std::invalid_argument(fmt::format(
        "--stats-size: expected 0 (= --tile) or a long side in [16, 65536] pixels, found {}",
        opt.stats_size));
  torch::NoGradGuard no_grad;
  const data::RgbImage work =
      opt.size.kind == WorkingSize::kNative
          ? image
          : to_working_size(
                image, opt.size.kind == WorkingSize::kTrain ? image_size() : opt.size.short_side);
  const auto x = pad4(to_tensor(work));
  const int64_t tile = opt.tiles.tile;
  torch::Tensor y;
  if (tile == 0 || (x.size(2) <= tile && x.size(3) <= tile)) {
    y = fn(x);
    if (opt.progress) opt.progress(1, 1);
  } else {
    // Whole-image quantities from a shrunk copy: its long side <= stats_size (default: tile).
    const double long_side = std::max(work.width, work.height);
    const double scale =
        std::min(1.0, static_cast<double>(opt.stats_size > 0 ? opt.stats_size : tile) / long_side);
    const auto xs = scale >= 1.0 ? x
                                 : pad4(to_tensor(data::resize_to(
                                       work, std::max(1, static_cast<int>(work.width * scale)),
                                       std::max(1, static_cast<int>(work.height * scale)))));
    StyleImageGuard guard{*gen_};
    gen_->set_style_image(xs);
    models::NormStats stats;
    if (opt.global_norm_stats) {
      models::NormStatsScope record(models::NormStatsMode::kRecord, &stats);
      fn(xs);
    }
    y = run_tiled(
        x, opt.tiles,
        [&](const torch::Tensor& tiles) {
          if (!opt.global_norm_stats) return fn(tiles);
          models::NormStatsScope replay(models::NormStatsMode::kReplay, &stats);
          auto out = fn(tiles);
          if (replay.replayed() != stats.layers.size())
            throw std::runtime_error(fmt::format(
                "InstanceNorm statistics replay: a tile pass used {} of {} recorded norms",
                replay.replayed(), stats.layers.size()));
          return out;
        },
        opt.progress);
  }
  y = y.slice(2, 0, work.height).slice(3, 0, work.width);
  const data::RgbImage out = to_image(y);
  y = torch::Tensor();
  if (out.width == image.width && out.height == image.height) return out;
  return data::resize_to(out, image.width, image.height);
}

data::RgbImage Translator::translate(const data::RgbImage& image, const TargetSpec& spec,
                                     double strength, const std::string& source, uint64_t seed,
                                     const InferOptions& options) const {
  auto c = culture_vector(spec, strength, source).unsqueeze(0).to(device_);
  const int64_t src = source.empty() ? -1 : culture_index(source, cultures());
  return run(image, options, [&](const torch::Tensor& x) {
    auto y = gen_->translate(x, c.expand({x.size(0), -1}), src, seed);
    if (source.empty()) y = strength * y + (1.0 - strength) * x;
    return y;
  });
}

data::RgbImage Translator::translate_reference(const data::RgbImage& image,
                                               const data::RgbImage& reference,
                                               const std::string& target, double strength,
                                               const std::string& source,
                                               const InferOptions& options) const {
  if (!(strength >= 0 && strength <= 1))
    throw std::invalid_argument(
        fmt::format("--strength: expected a value in [0,1], found {}", strength));
  torch::NoGradGuard no_grad;
  const int s = static_cast<int>(image_size());
  const auto ref = to_tensor(data::resize_square(reference, s));
  const int64_t src = source.empty() ? -1 : culture_index(source, cultures());
  const int64_t tgt = culture_index(target, cultures());
  return run(image, options, [&](const torch::Tensor& x) {
    return gen_->translate_reference(x, ref, tgt, strength, src);
  });
}

data::RgbImage Translator::generate(const TargetSpec& spec, uint64_t seed) const {
  torch::NoGradGuard no_grad;
  auto c = culture_vector(spec, 1.0, "").unsqueeze(0);
  return to_image(gen_->generate(c, seed));
}

}  // namespace culturegan::inference
