// Fuzz target: image decode as culturegan-ingest and culturegan-infer do it.
// Input: the bytes of an image file (JPEG, PNG, or anything else).
//   ingest: data::decode_image, then resize_square (crop, pad, stretch) to 16 px;
//   infer:  the same decode, the JPEG's Exif orientation (inference::jpeg_exif_orientation,
//           apply_orientation), then resize_to half / double size (capped).
// Clean rejection: std::runtime_error from decode_image whose message starts with the name
// given and says "cannot decode image". Everything else is a finding.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "data/image_io.h"
#include "inference/exif.h"
#include "tests/fuzz/fuzz_util.h"

using namespace culturegan;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string name = "fuzz-input.img";
  data::RgbImage img;
  try {
    img = data::decode_image(data, size, name);
  } catch (const std::runtime_error& e) {
    const std::string msg = e.what();
    fuzz::note(msg);
    if (msg.rfind(name + ": cannot decode image: ", 0) != 0)
      fuzz::bad_message("expected '<name>: cannot decode image: ...'", msg);
    fuzz::check_message(msg, name);
    return 0;
  }
  if (img.width < 1 || img.height < 1 || img.width > data::kMaxDecodeSide ||
      img.height > data::kMaxDecodeSide ||
      img.pixels.size() != static_cast<size_t>(img.width) * img.height * 3) {
    std::fprintf(stderr, "decode_image returned a malformed %dx%d image (%zu bytes)\n", img.width,
                 img.height, img.pixels.size());
    std::abort();
  }
  // Ingest.
  for (auto policy :
       {data::ResizePolicy::kCrop, data::ResizePolicy::kPad, data::ResizePolicy::kStretch}) {
    const auto sq = data::resize_square(img, 16, policy);
    if (sq.pixels.size() != 16 * 16 * 3) std::abort();
  }
  // Infer.
  const int orientation = inference::jpeg_exif_orientation(data, size);
  if (orientation < 1 || orientation > 8) {
    std::fprintf(stderr, "jpeg_exif_orientation returned %d\n", orientation);
    std::abort();
  }
  const auto up = inference::apply_orientation(img, orientation);
  if (static_cast<int64_t>(up.width) * up.height != static_cast<int64_t>(img.width) * img.height)
    std::abort();
  if (static_cast<int64_t>(up.width) * up.height <= 256 * 256) {
    (void)data::resize_to(up, std::max(1, up.width / 2), std::max(1, up.height / 2));
    (void)data::resize_to(up, std::min(up.width * 2, 512), std::min(up.height * 2, 512));
  }
  return 0;
}
