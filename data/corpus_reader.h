// Read access to a culturegan corpus (HDF5, schema in docs/corpus-format.md).
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "data/sha256.h"

namespace culturegan::data {

/// Any problem with a corpus file. what() names the file, the dataset or attribute,
/// what was expected and what was found.
class CorpusError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// How the images are stored (for `culturegan-corpus info`).
struct CorpusLayout {
  int32_t schema_version = 0;
  int64_t chunk_images = 0;  ///< images per HDF5 chunk (0 = contiguous layout)
  int gzip_level = 0;        ///< 0 = uncompressed
  bool fletcher32 = false;   ///< per-chunk checksums
  int64_t file_bytes = 0;
};

/// Opens and validates a corpus once; reads are thread-safe (serialised internally,
/// HDF5 is not thread-safe in Debian's build).
class CorpusReader {
 public:
  /// Opens `path` and validates the schema (datasets, dtypes, ranks, label range, split).
  /// Throws CorpusError.
  explicit CorpusReader(const std::string& path);
  ~CorpusReader();
  CorpusReader(const CorpusReader&) = delete;
  CorpusReader& operator=(const CorpusReader&) = delete;

  const std::string& path() const;
  /// Number of images (train + val).
  int64_t size() const;
  /// Side length S of the stored S x S images.
  int image_size() const;
  /// Culture names; a label is an index into this list.
  const std::vector<std::string>& cultures() const;
  /// Label of every image, int32 in [0, cultures().size()).
  const std::vector<int32_t>& labels() const;
  /// Ascending image indices of the train / val split.
  const std::vector<int64_t>& train_indices() const;
  const std::vector<int64_t>& val_indices() const;
  /// Images per culture, int64 [C] (equals the label histogram; every entry >= 1).
  const std::vector<int64_t>& culture_counts() const;
  /// Split of every image: 0 = train, 1 = val.
  const std::vector<uint8_t>& split() const;
  CorpusLayout layout() const;
  /// SHA-256 of every image's source file, [N]. Throws CorpusError on a read failure.
  std::vector<Sha256Digest> read_content_hashes() const;
  /// Source path (relative to the ingest input) of image i.
  /// Throws CorpusError if i is out of range or the read fails.
  std::string source_path(int64_t i) const;

  /// Reads images [start, start+count) into `out`, uint8 HWC, count*S*S*3 bytes.
  /// Throws CorpusError on an out-of-range request or an HDF5 read failure.
  void read_images(int64_t start, int64_t count, uint8_t* out) const;

 private:
  struct Impl;
  Impl* impl_;
};

}  // namespace culturegan::data
