#include "data/augment.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace culturegan::data {

AugmentDraw draw_augmentation(int image_size, float min_area, bool flip_allowed, CounterRng& rng) {
  AugmentDraw d;
  d.crop = {0, 0, image_size, image_size};
  if (min_area > 0.0f && min_area < 1.0f) {
    const double area = double(image_size) * image_size;
    const double log_lo = std::log(3.0 / 4.0), log_hi = std::log(4.0 / 3.0);
    for (int attempt = 0; attempt < 10; ++attempt) {
      const double target = area * (min_area + (1.0 - min_area) * rng.uniform());
      const double ratio = std::exp(log_lo + (log_hi - log_lo) * rng.uniform());
      const int w = static_cast<int>(std::lround(std::sqrt(target * ratio)));
      const int h = static_cast<int>(std::lround(std::sqrt(target / ratio)));
      if (w > 0 && h > 0 && w <= image_size && h <= image_size) {
        d.crop.y = static_cast<int>(rng.below(static_cast<uint64_t>(image_size - h + 1)));
        d.crop.x = static_cast<int>(rng.below(static_cast<uint64_t>(image_size - w + 1)));
        d.crop.width = w;
        d.crop.height = h;
        break;
      }
    }
  }
  d.flip = flip_allowed && (rng.next() & 1u);
  return d;
}

namespace {

struct Tap {
  int i0, i1;
  float w1;  // weight of i1; i0 gets 1 - w1
};

// Source taps for `out` samples over [start, start+len) (align_corners=false, clamped).
std::vector<Tap> taps(int start, int len, int out, bool flip) {
  std::vector<Tap> t(static_cast<size_t>(out));
  const double scale = double(len) / out;
  for (int o = 0; o < out; ++o) {
    double s = (o + 0.5) * scale - 0.5;
    s = std::clamp(s, 0.0, double(len - 1));
    int i0 = static_cast<int>(s);
    const int i1 = std::min(i0 + 1, len - 1);
    const float w1 = static_cast<float>(s - i0);
    const int dst = flip ? out - 1 - o : o;
    t[static_cast<size_t>(dst)] = {start + i0, start + i1, w1};
  }
  return t;
}

}  // namespace

void render_augmented(const uint8_t* src, int image_size, const AugmentDraw& draw, int out_size,
                      float* dst) {
  const int s = image_size;
  const size_t plane = size_t(out_size) * out_size;
  constexpr float kScale = 1.0f / 127.5f;
  const CropBox& c = draw.crop;
  if (c.x == 0 && c.y == 0 && c.width == s && c.height == s && out_size == s) {
    for (int y = 0; y < s; ++y) {
      const uint8_t* row = src + size_t(y) * s * 3;
      for (int x = 0; x < s; ++x) {
        const uint8_t* p = row + size_t(draw.flip ? s - 1 - x : x) * 3;
        const size_t o = size_t(y) * s + x;
        dst[o] = p[0] * kScale - 1.0f;
        dst[plane + o] = p[1] * kScale - 1.0f;
        dst[2 * plane + o] = p[2] * kScale - 1.0f;
      }
    }
    return;
  }
  // Separable: a horizontal pass over the source rows the output needs (planar float
  // rows, one per channel), then a vertical blend that is contiguous and vectorises.
  const std::vector<Tap> tx = taps(c.x, c.width, out_size, draw.flip);
  const std::vector<Tap> ty = taps(c.y, c.height, out_size, false);
  const int row_lo = ty.front().i0, row_hi = ty.back().i1;
  const size_t row_stride = size_t(3) * out_size;
  thread_local std::vector<float> rows;
  rows.resize(size_t(row_hi - row_lo + 1) * row_stride);
  for (int y = row_lo; y <= row_hi; ++y) {
    const uint8_t* in = src + size_t(y) * s * 3;
    float* r = rows.data() + size_t(y - row_lo) * row_stride;
    for (int ox = 0; ox < out_size; ++ox) {
      const Tap& t = tx[size_t(ox)];
      const uint8_t* a = in + size_t(t.i0) * 3;
      const uint8_t* b = in + size_t(t.i1) * 3;
      const float w1 = t.w1, w0 = 1.0f - t.w1;
      r[ox] = a[0] * w0 + b[0] * w1;
      r[out_size + ox] = a[1] * w0 + b[1] * w1;
      r[2 * out_size + ox] = a[2] * w0 + b[2] * w1;
    }
  }
  for (int oy = 0; oy < out_size; ++oy) {
    const Tap& t = ty[size_t(oy)];
    const float w1 = t.w1 * kScale, w0 = (1.0f - t.w1) * kScale;
    const float* r0 = rows.data() + size_t(t.i0 - row_lo) * row_stride;
    const float* r1 = rows.data() + size_t(t.i1 - row_lo) * row_stride;
    for (int ch = 0; ch < 3; ++ch) {
      const float* p0 = r0 + size_t(ch) * out_size;
      const float* p1 = r1 + size_t(ch) * out_size;
      float* o = dst + ch * plane + size_t(oy) * out_size;
      for (int ox = 0; ox < out_size; ++ox) o[ox] = p0[ox] * w0 + p1[ox] * w1 - 1.0f;
    }
  }
}

}  // namespace culturegan::data
