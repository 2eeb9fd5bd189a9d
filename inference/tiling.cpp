#include "inference/tiling.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

namespace culturegan::inference {

void check_tile_options(const TileOptions& o) {
  if (o.tile != 0 && (o.tile < 16 || o.tile > 16384 || o.tile % 4 != 0))
    throw std::invalid_argument(fmt::format(
        "--tile: expected 0 (no tiling) or a multiple of 4 in [16, 16384] pixels, found {}",
        o.tile));
  if (o.overlap < 0 || o.overlap % 4 != 0)
    throw std::invalid_argument(
        fmt::format("--overlap: expected a multiple of 4 >= 0 pixels, found {}", o.overlap));
  if (o.tile != 0 && 2 * o.overlap >= o.tile)
    throw std::invalid_argument(
        fmt::format("--tile {}: expected more than 2 × --overlap = {} (each tile blends {} "
                    "pixels on both sides), found {}",
                    o.tile, 2 * o.overlap, o.overlap, o.tile));
  if (o.batch < 1)
    throw std::invalid_argument(fmt::format("--batch: expected >= 1 tiles, found {}", o.batch));
}

std::vector<int64_t> tile_starts(int64_t length, int64_t tile, int64_t overlap) {
  if (length % 4 || tile % 4 || overlap % 4 || tile <= overlap || length < 1)
    throw std::invalid_argument(fmt::format(
        "tile_starts: length {}, tile {}, overlap {}: expected multiples of 4, tile > overlap",
        length, tile, overlap));
  if (length <= tile) return {0};
  const int64_t n = (length - overlap + (tile - overlap) - 1) / (tile - overlap);
  std::vector<int64_t> starts;
  const int64_t last = length - tile;
  for (int64_t i = 0; i < n; ++i) {
    // Evenly spread, rounded down to a multiple of 4; the last one exactly at length - tile.
    const int64_t s = i == n - 1 ? last : (last * i / (n - 1)) / 4 * 4;
    starts.push_back(s);
  }
  return starts;
}

torch::Tensor blend_ramp(int64_t len, int64_t overlap, bool ramp_start, bool ramp_end) {
  auto r = torch::ones({len}, torch::kFloat);
  const int64_t k = std::min(overlap, len / 2);
  auto a = r.accessor<float, 1>();
  for (int64_t i = 0; i < k; ++i) {
    const double s = std::sin(M_PI / 2 * (static_cast<double>(i) + 0.5) / static_cast<double>(k));
    if (ramp_start) a[i] = static_cast<float>(s * s);
    if (ramp_end) a[len - 1 - i] = static_cast<float>(s * s);
  }
  return r;
}

torch::Tensor run_tiled(const torch::Tensor& x, const TileOptions& o, const TileFn& fn,
                        const std::function<void(int64_t, int64_t)>& progress) {
  check_tile_options(o);
  if (x.dim() != 4 || x.size(0) != 1 || x.size(1) != 3 || x.size(2) % 4 || x.size(3) % 4)
    throw std::invalid_argument(fmt::format(
        "run_tiled: x must be [1,3,H,W] with H, W multiples of 4, found {}", c10::str(x.sizes())));
  const int64_t h = x.size(2), w = x.size(3);
  const int64_t th = o.tile == 0 ? h : std::min(o.tile, h);
  const int64_t tw = o.tile == 0 ? w : std::min(o.tile, w);
  const auto ys = tile_starts(h, th, std::min(o.overlap, th - 4));
  const auto xs = tile_starts(w, tw, std::min(o.overlap, tw - 4));
  std::vector<std::pair<int64_t, int64_t>> tiles;
  for (int64_t y0 : ys)
    for (int64_t x0 : xs) tiles.emplace_back(y0, x0);
  if (tiles.size() == 1) {
    auto y = fn(x);
    if (progress) progress(1, 1);
    return y;
  }
  auto acc = torch::zeros_like(x);
  auto wsum = torch::zeros({1, 1, h, w}, x.options());
  const int64_t total = static_cast<int64_t>(tiles.size());
  using torch::indexing::Slice;
  for (int64_t b = 0; b < total; b += o.batch) {
    const int64_t e = std::min(total, b + o.batch);
    std::vector<torch::Tensor> batch;
    for (int64_t i = b; i < e; ++i) {
      const auto [y0, x0] = tiles[static_cast<size_t>(i)];
      batch.push_back(x.index({Slice(), Slice(), Slice(y0, y0 + th), Slice(x0, x0 + tw)}));
    }
    const auto out = fn(torch::cat(batch, 0));
    if (out.sizes() != torch::IntArrayRef({e - b, 3, th, tw}))
      throw std::invalid_argument(
          fmt::format("run_tiled: the generator returned {} for [{},3,{},{}] tiles",
                      c10::str(out.sizes()), e - b, th, tw));
    for (int64_t i = b; i < e; ++i) {
      const auto [y0, x0] = tiles[static_cast<size_t>(i)];
      const auto ry = blend_ramp(th, o.overlap, y0 > 0, y0 + th < h).to(x.device());
      const auto rx = blend_ramp(tw, o.overlap, x0 > 0, x0 + tw < w).to(x.device());
      const auto win = (ry.view({th, 1}) * rx.view({1, tw})).view({1, 1, th, tw});
      acc.index({Slice(), Slice(), Slice(y0, y0 + th), Slice(x0, x0 + tw)})
          .add_(out.slice(0, i - b, i - b + 1) * win);
      wsum.index({Slice(), Slice(), Slice(y0, y0 + th), Slice(x0, x0 + tw)}).add_(win);
    }
    if (progress) progress(e, total);
  }
  return acc.div_(wsum);
}

}  // namespace culturegan::inference
