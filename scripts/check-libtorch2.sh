#!/usr/bin/env bash
# LibTorch 2.x check (issue 13, part 1): builds culturegan against Debian 13 ("trixie")'s
# libtorch-dev 2.6 (CPU), GCC 14, HDF5 1.14, toml++ 3.4, and runs the unit and MPI test
# suites there, inside a trixie root made with debootstrap.
#
#   bash scripts/check-libtorch2.sh [--setup-only] [--all-targets]
#
# The root lives in a fixed cache folder (CULTUREGAN_TRIXIE_ROOT, default
# /var/cache/culturegan/trixie-root) and is reused: a machine that already has it only
# copies the working tree in and rebuilds what changed (the build folder is inside the root).
# The Debian mirror is read from this machine's apt sources (CULTUREGAN_DEBIAN_MIRROR
# overrides it). Needs root (debootstrap, chroot, mounts in a private mount namespace).
#
# Exit status: 0 when every selected test passed, or when the trixie packages cannot be
# fetched (then one line "SKIPPED: ..." says why); non-zero on a build or test failure.
#   --setup-only   create/refresh the root and its packages, then stop
#   --all-targets  build every target (default: the targets the unit and MPI suites need)
# Environment: JOBS (default 1), CULTUREGAN_LT2_TIMEOUT_S (bound on each stage, default 3600),
# CULTUREGAN_LT2_KEEP_GOING=1 (ninja -k 0: report every failing file, not the first).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
ROOT=${CULTUREGAN_TRIXIE_ROOT:-/var/cache/culturegan/trixie-root}
SUITE=trixie
JOBS=${JOBS:-1}
STAGE_TIMEOUT=${CULTUREGAN_LT2_TIMEOUT_S:-3600}
SETUP_ONLY=0
ALL_TARGETS=0
for a in "$@"; do
  case "$a" in
    --setup-only) SETUP_ONLY=1 ;;
    --all-targets) ALL_TARGETS=1 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "check-libtorch2: unknown argument '$a'" >&2; exit 2 ;;
  esac
done

# Build dependencies inside the root (Debian 13 names). python3 only as the configured
# CULTUREGAN_PYTHON path; the Python interop tests are not part of this check.
PKGS=(build-essential cmake ninja-build pkg-config ca-certificates
      libtorch-dev libopenmpi-dev openmpi-bin libhdf5-dev libtomlplusplus-dev libfmt-dev
      libgtest-dev libcli11-dev libstb-dev zlib1g-dev python3
      e2fsprogs)  # chattr: CheckpointFiles.UnwritableDirectoryKeepsPreviousCheckpoint (root)
# Targets the unit and MPI suites run (gtest binaries, MPI tests, their helpers), plus
# culturegan_ckpt_tool, which is the other file 2.x broke, and bench/gpu's compatibility probe
# (common/torch_compat.h) and data-plane check (added through bench/gpu/hook.cmake).
SUITE_TARGETS=(culturegan_corpus_tests culturegan-corpus culturegan-ingest culturegan_loader_tests
  culturegan_distributed_comm_test culturegan_distributed_reducer_test
  culturegan_distributed_control_plane_test culturegan_distributed_stall_driver
  culturegan_distributed_env_probe culturegan_distributed_bucket_plan_test
  culturegan_models_tests culturegan_trainer_tests culturegan_ranks_agree_test
  culturegan_zoo_tests culturegan_checkpoint_tests culturegan_ckpt_tool culturegan_eval_tests
  culturegan_test_env_tests culturegan-torch-compat-probe culturegan-device-comm-check)
# ctest selection: every GoogleTest case (discovered names are Suite.Case) and the MPI tests.
CTEST_REGEX='\.|_np[0-9]+$|^culturegan_distributed_(watchdog_np[0-9]+|mpirun_env)$'

