#!/usr/bin/env bash
# The device check (issue 13, part 4): one command on a GPU machine, under 8 minutes.
#   bash bench/gpu/device-check.sh                 # GPU machine (needs .device-deps, below)
#   bash bench/gpu/device-check.sh --cpu-dry-run   # here / CI: the same steps on the CPU, tiny sizes
# Steps: build culturegan against the PyTorch 2.x (CUDA) of the machine (LibTorch headers and
# CMake files inside the torch package; OpenMPI, HDF5, toml++, fmt, CLI11, stb and GoogleTest
# from Debian 12 packages that bench/gpu/prepare-deps.sh unpacked into .device-deps/ on the
# development machine, carried with the working tree); the torch compatibility probe; the
# data-plane communicator check (NCCL) at 1 rank, and at 2 when there are 2 GPUs; a synthetic
# 256 px corpus; culturegan-train on configs/multiculture_256.toml for a fixed number of steps
# in fp32, and in bf16 when the build has train.precision; the PyTorch reference of the same
# StarGAN step (bench/gpu/stargan_reference.py) in fp32 and bf16 on the same GPU; one table
# (images/s, ratios, memory high-water, achieved fraction of the bf16 peak) at the end.
# The dry run uses this machine's LibTorch 1.13 (CPU), system packages, /usr/bin/python3,
# the MPI backend, 32 px and widths of 8; it reuses the build folder, so after the main
# build it only adds the two small bench/gpu programs.
# Environment: BUILD_DIR (default build-device on a GPU, build in the dry run), JOBS,
# STEPS / WARMUP (default 40 / 10 on a GPU, 6 / 2 dry), CULTUREGAN_DEVICE_DEPS (default
# .device-deps), PYTHON (default python3 on a GPU, /usr/bin/python3 dry), OUT (logs and
# the table as JSON; default $BUILD_DIR/device-check).
# Exit status: non-zero when a build, check or run fails; the table says which rows ran.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$(pwd)
DRY=0
for a in "$@"; do
  case "$a" in
    --cpu-dry-run) DRY=1 ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "device-check: unknown argument '$a'" >&2; exit 2 ;;
  esac
done
log() { echo "device-check: $*"; }
die() { echo "device-check: FAILED: $*" >&2; exit 1; }
t_start=$(date +%s)
declare -a stage_names stage_secs
t0=$t_start
stage() { local t; t=$(date +%s); stage_names+=("$1"); stage_secs+=($((t - t0))); t0=$t; }
bounded() { local s=$1; shift; timeout --kill-after=10 "$s" "$@"; }  # every wait is bounded

export GTEST_COLOR=no  # plain "[       OK ]" lines for the counts below, also on a terminal
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
if [ "$DRY" = 1 ]; then
  BUILD_DIR=${BUILD_DIR:-build}
  PY=${PYTHON:-/usr/bin/python3}
  JOBS=${JOBS:-1}
  STEPS=${STEPS:-6}
  WARMUP=${WARMUP:-2}
  SIZE=32
  export OMP_NUM_THREADS=1
  cmake_args=()
  BACKEND=mpi
  MODE=cpu
  DEPS_LD_LIBRARY_PATH=
  WITHDEPS=(env)
  MPIRUN=mpirun
else
  BUILD_DIR=${BUILD_DIR:-build-device}
  PY=${PYTHON:-python3}
  JOBS=${JOBS:-$(nproc)}
  STEPS=${STEPS:-40}
  WARMUP=${WARMUP:-10}
  SIZE=256
  BACKEND=nccl
  MODE=gpu
  command -v nvidia-smi >/dev/null || die "no nvidia-smi: not a GPU machine (use --cpu-dry-run)"
  for tool in c++ cmake ninja; do command -v "$tool" >/dev/null || die "no $tool on this machine"; done
  log "$(c++ --version | head -n 1); $(cmake --version | head -n 1); nvcc: $(nvcc --version 2>/dev/null | tail -n 1 || echo none)"
  DEPS=${CULTUREGAN_DEVICE_DEPS:-$REPO/.device-deps}/root
  [ -d "$DEPS/usr" ] || die "$DEPS not found: run 'bash bench/gpu/prepare-deps.sh' on the development machine and carry .device-deps"
  # shellcheck source=/dev/null
  source "$REPO/bench/gpu/deps-env.sh" "$DEPS"
  log "checking the carried libraries (bench/gpu/deps-check.sh)"
  bounded 300 bash "$REPO/bench/gpu/deps-check.sh" "$DEPS" > /tmp/culturegan-deps-check.log 2>&1 \
    || { cat /tmp/culturegan-deps-check.log >&2; die "the carried libraries do not work here"; }
  tail -n 1 /tmp/culturegan-deps-check.log
  WITHDEPS=(env "LD_LIBRARY_PATH=$DEPS_LD_LIBRARY_PATH${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}")
  MPIRUN=$DEPS_ROOT/usr/bin/mpirun
  read -r TORCH_PREFIX TORCH_VER TORCH_CUDA TORCH_ABI NGPU <<<"$(bounded 120 "$PY" -c '
