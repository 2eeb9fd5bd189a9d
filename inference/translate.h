// Translation of arbitrary images with a generator bundle. Links LibTorch and stb only
// (no MPI, NCCL or HDF5).
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "data/image_io.h"
#include "inference/tiling.h"
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

/// The resolution G runs at (--size): kTrain = short side image_size() (the bundle's training
/// size), kNative = the input's own pixels, kShortSide = short side `short_side` pixels.
struct WorkingSize {
  enum Kind { kTrain, kNative, kShortSide } kind = kTrain;
  int64_t short_side = 0;
};

/// Parses --size: "train" | "native" | N (an integer in [16, 65536]). Throws
/// std::invalid_argument "--size: expected train, native or a short side N in [16, 65536]
/// pixels, found '<text>'".
WorkingSize parse_working_size(const std::string& text);

/// How a translation is run. The defaults reproduce the original behaviour (training size;
/// such an image is smaller than one tile, so one pass).
struct InferOptions {
  WorkingSize size;
  TileOptions tiles;
  /// Tiled images: true = InstanceNorm statistics of the whole image (a first pass over the
  /// working image shrunk so its long side is <= stats_size records them; every tile uses
  /// them: models/norm_stats.h); false = each tile's own statistics (seams; for comparison).
  bool global_norm_stats = true;
  int64_t stats_size = 0;  ///< long side of the statistics pass in pixels; 0 = tiles.tile
  /// Called after each batch of tiles of the current image: (done, total).
  std::function<void(int64_t, int64_t)> progress;
};

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

  /// Translates `image` (any size, 8-bit RGB) and returns an image of the same size.
  /// The working image: resized to options.size (kTrain / kShortSide: short side S, aspect
  /// kept, sides rounded to multiples of 4, area/bilinear resampling; kNative: the pixels as
  /// they are), edge-padded to multiples of 4 on the right/bottom. G runs on it fully
  /// convolutionally (CultureGenerator::translate, z from `seed` for starganv2): in one pass
  /// when both sides fit options.tiles.tile (or tile is 0), else tiled (inference/tiling.h)
  /// with the InstanceNorm statistics chosen by options.global_norm_stats. The padding is
  /// cropped and the result resized back to the input's size (kNative: no resampling).
  /// With no source culture, out = strength · G(x, c) + (1 − strength) · x.
  /// Throws std::invalid_argument for a dcgan bundle or bad options (naming the flag).
  data::RgbImage translate(const data::RgbImage& image, const TargetSpec& spec, double strength,
                           const std::string& source, uint64_t seed = 0,
                           const InferOptions& options = {}) const;

  /// Reference-guided (starganv2 bundles): the style of `reference` (resized to
  /// image_size()², centre-cropped) read as culture `target`; working size and tiling as
  /// translate(). Throws std::invalid_argument for other models or an unknown culture.
  data::RgbImage translate_reference(const data::RgbImage& image, const data::RgbImage& reference,
                                     const std::string& target, double strength,
                                     const std::string& source,
                                     const InferOptions& options = {}) const;

  /// dcgan bundles: one image_size()² image of culture mix `spec` from noise seed `seed`.
  /// Throws std::invalid_argument for translators.
  data::RgbImage generate(const TargetSpec& spec, uint64_t seed) const;

 private:
  torch::Tensor to_tensor(const data::RgbImage& image) const;  // [1,3,H,W] in [-1,1]
  // Working image → fn (tiled or not, with norm statistics) → output at the input's size.
  data::RgbImage run(const data::RgbImage& image, const InferOptions& options,
                     const std::function<torch::Tensor(const torch::Tensor&)>& fn) const;
  std::unique_ptr<models::CultureGenerator> gen_;
  torch::Device device_;
};

}  // namespace culturegan::inference