log() { echo "check-libtorch2: $*"; }
skip() { echo "SKIPPED: check-libtorch2 (LibTorch 2.x on Debian $SUITE): $*"; exit 0; }
die() { echo "check-libtorch2: FAILED: $*" >&2; exit 1; }
now() { date +%s; }
declare -a stage_names stage_secs
stage_t0=$(now)
stage() { local t; t=$(now); stage_names+=("$1"); stage_secs+=($((t - stage_t0))); stage_t0=$t; }
report_times() {
  for i in "${!stage_names[@]}"; do printf 'check-libtorch2: %-22s %6d s\n' "${stage_names[$i]}" "${stage_secs[$i]}"; done
}

[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot); run it as root or with sudo"

# The main Debian archive from this machine's apt sources: the first "deb" entry with a
# plain release suite (no -security/-updates), in deb822 (.sources) or one-line (.list) form.
find_mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk '
      function flush() { if (types ~ /(^| )deb( |$)/ && suites ~ /(^| )[a-z]+( |$)/ && enabled !~ /^no/ && uris != "") { split(uris, u, " "); print u[1]; found = 1; exit } types = suites = uris = enabled = "" }
      /^[ \t]*#/ { next }
      /^[ \t]*$/ { flush(); next }
      { key = tolower($1); sub(/:$/, "", key); $1 = ""; sub(/^ +/, "");
        if (key == "types") types = $0; else if (key == "suites") suites = $0;
        else if (key == "uris") uris = $0; else if (key == "enabled") enabled = tolower($0) }
      END { if (!found) flush() }' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
                       if ($(i + 1) ~ /^[a-z]+$/) { print $i; exit } }' "$f"
  done
}
MIRROR=${CULTUREGAN_DEBIAN_MIRROR:-$(find_mirror | head -n 1)}
[ -n "$MIRROR" ] || skip "no Debian mirror found in /etc/apt/sources.list{,.d/*} (set CULTUREGAN_DEBIAN_MIRROR)"
MIRROR=${MIRROR%/}

# Fetch errors (network, mirror) make the check SKIPPED; anything else fails it.
FETCH_ERRORS='Failed to fetch|Failed getting release file|Couldn.t download|Temporary failure resolving|Could not resolve|Could not connect|Unable to connect|Connection timed out|Connection refused|Network is unreachable|No route to host|Cannot initiate the connection|Hash Sum mismatch|Release file .* is not valid|Unable to fetch some archives'
fail_or_skip() {  # fail_or_skip WHAT LOGFILE
  local line
  line=$(grep -E -m1 "$FETCH_ERRORS" "$2" || true)
  if [ -n "$line" ]; then skip "$1: packages cannot be fetched from $MIRROR: ${line:0:300} (log: $2)"; fi
  tail -n 30 "$2" >&2
  die "$1 failed (log: $2)"
}

mkdir -p "$(dirname "$ROOT")"
LOGDIR=$(dirname "$ROOT")/logs
mkdir -p "$LOGDIR"

# Runs a command inside the root, in a private mount namespace (the mounts vanish with it).
in_root() {
  timeout --kill-after=30 "$STAGE_TIMEOUT" unshare --mount --propagation private -- bash -c '
    set -e
    r=$1; shift
    mount -t proc proc "$r/proc"
    mount --bind /dev "$r/dev"
    mount -t devpts -o newinstance,ptmxmode=0666 devpts "$r/dev/pts" 2>/dev/null || true
    mount -t tmpfs -o size=2g tmpfs "$r/dev/shm"
    mount -t sysfs sysfs "$r/sys" 2>/dev/null || true
    mount -t tmpfs tmpfs "$r/tmp"
    exec chroot "$r" /usr/bin/env -i HOME=/root PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin \
      LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive OMP_NUM_THREADS=1 "$@"' _ "$ROOT" "$@"
}

