// Per-sample augmentation, fused with the uint8 HWC -> float CHW [-1,1] conversion:
// random resized crop (torchvision semantics: area fraction in [min_area, 1], aspect ratio
// log-uniform in [3/4, 4/3], 10 attempts then the whole image), bilinear resampling
// (align_corners=false, clamped to the crop), optional horizontal flip.
#pragma once
#include <cstdint>

#include "data/counter_rng.h"

namespace culturegan::data {

struct CropBox {
  int x = 0, y = 0, width = 0, height = 0;
};

struct AugmentDraw {
  CropBox crop;       ///< region of the source image
  bool flip = false;  ///< mirror left-right
};

/// Draws the crop and flip for one sample of an S x S image. min_area = 0 disables the
/// crop (whole image); flip_allowed = false never flips. Consumes values from `rng` in a
/// fixed order, so the result is a pure function of the rng's key and stream.
AugmentDraw draw_augmentation(int image_size, float min_area, bool flip_allowed, CounterRng& rng);

/// Writes src (uint8 [S,S,3]) cropped by `draw.crop`, flipped if `draw.flip`, resampled to
/// out_size x out_size, into dst (float32 [3,out_size,out_size], values v/127.5 - 1).
void render_augmented(const uint8_t* src, int image_size, const AugmentDraw& draw, int out_size,
                      float* dst);

}  // namespace culturegan::data
