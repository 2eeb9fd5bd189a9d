// Translation of arbitrary images with a generator bundle. Links LibTorch and stb only
// (no MPI, NCCL or HDF5).
#pragma once
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "data/image_io.h"
#include "trainer/models/bundle.h"

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
  Translator(const std::string& bundle_path, const std::string& device);

  const std::vector<std::string>& cultures() const { return bundle_.cultures; }
  int64_t image_size() const { return bundle_.spec.image_size; }

  /// The culture vector [C] float32 for `spec` at `strength` in [0,1]:
  /// c = strength · target + (1 − strength) · onehot(source) when `source` names a culture;
  /// with no source culture, returns the target vector (strength then blends pixels).
  torch::Tensor culture_vector(const TargetSpec& spec, double strength,
                               const std::string& source) const;

  /// Translates `image` (any size): resized so its short side is image_size() (aspect kept,
  /// sides rounded to multiples of 4), run through G, resized back to the input's size.
  /// With no source culture, out = strength · G(x, c) + (1 − strength) · x.
  data::RgbImage translate(const data::RgbImage& image, const TargetSpec& spec, double strength,
                           const std::string& source) const;

 private:
  models::GeneratorBundle bundle_;
  mutable models::StarGanGenerator g_{nullptr};  // forward() is non-const in LibTorch
  torch::Device device_;
};

}  // namespace culturegan::inference