# 1. The root (debootstrap), reused when complete.
if [ ! -f "$ROOT/.culturegan-debootstrap-done" ]; then
  if ! command -v debootstrap >/dev/null; then
    log "installing debootstrap"
    if ! { apt-get install -y -q -o DPkg::Lock::Timeout=600 debootstrap ||
           { apt-get update -q -o DPkg::Lock::Timeout=600 && apt-get install -y -q -o DPkg::Lock::Timeout=600 debootstrap; }; } \
        > "$LOGDIR/debootstrap-install.log" 2>&1; then
      fail_or_skip "apt-get install debootstrap" "$LOGDIR/debootstrap-install.log"
    fi
  fi
  [ -f /usr/share/debootstrap/scripts/$SUITE ] || skip "this debootstrap does not know '$SUITE' (upgrade debootstrap)"
  log "creating the $SUITE root in $ROOT from $MIRROR (debootstrap, several minutes)"
  rm -rf "$ROOT"
  if ! timeout --kill-after=30 "$STAGE_TIMEOUT" debootstrap --variant=minbase --arch=amd64 "$SUITE" "$ROOT" "$MIRROR" \
      > "$LOGDIR/debootstrap.log" 2>&1; then
    fail_or_skip "debootstrap $SUITE" "$LOGDIR/debootstrap.log"
  fi
  touch "$ROOT/.culturegan-debootstrap-done"
  stage debootstrap
fi

# 2. The build dependencies, reinstalled when the package list changes.
pkg_stamp="$ROOT/.culturegan-packages-$(printf '%s\n' "${PKGS[@]}" | md5sum | cut -c1-12)"
if [ ! -f "$pkg_stamp" ]; then
  log "installing ${#PKGS[@]} packages in the root (apt-get, several minutes)"
  cp /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
  echo "deb $MIRROR $SUITE main" > "$ROOT/etc/apt/sources.list"
  printf 'Acquire::http::Timeout "60";\nAcquire::Retries "3";\nAPT::Install-Recommends "false";\n' \
    > "$ROOT/etc/apt/apt.conf.d/90culturegan"
  if ! in_root bash -c "apt-get update -q && apt-get install -y -q ${PKGS[*]} && apt-get clean" \
      > "$LOGDIR/packages.log" 2>&1; then
    fail_or_skip "apt-get install in the $SUITE root" "$LOGDIR/packages.log"
  fi
  rm -f "$ROOT"/.culturegan-packages-*
  touch "$pkg_stamp"
  stage packages
fi
torch_version=$(in_root dpkg-query -W -f='${Version}' libtorch-dev 2>/dev/null || true)
gcc_version=$(in_root gcc -dumpfullversion 2>/dev/null || true)
log "root $ROOT: libtorch-dev $torch_version, gcc $gcc_version"
case "$torch_version" in
  2.*) ;;
  *) die "the $SUITE root has libtorch-dev '$torch_version', expected 2.x" ;;
esac
if [ "$SETUP_ONLY" = 1 ]; then report_times; exit 0; fi

# 3. The working tree (tracked and untracked-not-ignored files) synced to /src in the root by
#    content: a changed or new file is rewritten (fresh modification time), an unchanged one is
#    left alone, a vanished one is deleted, so the persistent build folder /build rebuilds
#    exactly what changed. (Copying with the tree's own times is not enough: a file edited
#    before the previous build but after its copy would keep an older time than its object.)
mkdir -p "$ROOT/src" "$ROOT/build"
git -C "$REPO" ls-files -z -co --exclude-standard | /usr/bin/python3 -c '
import os, shutil, sys
repo, dst = sys.argv[1], sys.argv[2]
want = {f for f in sys.stdin.buffer.read().decode().split("\0") if f and os.path.isfile(os.path.join(repo, f))}
changed = 0
for f in sorted(want):
    a, b = os.path.join(repo, f), os.path.join(dst, f)
    with open(a, "rb") as fa:
        data = fa.read()
    try:
        with open(b, "rb") as fb:
            if fb.read() == data:
                continue
    except OSError:
        pass
    os.makedirs(os.path.dirname(b), exist_ok=True)
    tmp = b + ".cg-sync"
    with open(tmp, "wb") as fo:
        fo.write(data)
    shutil.copymode(a, tmp)
    os.replace(tmp, b)
    changed += 1
