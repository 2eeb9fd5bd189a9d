#include "data/corpus_reader.h"

#include <hdf5.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include "data/corpus_format.h"
#include "data/h5_util.h"

namespace culturegan::data {
namespace {

using Lock = std::lock_guard<std::recursive_mutex>;
enum class Kind { kU8, kI32, kI64, kString };

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::kU8:
      return "uint8";
    case Kind::kI32:
      return "int32";
    case Kind::kI64:
      return "int64";
    case Kind::kString:
      return "fixed-length string";
  }
  return "?";
}

bool type_matches(hid_t type, Kind k) {
  const H5T_class_t cls = H5Tget_class(type);
  const size_t size = H5Tget_size(type);
  switch (k) {
    case Kind::kU8:
      return cls == H5T_INTEGER && size == 1 && H5Tget_sign(type) == H5T_SGN_NONE;
    case Kind::kI32:
      return cls == H5T_INTEGER && size == 4 && H5Tget_sign(type) == H5T_SGN_2;
    case Kind::kI64:
      return cls == H5T_INTEGER && size == 8 && H5Tget_sign(type) == H5T_SGN_2;
    case Kind::kString:
      return cls == H5T_STRING && H5Tis_variable_str(type) == 0 && size >= 1 &&
             size <= static_cast<size_t>(format::kMaxStringBytes);
  }
  return false;
}

std::string expect_text(Kind k, const std::vector<int64_t>& dims) {
  std::string s = std::string(kind_name(k)) + " rank " + std::to_string(dims.size());
  if (dims.size() == 1 && dims[0] >= 0) return s + " of length " + std::to_string(dims[0]);
  bool any = false;
  for (int64_t d : dims) any |= d >= 0;
  if (!any) return s;
  std::string d = "[";
  for (size_t i = 0; i < dims.size(); ++i)
    d += (i ? "," : "") + (dims[i] < 0 ? std::string("*") : std::to_string(dims[i]));
  return s + " " + d + "]";
}

}  // namespace

struct CorpusReader::Impl {
  std::string path;
  std::string name;  // for messages: the path as given
  h5::Handle file, images, paths;
  size_t path_width = 0;
  int64_t n = 0;
  int size = 0;
  std::vector<std::string> cultures;
  std::vector<int32_t> labels;
  std::vector<int64_t> counts;
  std::vector<uint8_t> split;
  std::vector<int64_t> train, val;
  CorpusLayout layout;

  [[noreturn]] void bad(const std::string& where, const std::string& what) const {
    throw CorpusError(name + ": " + where + ": " + what);
  }
  [[noreturn]] void bad_h5(const std::string& where, const std::string& what) const {
    const std::string reason = h5::last_error();
    bad(where, what + (reason.empty() ? "" : " (" + reason + ")"));
  }

  h5::Handle open_checked(const char* ds_name, Kind kind, const std::vector<int64_t>& want) {
    const std::string where = std::string("dataset ") + ds_name;
    const htri_t exists = H5Lexists(file.get(), ds_name + 1, H5P_DEFAULT);
    if (exists < 0) bad_h5(where, "cannot look up");
    if (exists == 0) bad(where, "missing; expected " + expect_text(kind, want));
    h5::Handle dapl = h5::plist(H5Pcreate(H5P_DATASET_ACCESS));
    if (std::strcmp(ds_name, format::kImages) == 0)
      H5Pset_chunk_cache(dapl.get(), 521, 8u << 20, 1.0);  // bounded: 8 MiB
    h5::Handle ds = h5::dataset(H5Dopen2(file.get(), ds_name, dapl.get()));
    if (!ds.valid()) bad_h5(where, "cannot open");
    h5::Handle type = h5::datatype(H5Dget_type(ds.get()));
    h5::Handle space = h5::dataspace(H5Dget_space(ds.get()));
    if (!type.valid() || !space.valid()) bad_h5(where, "cannot read its type or shape");
    const std::vector<int64_t> dims = h5::dims_of(space.get());
    bool ok = type_matches(type.get(), kind) && dims.size() == want.size();
    for (size_t i = 0; ok && i < dims.size(); ++i) ok = want[i] < 0 || dims[i] == want[i];
    if (!ok)
      bad(where, "expected " + expect_text(kind, want) + ", found " +
                     h5::describe_type(type.get()) + " rank " + std::to_string(dims.size()) + " " +
                     h5::describe_dims(dims));
    return ds;
  }

