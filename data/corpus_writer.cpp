#include "data/corpus_writer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <stdexcept>

#include "data/corpus_format.h"
#include "data/counter_rng.h"
#include "data/h5_util.h"

namespace culturegan::data {
namespace {

using Lock = std::lock_guard<std::recursive_mutex>;

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  const std::string reason = h5::last_error();
  throw std::runtime_error(path + ": " + what + (reason.empty() ? "" : ": " + reason));
}

h5::Handle no_times_dcpl() {
  h5::Handle dcpl = h5::plist(H5Pcreate(H5P_DATASET_CREATE));
  H5Pset_obj_track_times(dcpl.get(), false);
  return dcpl;
}

void write_attr_int(hid_t obj, const char* name, int32_t value, const std::string& path) {
  h5::Handle space = h5::dataspace(H5Screate(H5S_SCALAR));
  h5::Handle attr =
      h5::attribute(H5Acreate2(obj, name, H5T_STD_I32LE, space.get(), H5P_DEFAULT, H5P_DEFAULT));
  if (!attr.valid() || H5Awrite(attr.get(), H5T_NATIVE_INT32, &value) < 0)
    fail(path, std::string("cannot write attribute /") + name);
}

void write_attr_string(hid_t obj, const char* name, const std::string& value,
                       const std::string& path) {
  h5::Handle type = h5::fixed_string_type(value.size());
  h5::Handle space = h5::dataspace(H5Screate(H5S_SCALAR));
  h5::Handle attr =
      h5::attribute(H5Acreate2(obj, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT));
  if (!attr.valid() || H5Awrite(attr.get(), type.get(), value.data()) < 0)
    fail(path, std::string("cannot write attribute /") + name);
}

// A contiguous dataset of `dims` with file type `ftype`, written from `data` (memory type mtype).
void write_dataset(hid_t file, const char* name, hid_t ftype, hid_t mtype,
                   const std::vector<hsize_t>& dims, const void* data, const std::string& path) {
  h5::Handle space =
      h5::dataspace(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr));
  h5::Handle dcpl = no_times_dcpl();
  h5::Handle ds =
      h5::dataset(H5Dcreate2(file, name, ftype, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT));
  if (!ds.valid() || H5Dwrite(ds.get(), mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
    fail(path, std::string("cannot write dataset ") + name);
}

void write_strings(hid_t file, const char* name, const std::vector<std::string>& values,
                   const std::string& path) {
  size_t width = 1;
  for (const auto& s : values) width = std::max(width, s.size());
  std::vector<char> buf(width * values.size(), '\0');
  for (size_t i = 0; i < values.size(); ++i)
    std::memcpy(buf.data() + i * width, values[i].data(), values[i].size());
  h5::Handle type = h5::fixed_string_type(width);
  write_dataset(file, name, type.get(), type.get(), {values.size()}, buf.data(), path);
}

}  // namespace

int auto_chunk_images(int image_size) {
  const int64_t bytes = int64_t{image_size} * image_size * 3;
  return static_cast<int>(std::clamp<int64_t>((64 * 1024) / std::max<int64_t>(bytes, 1), 1, 1024));
}

std::vector<uint8_t> make_split(const std::vector<int32_t>& labels,
                                const std::vector<Sha256Digest>& hashes, int num_cultures,
                                double val_fraction, uint64_t seed) {
  if (!(val_fraction >= 0.0 && val_fraction < 1.0))
    throw std::invalid_argument("val fraction: expected a value in [0, 1), found " +
                                std::to_string(val_fraction));
  if (labels.size() != hashes.size())
    throw std::invalid_argument("make_split: labels and hashes differ in length");
  std::vector<std::vector<std::pair<uint64_t, size_t>>> keyed(static_cast<size_t>(num_cultures));
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0 || labels[i] >= num_cultures)
      throw std::invalid_argument("make_split: label out of range");
    uint64_t h = 0;
    for (int b = 0; b < 8; ++b) h = (h << 8) | hashes[i][b];
    keyed[labels[i]].push_back({splitmix64(splitmix64(seed) ^ h), i});
  }
  std::vector<uint8_t> split(labels.size(), format::kTrain);
  for (auto& group : keyed) {
    const int64_t n = static_cast<int64_t>(group.size());
    const int64_t n_val =
        std::min<int64_t>(std::llround(n * val_fraction), std::max<int64_t>(n - 1, 0));
    std::sort(group.begin(), group.end());  // ties broken by index: deterministic
    for (int64_t k = 0; k < n_val; ++k) split[group[k].second] = format::kVal;
  }
  return split;
}

