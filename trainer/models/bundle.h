// The generator bundle: one self-describing file with everything culturegan-infer needs.
// It is a torch pickle (torch::pickle_save) of a dict, so Python reads it with
// `torch.load(path)`:
//   format        "culturegan-generator-bundle"
//   version       1
//   model         "stargan"
//   spec          {"num_cultures", "image_size", "g_conv_dim", "g_res_blocks", "d_conv_dim",
//   "d_layers"}: int cultures      [str]  (culture vector index → name) image_size    int (training
//   resolution S) normalisation "[-1,1]" (input and output: x = pixel / 127.5 - 1) weights
//   {parameter or buffer name: float32 tensor} of G_ema checksum      CRC-32 (zlib) of the
//   canonical serialisation of everything above, hex
// Documented in docs/bundle-format.md.
#pragma once
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "trainer/models/stargan.h"

namespace culturegan::models {

class BundleError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct GeneratorBundle {
  std::string model = "stargan";
  StarGanSpec spec;
  std::vector<std::string> cultures;
  std::string normalisation = "[-1,1]";
  std::vector<std::pair<std::string, torch::Tensor>> weights;  ///< in module order
};

constexpr int64_t kBundleVersion = 1;

/// Collects G's parameters and buffers (as float32 CPU copies) into a bundle.
GeneratorBundle make_bundle(const StarGanGenerator& generator,
                            const std::vector<std::string>& cultures);

/// Writes atomically (temp file + fsync + rename). Throws BundleError naming the path.
void save_bundle(const std::string& path, const GeneratorBundle& bundle);

/// Reads and verifies format, version, checksum, and that `cultures` matches spec.num_cultures.
/// Throws BundleError "<path>: <field>: expected ..., found ...".
GeneratorBundle load_bundle(const std::string& path);

/// Builds a generator from the bundle's spec and loads its weights (eval mode).
/// Throws BundleError if a weight is missing or has the wrong shape.
StarGanGenerator make_generator(const GeneratorBundle& bundle, const std::string& origin);

}  // namespace culturegan::models