  template <typename T>
  std::vector<T> read_all(hid_t ds, hid_t mtype, size_t count, const char* ds_name) {
    std::vector<T> out(count);
    if (count && H5Dread(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) < 0)
      bad_h5(std::string("dataset ") + ds_name, "read failed");
    return out;
  }

  int32_t read_int_attr(const char* attr_name) {
    const std::string where = std::string("attribute /") + attr_name;
    const htri_t exists = H5Aexists(file.get(), attr_name);
    if (exists < 0) bad_h5(where, "cannot look up");
    if (exists == 0) bad(where, "missing; expected int32 scalar (is this a culturegan corpus?)");
    h5::Handle attr = h5::attribute(H5Aopen(file.get(), attr_name, H5P_DEFAULT));
    h5::Handle type = h5::datatype(H5Aget_type(attr.get()));
    h5::Handle space = h5::dataspace(H5Aget_space(attr.get()));
    if (!attr.valid() || !type.valid() || !space.valid()) bad_h5(where, "cannot open");
    const std::vector<int64_t> dims = h5::dims_of(space.get());
    if (H5Tget_class(type.get()) != H5T_INTEGER || H5Tget_size(type.get()) > 8 || !dims.empty())
      bad(where, "expected int32 scalar, found " + h5::describe_type(type.get()) + " rank " +
                     std::to_string(dims.size()));
    int64_t v = 0;
    if (H5Aread(attr.get(), H5T_NATIVE_INT64, &v) < 0) bad_h5(where, "read failed");
    if (v < INT32_MIN || v > INT32_MAX)
      bad(where, "expected an int32 value, found " + std::to_string(v));
    return static_cast<int32_t>(v);
  }

  std::vector<std::string> read_strings(hid_t ds, const char* ds_name, size_t count,
                                        size_t* width_out) {
    h5::Handle type = h5::datatype(H5Dget_type(ds));
    const size_t width = H5Tget_size(type.get());
    if (width_out) *width_out = width;
    h5::Handle mtype = h5::fixed_string_type(width);
    std::vector<char> buf = read_all<char>(ds, mtype.get(), count * width, ds_name);
    std::vector<std::string> out(count);
    for (size_t i = 0; i < count; ++i) {
      const char* p = buf.data() + i * width;
      out[i].assign(p, strnlen(p, width));
    }
    return out;
  }

  void open();
  void validate();
};

void CorpusReader::Impl::open() {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) bad("file", "does not exist");
  if (std::filesystem::is_directory(path, ec))
    bad("file", "is a directory, expected an HDF5 corpus file");
  if (!std::ifstream(path, std::ios::binary)) bad("file", "cannot be opened for reading");
  layout.file_bytes = static_cast<int64_t>(std::filesystem::file_size(path, ec));
  const htri_t is_h5 = H5Fis_hdf5(path.c_str());
  if (is_h5 <= 0) {
    H5Eclear2(H5E_DEFAULT);
    bad("file",
        "not an HDF5 file (no HDF5 signature found; expected a corpus written by "
        "culturegan-ingest)");
  }
  h5::Handle fapl = h5::plist(H5Pcreate(H5P_FILE_ACCESS));
  H5Pset_fclose_degree(fapl.get(), H5F_CLOSE_STRONG);
  file = h5::file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get()));
  if (!file.valid()) bad_h5("file", "cannot open as HDF5 (truncated or corrupt?)");
}

