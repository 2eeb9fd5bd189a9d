#include "inference/exif.h"

#include <fstream>
#include <iterator>
#include <stdexcept>
#include <vector>

namespace culturegan::inference {
namespace {

// Bounds-checked reads of 16/32-bit integers in the TIFF block's byte order.
struct Reader {
  const uint8_t* p;
  size_t n;
  bool little;
  bool u16(size_t at, uint32_t& v) const {
    if (at > n || n - at < 2) return false;
    v = little ? (p[at] | p[at + 1] << 8) : (p[at] << 8 | p[at + 1]);
    return true;
  }
  bool u32(size_t at, uint32_t& v) const {
    if (at > n || n - at < 4) return false;
    v = little ? (uint32_t(p[at]) | uint32_t(p[at + 1]) << 8 | uint32_t(p[at + 2]) << 16 |
                  uint32_t(p[at + 3]) << 24)
               : (uint32_t(p[at]) << 24 | uint32_t(p[at + 1]) << 16 | uint32_t(p[at + 2]) << 8 |
                  uint32_t(p[at + 3]));
    return true;
  }
};

// Orientation from a TIFF block (the APP1 payload after "Exif\0\0"), or 1.
int tiff_orientation(const uint8_t* t, size_t n) {
  if (n < 8) return 1;
  Reader r{t, n, false};
  if (t[0] == 'I' && t[1] == 'I')
    r.little = true;
  else if (!(t[0] == 'M' && t[1] == 'M'))
    return 1;
  uint32_t magic = 0, ifd = 0, count = 0;
  if (!r.u16(2, magic) || magic != 42 || !r.u32(4, ifd) || !r.u16(ifd, count)) return 1;
  for (uint32_t i = 0; i < count && i < 1024; ++i) {
    const size_t e = size_t{ifd} + 2 + size_t{i} * 12;
    uint32_t tag = 0, type = 0, value = 0;
    if (!r.u16(e, tag) || !r.u16(e + 2, type)) return 1;
    if (tag != 0x0112) continue;
    if (type != 3 || !r.u16(e + 8, value)) return 1;  // SHORT, value in the entry itself
    return value >= 1 && value <= 8 ? static_cast<int>(value) : 1;
  }
  return 1;
}

}  // namespace

int jpeg_exif_orientation(const uint8_t* bytes, size_t size) {
  if (bytes == nullptr || size < 4 || bytes[0] != 0xFF || bytes[1] != 0xD8) return 1;
  size_t at = 2;
  while (at + 4 <= size) {
    if (bytes[at] != 0xFF) return 1;
    const uint8_t marker = bytes[at + 1];
    if (marker == 0xFF) {  // fill byte
      ++at;
      continue;
    }
    if (marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {
      at += 2;  // no length field
      continue;
    }
    if (marker == 0xDA || marker == 0xD9) return 1;  // scan / end: no Exif before it
    const size_t len = size_t{bytes[at + 2]} << 8 | bytes[at + 3];
    if (len < 2 || len > size - at - 2) return 1;
    const uint8_t* seg = bytes + at + 4;
    const size_t seg_len = len - 2;
    if (marker == 0xE1 && seg_len >= 6 && seg[0] == 'E' && seg[1] == 'x' && seg[2] == 'i' &&
        seg[3] == 'f' && seg[4] == 0 && seg[5] == 0)
      return tiff_orientation(seg + 6, seg_len - 6);
    at += 2 + len;
  }
  return 1;
}

data::RgbImage apply_orientation(const data::RgbImage& image, int o) {
  if (o < 2 || o > 8) return image;
  const int w = image.width, h = image.height;
  const bool swap = o >= 5;
  data::RgbImage out;
  out.width = swap ? h : w;
  out.height = swap ? w : h;
  out.pixels.resize(image.pixels.size());
  for (int oy = 0; oy < out.height; ++oy)
    for (int ox = 0; ox < out.width; ++ox) {
      int sx = ox, sy = oy;
      switch (o) {
        case 2:
          sx = w - 1 - ox;
          break;
        case 3:
          sx = w - 1 - ox;
          sy = h - 1 - oy;
          break;
        case 4:
          sy = h - 1 - oy;
          break;
        case 5:
          sx = oy;
          sy = ox;
          break;
        case 6:
          sx = oy;
          sy = h - 1 - ox;
          break;
        case 7:
          sx = w - 1 - oy;
          sy = h - 1 - ox;
          break;
        case 8:
          sx = w - 1 - oy;
          sy = ox;
          break;
        default:
          break;
      }
      const size_t s = (static_cast<size_t>(sy) * w + sx) * 3;
      const size_t d = (static_cast<size_t>(oy) * out.width + ox) * 3;
      for (int c = 0; c < 3; ++c) out.pixels[d + c] = image.pixels[s + c];
    }
  return out;
}

data::RgbImage load_upright(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot decode image: cannot open file");
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  const data::RgbImage stored = data::decode_image(bytes.data(), bytes.size(), path);
  return apply_orientation(stored, jpeg_exif_orientation(bytes.data(), bytes.size()));
}

}  // namespace culturegan::inference
