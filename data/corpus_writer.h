// Writes a corpus in format v1 (docs/corpus-format.md). Used by culturegan-ingest and by
// tests that need small corpora. Output is byte-for-byte deterministic for identical
// calls (no HDF5 timestamps, fixed library format bounds).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/sha256.h"

namespace culturegan::data {

struct CorpusWriterOptions {
  int image_size = 128;    ///< S: images are S x S x 3 uint8
  int chunk_images = 0;    ///< images per HDF5 chunk; 0 = auto (~64 KiB chunks, >= 1 image)
  int gzip_level = 0;      ///< 0 = no compression, 1..9 = deflate level
  bool fletcher32 = true;  ///< per-chunk checksum: corrupt pixel data fails loudly on read
};

/// The images-per-chunk `auto` picks for image size S.
int auto_chunk_images(int image_size);

/// Per-culture train/val split: in each culture, round(n * val_fraction) images (at most
/// n - 1) go to val, chosen by a key hashed from (seed, content hash) so the choice does
/// not depend on file order. Returns uint8 [N] of format::kTrain / kVal.
/// Throws std::invalid_argument if val_fraction is outside [0, 1) or sizes differ.
std::vector<uint8_t> make_split(const std::vector<int32_t>& labels,
                                const std::vector<Sha256Digest>& hashes, int num_cultures,
                                double val_fraction, uint64_t seed);

class CorpusWriter {
 public:
  /// Creates (truncates) `path`. `cultures`: names, label i = cultures[i].
  /// Throws std::runtime_error "<path>: ..." on an HDF5 failure, std::invalid_argument on
  /// bad options (image_size outside [1, 8192], gzip outside [0, 9], no cultures).
  CorpusWriter(const std::string& path, std::vector<std::string> cultures,
               CorpusWriterOptions options);
  /// If finish() was not called, closes and removes the partial file.
  ~CorpusWriter();
  CorpusWriter(const CorpusWriter&) = delete;
  CorpusWriter& operator=(const CorpusWriter&) = delete;

  /// Appends one image, `hwc` = S*S*3 uint8 bytes (RGB, row-major). Throws
  /// std::invalid_argument on a bad label, std::runtime_error on a write failure.
  void append(const uint8_t* hwc, int32_t label, const std::string& source_path,
              const Sha256Digest& content_hash);
  int64_t size() const { return static_cast<int64_t>(labels_.size()); }

  /// Writes the remaining datasets with make_split(val_fraction, seed) and closes the file.
  /// Throws std::runtime_error if a culture has no image or nothing was appended.
  void finish(double val_fraction, uint64_t seed);
  /// Same with an explicit split (uint8 [N], 0 train / 1 val).
  void finish_with_split(const std::vector<uint8_t>& split);

 private:
  void flush_chunk();
  std::string path_;
  std::vector<std::string> cultures_;
  CorpusWriterOptions options_;
  int chunk_images_ = 1;
  int64_t file_ = -1, images_ = -1;  // hid_t
  std::vector<uint8_t> pending_;     // images not yet written (< one chunk)
  int64_t written_ = 0;
  std::vector<int32_t> labels_;
  std::vector<std::string> paths_;
  std::vector<Sha256Digest> hashes_;
  bool finished_ = false;
};

}  // namespace culturegan::data
