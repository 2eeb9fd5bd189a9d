// Test helpers that damage a valid corpus in specific ways through the HDF5 C API.
#pragma once
#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

namespace culturegan::testutil {

/// Deletes dataset `name` ("/labels").
void delete_dataset(const std::string& file, const std::string& name);
/// Replaces dataset `name` with a new one of file type `type`, shape `dims`, zero-filled.
void replace_dataset(const std::string& file, const std::string& name, hid_t type,
                     const std::vector<hsize_t>& dims);
/// Overwrites all of dataset `name` with `data` in memory type `mtype` (shape unchanged).
void overwrite_dataset(const std::string& file, const std::string& name, hid_t mtype,
                       const void* data);
/// Overwrites the int32 root attribute `name`.
void overwrite_int_attr(const std::string& file, const std::string& name, int32_t value);
/// Byte offset and size of chunk `index` of dataset `name` in the file.
std::pair<uint64_t, uint64_t> chunk_location(const std::string& file, const std::string& name,
                                             hsize_t index);

}  // namespace culturegan::testutil
