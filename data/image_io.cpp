#include "data/image_io.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <limits>
#include <stdexcept>

#include <stb_image.h>
#include <stb_image_resize.h>
#include <stb_image_write.h>

namespace culturegan::data {

ResizePolicy parse_resize_policy(const std::string& name) {
  if (name == "crop") return ResizePolicy::kCrop;
  if (name == "pad") return ResizePolicy::kPad;
  if (name == "stretch") return ResizePolicy::kStretch;
  throw std::invalid_argument("resize policy: expected crop|pad|stretch, found '" + name + "'");
}

RgbImage decode_image(const uint8_t* bytes, size_t size, const std::string& what) {
  if (size == 0) throw std::runtime_error(what + ": cannot decode image: empty file");
  if (size > static_cast<size_t>(std::numeric_limits<int>::max()))
    throw std::runtime_error(what + ": cannot decode image: file larger than 2 GiB");
  int w = 0, h = 0, channels = 0;
  unsigned char* data = stbi_load_from_memory(bytes, static_cast<int>(size), &w, &h, &channels, 3);
  if (data == nullptr) {
    const char* reason = stbi_failure_reason();
    throw std::runtime_error(what + ": cannot decode image: " + (reason ? reason : "unknown"));
  }
  RgbImage image;
  image.width = w;
  image.height = h;
  image.pixels.assign(data, data + static_cast<size_t>(w) * h * 3);
  stbi_image_free(data);
  return image;
}

RgbImage load_image(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot decode image: cannot open file");
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  return decode_image(bytes.data(), bytes.size(), path);
}

namespace {

void check_image(const RgbImage& image) {
  if (image.width < 1 || image.height < 1 ||
      image.pixels.size() != static_cast<size_t>(image.width) * image.height * 3)
    throw std::invalid_argument("resize: empty or malformed image");
}

// Area (box) filter on an axis that shrinks, triangle (bilinear) on one that grows.
void resize_region(const uint8_t* src, int src_w, int src_h, int src_stride, uint8_t* dst,
                   int dst_w, int dst_h, int dst_stride) {
  const stbir_filter fh = dst_w < src_w ? STBIR_FILTER_BOX : STBIR_FILTER_TRIANGLE;
  const stbir_filter fv = dst_h < src_h ? STBIR_FILTER_BOX : STBIR_FILTER_TRIANGLE;
  const int ok = stbir_resize(src, src_w, src_h, src_stride, dst, dst_w, dst_h, dst_stride,
                              STBIR_TYPE_UINT8, 3, STBIR_ALPHA_CHANNEL_NONE, 0, STBIR_EDGE_CLAMP,
                              STBIR_EDGE_CLAMP, fh, fv, STBIR_COLORSPACE_LINEAR, nullptr);
  if (!ok) throw std::runtime_error("resize: stb_image_resize failed (out of memory?)");
}

}  // namespace

RgbImage resize_to(const RgbImage& image, int width, int height) {
  check_image(image);
  if (width < 1 || height < 1) throw std::invalid_argument("resize: target size must be >= 1");
  RgbImage out;
  out.width = width;
  out.height = height;
  out.pixels.resize(static_cast<size_t>(width) * height * 3);
  if (width == image.width && height == image.height) {
    out.pixels = image.pixels;
    return out;
  }
  resize_region(image.pixels.data(), image.width, image.height, image.width * 3, out.pixels.data(),
                width, height, width * 3);
  return out;
}

RgbImage resize_square(const RgbImage& image, int size, ResizePolicy policy) {
  if (size < 1) throw std::invalid_argument("resize: size must be >= 1");
  check_image(image);
  const int w = image.width, h = image.height;
  RgbImage out;
  out.width = out.height = size;
  out.pixels.assign(static_cast<size_t>(size) * size * 3, 0);
  switch (policy) {
    case ResizePolicy::kStretch:
      return resize_to(image, size, size);
    case ResizePolicy::kCrop: {
      const int side = std::min(w, h);
      const int x0 = (w - side) / 2, y0 = (h - side) / 2;
      const uint8_t* src = image.pixels.data() + (static_cast<size_t>(y0) * w + x0) * 3;
      if (side == size) {
        for (int y = 0; y < size; ++y)
          std::copy_n(src + static_cast<size_t>(y) * w * 3, size * 3,
                      out.pixels.data() + static_cast<size_t>(y) * size * 3);
      } else {
        resize_region(src, side, side, w * 3, out.pixels.data(), size, size, size * 3);
      }
      return out;
    }
    case ResizePolicy::kPad: {
      // Long side becomes `size`; the short side is scaled by the same factor, centered.
      const int long_side = std::max(w, h);
      const int nw = std::max(
          1, static_cast<int>((static_cast<int64_t>(w) * size + long_side / 2) / long_side));
      const int nh = std::max(
          1, static_cast<int>((static_cast<int64_t>(h) * size + long_side / 2) / long_side));
      const int x0 = (size - nw) / 2, y0 = (size - nh) / 2;
      uint8_t* dst = out.pixels.data() + (static_cast<size_t>(y0) * size + x0) * 3;
      if (nw == w && nh == h) {
        for (int y = 0; y < h; ++y)
          std::copy_n(image.pixels.data() + static_cast<size_t>(y) * w * 3, w * 3,
                      dst + static_cast<size_t>(y) * size * 3);
      } else {
        resize_region(image.pixels.data(), w, h, w * 3, dst, nw, nh, size * 3);
      }
      return out;
    }
  }
  throw std::invalid_argument("resize: unknown policy");
}

void save_png(const std::string& path, const RgbImage& image) {
  if (image.width < 1 || image.height < 1 ||
      image.pixels.size() != static_cast<size_t>(image.width) * image.height * 3)
    throw std::runtime_error(path + ": cannot write PNG: empty or malformed image");
  if (!stbi_write_png(path.c_str(), image.width, image.height, 3, image.pixels.data(),
                      image.width * 3))
    throw std::runtime_error(path + ": cannot write PNG");
}

}  // namespace culturegan::data
