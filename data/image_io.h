// Image decode/encode/resize on plain byte buffers (stb). No LibTorch, no HDF5: the
// inference tool links this too.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace culturegan::data {

/// An 8-bit RGB image, row-major HWC: pixels[(y * width + x) * 3 + c].
struct RgbImage {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> pixels;  // size width*height*3
};

/// How a non-square image becomes S x S.
enum class ResizePolicy { kCrop, kPad, kStretch };

/// Parses "crop" | "pad" | "stretch". Throws std::invalid_argument naming the value.
ResizePolicy parse_resize_policy(const std::string& name);

/// Largest image side decode_image() accepts, in pixels (either side).
constexpr int kMaxDecodeSide = 16384;
/// Largest pixel count decode_image() accepts (64 Mpx: 192 MiB of RGB after decoding).
constexpr int64_t kMaxDecodePixels = int64_t{64} << 20;
/// Largest encoded file decode_image() / load_image() accept (256 MiB).
constexpr size_t kMaxDecodeBytes = size_t{256} << 20;

/// Decodes a JPEG or PNG file to RGB (grayscale and RGBA are converted).
/// Throws std::runtime_error "<path>: cannot decode image: <reason>" (as decode_image, and for
/// a file that cannot be opened or is larger than kMaxDecodeBytes).
RgbImage load_image(const std::string& path);

/// Decodes an in-memory JPEG/PNG. The header's dimensions are read first
/// (stbi_info_from_memory) and checked against kMaxDecodeSide and kMaxDecodePixels before any
/// pixel memory is allocated, so a small file claiming a huge image (a 60000 x 60000 PNG
/// header) fails at once. Throws std::runtime_error "<what>: cannot decode image: <reason>":
/// empty input, more than kMaxDecodeBytes, no JPEG/PNG signature (stb's other formats are
/// refused), a JPEG Huffman table with more than 256 codes (stb 2.27 would write past its
/// table), "WxH exceeds the limit of ...", or stb's reason (corrupt data, truncated file).
RgbImage decode_image(const uint8_t* bytes, size_t size, const std::string& what);

/// Resizes to exactly size x size. kCrop: center crop of the short side then area
/// resampling (stbir, box filter when shrinking); kPad: letterbox with black; kStretch:
/// ignore aspect ratio. Throws std::invalid_argument if size < 1 or the image is empty.
RgbImage resize_square(const RgbImage& image, int size, ResizePolicy policy = ResizePolicy::kCrop);

/// Resizes to width x height (no crop), used to return outputs at the input's size.
RgbImage resize_to(const RgbImage& image, int width, int height);

/// Writes a PNG. Throws std::runtime_error "<path>: cannot write PNG" on failure.
void save_png(const std::string& path, const RgbImage& image);

}  // namespace culturegan::data
