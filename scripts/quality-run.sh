#!/usr/bin/env bash
# One configuration of the translation-quality sweep (docs/eval.md): trains the quickstart
# recipe as the README runs it (mpirun -np 2, train.max_minutes budget) with extra --set
# overrides, then scores its bundle with culturegan-eval on the val split, reusing one saved
# culture classifier so every configuration has the same judge.
#   bash scripts/quality-run.sh NAME [--set key=value ...]
# Needs runs/corpus-64.h5 (the quickstart's ingest) and runs/clf64.pt
# (culturegan-eval --corpus runs/corpus-64.h5 --classifier runs/clf64.pt). Writes
# runs/sweep/NAME/{train.log,eval.json,summary.json,samples/final.png}.
set -euo pipefail
cd "$(dirname "$0")/.."
name=$1
shift
BUILD_DIR=${BUILD_DIR:-build}
export OMP_NUM_THREADS=1
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
dir=runs/sweep/$name
rm -rf "$dir"
mkdir -p "$dir"
# CPU seconds of the training (user + system, all ranks): with train.steps fixed and
# train.max_minutes=0, cpu_s / steps compares configurations on a busy machine too.
TIMEFORMAT="%U %S"
{ time mpirun -np 2 --oversubscribe "$BUILD_DIR/bin/culturegan-train" --config configs/quickstart.toml \
  --set data.corpus=runs/corpus-64.h5 --set "run.dir=$dir" --set train.log_every_s=30 "$@" \
  > "$dir/train.log" 2>&1; } 2> "$dir/cpu_seconds.txt"
OMP_NUM_THREADS=2 "$BUILD_DIR/bin/culturegan-eval" --corpus runs/corpus-64.h5 --classifier runs/clf64.pt \
  --bundle "$dir/generator.bundle" --threads 2 --output "$dir/eval.json" > /dev/null 2> "$dir/eval.log"
/usr/bin/python3 - "$dir" <<'PY'
import json, sys
d = sys.argv[1]
e = json.load(open(f"{d}/eval.json")); s = json.load(open(f"{d}/summary.json"))
cpu = sum(float(v) for v in open(f"{d}/cpu_seconds.txt").read().split()[-2:])
acc = e["target_accuracy"]
print(f"{d}: steps {int(s['steps'])}, {s['images_per_second']:.1f} img/s, "
      f"{cpu / max(1, s['steps']):.3f} CPU s/step; target acc mean "
      f"{e['target_accuracy_mean']:.3f} (" + ", ".join(f"{k} {v:.2f}" for k, v in acc.items()) + "); "
      f"content {e['content_gradient_correlation_mean']:.3f}, gray SSIM {e['content_gray_ssim_mean']:.3f}, "
      f"checkerboard {e['checkerboard_index_mean']:.2f}, KID {sum(e['kid'][k] for k in acc)/len(acc):.3f} "
      f"(floor {e['kid_floor_mean']:.3f})")
PY
