// Any generator bundle behind one call: what culturegan-infer and culturegan-eval run.
// Built from a bundle (models/bundle.h); LibTorch only.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include <torch/torch.h>

#include "models/bundle.h"

namespace culturegan::models {

class CultureGenerator {
 public:
  virtual ~CultureGenerator() = default;

  const GeneratorBundle& bundle() const { return bundle_; }
  /// True for image translators (stargan, starganv2, cyclegan); false for dcgan (noise →
  /// image), which only generate()s.
  virtual bool translates() const { return true; }
  /// True when translate_reference() works (starganv2: it has a style encoder).
  virtual bool has_style_encoder() const { return false; }

  /// x [N,3,H,W] float32 in [-1,1] (H, W multiples of 4) → [N,3,H,W] float32 in [-1,1].
  /// c [N,C] float32 culture weights, rows summing to 1; `source` is the inputs' culture index
  /// or -1 when unknown. Weight on the source culture keeps the input's own look:
  ///   stargan   G(x, c) (the source weight is part of the condition, as trained; with
  ///             conditioning = 1 G embeds c linearly, e = c·E, so a soft c blends the
  ///             cultures' embeddings and --strength moves e from E_source to E_target);
  ///   starganv2 G(x, s), s = Σ_{i≠source} c_i·F_i(z) + c_source·E_source(x);
  ///   cyclegan  Σ_i c_i·T_i(x), T_B = G_AB, T_A = G_BA, T_source = identity.
  /// `seed` fixes z (starganv2), one z per row. Throws std::invalid_argument (dcgan) or
  /// c10::Error on wrong shapes.
  virtual torch::Tensor translate(const torch::Tensor& x, const torch::Tensor& c, int64_t source,
                                  uint64_t seed) = 0;

  /// Reference-guided translation (StarGAN v2, eq. 2 with s = E_target(reference)):
  /// reference [1,3,S,S] float32 in [-1,1] at the bundle's image_size; `strength` in [0,1]
  /// blends styles with E_source(x) when source >= 0, pixels otherwise.
  /// Throws std::invalid_argument when the model has no style encoder.
  virtual torch::Tensor translate_reference(const torch::Tensor& x, const torch::Tensor& reference,
                                            int64_t target, double strength, int64_t source);

  /// Noise → image models (dcgan): c [N,C] culture weights → [N,3,S,S] float32 in [-1,1], one z
  /// per row from `seed`. Throws std::invalid_argument for translators.
  virtual torch::Tensor generate(const torch::Tensor& c, uint64_t seed);

  virtual void to(torch::Device device) = 0;

  /// Tiled inference: while `whole` is defined ([1,3,h,w] float32 in [-1,1], any h, w, on the
  /// generator's device), image-level quantities that translate() would compute from its x are
  /// computed from `whole` instead, so every tile of one image gets the same ones. Today that
  /// is starganv2's own style E_source(x) (read at S×S anyway). An undefined tensor restores
  /// the default. No effect on the other models.
  void set_style_image(torch::Tensor whole) { style_image_ = std::move(whole); }

 protected:
  explicit CultureGenerator(GeneratorBundle bundle) : bundle_(std::move(bundle)) {}
  GeneratorBundle bundle_;
  torch::Tensor style_image_;  // see set_style_image()
};

/// Builds the generator a bundle describes and loads its weights (eval mode, CPU).
/// Throws BundleError "<origin>: <field>: ..." on a missing or misshapen weight.
std::unique_ptr<CultureGenerator> make_culture_generator(const GeneratorBundle& bundle,
                                                         const std::string& origin);

/// z [N,z_dim] float32 ~ N(0,1), row i from a CPU generator seeded with seed + i (so a row's z
/// does not depend on the batch it is in).
torch::Tensor seeded_noise(int64_t n, int64_t z_dim, uint64_t seed);

}  // namespace culturegan::models