void CorpusReader::Impl::validate() {
  layout.schema_version = read_int_attr(format::kAttrSchemaVersion);
  if (layout.schema_version != format::kSchemaVersion)
    bad(std::string("attribute /") + format::kAttrSchemaVersion,
        "expected " + std::to_string(format::kSchemaVersion) + ", found " +
            std::to_string(layout.schema_version));
  const int32_t attr_size = read_int_attr(format::kAttrImageSize);
  if (attr_size < 1 || attr_size > format::kMaxImageSize)
    bad(std::string("attribute /") + format::kAttrImageSize,
        "expected a value in [1, 8192], found " + std::to_string(attr_size));
  size = attr_size;

  h5::Handle cult = open_checked(format::kCultures, Kind::kString, {-1});
  h5::Handle cult_space = h5::dataspace(H5Dget_space(cult.get()));
  const int64_t c = h5::dims_of(cult_space.get())[0];
  if (c < 1 || c > format::kMaxCultures)
    bad(std::string("dataset ") + format::kCultures,
        "expected 1 to 65536 culture names, found " + std::to_string(c));
  cultures = read_strings(cult.get(), format::kCultures, static_cast<size_t>(c), nullptr);
  std::set<std::string> seen;
  for (int64_t i = 0; i < c; ++i) {
    if (cultures[i].empty())
      bad(std::string("dataset ") + format::kCultures, "entry " + std::to_string(i) + " is empty");
    if (!seen.insert(cultures[i]).second)
      bad(std::string("dataset ") + format::kCultures,
          "duplicate culture name '" + cultures[i] + "'");
  }

  h5::Handle lab = open_checked(format::kLabels, Kind::kI32, {-1});
  h5::Handle lab_space = h5::dataspace(H5Dget_space(lab.get()));
  n = h5::dims_of(lab_space.get())[0];
  if (n < 1 || n > format::kMaxImages)
    bad(std::string("dataset ") + format::kLabels,
        "expected 1 to 2^31 images, found " + std::to_string(n));
  images = open_checked(format::kImages, Kind::kU8, {n, size, size, 3});
  labels = read_all<int32_t>(lab.get(), H5T_NATIVE_INT32, static_cast<size_t>(n), format::kLabels);
  std::vector<int64_t> hist(static_cast<size_t>(c), 0);
  for (int64_t i = 0; i < n; ++i) {
    if (labels[i] < 0 || labels[i] >= c)
      bad(std::string("dataset ") + format::kLabels, "expected values in [0," + std::to_string(c) +
                                                         "), found " + std::to_string(labels[i]) +
                                                         " at index " + std::to_string(i));
    ++hist[labels[i]];
  }
  for (int64_t k = 0; k < c; ++k)
    if (hist[k] == 0)
      bad(std::string("dataset ") + format::kLabels, "culture '" + cultures[k] + "' (label " +
                                                         std::to_string(k) +
                                                         ") has no images; expected at least 1");

  h5::Handle cnt = open_checked(format::kCultureCounts, Kind::kI64, {c});
  counts = read_all<int64_t>(cnt.get(), H5T_NATIVE_INT64, static_cast<size_t>(c),
                             format::kCultureCounts);
  for (int64_t k = 0; k < c; ++k)
    if (counts[k] != hist[k])
      bad(std::string("dataset ") + format::kCultureCounts,
          "expected " + std::to_string(hist[k]) + " for culture '" + cultures[k] +
              "' (its count in /labels), found " + std::to_string(counts[k]));

  h5::Handle spl = open_checked(format::kSplit, Kind::kU8, {n});
  split = read_all<uint8_t>(spl.get(), H5T_NATIVE_UINT8, static_cast<size_t>(n), format::kSplit);
  for (int64_t i = 0; i < n; ++i) {
    if (split[i] > format::kVal)
      bad(std::string("dataset ") + format::kSplit, "expected 0 (train) or 1 (val), found " +
                                                        std::to_string(split[i]) + " at index " +
                                                        std::to_string(i));
    (split[i] == format::kTrain ? train : val).push_back(i);
  }

  paths = open_checked(format::kSourcePaths, Kind::kString, {n});
  h5::Handle ptype = h5::datatype(H5Dget_type(paths.get()));
  path_width = H5Tget_size(ptype.get());
  open_checked(format::kContentSha256, Kind::kU8, {n, 32});

  h5::Handle dcpl = h5::plist(H5Dget_create_plist(images.get()));
  if (H5Pget_layout(dcpl.get()) == H5D_CHUNKED) {
    hsize_t chunk[4] = {0, 0, 0, 0};
    if (H5Pget_chunk(dcpl.get(), 4, chunk) == 4)
      layout.chunk_images = static_cast<int64_t>(chunk[0]);
    const int nfilters = H5Pget_nfilters(dcpl.get());
    for (int f = 0; f < nfilters; ++f) {
      unsigned flags = 0, values[8] = {0};
      size_t nvalues = 8;
      const H5Z_filter_t id = H5Pget_filter2(dcpl.get(), static_cast<unsigned>(f), &flags, &nvalues,
                                             values, 0, nullptr, nullptr);
      if (id == H5Z_FILTER_DEFLATE)
        layout.gzip_level = nvalues > 0 ? static_cast<int>(values[0]) : 1;
      if (id == H5Z_FILTER_FLETCHER32) layout.fletcher32 = true;
    }
  }
  H5Eclear2(H5E_DEFAULT);
}