import torch
print(torch.utils.cmake_prefix_path, torch.__version__, torch.version.cuda, int(torch._C._GLIBCXX_USE_CXX11_ABI), torch.cuda.device_count())')" \
    || true
  [ -n "${TORCH_PREFIX:-}" ] && [ -n "${NGPU:-}" ] || die "$PY has no usable torch (import torch failed)"
  log "PyTorch $TORCH_VER (CUDA $TORCH_CUDA, C++11 ABI $TORCH_ABI), $NGPU GPU(s): $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | head -n 1)"
  [ "$NGPU" -ge 1 ] || die "torch sees no GPU"
  [ "$TORCH_ABI" = 1 ] || die "this torch uses the old C++ ABI; the carried Debian libraries (fmt, GoogleTest) use the new one"
  # NCCL: the nvidia-nccl wheel beside torch, else the CUDA toolkit's.
  read -r NCCL_INC NCCL_LIB <<<"$(bounded 60 "$PY" -c '
import glob, os
try:
    import nvidia.nccl as n
    d = list(n.__path__)[0]
    libs = sorted(glob.glob(os.path.join(d, "lib", "libnccl.so*")))
    print(os.path.join(d, "include"), libs[0] if libs else "")
except Exception:
    print("", "")')"
  if [ -z "$NCCL_LIB" ] || [ ! -f "$NCCL_INC/nccl.h" ]; then
    NCCL_INC=/usr/local/cuda/include
    NCCL_LIB=$(ls /usr/local/cuda/lib64/libnccl.so* /usr/lib/x86_64-linux-gnu/libnccl.so* 2>/dev/null | head -n 1 || true)
  fi
  [ -n "$NCCL_LIB" ] && [ -f "$NCCL_INC/nccl.h" ] || die "no NCCL (neither the nvidia-nccl wheel nor the CUDA toolkit has nccl.h + libnccl)"
  export LD_LIBRARY_PATH="$(dirname "$NCCL_LIB"):$LD_LIBRARY_PATH"
  CUDA_ROOT=$(dirname "$(dirname "$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)")")
  cmake_args=(-DCMAKE_PREFIX_PATH="$TORCH_PREFIX;$DEPS/usr" -DCUDAToolkit_ROOT="$CUDA_ROOT"
              -DCMAKE_CUDA_COMPILER="$CUDA_ROOT/bin/nvcc"
              -DNCCL_INCLUDE_DIR="$NCCL_INC" -DNCCL_LIBRARY="$NCCL_LIB"
              -DCULTUREGAN_BUILD_TESTS=OFF -DCULTUREGAN_BUILD_BENCH=OFF
              -DCULTUREGAN_PYTHON="$(command -v "$PY")"
              "${DEPS_CMAKE_ARGS[@]}")
fi
OUT=${OUT:-$BUILD_DIR/device-check}
mkdir -p "$OUT"
WORK=$OUT/work
rm -rf "$WORK"
mkdir -p "$WORK"
log "mode $MODE, build $BUILD_DIR, logs $OUT"

# 1. Build (the trainer, the ingest tool and bench/gpu's two programs).
targets=(culturegan-train culturegan-ingest culturegan-device-comm-check culturegan-torch-compat-probe)
if ! bounded 420 "${WITHDEPS[@]}" cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_PROJECT_culturegan_INCLUDE="$REPO/bench/gpu/hook.cmake" "${cmake_args[@]}" \
      > "$OUT/configure.log" 2>&1; then
  tail -n 30 "$OUT/configure.log" >&2
  die "cmake configure failed ($OUT/configure.log)"
