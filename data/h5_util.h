// Small RAII and error helpers over the HDF5 C API, shared by the corpus reader and
// writer. Debian's HDF5 is not thread-safe: every HDF5 call must hold h5::lock().
#pragma once
#include <hdf5.h>

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace culturegan::data::h5 {

/// The process-wide HDF5 mutex. Recursive so helpers can nest.
std::recursive_mutex& mutex();
/// Turns off HDF5's automatic error printing (we report errors ourselves). Idempotent.
void silence_errors();
/// The innermost message of HDF5's current error stack ("" if none); clears the stack.
std::string last_error();

/// Owns one hid_t and closes it with the matching H5*close on destruction.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  ~Handle() { reset(); }
  Handle(Handle&& o) noexcept : id_(o.id_), closer_(o.closer_) { o.id_ = -1; }
  Handle& operator=(Handle&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = o.id_;
      closer_ = o.closer_;
      o.id_ = -1;
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  void reset() {
    if (id_ >= 0 && closer_) closer_(id_);
    id_ = -1;
  }

 private:
  hid_t id_ = -1;
  Closer closer_ = nullptr;
};

inline Handle file(hid_t id) { return Handle(id, H5Fclose); }
inline Handle dataset(hid_t id) { return Handle(id, H5Dclose); }
inline Handle dataspace(hid_t id) { return Handle(id, H5Sclose); }
inline Handle datatype(hid_t id) { return Handle(id, H5Tclose); }
inline Handle attribute(hid_t id) { return Handle(id, H5Aclose); }
inline Handle plist(hid_t id) { return Handle(id, H5Pclose); }

/// "uint8", "int32", "float64", "string", "compound", ... for messages.
std::string describe_type(hid_t type);
/// Dimensions of a dataspace (empty for a scalar; throws nothing, returns {-1} on error).
std::vector<int64_t> dims_of(hid_t space);
/// "[2228,128,128,3]".
std::string describe_dims(const std::vector<int64_t>& dims);
/// A fixed-length UTF-8 string type of `size` bytes, NUL-padded.
Handle fixed_string_type(size_t size);

}  // namespace culturegan::data::h5
