#!/usr/bin/env bash
# Installs culturegan's Debian 12 dependencies (idempotent; quick when already installed).
set -euo pipefail
pkgs=(build-essential cmake ninja-build pkg-config
      libtorch-dev libopenmpi-dev openmpi-bin libhdf5-dev hdf5-tools libtomlplusplus-dev libfmt-dev
      libgtest-dev libcli11-dev libstb-dev zlib1g-dev
      python3 python3-torch python3-h5py python3-numpy python3-pil
      python3-matplotlib  # culturegan-report's plots (SVG)
      libblas3 libopenblas0-pthread)  # libblas3: the reference BLAS some float32 equivalence tests pin; OpenBLAS: the optimised BLAS: LibTorch's matrix products are ~20x faster than with
                             # Debian's reference libblas3 (it takes over the libblas.so.3 alternative)
# --test: also what only the test suite needs (headless Chromium renders the run report in
# tests/report); the quickstart does not install it.
# debootstrap makes the Debian 13 root of the LibTorch 2.x check (scripts/check-libtorch2.sh).
if [ "${1:-}" = "--test" ]; then pkgs+=(chromium debootstrap); fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#pkgs[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