CorpusWriter::CorpusWriter(const std::string& path, std::vector<std::string> cultures,
                           CorpusWriterOptions options)
    : path_(path), cultures_(std::move(cultures)), options_(options) {
  const int s = options_.image_size;
  if (s < 1 || s > format::kMaxImageSize)
    throw std::invalid_argument("corpus writer: image size must be in [1, 8192], found " +
                                std::to_string(s));
  if (options_.gzip_level < 0 || options_.gzip_level > 9)
    throw std::invalid_argument("corpus writer: gzip level must be in [0, 9], found " +
                                std::to_string(options_.gzip_level));
  if (cultures_.empty()) throw std::invalid_argument("corpus writer: no cultures");
  chunk_images_ = options_.chunk_images > 0 ? options_.chunk_images : auto_chunk_images(s);

  Lock lock(h5::mutex());
  h5::silence_errors();
  h5::Handle fcpl = h5::plist(H5Pcreate(H5P_FILE_CREATE));
  H5Pset_obj_track_times(fcpl.get(), false);  // root group: no timestamps
  h5::Handle fapl = h5::plist(H5Pcreate(H5P_FILE_ACCESS));
  // Newest formats: every metadata block (superblock, object headers, chunk index) has a
  // checksum, so corruption is reported instead of misread.
  H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
  file_ = H5Fcreate(path_.c_str(), H5F_ACC_TRUNC, fcpl.get(), fapl.get());
  if (file_ < 0) fail(path_, "cannot create file");

  write_attr_int(file_, format::kAttrSchemaVersion, format::kSchemaVersion, path_);
  write_attr_string(file_, format::kAttrFormat, format::kFormatName, path_);
  write_attr_int(file_, format::kAttrImageSize, s, path_);

  const hsize_t dims[4] = {0, hsize_t(s), hsize_t(s), 3};
  const hsize_t maxdims[4] = {H5S_UNLIMITED, hsize_t(s), hsize_t(s), 3};
  const hsize_t chunk[4] = {hsize_t(chunk_images_), hsize_t(s), hsize_t(s), 3};
  h5::Handle space = h5::dataspace(H5Screate_simple(4, dims, maxdims));
  h5::Handle dcpl = no_times_dcpl();
  H5Pset_chunk(dcpl.get(), 4, chunk);
  H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_NEVER);
  if (options_.gzip_level > 0)
    H5Pset_deflate(dcpl.get(), static_cast<unsigned>(options_.gzip_level));
  if (options_.fletcher32) H5Pset_fletcher32(dcpl.get());
  images_ = H5Dcreate2(file_, format::kImages, H5T_STD_U8LE, space.get(), H5P_DEFAULT, dcpl.get(),
                       H5P_DEFAULT);
  if (images_ < 0) fail(path_, "cannot create dataset /images");
  pending_.reserve(static_cast<size_t>(chunk_images_) * s * s * 3);
}

CorpusWriter::~CorpusWriter() {
  if (finished_) return;
  Lock lock(h5::mutex());
  if (images_ >= 0) H5Dclose(images_);
  if (file_ >= 0) H5Fclose(file_);
  H5Eclear2(H5E_DEFAULT);
  std::remove(path_.c_str());
}

