#!/usr/bin/env bash
# Companion of bench/gpu/device-check.sh, run on the development machine (Debian 12): the
# libraries the GPU machine lacks (it has PyTorch, CUDA, nvcc, CMake, ninja, a compiler; no
# MPI or HDF5 headers, no network), as Debian 12 packages unpacked with dpkg -x into
# .device-deps/root (git-ignored), to carry with the working tree:
#   run(command="bash bench/gpu/device-check.sh", carry=[".device-deps"])
# Packages: OpenMPI (headers, libraries, mpirun), HDF5, toml++, fmt, CLI11, stb, GoogleTest,
# plus every shared library they need that is not part of a base system (glibc, libstdc++,
# libgcc, zlib), found by following the ELF NEEDED entries of what was unpacked; MPI plugins
# whose libraries are not carried (InfiniBand, UCX, libfabric, PSM2) are left out. Absolute
# symlinks are made relative, so the tree works wherever it lands. Fails when the whole tree
# exceeds CULTUREGAN_DEPS_MAX_MIB (default 56: the working tree and the tree share 64 MiB).
# Prints one "SKIPPED: ..." line and exits 0 when the packages cannot be fetched.
#   bash bench/gpu/prepare-deps.sh [--check]    # --check: then verify the tree here
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$(pwd)
DEST=${CULTUREGAN_DEVICE_DEPS:-$REPO/.device-deps}
MAX_MIB=${CULTUREGAN_DEPS_MAX_MIB:-56}
CHECK=0
[ "${1:-}" = "--check" ] && CHECK=1
log() { echo "prepare-deps: $*"; }
die() { echo "prepare-deps: FAILED: $*" >&2; exit 1; }
SEED=(libopenmpi-dev libopenmpi3 openmpi-bin openmpi-common libhdf5-dev libhdf5-103-1 libsz2 libaec0
      libtomlplusplus-dev libtomlplusplus3 libfmt-dev libfmt9 libcli11-dev libstb-dev libstb0
      libgtest-dev zlib1g zlib1g-dev pkgconf pkgconf-bin libpkgconf3 libhwloc15 libhwloc-dev libevent-core-2.1-7 libevent-pthreads-2.1-7 libevent-dev libpmix2)
t0=$(date +%s)
rm -rf "$DEST"
mkdir -p "$DEST/debs" "$DEST/root"
fetch() {  # fetch PKG... : downloads the .debs (this machine's apt sources) and unpacks them
  local logf="$DEST/apt-download.log"
  if ! (cd "$DEST/debs" && timeout --kill-after=10 900 apt-get download -q \
          -o Acquire::http::Timeout=60 -o Acquire::Retries=3 "$@") >> "$logf" 2>&1; then
    if grep -E -q "Failed to fetch|Temporary failure resolving|Could not resolve|Unable to connect|Connection timed out|Network is unreachable" "$logf"; then
      echo "SKIPPED: prepare-deps: the Debian packages cannot be fetched: $(grep -E -m1 'Failed to fetch|Temporary failure|Could not resolve|Unable to connect|timed out|unreachable' "$logf" | cut -c1-300)"
      exit 0
    fi
    tail -n 20 "$logf" >&2
    die "apt-get download $* failed ($logf)"
  fi
  local p f
  for p in "$@"; do
    f=$(ls "$DEST/debs/${p}_"*.deb 2>/dev/null | head -n 1) || true
    [ -n "$f" ] || die "apt-get download $p gave no .deb"
    dpkg -x "$f" "$DEST/root"
  done
}
log "downloading and unpacking ${#SEED[@]} packages"
fetch "${SEED[@]}"

