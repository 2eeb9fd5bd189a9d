#!/usr/bin/env bash
# End-to-end slice on a small subset of the real corpus: ingest, train 4 steps under
# mpirun -np 2, stop, --resume auto to 6 steps, export, translate one image.
set -euo pipefail
BIN=${CULTUREGAN_BIN_DIR:?}; SRC=${CULTUREGAN_SOURCE_DIR:?}; CORPUS=${CULTUREGAN_CORPUS_DIR:-}
PY=${CULTUREGAN_PYTHON:-/usr/bin/python3}
if [ ! -d "$CORPUS" ]; then echo "SKIP: the shared corpus is not at '$CORPUS' (set CULTUREGAN_CORPUS_DIR)"; exit 77; fi
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

for d in "$CORPUS"/*/; do
  c=$(basename "$d"); mkdir -p "$work/in/$c"
  files=("$d"*); for f in "${files[@]:0:6}"; do ln -s "$f" "$work/in/$c/"; done  # no `ls | head` (SIGPIPE)
done
"$BIN/culturegan-ingest" --input "$work/in" --output "$work/c.h5" --size 32 --val-fraction 0.34 --no-progress

common=(--config "$SRC/configs/quickstart.toml" --set "data.corpus=$work/c.h5" --set data.image_size=32
        --set model.g_conv_dim=8 --set model.d_conv_dim=8 --set model.g_res_blocks=1 --set train.batch_size=2
        --set "run.dir=$work/run" --set checkpoint.every=2 --set train.log_every_s=0 --set sample.count=2
        --set train.sample_every=0 --set distributed.check_every=2)
mpirun -np 2 --oversubscribe "$BIN/culturegan-train" "${common[@]}" --set train.steps=4 | tee "$work/log1"
[ "$(cat "$work/run/checkpoints/latest")" = "step-000000004" ] || fail "latest does not name step 4"
grep -q "step 4/4" "$work/log1" || fail "no progress line for step 4"
mpirun -np 2 --oversubscribe "$BIN/culturegan-train" "${common[@]}" --set train.steps=6 --resume auto | tee "$work/log2"
grep -q "resumed from .*step-000000004 at step 4" "$work/log2" || fail "did not resume from step 4"
grep -q "step 5/6" "$work/log2" || fail "resumed run did not continue at step 5"
grep -q "step 1/" "$work/log2" && fail "resumed run restarted from step 1"
[ "$(cat "$work/run/checkpoints/latest")" = "step-000000006" ] || fail "latest does not name step 6"
[ -s "$work/run/generator.bundle" ] || fail "no generator bundle"
[ -s "$work/run/samples/final.png" ] || fail "no final sample grid"

# A wall-time budget stops every rank early, with a checkpoint and a bundle, exit code 0.
mpirun -np 2 --oversubscribe "$BIN/culturegan-train" "${common[@]}" --set train.steps=100000 \
  --set train.max_minutes=0.0001 --set "run.dir=$work/run2" | tee "$work/log3"
grep -q "time budget train.max_minutes = 0.0001 reached at step" "$work/log3" || fail "no time-budget stop"
[ -s "$work/run2/generator.bundle" ] || fail "no bundle after the time-budget stop"

photos=("$work/in/photo/"*); img=$(basename "${photos[0]}")
"$BIN/culturegan-infer" --bundle "$work/run/generator.bundle" --input "$work/in/photo/$img" --target ukiyo_e \
  --output "$work/out.png"
"$PY" - "$work/in/photo/$img" "$work/out.png" <<'PYEOF'
import sys
from PIL import Image
a, b = Image.open(sys.argv[1]), Image.open(sys.argv[2])
assert a.size == b.size, f"output size {b.size} != input size {a.size}"
print("translated image keeps the input size", a.size)
PYEOF
echo "PASS"
