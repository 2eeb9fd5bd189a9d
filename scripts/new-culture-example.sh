#!/usr/bin/env bash
# The worked example of docs/new-culture.md: hold one culture out of the corpus, train the
# translator on the others, then add the held-out culture from few images with --init-from and
# adaptive discriminator augmentation, against training all cultures from scratch.
#   bash scripts/new-culture-example.sh            (every stage; about an hour on 2 idle cores)
#   STAGES="eval table" bash scripts/new-culture-example.sh
# Environment: CORPUS (../shared/data/culture-corpus), NEW_CULTURE (western_impressionism),
# KEEP (100: images of the new culture), BASE_STEPS (694: the quickstart's 7.5 minutes),
# ADD_STEPS (350), BUILD_DIR (build). Steps are fixed (train.max_minutes = 0) so the result
# does not depend on how busy the machine is; CPU seconds per run are recorded beside it.
# Writes runs/new-culture/{corpus-5.h5,corpus-6.h5,<run>/...,table.md} and
# docs/new-culture/grids.png (the runs' final sample grids side by side, matplotlib). Judged as the sweep
# of docs/eval.md: culturegan-eval on runs/corpus-64.h5's val split with runs/clf64.pt.
set -euo pipefail
cd "$(dirname "$0")/.."
CORPUS=${CORPUS:-../shared/data/culture-corpus}
NEW=${NEW_CULTURE:-western_impressionism}
KEEP=${KEEP:-100}
BASE_STEPS=${BASE_STEPS:-694}
ADD_STEPS=${ADD_STEPS:-350}
BUILD_DIR=${BUILD_DIR:-build}
STAGES=${STAGES:-"corpora base add add_long scratch scratch_ada scratch_total eval table figure"}
out=runs/new-culture
bin=$BUILD_DIR/bin
export OMP_NUM_THREADS=1
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
mkdir -p "$out"
want() { [[ " $STAGES " == *" $1 "* ]]; }

