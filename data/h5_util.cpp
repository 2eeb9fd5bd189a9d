#include "data/h5_util.h"

namespace culturegan::data::h5 {

std::recursive_mutex& mutex() {
  static std::recursive_mutex m;
  return m;
}

void silence_errors() {
  std::lock_guard<std::recursive_mutex> lock(mutex());
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}

namespace {
herr_t collect(unsigned, const H5E_error2_t* err, void* data) {
  auto* out = static_cast<std::string*>(data);
  if (err->desc && *err->desc) *out = err->desc;
  return 0;
}
}  // namespace

std::string last_error() {
  std::lock_guard<std::recursive_mutex> lock(mutex());
  std::string msg;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, collect, &msg);
  H5Eclear2(H5E_DEFAULT);
  return msg;
}

std::string describe_type(hid_t type) {
  switch (H5Tget_class(type)) {
    case H5T_INTEGER: {
      const bool is_signed = H5Tget_sign(type) == H5T_SGN_2;
      return std::string(is_signed ? "int" : "uint") + std::to_string(H5Tget_size(type) * 8);
    }
    case H5T_FLOAT:
      return "float" + std::to_string(H5Tget_size(type) * 8);
    case H5T_STRING:
      return H5Tis_variable_str(type) > 0 ? "variable-length string" : "fixed-length string";
    case H5T_COMPOUND:
      return "compound";
    case H5T_ENUM:
      return "enum";
    case H5T_ARRAY:
      return "array";
    case H5T_VLEN:
      return "vlen";
    case H5T_OPAQUE:
      return "opaque";
    case H5T_REFERENCE:
      return "reference";
    case H5T_BITFIELD:
      return "bitfield";
    default:
      return "unknown type";
  }
}

std::vector<int64_t> dims_of(hid_t space) {
  const int rank = H5Sget_simple_extent_ndims(space);
  if (rank < 0 || rank > 32) return {-1};
  std::vector<hsize_t> d(static_cast<size_t>(rank));
  if (rank > 0 && H5Sget_simple_extent_dims(space, d.data(), nullptr) < 0) return {-1};
  return std::vector<int64_t>(d.begin(), d.end());
}

std::string describe_dims(const std::vector<int64_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? "," : "") + std::to_string(dims[i]);
  return s + "]";
}

Handle fixed_string_type(size_t size) {
  std::lock_guard<std::recursive_mutex> lock(mutex());
  Handle t = datatype(H5Tcopy(H5T_C_S1));
  H5Tset_size(t.get(), size < 1 ? 1 : size);
  H5Tset_strpad(t.get(), H5T_STR_NULLPAD);
  H5Tset_cset(t.get(), H5T_CSET_UTF8);
  return t;
}

}  // namespace culturegan::data::h5
