#include <gtest/gtest.h>

#include "data/image_io.h"
#include "tests/data/test_util.h"

using namespace culturegan;
using data::ResizePolicy;

TEST(ImageIo, PngRoundTripIsExact) {
  const std::string dir = testutil::temp_dir("imgio");
  const data::RgbImage img = testutil::pattern_image(13, 7, 3);
  data::save_png(dir + "/a.png", img);
  const data::RgbImage back = data::load_image(dir + "/a.png");
  EXPECT_EQ(back.width, 13);
  EXPECT_EQ(back.height, 7);
  EXPECT_EQ(back.pixels, img.pixels);
}

TEST(ImageIo, DecodeGarbageNamesTheFile) {
  const std::string bytes = "definitely not an image";
  try {
    data::decode_image(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "x/y.jpg");
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("x/y.jpg: cannot decode image"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(data::load_image("/nonexistent/file.png"), std::runtime_error);
}

TEST(ImageIo, CropTakesTheCenterSquare) {
  // 30x10 image; the center 10x10 square starts at x=10. Same size: copied exactly.
  const data::RgbImage img = testutil::pattern_image(30, 10, 1);
  const data::RgbImage out = data::resize_square(img, 10, ResizePolicy::kCrop);
  ASSERT_EQ(out.width, 10);
  for (int y = 0; y < 10; ++y)
    for (int x = 0; x < 10; ++x)
      for (int c = 0; c < 3; ++c)
        ASSERT_EQ(out.pixels[(y * 10 + x) * 3 + c], img.pixels[(y * 30 + x + 10) * 3 + c]);
}

TEST(ImageIo, AreaResamplingAveragesBlocks) {
  // 4x4 -> 2x2 with a box filter: each output pixel is the mean of a 2x2 block.
  data::RgbImage img;
  img.width = img.height = 4;
  img.pixels.assign(48, 0);
  for (int y = 0; y < 2; ++y)
    for (int x = 0; x < 2; ++x) img.pixels[(y * 4 + x) * 3] = 200;  // top-left block red
  const data::RgbImage out = data::resize_square(img, 2, ResizePolicy::kCrop);
  EXPECT_EQ(out.pixels[0], 200);
  EXPECT_EQ(out.pixels[3], 0);
  EXPECT_EQ(out.pixels[6], 0);
}

TEST(ImageIo, PadLetterboxesWithBlack) {
  data::RgbImage img;
  img.width = 8;
  img.height = 4;
  img.pixels.assign(8 * 4 * 3, 255);
  const data::RgbImage out = data::resize_square(img, 8, ResizePolicy::kPad);
  EXPECT_EQ(out.pixels[0], 0);                  // top row: padding
  EXPECT_EQ(out.pixels[(2 * 8 + 0) * 3], 255);  // rows 2..5: image
  EXPECT_EQ(out.pixels[(7 * 8 + 7) * 3], 0);    // bottom row: padding
  const data::RgbImage s = data::resize_square(img, 8, ResizePolicy::kStretch);
  EXPECT_EQ(s.pixels[0], 255);
}

TEST(ImageIo, ParsePolicyAndBadArguments) {
  EXPECT_EQ(data::parse_resize_policy("pad"), ResizePolicy::kPad);
  EXPECT_THROW(data::parse_resize_policy("zoom"), std::invalid_argument);
  EXPECT_THROW(data::resize_square(data::RgbImage{}, 8), std::invalid_argument);
  EXPECT_THROW(data::resize_square(testutil::pattern_image(4, 4, 0), 0), std::invalid_argument);
}