if want corpora; then
  [ -d "$CORPUS/$NEW" ] || { echo "new-culture-example: $CORPUS/$NEW: no such culture folder" >&2; exit 2; }
  rm -rf "$out/src-5" "$out/src-6"
  for c in "$CORPUS"/*/; do
    c=$(basename "$c")
    mkdir -p "$out/src-6/$c"
    [ "$c" = "$NEW" ] || mkdir -p "$out/src-5/$c"
    # The new culture keeps KEEP images, chosen by the SHA-1 of their names (every painter).
    if [ "$c" = "$NEW" ]; then
      (cd "$CORPUS/$c" && ls | while read -r f; do echo "$(echo -n "$f" | sha1sum | cut -c1-40) $f"; done |
        sort | head -n "$KEEP" | cut -d' ' -f2-) > "$out/$NEW-kept.txt"
    else
      (cd "$CORPUS/$c" && ls) > "$out/$c-all.txt"
    fi
    list=$out/$c-all.txt
    [ "$c" = "$NEW" ] && list=$out/$NEW-kept.txt
    while read -r f; do
      ln -s "$(realpath "$CORPUS/$c/$f")" "$out/src-6/$c/$f"
      [ "$c" = "$NEW" ] || ln -s "$(realpath "$CORPUS/$c/$f")" "$out/src-5/$c/$f"
    done < "$list"
  done
  for n in 5 6; do
    "$bin/culturegan-ingest" --input "$out/src-$n" --output "$out/corpus-$n.h5" --size 64 \
      --val-fraction 0.1 --seed 0 --no-progress > "$out/ingest-$n.log"
  done
  [ -f runs/corpus-64.h5 ] || "$bin/culturegan-ingest" --input "$CORPUS" --output runs/corpus-64.h5 \
    --size 64 --val-fraction 0.1 --seed 0 --no-progress > "$out/ingest-64.log"
  [ -f runs/clf64.pt ] || OMP_NUM_THREADS=2 "$bin/culturegan-eval" --corpus runs/corpus-64.h5 \
    --classifier runs/clf64.pt --threads 2 > "$out/classifier.log"
fi

# train NAME CORPUS STEPS [--set ...]: the quickstart recipe at 2 ranks for a fixed step count.
train() {
  local name=$1 corpus=$2 steps=$3
  shift 3
  rm -rf "${out:?}/$name"
  mkdir -p "$out/$name"
  TIMEFORMAT="%U %S"
  { time mpirun -np 2 --oversubscribe "$bin/culturegan-train" --config configs/quickstart.toml \
    --set "data.corpus=$corpus" --set "run.dir=$out/$name" --set train.max_minutes=0 \
    --set "train.steps=$steps" --set train.log_every_s=60 --set report.every=0 "$@" \
    > "$out/$name/train.log" 2>&1; } 2> "$out/$name/cpu_seconds.txt"
}
ADA=(--set ada.target=0.6 --set ada.interval=4 --set ada.kimg=2)

want base && train base "$out/corpus-5.h5" "$BASE_STEPS"
if want add; then
  ckpt=$out/base/checkpoints/$(cat "$out/base/checkpoints/latest")
  train add "$out/corpus-6.h5" "$ADD_STEPS" --init-from "$ckpt" "${ADA[@]}"
fi
if want add_long; then  # the addition for as many steps as the base had
  ckpt=$out/base/checkpoints/$(cat "$out/base/checkpoints/latest")
  train add_long "$out/corpus-6.h5" "$BASE_STEPS" --init-from "$ckpt" "${ADA[@]}"
fi
want scratch && train scratch "$out/corpus-6.h5" "$ADD_STEPS"
want scratch_ada && train scratch_ada "$out/corpus-6.h5" "$ADD_STEPS" "${ADA[@]}"
want scratch_total && train scratch_total "$out/corpus-6.h5" $((BASE_STEPS + ADD_STEPS))

if want eval; then
  for r in add add_long scratch scratch_ada scratch_total; do
    [ -f "$out/$r/generator.bundle" ] || continue
    OMP_NUM_THREADS=2 "$bin/culturegan-eval" --corpus runs/corpus-64.h5 --classifier runs/clf64.pt \
      --bundle "$out/$r/generator.bundle" --threads 2 --output "$out/$r/eval.json" > /dev/null \
      2> "$out/$r/eval.log"
  done
fi

if want table; then
  /usr/bin/python3 - "$out" "$NEW" "$BASE_STEPS" <<'PY'
import json, os, sys
out, new, base_steps = sys.argv[1], sys.argv[2], int(sys.argv[3])
rows = [("add", "5-culture base + add the new one (--init-from, ADA)"),
        ("add_long", "the same addition for as many steps as the base"),
        ("scratch", "6 cultures from scratch, same steps as the addition"),
        ("scratch_ada", "6 cultures from scratch with ADA, same steps"),
        ("scratch_total", "6 cultures from scratch, the base's and the addition's steps")]
def cpu(run):
    return sum(float(v) for v in open(f"{out}/{run}/cpu_seconds.txt").read().split()[-2:])
lines = ["| run | steps | CPU s | new culture's target accuracy | mean target accuracy | "
         "content (gradient corr.) | gray SSIM | ada.p at the end |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
for run, what in rows:
    if not os.path.exists(f"{out}/{run}/eval.json"):
        continue
    e = json.load(open(f"{out}/{run}/eval.json"))
    s = json.load(open(f"{out}/{run}/summary.json"))
    steps, c = int(s["steps"]), cpu(run)
    if run.startswith("add"):
        steps_txt, c = f"{base_steps} + {steps}", c + cpu("base")
    else:
        steps_txt = str(steps)
    p = "–"
    with open(f"{out}/{run}/metrics.jsonl") as f:
        for l in f:
            if '"ada.p"' in l:
                p = f"{json.loads(l)['ada.p']:.3f}"
    lines.append(f"| {what} | {steps_txt} | {c:.0f} | {e['target_accuracy'][new]:.3f} | "
                 f"{e['target_accuracy_mean']:.3f} | {e['content_gradient_correlation_mean']:.3f} | "
                 f"{e['content_gray_ssim_mean']:.3f} | {p} |")
open(f"{out}/table.md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
fi

if want figure; then
  mkdir -p docs/new-culture
  /usr/bin/python3 - "$out" <<'PY'
import os, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import matplotlib.image as mpimg
out = sys.argv[1]
runs = [(r, t) for r, t in (("add", "base + added culture (init-from, ADA), 694 + 350 steps"),
                             ("add_long", "base + added culture, 694 + 694 steps"),
                             ("scratch", "from scratch, 350 steps"),
                             ("scratch_total", "from scratch, 1044 steps"))
        if os.path.exists(f"{out}/{r}/samples/final.png")]
fig, axes = plt.subplots(1, len(runs), figsize=(4.6 * len(runs), 4.6), dpi=80)
for ax, (r, title) in zip(axes if len(runs) > 1 else [axes], runs):
    ax.imshow(mpimg.imread(f"{out}/{r}/samples/final.png"))
    ax.set_title(title, fontsize=9)
    ax.axis("off")
fig.suptitle("columns: input photo, chinese_ink_landscape, indian_miniature, photo, ukiyo_e, "
             "western_impressionism (the added culture), western_oil_painting", fontsize=8)
fig.tight_layout()
fig.savefig("docs/new-culture/grids.png", dpi=80)
from PIL import Image  # 256-colour palette: a third of the size, for the repository
Image.open("docs/new-culture/grids.png").convert("RGB").quantize(256).save("docs/new-culture/grids.png",
                                                                           optimize=True)
print("docs/new-culture/grids.png")
PY
fi
