// Fuzz target: corpus open + read of a batch, as the trainer's loader and culturegan-corpus
// do it. Input: the bytes of an HDF5 corpus file (docs/corpus-format.md), written to a
// scratch file (HDF5 reads files). The target opens it (data::CorpusReader validates the
// schema), plans one batch with the sampler, reads those images, reads every source path and
// the content hashes, and reads the whole image range.
// Clean rejection: data::CorpusError naming the file. Anything else is a finding.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "data/corpus_reader.h"
#include "data/sampler.h"
#include "tests/fuzz/fuzz_util.h"

using namespace culturegan;

namespace {

void exercise(const std::string& path) {
  data::CorpusReader r(path);
  const int64_t s = r.image_size();
  const size_t image_bytes = static_cast<size_t>(s) * s * 3;
  if (r.size() < 0 || r.labels().size() != static_cast<size_t>(r.size())) std::abort();
  for (int32_t l : r.labels())
    if (l < 0 || static_cast<size_t>(l) >= r.cultures().size()) std::abort();
  (void)r.layout();
  // A batch, as the loader reads it: sampler over the train split, then one read per image.
  if (!r.train_indices().empty()) {
    std::vector<int32_t> labels;
    for (int64_t i : r.train_indices()) labels.push_back(r.labels()[static_cast<size_t>(i)]);
    data::ShardedSampler sampler(r.train_indices(), labels, {});
    std::vector<uint8_t> buf(image_bytes);
    const int batch = static_cast<int>(std::min<size_t>(4, r.train_indices().size()));
    for (int64_t i : sampler.next_batch(0, 1, batch)) r.read_images(i, 1, buf.data());
  }
  // Everything else a consumer reads (bounded: the harness keeps each run fast).
  const int64_t n = std::min<int64_t>(r.size(), 64);
  std::vector<uint8_t> all(image_bytes * static_cast<size_t>(n));
  if (n > 0) r.read_images(0, n, all.data());
  for (int64_t i = 0; i < n; ++i) (void)r.source_path(i);
  (void)r.read_content_hashes();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = (fuzz::scratch_dir() / "corpus.h5").string();
  fuzz::write_bytes(path, std::string_view(reinterpret_cast<const char*>(data), size));
  try {
    exercise(path);
  } catch (const data::CorpusError& e) {
    const std::string msg = e.what();
    fuzz::note(msg);
    if (msg.find(path) == std::string::npos) fuzz::bad_message("does not name the file", msg);
  }
  return 0;
}
