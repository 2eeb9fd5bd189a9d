// Ingest: a folder of images, one sub-folder per culture, becomes a corpus file
// (docs/corpus-format.md). Used by culturegan-ingest and by tests.
#pragma once
#include <cstdint>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "data/image_io.h"

namespace culturegan::data {

struct IngestOptions {
  std::string input_dir;    ///< DIR/<culture>/*.{jpg,jpeg,png}
  std::string output_path;  ///< corpus file; written to "<output>.partial", then renamed
  int size = 128;           ///< S
  double val_fraction = 0.1;
  uint64_t seed = 0;  ///< split seed
  ResizePolicy policy = ResizePolicy::kCrop;
  int threads = 0;        ///< decode threads; 0 = hardware concurrency
  bool strict = false;    ///< an unreadable or non-image file is an error, not a warning
  int gzip_level = 0;     ///< 0 = none, 1..9
  int chunk_images = 0;   ///< 0 = auto
  bool progress = false;  ///< progress bar on `log`
  bool progress_tty = false;
};

/// What ingest did. Files are identified by their path relative to input_dir.
struct IngestReport {
  int64_t files_seen = 0;  ///< regular, non-hidden files in culture folders
  int64_t images_written = 0;
  int64_t unreadable = 0;  ///< image extension but could not be decoded
  int64_t not_image = 0;   ///< other extension
  int64_t duplicates = 0;  ///< exact duplicates (same SHA-256) removed
  int64_t grayscale = 0;   ///< written images whose R, G and B are equal everywhere
  std::vector<std::string> cultures;
  std::vector<int64_t> per_culture;  ///< written images per culture
  std::vector<int64_t> train_per_culture, val_per_culture;
  std::vector<std::string> warnings;  ///< one line per skipped file / duplicate
  double seconds = 0.0;
  int threads = 0;
};

/// Thrown for unusable input (missing folder, no cultures, an empty culture, --strict
/// violations); the message names the path.
class IngestError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Runs the ingest. Warnings go to `log` as they happen (and into the report). Output is
/// byte-for-byte identical for identical input and options, whatever the thread count.
/// Throws IngestError, std::invalid_argument (bad options) or std::runtime_error (I/O).
IngestReport ingest(const IngestOptions& options, std::ostream& log);

}  // namespace culturegan::data
