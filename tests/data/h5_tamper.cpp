#include "tests/data/h5_tamper.h"

#include <stdexcept>

namespace culturegan::testutil {
namespace {

struct File {
  hid_t id;
  explicit File(const std::string& path) : id(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT)) {
    if (id < 0) throw std::runtime_error(path + ": cannot open for tampering");
  }
  ~File() { H5Fclose(id); }
};

}  // namespace

void delete_dataset(const std::string& file, const std::string& name) {
  File f(file);
  if (H5Ldelete(f.id, name.c_str(), H5P_DEFAULT) < 0)
    throw std::runtime_error("cannot delete " + name);
}

void replace_dataset(const std::string& file, const std::string& name, hid_t type,
                     const std::vector<hsize_t>& dims) {
  File f(file);
  H5Ldelete(f.id, name.c_str(), H5P_DEFAULT);
  hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
  hid_t ds = H5Dcreate2(f.id, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (ds < 0) throw std::runtime_error("cannot create " + name);
  H5Dclose(ds);
  H5Sclose(space);
}

void overwrite_dataset(const std::string& file, const std::string& name, hid_t mtype,
                       const void* data) {
  File f(file);
  hid_t ds = H5Dopen2(f.id, name.c_str(), H5P_DEFAULT);
  if (ds < 0 || H5Dwrite(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
    throw std::runtime_error("cannot overwrite " + name);
  H5Dclose(ds);
}

void overwrite_int_attr(const std::string& file, const std::string& name, int32_t value) {
  File f(file);
  hid_t attr = H5Aopen(f.id, name.c_str(), H5P_DEFAULT);
  if (attr < 0 || H5Awrite(attr, H5T_NATIVE_INT32, &value) < 0)
    throw std::runtime_error("cannot write attr " + name);
  H5Aclose(attr);
}

std::pair<uint64_t, uint64_t> chunk_location(const std::string& file, const std::string& name,
                                             hsize_t index) {
  hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  hid_t ds = H5Dopen2(f, name.c_str(), H5P_DEFAULT);
  hid_t space = H5Dget_space(ds);
  hsize_t offset[4] = {0, 0, 0, 0}, size = 0;
  unsigned mask = 0;
  haddr_t addr = 0;
  const herr_t rc = H5Dget_chunk_info(ds, space, index, offset, &mask, &addr, &size);
  H5Sclose(space);
  H5Dclose(ds);
  H5Fclose(f);
  if (rc < 0) throw std::runtime_error("cannot locate chunk");
  return {addr, size};
}

}  // namespace culturegan::testutil