void CorpusWriter::append(const uint8_t* hwc, int32_t label, const std::string& source_path,
                          const Sha256Digest& content_hash) {
  if (finished_) throw std::logic_error("corpus writer: append after finish");
  if (label < 0 || label >= static_cast<int32_t>(cultures_.size()))
    throw std::invalid_argument(path_ + ": label " + std::to_string(label) + " out of range");
  const size_t bytes = size_t(options_.image_size) * options_.image_size * 3;
  pending_.insert(pending_.end(), hwc, hwc + bytes);
  labels_.push_back(label);
  paths_.push_back(source_path);
  hashes_.push_back(content_hash);
  if (pending_.size() == bytes * chunk_images_) flush_chunk();
}

void CorpusWriter::flush_chunk() {
  const size_t bytes = size_t(options_.image_size) * options_.image_size * 3;
  const hsize_t n = pending_.size() / bytes;
  if (n == 0) return;
  Lock lock(h5::mutex());
  const hsize_t s = options_.image_size;
  const hsize_t new_dims[4] = {hsize_t(written_) + n, s, s, 3};
  if (H5Dset_extent(images_, new_dims) < 0) fail(path_, "cannot extend dataset /images");
  h5::Handle fspace = h5::dataspace(H5Dget_space(images_));
  const hsize_t start[4] = {hsize_t(written_), 0, 0, 0};
  const hsize_t count[4] = {n, s, s, 3};
  H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, start, nullptr, count, nullptr);
  h5::Handle mspace = h5::dataspace(H5Screate_simple(4, count, nullptr));
  if (H5Dwrite(images_, H5T_NATIVE_UINT8, mspace.get(), fspace.get(), H5P_DEFAULT,
               pending_.data()) < 0)
    fail(path_, "cannot write dataset /images");
  written_ += static_cast<int64_t>(n);
  pending_.clear();
}

void CorpusWriter::finish(double val_fraction, uint64_t seed) {
  finish_with_split(
      make_split(labels_, hashes_, static_cast<int>(cultures_.size()), val_fraction, seed));
}

void CorpusWriter::finish_with_split(const std::vector<uint8_t>& split) {
  if (finished_) throw std::logic_error("corpus writer: finish called twice");
  if (labels_.empty()) throw std::runtime_error(path_ + ": no images to write");
  if (split.size() != labels_.size())
    throw std::invalid_argument(path_ + ": split length differs from image count");
  std::vector<int64_t> counts(cultures_.size(), 0);
  for (int32_t l : labels_) ++counts[l];
  for (size_t c = 0; c < counts.size(); ++c)
    if (counts[c] == 0)
      throw std::runtime_error(path_ + ": culture '" + cultures_[c] + "' has no images");
  flush_chunk();
  Lock lock(h5::mutex());
  const hsize_t n = labels_.size();
  write_dataset(file_, format::kLabels, H5T_STD_I32LE, H5T_NATIVE_INT32, {n}, labels_.data(),
                path_);
  write_dataset(file_, format::kSplit, H5T_STD_U8LE, H5T_NATIVE_UINT8, {n}, split.data(), path_);
  std::vector<uint8_t> hash_bytes(n * 32);
  for (size_t i = 0; i < n; ++i) std::memcpy(hash_bytes.data() + 32 * i, hashes_[i].data(), 32);
  write_dataset(file_, format::kContentSha256, H5T_STD_U8LE, H5T_NATIVE_UINT8, {n, 32},
                hash_bytes.data(), path_);
  write_strings(file_, format::kSourcePaths, paths_, path_);
  write_strings(file_, format::kCultures, cultures_, path_);
  write_dataset(file_, format::kCultureCounts, H5T_STD_I64LE, H5T_NATIVE_INT64, {counts.size()},
                counts.data(), path_);
  H5Dclose(images_);
  images_ = -1;
  const herr_t closed = H5Fclose(file_);
  file_ = -1;
  if (closed < 0) fail(path_, "cannot close file");
  finished_ = true;
}

}  // namespace culturegan::data
