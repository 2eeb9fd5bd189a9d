// Tiled, fully convolutional inference over an image larger than one forward pass should see:
// overlapping tiles, each output weighted by a smooth window, normalised by the summed weights.
//
// Window: separable, w(y, x) = r(y)·r(x). Along an axis a tile's weight ramps up over its first
// `overlap` pixels and down over its last `overlap` pixels with a raised cosine,
// r(i) = sin²(π/2 · (i + ½) / overlap), and is 1 in between; a side lying on the image border
// has no ramp. Two neighbours overlapping by exactly `overlap` give sin² + cos² = 1 (a
// partition of unity); where they overlap more (tiles are spread evenly, see tile_starts) the
// normalisation by Σw keeps the blend a smooth convex combination. The low weight of a tile's
// edge also down-weights the pixels that saw zero padding instead of image context.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include <torch/torch.h>

namespace culturegan::inference {

struct TileOptions {
  int64_t tile = 512;    ///< tile side in working pixels; 0 = never tile (one pass per image)
  int64_t overlap = 64;  ///< overlap of neighbouring tiles in pixels (blend ramp length)
  int64_t batch = 4;     ///< tiles per forward pass (peak memory ∝ batch · tile²)
};

/// Throws std::invalid_argument naming the flag, what was expected and found, unless:
/// tile is 0 or a multiple of 4 in [16, 16384]; overlap is a multiple of 4 >= 0 and (when
/// tiling) 2·overlap < tile ("--tile 64: expected more than 2 × --overlap = 96"); batch >= 1.
void check_tile_options(const TileOptions& options);

/// Start offsets of tiles of `tile` pixels (clipped to `length`) covering [0, length) with
/// neighbours overlapping by at least `overlap`: n = ⌈(length − overlap) / (tile − overlap)⌉
/// tiles spread evenly, first at 0, last at length − tile. length, tile and overlap must be
/// multiples of 4 (so are the starts: a stride-4 generator then sees each tile on the same
/// pixel grid as the whole image). length <= tile gives {0}.
std::vector<int64_t> tile_starts(int64_t length, int64_t tile, int64_t overlap);

/// The 1-D window r of one tile: [len] float32, ramps of `overlap` pixels on the sides
/// flagged (see the file comment). overlap 0 gives all ones.
torch::Tensor blend_ramp(int64_t len, int64_t overlap, bool ramp_start, bool ramp_end);

/// Maps [B,3,h,w] float32 tiles to [B,3,h,w] float32 outputs (same device).
using TileFn = std::function<torch::Tensor(const torch::Tensor& tiles)>;

/// Runs `fn` over the tiles of x [1,3,H,W] float32 (H, W multiples of 4; any device) in
/// batches of options.batch and returns the blended [1,3,H,W] float32 on x's device.
/// Memory: the accumulator and weight sum (16 bytes per pixel) plus one batch of tiles through
/// `fn`. `progress(done, total)` is called after each batch when given. Throws
/// std::invalid_argument for bad options or shapes, and whatever `fn` throws.
torch::Tensor run_tiled(const torch::Tensor& x, const TileOptions& options, const TileFn& fn,
                        const std::function<void(int64_t, int64_t)>& progress = {});

}  // namespace culturegan::inference