fi
grep -E "culturegan: NCCL backend" "$OUT/configure.log" || true
tflags=()
for t in "${targets[@]}"; do tflags+=(--target "$t"); done
if ! bounded 1800 "${WITHDEPS[@]}" cmake --build "$BUILD_DIR" -j "$JOBS" "${tflags[@]}" > "$OUT/build.log" 2>&1; then
  grep -E -m 20 "error" "$OUT/build.log" >&2 || true
  tail -n 20 "$OUT/build.log" >&2
  die "build failed ($OUT/build.log)"
fi
BIN=$BUILD_DIR/bin
stage build

# 2. The compatibility probe and the communicator check.
bounded 120 "${WITHDEPS[@]}" "$BIN/culturegan-torch-compat-probe" > "$OUT/probe.log" 2>&1 || { cat "$OUT/probe.log" >&2; die "torch compat probe failed"; }
grep -E "^\[ version|PASSED|FAILED" "$OUT/probe.log" || true
comm_rows=()
run_comm() {  # run_comm NP
  local np=$1 logf="$OUT/comm-np$1.log"
  if bounded 300 "${WITHDEPS[@]}" "$MPIRUN" -np "$np" --bind-to none "$BIN/culturegan-device-comm-check" --backend "$BACKEND" > "$logf" 2>&1; then
    # grep -c exits 1 on no match: keep set -e from ending the script on a count of 0.
    comm_rows+=("communicator ($BACKEND), $np rank(s): $(grep -E -o '[0-9]+ tests? from [0-9]+ test suites? ran|passed \(0 failure' "$logf" | head -n 1 || true), $(grep -c '^\[       OK' "$logf" || true) OK, $(grep -E -c '^\[  SKIPPED \] [A-Za-z0-9_]+\.[A-Za-z0-9_]+ \(' "$logf" || true) skipped")
    grep -E "^\[ control" "$logf" || true
  else
    cat "$logf" >&2
    die "communicator check ($BACKEND, $np rank(s)) failed ($logf)"
  fi
}
run_comm 1
if [ "$MODE" = cpu ] || [ "${NGPU:-1}" -ge 2 ]; then
  run_comm 2
else
  comm_rows+=("communicator ($BACKEND), 2 ranks: not run (1 GPU here; NCCL needs one GPU per rank)")
fi
stage checks

# 3. A synthetic corpus (6 cultures, the names the recipe expects), ingested at $SIZE px.
bounded 300 "$PY" - "$WORK/corpus-src" "$SIZE" <<'PY' || die "could not write the synthetic images"
import os, sys
import numpy as np
from PIL import Image
out, size = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(0)
cultures = ["photo", "ukiyo_e", "chinese_ink_landscape", "western_impressionism", "indian_miniature", "western_oil_painting"]
for c, name in enumerate(cultures):
    os.makedirs(os.path.join(out, name), exist_ok=True)
    base = np.array([(60 * c) % 256, (120 + 50 * c) % 256, (200 - 40 * c) % 256], dtype=np.int16)
    for k in range(24):
        img = (base + rng.integers(-60, 60, (size, size, 3))).clip(0, 255).astype(np.uint8)
        Image.fromarray(img).save(os.path.join(out, name, f"img_{k}.png"))
PY
bounded 300 "${WITHDEPS[@]}" "$BIN/culturegan-ingest" --input "$WORK/corpus-src" --output "$WORK/corpus.h5" --size "$SIZE" \
  --val-fraction 0.1 --seed 0 --no-progress > "$OUT/ingest.log" 2>&1 || { cat "$OUT/ingest.log" >&2; die "ingest failed"; }
stage corpus

# 4. Training and the reference, and the table.
set +e
bounded 1500 "$PY" "$REPO/bench/gpu/device_check.py" --bin "$BIN" --work "$WORK" --corpus "$WORK/corpus.h5" \
  --cultures 6 --mode "$MODE" --train-ld-library-path "$DEPS_LD_LIBRARY_PATH" --steps "$STEPS" --warmup "$WARMUP" --python "$PY" \
  --launcher "$MPIRUN -np 1 --bind-to none" --out "$OUT/device-check.json" 2>&1 | tee "$OUT/measure.log"
rc=${PIPESTATUS[0]}
set -e
stage measure
for r in "${comm_rows[@]}"; do echo "$r"; done
printf 'stage times (s):'
for i in "${!stage_names[@]}"; do printf ' %s %d' "${stage_names[$i]}" "${stage_secs[$i]}"; done
printf '; total %d\n' $(( $(date +%s) - t_start ))
[ "$rc" = 0 ] || die "the measurement failed ($OUT/measure.log)"
log "OK"