# Follow NEEDED entries until every one is in the tree or in the base system; plugins of
# OpenMPI that need uncarried libraries (fabrics) are removed instead.
closure() {
  /usr/bin/python3 - "$DEST/root" <<'PY'
import os, subprocess, sys
root = sys.argv[1]
BASE = {"libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0", "librt.so.1", "libutil.so.1",
        "ld-linux-x86-64.so.2", "libstdc++.so.6", "libgcc_s.so.1", "libz.so.1", "libresolv.so.2"}
# Fabric libraries: the plugins that need them are dropped (one node, shared memory and TCP).
DROP = ("libibverbs", "librdmacm", "libucp", "libucm", "libucs", "libuct", "libfabric", "libpsm", "libpsm2",
        "libmlx", "libxpmem", "libknem", "libcuda.so", "libnvidia-ml", "libpmi", "libtorque", "libslurm",
        "libxnvctrl", "libnl-", "libmca_common_ucx", "libmca_common_ofi",
        "libmca_common_verbs", "libmca_common_psm", "libmca_common_cuda")
have, elves = set(), []
for d, _, files in os.walk(root):
    for f in files:
        p = os.path.join(d, f)
        if ".so" in f:
            have.add(f)
        if os.path.isfile(p) and not os.path.islink(p):
            with open(p, "rb") as fh:
                if fh.read(4) == b"\x7fELF":
                    elves.append(p)
missing = {}
for p in elves:
    out = subprocess.run(["readelf", "-d", p], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if "(NEEDED)" in line:
            so = line.split("[", 1)[1].rstrip("]")
            if so not in have and so not in BASE:
                missing.setdefault(so, []).append(p)
to_drop, to_fetch = [], set()
for so, users in missing.items():
    plugins = [u for u in users if os.path.basename(u).startswith(("mca_", "libmca_common_"))]
    others = [u for u in users if u not in plugins]
    if so.startswith(DROP):
        to_drop += plugins
        if others:
            print("ERROR", so, "(a fabric library) is needed by", [os.path.relpath(u, root) for u in others])
        continue
    q = subprocess.run(["dpkg", "-S", f"/usr/lib/x86_64-linux-gnu/{so}"], capture_output=True, text=True)
    if q.returncode != 0:
        q = subprocess.run(["dpkg", "-S", f"/lib/x86_64-linux-gnu/{so}"], capture_output=True, text=True)
    if q.returncode != 0:
        print("ERROR", so, "is not installed on this machine; needed by", [os.path.relpath(u, root) for u in users[:3]])
        continue
    to_fetch.add(q.stdout.split(":")[0])
for p in sorted(set(to_drop)):
    os.remove(p)
    print("DROP", os.path.relpath(p, root))
for pkg in sorted(to_fetch):
    print("FETCH", pkg)
PY
}
for round in 1 2 3 4 5 6; do
  mapfile -t lines < <(closure)
  fetch_pkgs=()
  for l in "${lines[@]}"; do
    case "$l" in
      FETCH\ *) fetch_pkgs+=("${l#FETCH }") ;;
      ERROR\ *) die "${l#ERROR }" ;;
      DROP\ *) log "left out (needs an uncarried fabric library): ${l#DROP }" ;;
    esac
  done
  [ ${#fetch_pkgs[@]} -eq 0 ] && break
  log "round $round: adding ${fetch_pkgs[*]}"
  fetch "${fetch_pkgs[@]}"
  [ "$round" = 6 ] && die "the library closure did not settle in 6 rounds"
done

# Prune what the device does not need; make absolute symlinks relative.
R=$DEST/root
rm -rf "$R/usr/share/doc" "$R/usr/share/man" "$R/usr/share/locale" "$R/usr/share/lintian" \
       "$R/usr/share/bug" "$R/usr/share/info" "$R/etc/ld.so.conf.d"
find "$R" -name "*.a" ! -name "libgtest*.a" ! -name "libgmock*.a" -delete
L=$R/usr/lib/x86_64-linux-gnu
# Fortran, Java, OpenSHMEM and C++ bindings, HDF5's C++/Fortran/high-level libraries, OpenMPI's
# internal headers (mpi.h needs only its own directory; OMPI_SKIP_MPICXX skips mpicxx.h).
rm -rf "$L/fortran" "$L"/libmpi_mpifh* "$L"/libmpi_usempi* "$L"/liboshmem* "$L"/libmpi_java* "$L"/libmpi_cxx* \
       "$L"/libhdf5_serial_cpp* "$L"/libhdf5_serial_fortran* "$L"/libhdf5_serial_hl* "$L"/libhdf5_serialhl* \
       "$L"/libhdf5_cpp* "$L"/libhdf5_fortran* "$L"/libhdf5_hl* "$L"/libhdf5hl* \
       "$L"/openmpi/include/openmpi/{opal,orte,oshmem,mpiext} "$L"/openmpi/include/*shmem* \
       "$L"/openmpi/include/openmpi/ompi/{mca,runtime,datatype,attribute,communicator,errhandler,file,group,info,message,op,patterns,peruse,proc,request,win,dpm,interlib,tools,util} \
       "$L"/openmpi/lib/openmpi3/mca_*oshmem* "$L"/openmpi/lib/openmpi3/mca_spml_* "$L"/openmpi/lib/openmpi3/mca_sshmem_* \
       "$L"/openmpi/lib/openmpi3/mca_scoll_* "$L"/openmpi/lib/openmpi3/mca_atomic_* "$L"/openmpi/lib/openmpi3/mca_memheap_*
find "$R" -type l | while read -r l; do
  t=$(readlink "$l")
  case "$t" in
    /*) if [ -e "$R$t" ] || [ -L "$R$t" ]; then ln -sfn "$(realpath -m --relative-to="$(dirname "$l")" "$R$t")" "$l"; else rm -f "$l"; fi ;;
  esac
done
rm -f "$R"/usr/bin/osh* "$R"/usr/bin/shmem* "$R"/usr/bin/mpif* "$R"/usr/bin/mpijava* "$R"/usr/bin/oshmem_info
# The names Debian's update-alternatives would have made.
for t in mpirun mpiexec mpicc mpicxx mpic++; do ln -sfn "$t.openmpi" "$R/usr/bin/$t"; done
find "$R" -xtype l -delete
# pkg-config files: paths relative to the file (${pcfiledir}), so they work wherever the tree is.
for pc in "$R"/usr/lib/x86_64-linux-gnu/pkgconfig/*.pc "$R"/usr/share/pkgconfig/*.pc; do
  [ -f "$pc" ] || continue
  case "$pc" in */lib/x86_64-linux-gnu/pkgconfig/*) up='${pcfiledir}/../../..' ;; *) up='${pcfiledir}/../..' ;; esac
  sed -i -e "s|^prefix=/usr\$|prefix=$up|" -e "s|^exec_prefix=/usr\$|exec_prefix=\${prefix}|" \
         -e "s|=/usr/|=\${prefix}/|" "$pc"
done
rm -rf "$DEST/debs"
mib=$(du -sm "$DEST" | cut -f1)
log "$(find "$R" -type f | wc -l) files, ${mib} MiB in $DEST (limit $MAX_MIB MiB), $(( $(date +%s) - t0 )) s"
[ "$mib" -le "$MAX_MIB" ] || die "$DEST is ${mib} MiB, over $MAX_MIB MiB"
if [ "$CHECK" = 1 ]; then bash "$REPO/bench/gpu/deps-check.sh" "$R"; fi
