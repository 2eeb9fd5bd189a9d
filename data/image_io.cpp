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

namespace {

bool is_png(const uint8_t* b, size_t n) {
  return n >= 8 && std::equal(b, b + 8, reinterpret_cast<const uint8_t*>("\x89PNG\r\n\x1a\n"));
}
bool is_jpeg(const uint8_t* b, size_t n) {
  return n >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff;
}

// stb_image 2.27 (Debian 12) builds a Huffman table from a DHT segment's 16 code counts
// without checking that they sum to at most 256: a crafted JPEG writes past the table
// (stbi__build_huffman; fixed upstream in 2.28). This walks the JPEG's marker segments
// (including those between progressive scans) and returns "" when every DHT table is sound,
// else the reason. Reads only inside [b, b + n).
std::string jpeg_dht_problem(const uint8_t* b, size_t n) {
  size_t i = 2;  // after SOI
  while (i + 1 < n) {
    if (b[i] != 0xff) {  // entropy-coded data after SOS: skip to the next marker
      ++i;
      continue;
    }
    const uint8_t m = b[i + 1];
    if (m == 0xff) {  // fill byte
      ++i;
      continue;
    }
    if (m == 0x00 || (m >= 0xd0 && m <= 0xd7) || m == 0x01) {  // stuffed byte, RSTn, TEM
      i += 2;
      continue;
    }
    if (m == 0xd9) return "";   // EOI
    if (i + 3 >= n) return "";  // truncated: stb reports it
    const size_t len = static_cast<size_t>(b[i + 2]) << 8 | b[i + 3];
    if (len < 2) return "";  // stb reports it
    if (m == 0xc4) {
      // As stbi__process_marker reads a DHT: tables until the segment's length is used up,
      // each a class/id byte, 16 counts and their symbols (read even past the length).
      long left = static_cast<long>(len) - 2;
      size_t t = i + 4;
      while (left > 0) {
        if (t >= n) return "";  // stb reads zeros past the end of the data
        size_t codes = 0;
        for (size_t k = 1; k <= 16 && t + k < n; ++k) codes += b[t + k];
        if (codes > 256)
          return "corrupt JPEG: a Huffman table (DHT) declares " + std::to_string(codes) +
                 " codes, at most 256 are possible";
        t += 17 + codes;
        left -= 17 + static_cast<long>(codes);
      }
      if (left != 0) return "";  // stb rejects the segment
      i = t;
      continue;
    }
    i = std::min(n, i + 2 + len);
  }
  return "";
}

}  // namespace

RgbImage decode_image(const uint8_t* bytes, size_t size, const std::string& what) {
  if (size == 0) throw std::runtime_error(what + ": cannot decode image: empty file");
  if (size > kMaxDecodeBytes)
    throw std::runtime_error(what + ": cannot decode image: file of " + std::to_string(size) +
                             " bytes exceeds the limit of " + std::to_string(kMaxDecodeBytes) +
                             " bytes");
  // Only the two formats culturegan reads: stb's other decoders (GIF, PSD, HDR, PIC, PNM,
  // TGA, BMP) are never reached by untrusted bytes.
  const bool png = is_png(bytes, size), jpeg = is_jpeg(bytes, size);
  if (!png && !jpeg)
    throw std::runtime_error(what + ": cannot decode image: expected a JPEG or PNG file, found " +
                             "neither (no JPEG or PNG signature in the first bytes)");
  if (jpeg) {
    const std::string problem = jpeg_dht_problem(bytes, size);
    if (!problem.empty()) throw std::runtime_error(what + ": cannot decode image: " + problem);
  }
  const auto too_large = [&](int64_t w, int64_t h) {
    return std::runtime_error(what + ": cannot decode image: " + std::to_string(w) + "x" +
                              std::to_string(h) + " exceeds the limit of " +
                              std::to_string(kMaxDecodeSide) + " px per side and " +
                              std::to_string(kMaxDecodePixels) + " pixels");
  };
  if (png && size >= 24 && std::equal(bytes + 12, bytes + 16, "IHDR")) {
    // The PNG header's own dimensions (stb refuses some huge ones with a vaguer reason).
    auto be32 = [&](size_t at) {
      return int64_t{bytes[at]} << 24 | int64_t{bytes[at + 1]} << 16 | int64_t{bytes[at + 2]} << 8 |
             int64_t{bytes[at + 3]};
    };
    const int64_t pw = be32(16), ph = be32(20);
    if (pw > kMaxDecodeSide || ph > kMaxDecodeSide || pw * ph > kMaxDecodePixels)
      throw too_large(pw, ph);
  }
  int w = 0, h = 0, channels = 0;
  // Dimensions first: stb would otherwise allocate w*h*4 bytes before noticing the data is
  // missing (a 60000x60000 PNG header is a few dozen bytes).
  if (!stbi_info_from_memory(bytes, static_cast<int>(size), &w, &h, &channels)) {
    const char* reason = stbi_failure_reason();
    throw std::runtime_error(what + ": cannot decode image: " + (reason ? reason : "unknown"));
  }
  if (w < 1 || h < 1 || w > kMaxDecodeSide || h > kMaxDecodeSide ||
      static_cast<int64_t>(w) * h > kMaxDecodePixels)
    throw too_large(w, h);
  unsigned char* data = stbi_load_from_memory(bytes, static_cast<int>(size), &w, &h, &channels, 3);
  if (data != nullptr && (w < 1 || h < 1 || w > kMaxDecodeSide || h > kMaxDecodeSide ||
                          static_cast<int64_t>(w) * h > kMaxDecodePixels)) {
    stbi_image_free(data);  // the header said otherwise (stb re-parses): refuse all the same
    throw std::runtime_error(what + ": cannot decode image: " + std::to_string(w) + "x" +
                             std::to_string(h) + " exceeds the limit");
  }
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
  in.seekg(0, std::ios::end);
  const std::streamoff end = in.tellg();
  if (end > 0 && static_cast<uint64_t>(end) > kMaxDecodeBytes)
    throw std::runtime_error(path + ": cannot decode image: file of " + std::to_string(end) +
                             " bytes exceeds the limit of " + std::to_string(kMaxDecodeBytes) +
                             " bytes");
  in.seekg(0, std::ios::beg);
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
