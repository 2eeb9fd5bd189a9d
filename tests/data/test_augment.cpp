#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "data/augment.h"
#include "tests/data/test_util.h"

using namespace culturegan;
using namespace culturegan::data;

namespace {

// Reference: crop, then bilinear resize with align_corners=false (PyTorch's
// F.interpolate rule, source coordinate clamped to the crop), then flip, in double.
double reference(const std::vector<uint8_t>& src, int s, const CropBox& c, bool flip, int out,
                 int ch, int oy, int ox) {
  if (flip) ox = out - 1 - ox;
  auto coord = [](int o, int len, int outn) {
    double v = (o + 0.5) * double(len) / outn - 0.5;
    return std::min(std::max(v, 0.0), double(len - 1));
  };
  const double sy = coord(oy, c.height, out), sx = coord(ox, c.width, out);
  const int y0 = int(sy), x0 = int(sx);
  const int y1 = std::min(y0 + 1, c.height - 1), x1 = std::min(x0 + 1, c.width - 1);
  const double wy = sy - y0, wx = sx - x0;
  auto px = [&](int y, int x) { return double(src[(size_t(c.y + y) * s + c.x + x) * 3 + ch]); };
  const double v = (px(y0, x0) * (1 - wx) + px(y0, x1) * wx) * (1 - wy) +
                   (px(y1, x0) * (1 - wx) + px(y1, x1) * wx) * wy;
  return v / 127.5 - 1.0;
}

}  // namespace

TEST(Augment, RenderMatchesABilinearReference) {
  const int s = 20;
  const RgbImage img = testutil::pattern_image(s, s, 4);
  for (int trial = 0; trial < 40; ++trial) {
    CounterRng rng(3, static_cast<uint64_t>(trial));
    const AugmentDraw d = draw_augmentation(s, trial % 4 == 0 ? 0.0f : 0.3f, true, rng);
    const int out = trial % 3 == 0 ? 13 : s;  // also a different output size
    std::vector<float> dst(size_t(3) * out * out);
    render_augmented(img.pixels.data(), s, d, out, dst.data());
    for (int ch = 0; ch < 3; ++ch)
      for (int y = 0; y < out; ++y)
        for (int x = 0; x < out; ++x)
          ASSERT_NEAR(dst[(size_t(ch) * out + y) * out + x],
                      reference(img.pixels, s, d.crop, d.flip, out, ch, y, x), 2e-5)
              << "trial " << trial << " ch " << ch << " y " << y << " x " << x;
  }
}

TEST(Augment, CropsStayInsideAndRespectTheAreaRange) {
  const int s = 64;
  int flips = 0, cropped = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    CounterRng rng(9, static_cast<uint64_t>(trial));
    const AugmentDraw d = draw_augmentation(s, 0.25f, true, rng);
    const CropBox& c = d.crop;
    ASSERT_GE(c.x, 0);
    ASSERT_GE(c.y, 0);
    ASSERT_LE(c.x + c.width, s);
    ASSERT_LE(c.y + c.height, s);
    const double area = double(c.width) * c.height / (s * s);
    ASSERT_GE(area, 0.25 * 0.9);  // rounding of w and h
    ASSERT_LE(area, 1.0);
    cropped += c.width < s || c.height < s;
    flips += d.flip;
  }
  EXPECT_GT(cropped, 1800);
  EXPECT_NEAR(flips, 1000, 120);
  // Off: whole image, never flipped when not allowed; same rng stream -> same draw.
  CounterRng a(1, 1), b(1, 1);
  const AugmentDraw da = draw_augmentation(s, 0.0f, false, a),
                    db = draw_augmentation(s, 0.0f, false, b);
  EXPECT_EQ(da.crop.width, s);
  EXPECT_FALSE(da.flip);
  EXPECT_EQ(da.crop.x, db.crop.x);
}
