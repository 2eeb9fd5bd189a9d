// EXIF orientation for culturegan-infer: stb_image decodes the stored pixels and ignores the
// JPEG's Exif Orientation tag (0x0112), so a phone photo taken upright comes out on its side.
// This reads that one tag from the JPEG APP1 "Exif" segment and applies it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "data/image_io.h"

namespace culturegan::inference {

/// The Exif Orientation (1..8) of an in-memory JPEG, or 1 (as stored) when the bytes are not
/// a JPEG, have no Exif APP1 segment before the scan, have no Orientation in IFD0, or are
/// malformed/truncated in any way. Reads only inside [bytes, bytes + size); never throws.
int jpeg_exif_orientation(const uint8_t* bytes, size_t size);

/// Applies an Exif Orientation to stored pixels so the result is upright:
/// 1 as is, 2 mirror left-right, 3 rotate 180°, 4 mirror top-bottom, 5 transpose,
/// 6 rotate 90° clockwise, 7 transverse, 8 rotate 90° counter-clockwise.
/// 5..8 swap width and height. Any other value returns the image unchanged.
data::RgbImage apply_orientation(const data::RgbImage& image, int orientation);

/// Reads and decodes a JPEG/PNG file (data::decode_image) and applies its Exif Orientation.
/// Throws std::runtime_error "<path>: cannot decode image: <reason>" (unreadable file
/// included).
data::RgbImage load_upright(const std::string& path);

}  // namespace culturegan::inference
