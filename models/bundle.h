// The generator bundle: one self-describing file with everything culturegan-infer needs, for
// every model kind. It is a torch pickle (torch::pickle_save) of a dict, so Python reads it
// with `torch.load(path)`:
//   format        "culturegan-generator-bundle"
//   version       1
//   model         "stargan" | "starganv2" | "cyclegan" | "dcgan"
//   spec          {str: int} architecture, keys per model (spec_keys() in bundle.cpp): required
//                 ones, then optional ones added later (stargan: conditioning, upsample;
//                 cyclegan, dcgan: upsample), which read as 0 (the paper's layers) when absent
//   cultures      [str]  culture index → name (cyclegan: [domain A, domain B])
//   image_size    int    training resolution S
//   normalisation "[-1,1]" (input and output: x = pixel / 127.5 - 1)
//   weights       {name: float32 tensor}: the EMA / exported generator networks' parameters
//                 and buffers; stargan: G's names; other models: "<net>.<name>" with nets
//                 starganv2 G, F, E; cyclegan G_AB, G_BA; dcgan G
//   checksum      CRC-32 (zlib) of the canonical serialisation of everything above, hex
// Documented in docs/bundle-format.md.
#pragma once
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "models/stargan.h"
#include "models/starganv2.h"
#include "models/zoo.h"

namespace culturegan::models {

class BundleError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct GeneratorBundle {
  std::string model = "stargan";
  std::vector<std::pair<std::string, int64_t>> spec;  ///< architecture, in write order
  std::vector<std::string> cultures;
  std::string normalisation = "[-1,1]";
  std::vector<std::pair<std::string, torch::Tensor>> weights;  ///< in module order

  /// spec[key]; throws BundleError "spec.<key>: missing" when absent.
  int64_t spec_value(const std::string& key) const;
  /// spec[key], or `fallback` when absent (optional keys: bundles written before them).
  int64_t spec_value_or(const std::string& key, int64_t fallback) const;
  int64_t image_size() const { return spec_value("image_size"); }
  int64_t num_cultures() const { return spec_value("num_cultures"); }
};

constexpr int64_t kBundleVersion = 1;
/// Largest bundle file load_bundle() reads (4 GiB; a 256 px StarGAN is ~35 MB).
constexpr uint64_t kMaxBundleBytes = uint64_t{4} << 30;
/// Most archive entries a bundle may have (one per weight tensor, plus data.pkl and version).
constexpr size_t kMaxBundleRecords = 100000;

/// Appends `module`'s parameters and buffers (float32 CPU copies) to bundle.weights, named
/// "<prefix>.<name>" (just "<name>" when prefix is empty).
void add_weights(GeneratorBundle& bundle, const std::string& prefix,
                 const torch::nn::Module& module);

/// Copies the bundle's "<prefix>.<name>" tensors into `module`'s parameters and buffers and
/// sets eval mode. Throws BundleError "<origin>: weights: ..." naming a missing tensor or one
/// with the wrong shape.
void load_weights(const GeneratorBundle& bundle, const std::string& prefix,
                  torch::nn::Module& module, const std::string& origin);

/// model "stargan": G's weights (no prefix) and its StarGanSpec (the 6 original keys, then
/// conditioning and upsample; d_per_culture is D's and not stored).
GeneratorBundle make_bundle(const StarGanGenerator& generator,
                            const std::vector<std::string>& cultures);
/// model "starganv2": G_ema, F_ema and E_ema as G, F, E.
GeneratorBundle make_starganv2_bundle(const StarGanV2Spec& spec, const torch::nn::Module& g,
                                      const torch::nn::Module& f, const torch::nn::Module& e,
                                      const std::vector<std::string>& cultures);
/// model "cyclegan": G_AB (A → B) and G_BA; cultures = {A, B}. spec.upsample is read from the
/// modules when they are ResnetGenerators (0 otherwise); throws BundleError when G_AB's and
/// G_BA's differ.
GeneratorBundle make_cyclegan_bundle(int64_t image_size, int64_t g_conv_dim, int64_t res_blocks,
                                     const torch::nn::Module& g_ab, const torch::nn::Module& g_ba,
                                     const std::vector<std::string>& cultures);
/// model "dcgan": G_ema as G (noise + culture → image); spec.upsample from `spec`.
GeneratorBundle make_dcgan_bundle(const DcganSpec& spec, const torch::nn::Module& g,
                                  const std::vector<std::string>& cultures);

/// Writes atomically (temp file + fsync + rename). Throws BundleError naming the path.
void save_bundle(const std::string& path, const GeneratorBundle& bundle);

/// Reads and verifies a bundle from a possibly untrusted source (docs/security.md).
/// Before LibTorch parses anything: `path` is a regular file of at most kMaxBundleBytes, a zip
/// archive whose entry list (read with LibTorch's PyTorchStreamReader) holds only data.pkl,
/// version and data/<n> records (at most kMaxBundleRecords), each starting inside the file;
/// while unpickling, no single allocation may exceed the file's size (a zip entry claiming
/// more is refused). Then: format, version, model, that spec has the model's required keys and
/// no keys beyond its optional ones, each spec value in its range (e.g. g_conv_dim 1..4096,
/// image_size 1..8192; dcgan/starganv2 a power of two), that `cultures` has spec.num_cultures
/// names that are safe inside a file name (no '/', '\', control bytes, "." or ".."), that
/// every weight is a dense float32 CPU tensor of at most 8 dimensions, that the weights hold
/// at least as many parameters as the spec's network needs (so a small file cannot describe
/// a huge network), and the checksum. Shapes are checked against the network when it is
/// built (load_weights). `spec` holds the keys as stored (an old bundle's lacks the optional
/// ones, so its checksum is unchanged); read optional ones with spec_value_or.
/// Throws BundleError "<path>: <field>: expected ..., found ..." (never another type).
GeneratorBundle load_bundle(const std::string& path);

/// model "stargan": the StarGanSpec the bundle describes; missing conditioning / upsample = 0
/// (a bundle written before them: the paper's G). d_per_culture stays 0.
/// Throws BundleError "<origin>: model: ..." for another kind, "<origin>: spec: ..." for
/// out-of-range values.
StarGanSpec stargan_spec(const GeneratorBundle& bundle, const std::string& origin);

/// model "stargan": builds G from stargan_spec(bundle) and loads its weights (eval mode).
/// Throws BundleError as stargan_spec, or if a weight is missing or misshapen.
StarGanGenerator make_generator(const GeneratorBundle& bundle, const std::string& origin);

}  // namespace culturegan::models
