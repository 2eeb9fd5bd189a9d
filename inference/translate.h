// Translation of arbitrary images with a generator bundle. Links LibTorch and stb only
// (no MPI, NCCL or HDF5).
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "data/image_io.h"
#include "models/culture_generator.h"

namespace culturegan::inference {

/// A culture vector request: one or more (culture, weight) pairs.
using TargetSpec = std::vector<std::pair<std::string, double>>;

/// Parses "ukiyo_e", "ukiyo_e:0.5,chinese_ink_landscape:0.5" or "all" (one spec per culture)
/// against the bundle's culture names. Weights must be >= 0 and sum to > 0; they are
/// normalised to sum 1. Throws std::invalid_argument naming the unknown culture and listing
/// the known ones.
std::vector<TargetSpec> parse_targets(const std::string& text,
                                      const std::vector<std::string>& cultures);

/// "ukiyo_e" or "ukiyo_e-0.50+chinese_ink_landscape-0.50": a file-name-safe label.
std::string target_label(const TargetSpec& spec);

class Translator {
 public:
  /// Loads and verifies the bundle (throws models::BundleError) onto `device` ("cpu"|"cuda").
  /// Any model kind: stargan, starganv2 and cyclegan translate; dcgan generates.
  Translator(const std::string& bundle_path, const std::string& device);

  const std::vector<std::string>& cultures() const { return gen_->bundle().cultures; }
  int64_t image_size() const { return gen_->bundle().image_size(); }
  const std::string& model() const { return gen_->bundle().model; }
  bool translates() const { return gen_->translates(); }

  /// The culture vector [C] float32 for `spec` at `strength` in [0,1]:
  /// c = strength · target + (1 − strength) · onehot(source) when `source` names a culture;
  /// with no source culture, returns the target vector (strength then blends pixels).
  torch::Tensor culture_vector(const TargetSpec& spec, double strength,
                               const std::string& source) const;

  /// Translates `image` (any size): resized so its short side is image_size() (aspect kept,
  /// sides rounded to multiples of 4), run through the generator (CultureGenerator::translate,
  /// z from `seed` for starganv2), resized back to the input's size.
  /// With no source culture, out = strength · G(x, c) + (1 − strength) · x.
  /// Throws std::invalid_argument for a dcgan bundle.
  data::RgbImage translate(const data::RgbImage& image, const TargetSpec& spec, double strength,
                           const std::string& source, uint64_t seed = 0) const;

  /// Reference-guided (starganv2 bundles): the style of `reference` (resized to
  /// image_size()², centre-cropped) read as culture `target`. Throws std::invalid_argument
  /// for other models or an unknown culture.
  data::RgbImage translate_reference(const data::RgbImage& image, const data::RgbImage& reference,
                                     const std::string& target, double strength,
                                     const std::string& source) const;

  /// dcgan bundles: one image_size()² image of culture mix `spec` from noise seed `seed`.
  /// Throws std::invalid_argument for translators.
  data::RgbImage generate(const TargetSpec& spec, uint64_t seed) const;

 private:
  torch::Tensor to_tensor(const data::RgbImage& image) const;  // [1,3,H,W] in [-1,1]
  std::unique_ptr<models::CultureGenerator> gen_;
  torch::Device device_;
};

}  // namespace culturegan::inference
