#!/usr/bin/env bash
# Quickstart: install, build, ingest the culture corpus, train the quickstart recipe with
# `mpirun -np 2`, export the generator bundle, and translate held-back photos into every
# culture. Each stage's wall time is printed at the end, then where the grid and the run
# report (run.dir/report.html, docs/report.md) are.
#   CORPUS=/path/to/culture-corpus NP=2 bash scripts/quickstart.sh [--set key=value ...]
set -euo pipefail
cd "$(dirname "$0")/.."
CORPUS=${CORPUS:-../shared/data/culture-corpus}
NP=${NP:-2}
RUN_DIR=${RUN_DIR:-runs/quickstart}
BUILD_DIR=${BUILD_DIR:-build}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
if [ ! -d "$CORPUS" ]; then
  echo "quickstart: corpus folder '$CORPUS' not found; set CORPUS=/path/to/culture-corpus" >&2
  exit 2
fi
declare -a stage_names stage_secs
t0=$(date +%s)
stage() { local now; now=$(date +%s); stage_names+=("$1"); stage_secs+=($((now - t0))); t0=$now; }

bash scripts/install-deps.sh;                       stage install
BUILD_DIR=$BUILD_DIR TARGETS="culturegan-ingest culturegan-train culturegan-infer" bash scripts/build.sh
stage build
mkdir -p runs
"$BUILD_DIR/bin/culturegan-ingest" --input "$CORPUS" --output runs/corpus-64.h5 --size 64 --val-fraction 0.1 --seed 0
stage ingest
mpirun -np "$NP" --oversubscribe "$BUILD_DIR/bin/culturegan-train" --config configs/quickstart.toml \
  --set data.corpus=runs/corpus-64.h5 --set "run.dir=$RUN_DIR" "$@"
stage train
mapfile -t photos < <(sed "s|^|$CORPUS/|" "$RUN_DIR/samples/sources.txt")
inputs=()
for p in "${photos[@]}"; do inputs+=(--input "$p"); done
"$BUILD_DIR/bin/culturegan-infer" --bundle "$RUN_DIR/generator.bundle" "${inputs[@]}" --target all \
  --output "$RUN_DIR/translated" --grid "$RUN_DIR/quickstart-grid.png"
stage infer

echo
echo "quickstart: wall time per stage (s):"
for i in "${!stage_names[@]}"; do printf '  %-8s %5d\n' "${stage_names[$i]}" "${stage_secs[$i]}"; done
echo "quickstart: generator bundle: $RUN_DIR/generator.bundle"
echo "quickstart: grid of held-back photos (rows) translated into every culture (columns): $RUN_DIR/quickstart-grid.png"
if [ -s "$RUN_DIR/report.html" ]; then
  echo "quickstart: run report (summary, loss curves, sample grids over steps, checkpoints; one HTML file that opens offline): $RUN_DIR/report.html"
else
  echo "quickstart: no run report was written; see $RUN_DIR/report.log"
fi