removed = 0
for d, _, files in os.walk(dst):
    for n in files:
        rel = os.path.relpath(os.path.join(d, n), dst)
        if rel not in want:
            os.remove(os.path.join(d, n))
            removed += 1
print(f"check-libtorch2: source synced to the root: {len(want)} files, {changed} written, {removed} removed")
' "$REPO" "$ROOT/src"
stage copy-source

# 4. Build. CUDA/NCCL are not in the root, so the NCCL backend is left out there (it is
#    compiled against LibTorch 2.x by bench/gpu/device-check.sh on a GPU machine).
targets=()
if [ "$ALL_TARGETS" = 0 ]; then for t in "${SUITE_TARGETS[@]}"; do targets+=(--target "$t"); done; fi
what="the ${#SUITE_TARGETS[@]} targets the suites need"
[ "$ALL_TARGETS" = 1 ] && what="every target"
# A build folder made from scratch is a unity build (as scripts/test.sh does for CI): fewer
# loads of the precompiled torch header; an existing folder keeps its setting.
unity=()
[ -f "$ROOT/build/CMakeCache.txt" ] || unity=(-DCULTUREGAN_UNITY_BUILD=${CULTUREGAN_UNITY_BUILD:-ON})
log "building $what (-j$JOBS) in $ROOT/build"
if ! in_root bash -c 'u=$1; shift; cmake -S /src -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCULTUREGAN_BUILD_BENCH=ON $u \
       -DCMAKE_PROJECT_culturegan_INCLUDE=/src/bench/gpu/hook.cmake \
       -DCULTUREGAN_CORPUS_DIR=/nonexistent-corpus && cmake --build /build -j "$0" "${@}"' "$JOBS" "${unity[*]:-}" "${targets[@]}" \
       ${CULTUREGAN_LT2_KEEP_GOING:+-- -k 0} \
    > "$LOGDIR/build.log" 2>&1; then
  grep -E -m 20 'error|Error' "$LOGDIR/build.log" >&2 || true
  tail -n 20 "$LOGDIR/build.log" >&2
  die "the build against LibTorch $torch_version failed (log: $LOGDIR/build.log)"
fi
stage build

# 5. The unit and MPI suites.
log "running the unit and MPI suites (ctest -R '$CTEST_REGEX')"
set +e
in_root ctest --test-dir /build --output-on-failure -j "$JOBS" --timeout 600 -R "$CTEST_REGEX" \
  > "$LOGDIR/ctest.log" 2>&1
rc=$?
# common/torch_compat.h's probe and the data-plane check of bench/gpu (MPI backend, 2 ranks).
in_root bash -c 'export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  /build/bin/culturegan-torch-compat-probe &&
  mpirun -np 2 --oversubscribe --bind-to none /build/bin/culturegan-device-comm-check --backend mpi' \
  > "$LOGDIR/bench-gpu.log" 2>&1
rc2=$?
set -e
stage tests
tail -n 25 "$LOGDIR/ctest.log"
ntests=$(grep -E -o 'tests passed, [0-9]+ tests failed out of [0-9]+' "$LOGDIR/ctest.log" | grep -E -o '[0-9]+$' || echo 0)
report_times
grep -E "^\[ version|PASSED|culturegan-device-comm-check:" "$LOGDIR/bench-gpu.log" || true
[ "$rc" = 0 ] || die "ctest failed against LibTorch $torch_version (log: $LOGDIR/ctest.log)"
[ "$rc2" = 0 ] || { tail -n 30 "$LOGDIR/bench-gpu.log" >&2; die "the compat probe or the comm check failed (log: $LOGDIR/bench-gpu.log)"; }
[ "${ntests:-0}" -gt 0 ] || die "ctest selected no tests (log: $LOGDIR/ctest.log)"
nskipped=$(grep -E -c '^[[:space:]]+[0-9]+ - .*\(Skipped\)$' "$LOGDIR/ctest.log" || true)
log "OK: $ntests tests run, ${nskipped:-0} of them skipped, none failed, against LibTorch $torch_version (gcc $gcc_version) in $ROOT"
