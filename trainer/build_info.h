// Versions of culturegan and the libraries it was built and runs with, recorded in every
// checkpoint's state.toml [versions] (docs/checkpoint-format.md). The one unit that asks MPI,
// HDF5, LibTorch, fmt, toml++ and zlib for their versions.
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace culturegan::trainer {

/// name → version: culturegan (the CMake project version), torch (TORCH_VERSION at build
/// time), mpi (MPI_Get_library_version's first line; "unknown" before MPI_Init), hdf5
/// (H5get_libversion, the library loaded at run time), fmt, tomlplusplus, zlib (headers).
std::vector<std::pair<std::string, std::string>> library_versions();

}  // namespace culturegan::trainer
