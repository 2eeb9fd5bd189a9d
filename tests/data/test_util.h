// Helpers for data tests: temp folders, synthetic images and small corpora. Tests never
// use the shared corpus.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/image_io.h"

namespace culturegan::testutil {

/// A fresh empty folder under $TMPDIR (or /tmp), removed by nobody (tests are small).
std::string temp_dir(const std::string& tag);
/// A deterministic, non-symmetric RGB pattern that depends on `seed`.
data::RgbImage pattern_image(int width, int height, int seed);
/// Writes every byte of `bytes` to `path`.
void write_file(const std::string& path, const std::string& bytes);
std::string read_file(const std::string& path);

/// Writes a corpus of S x S images with `counts[c]` images of culture "c<c>" through
/// CorpusWriter. Image i is filled with its own index: pixel (y,x) channel k =
/// (i * 7 + k * 50 + x) % 256, so readers can tell images apart and see flips.
std::string make_corpus(const std::string& dir, const std::vector<int>& counts, int size,
                        double val_fraction = 0.0, int chunk_images = 0, int gzip = 0);
/// The value make_corpus stores at (image i, x, channel k).
inline uint8_t corpus_pixel(int64_t i, int x, int k) {
  return static_cast<uint8_t>((i * 7 + k * 50 + x) % 256);
}

}  // namespace culturegan::testutil