CorpusReader::CorpusReader(const std::string& path) : impl_(new Impl) {
  impl_->path = path;
  impl_->name = path;
  try {
    Lock lock(h5::mutex());
    h5::silence_errors();
    impl_->open();
    impl_->validate();
  } catch (...) {
    Lock lock(h5::mutex());
    delete impl_;
    impl_ = nullptr;
    throw;
  }
}

CorpusReader::~CorpusReader() {
  Lock lock(h5::mutex());
  delete impl_;
}

const std::string& CorpusReader::path() const { return impl_->path; }
int64_t CorpusReader::size() const { return impl_->n; }
int CorpusReader::image_size() const { return impl_->size; }
const std::vector<std::string>& CorpusReader::cultures() const { return impl_->cultures; }
const std::vector<int32_t>& CorpusReader::labels() const { return impl_->labels; }
const std::vector<int64_t>& CorpusReader::train_indices() const { return impl_->train; }
const std::vector<int64_t>& CorpusReader::val_indices() const { return impl_->val; }
const std::vector<int64_t>& CorpusReader::culture_counts() const { return impl_->counts; }
const std::vector<uint8_t>& CorpusReader::split() const { return impl_->split; }
CorpusLayout CorpusReader::layout() const { return impl_->layout; }

std::string CorpusReader::source_path(int64_t i) const {
  if (i < 0 || i >= impl_->n)
    throw CorpusError(impl_->name + ": dataset /source_paths: index " + std::to_string(i) +
                      " out of range [0," + std::to_string(impl_->n) + ")");
  Lock lock(h5::mutex());
  h5::Handle fspace = h5::dataspace(H5Dget_space(impl_->paths.get()));
  const hsize_t start = static_cast<hsize_t>(i), count = 1;
  H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, &start, nullptr, &count, nullptr);
  h5::Handle mspace = h5::dataspace(H5Screate_simple(1, &count, nullptr));
  h5::Handle mtype = h5::fixed_string_type(impl_->path_width);
  std::vector<char> buf(impl_->path_width, '\0');
  if (H5Dread(impl_->paths.get(), mtype.get(), mspace.get(), fspace.get(), H5P_DEFAULT,
              buf.data()) < 0)
    impl_->bad_h5("dataset /source_paths", "read of entry " + std::to_string(i) + " failed");
  return std::string(buf.data(), strnlen(buf.data(), buf.size()));
}

std::vector<Sha256Digest> CorpusReader::read_content_hashes() const {
  Lock lock(h5::mutex());
  h5::Handle ds = h5::dataset(H5Dopen2(impl_->file.get(), format::kContentSha256, H5P_DEFAULT));
  if (!ds.valid()) impl_->bad_h5("dataset /content_sha256", "cannot open");
  std::vector<uint8_t> raw = impl_->read_all<uint8_t>(
      ds.get(), H5T_NATIVE_UINT8, static_cast<size_t>(impl_->n) * 32, format::kContentSha256);
  std::vector<Sha256Digest> out(static_cast<size_t>(impl_->n));
  for (size_t i = 0; i < out.size(); ++i) std::memcpy(out[i].data(), raw.data() + 32 * i, 32);
  return out;
}

void CorpusReader::read_images(int64_t start, int64_t count, uint8_t* out) const {
  if (start < 0 || count < 0 || start + count > impl_->n)
    throw CorpusError(impl_->name + ": dataset /images: read of images [" + std::to_string(start) +
                      ", " + std::to_string(start + count) + ") out of range [0," +
                      std::to_string(impl_->n) + ")");
  if (count == 0) return;
  Lock lock(h5::mutex());
  const hsize_t s = static_cast<hsize_t>(impl_->size);
  h5::Handle fspace = h5::dataspace(H5Dget_space(impl_->images.get()));
  const hsize_t offset[4] = {static_cast<hsize_t>(start), 0, 0, 0};
  const hsize_t extent[4] = {static_cast<hsize_t>(count), s, s, 3};
  H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, offset, nullptr, extent, nullptr);
  h5::Handle mspace = h5::dataspace(H5Screate_simple(4, extent, nullptr));
  if (H5Dread(impl_->images.get(), H5T_NATIVE_UINT8, mspace.get(), fspace.get(), H5P_DEFAULT, out) <
      0)
    impl_->bad_h5("dataset /images", "read of images [" + std::to_string(start) + ", " +
                                         std::to_string(start + count) +
                                         ") failed (corrupt chunk?)");
}

}  // namespace culturegan::data
