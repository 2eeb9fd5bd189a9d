# Sourced by bench/gpu/device-check.sh and deps-check.sh: the environment for the Debian 12
# libraries that bench/gpu/prepare-deps.sh unpacked into ROOT (. deps-env.sh ROOT).
# Sets DEPS_LD_LIBRARY_PATH (given only to the commands that use the carried libraries:
# cmake, the build, mpirun and culturegan, not Python, which keeps the machine's own
# OpenSSL and friends), OPAL_PREFIX (OpenMPI relocated to ROOT/usr), PATH (ROOT/usr/bin
# last, so mpirun is found), PKG_CONFIG_PATH, and DEPS_CMAKE_ARGS for culturegan's CMake.
DEPS_ROOT=$(cd "$1" && pwd)
_L=$DEPS_ROOT/usr/lib/x86_64-linux-gnu
export DEPS_LD_LIBRARY_PATH="$_L:$_L/openmpi/lib:$_L/hdf5/serial:$_L/pmix2/lib"
export OPAL_PREFIX="$DEPS_ROOT/usr"
export PMIX_INSTALL_PREFIX="$_L/pmix2"
export PATH="$PATH:$DEPS_ROOT/usr/bin"
export PKG_CONFIG_PATH="$_L/pkgconfig:$DEPS_ROOT/usr/share/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
# What Debian's /etc/openmpi/openmpi-mca-params.conf says (not carried: /etc is outside the prefix).
export OMPI_MCA_btl_base_warn_component_unused=0 OMPI_MCA_mca_base_component_show_load_errors=0
export OMPI_MCA_btl="self,vader,tcp"
DEPS_CMAKE_ARGS=(
  -DMPI_C_COMPILER="$DEPS_ROOT/usr/bin/mpicc.openmpi"
  -DMPIEXEC_EXECUTABLE="$DEPS_ROOT/usr/bin/mpirun.openmpi"
  -DMPI_C_HEADER_DIR="$_L/openmpi/include"
  -DMPI_C_LIB_NAMES=mpi
  -DMPI_mpi_LIBRARY="$_L/openmpi/lib/libmpi.so"
  -DHDF5_ROOT="$_L/hdf5/serial"
  -DHDF5_C_COMPILER_EXECUTABLE=HDF5_C_COMPILER_EXECUTABLE-NOTFOUND
  -DHDF5_NO_FIND_PACKAGE_CONFIG_FILE=ON
  -DHDF5_C_INCLUDE_DIR="$DEPS_ROOT/usr/include/hdf5/serial"
  -DHDF5_C_LIBRARY_hdf5="$_L/hdf5/serial/libhdf5.so"
  -DPKG_CONFIG_EXECUTABLE="$DEPS_ROOT/usr/bin/pkgconf"
  -DCLI11_INCLUDE_DIR="$DEPS_ROOT/usr/include"
  -DSTB_INCLUDE_DIR="$DEPS_ROOT/usr/include/stb"
  -DCMAKE_BUILD_RPATH="$_L;$_L/openmpi/lib;$_L/hdf5/serial"
)
withdeps() { LD_LIBRARY_PATH="$DEPS_LD_LIBRARY_PATH${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$@"; }
unset _L
