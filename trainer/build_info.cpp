#include "trainer/build_info.h"

#include <H5public.h>
#include <mpi.h>
#include <zlib.h>

#include <fmt/format.h>
#include <toml++/toml.h>
#include <torch/version.h>

namespace culturegan::trainer {
namespace {

std::string mpi_version() {
  char buf[MPI_MAX_LIBRARY_VERSION_STRING] = {0};
  int len = 0;
  int init = 0;
  MPI_Initialized(&init);
  if (!init || MPI_Get_library_version(buf, &len) != MPI_SUCCESS) return "unknown";
  std::string v(buf, static_cast<size_t>(len));
  const auto nl = v.find_first_of("\n,");
  return v.substr(0, nl);
}

}  // namespace

std::vector<std::pair<std::string, std::string>> library_versions() {
  unsigned maj = 0, min = 0, rel = 0;
  H5get_libversion(&maj, &min, &rel);
  return {{"culturegan", CULTUREGAN_VERSION},
          {"torch", TORCH_VERSION},
          {"mpi", mpi_version()},
          {"hdf5", fmt::format("{}.{}.{}", maj, min, rel)},
          {"fmt", fmt::format("{}.{}.{}", FMT_VERSION / 10000, FMT_VERSION / 100 % 100,
                              FMT_VERSION % 100)},
          {"tomlplusplus", fmt::format("{}.{}.{}", TOML_LIB_MAJOR, TOML_LIB_MINOR, TOML_LIB_PATCH)},
          {"zlib", ZLIB_VERSION}};
}

}  // namespace culturegan::trainer
