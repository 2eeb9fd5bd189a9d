#!/usr/bin/env bash
# Every recipe trains 3 steps under mpirun -np 2 and resumes to 4 (tiny sizes via --set);
# the translator also runs with WGAN-GP + lazy R1 + DiffAugment, and culturegan-eval writes
# its JSON report for the translator's bundle. In-training evaluation (eval.every) writes
# metrics.jsonl lines; every recipe's bundle feeds culturegan-infer.
set -euo pipefail
BIN=${CULTUREGAN_BIN_DIR:?}; SRC=${CULTUREGAN_SOURCE_DIR:?}; CORPUS=${CULTUREGAN_CORPUS_DIR:-}
if [ ! -d "$CORPUS" ]; then echo "SKIP: the shared corpus is not at '$CORPUS' (set CULTUREGAN_CORPUS_DIR)"; exit 77; fi
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

for d in "$CORPUS"/*/; do
  c=$(basename "$d"); mkdir -p "$work/in/$c"
  files=("$d"*)  # sorted by the glob; no `ls | head` pipe (SIGPIPE under pipefail)
  for f in "${files[@]:0:4}"; do ln -s "$f" "$work/in/$c/$(basename "$f")"; done
done
mkdir -p "$work/in2" && ln -s "$work/in/photo" "$work/in/ukiyo_e" "$work/in2/"
"$BIN/culturegan-ingest" --input "$work/in" --output "$work/c.h5" --size 32 --val-fraction 0.5 --no-progress
"$BIN/culturegan-ingest" --input "$work/in2" --output "$work/c2.h5" --size 32 --val-fraction 0.5 --no-progress

tiny=(--set data.image_size=32 --set model.g_conv_dim=4 --set model.d_conv_dim=4 --set train.batch_size=2
      --set checkpoint.every=3 --set train.log_every_s=0 --set sample.count=2 --set train.sample_every=0
      --set distributed.check_every=1 --set data.threads=1)

# recipe NAME CONFIG CORPUS [--set ...]: 3 steps, then --resume auto to 4.
recipe() {
  local name=$1 config=$2 corpus=$3; shift 3
  local run="$work/run-$name"
  local args=(--config "$SRC/configs/$config" --set "data.corpus=$corpus" --set "run.dir=$run" "${tiny[@]}" "$@")
  mpirun -np 2 --oversubscribe "$BIN/culturegan-train" "${args[@]}" --set train.steps=3 > "$work/$name.log1" 2>&1 ||
    { cat "$work/$name.log1"; fail "$name: training failed"; }
  [ "$(cat "$run/checkpoints/latest")" = "step-000000003" ] || fail "$name: latest does not name step 3"
  mpirun -np 2 --oversubscribe "$BIN/culturegan-train" "${args[@]}" --set train.steps=4 --resume auto > "$work/$name.log2" 2>&1 ||
    { cat "$work/$name.log2"; fail "$name: resume failed"; }
  grep -q "resumed from .*step-000000003 at step 3" "$work/$name.log2" || { cat "$work/$name.log2"; fail "$name: did not resume"; }
  [ "$(cat "$run/checkpoints/latest")" = "step-000000004" ] || fail "$name: latest does not name step 4"
  [ -s "$run/samples/final.png" ] || fail "$name: no sample grid"
  [ -s "$run/generator.bundle" ] || fail "$name: no exported generator"
  echo "ok: $name"
}

recipe dcgan dcgan_conditional.toml "$work/c.h5" --set model.z_dim=8
recipe dcgan_sn_wgan dcgan_conditional.toml "$work/c.h5" --set model.z_dim=8 --set model.spectral_norm=true \
  --set loss.adversarial=wgan-gp --set loss.diffaugment=color,translation,cutout --set loss.r1_gamma=1 --set loss.r1_interval=2
recipe cyclegan cyclegan.toml "$work/c2.h5" --set model.g_res_blocks=1 --set cyclegan.pool_size=2 --set optim.decay_start=2 \
  --set loss.r1_gamma=1 --set loss.r1_interval=2
recipe starganv2 starganv2.toml "$work/c.h5" --set model.g_res_blocks=1 --set model.z_dim=4 --set loss.r1_interval=2
recipe stargan quickstart.toml "$work/c.h5" --set model.g_res_blocks=1 --set loss.adversarial=wgan-gp \
  --set loss.r1_gamma=1 --set loss.r1_interval=2 --set loss.diffaugment=color,translation,cutout
grep -q '"D_reg.r1"' "$work/run-stargan/metrics.jsonl" || fail "stargan: no D_reg phase in metrics.jsonl"
grep -q '"D_main.gp"' "$work/run-stargan/metrics.jsonl" || fail "stargan: no WGAN-GP term in metrics.jsonl"
"$BIN/culturegan-report" "$work/run-stargan" -o "$work/run-report.html" > /dev/null || fail "culturegan-report failed"
grep -q 'id="loss-series-D_main.gp"' "$work/run-report.html" || fail "the run report has no D_main.gp loss curve"

"$BIN/culturegan-eval" --corpus "$work/c.h5" --bundle "$work/run-stargan/generator.bundle" --epochs 1 --width 4 \
  --classifier "$work/clf.pt" --output "$work/report.json" > /dev/null 2> "$work/eval.log" || { cat "$work/eval.log"; fail "eval failed"; }
[ -s "$work/clf.pt" ] || fail "the classifier was not saved"
"$BIN/culturegan-eval" --corpus "$work/c.h5" --classifier "$work/clf.pt" --width 4 > "$work/ceiling.json" 2> "$work/eval2.log"
grep -q "loaded classifier" "$work/eval2.log" || fail "eval did not reuse the saved classifier"
# In-training evaluation: every 2 steps rank 0 scores the generator into metrics.jsonl; a
# missing classifier stops every rank with exit 2 and one line naming the key and the file.
mpirun -np 2 --oversubscribe "$BIN/culturegan-train" --config "$SRC/configs/quickstart.toml" --set "data.corpus=$work/c.h5" \
  --set "run.dir=$work/run-eval" "${tiny[@]}" --set model.g_res_blocks=1 --set train.steps=4 --set eval.every=2 \
  --set "eval.classifier=$work/clf.pt" --set eval.classifier_width=4 > "$work/evalrun.log" 2>&1 ||
  { cat "$work/evalrun.log"; fail "training with eval.every failed"; }
[ "$(grep -c '"eval.target_accuracy_mean"' "$work/run-eval/metrics.jsonl")" = 2 ] ||
  { cat "$work/run-eval/metrics.jsonl"; fail "metrics.jsonl lacks the eval lines of steps 2 and 4"; }
set +e
mpirun -np 2 --oversubscribe "$BIN/culturegan-train" --config "$SRC/configs/quickstart.toml" --set "data.corpus=$work/c.h5" \
  --set "run.dir=$work/run-eval2" "${tiny[@]}" --set train.steps=2 --set eval.every=1 \
  --set "eval.classifier=$work/nope.pt" > "$work/evalbad.log" 2>&1
rc=$?; set -e
[ $rc -eq 2 ] || { cat "$work/evalbad.log"; fail "a missing eval.classifier gave exit $rc, not 2"; }
grep -q "key 'eval.classifier': $work/nope.pt: no such file" "$work/evalbad.log" || { cat "$work/evalbad.log"; fail "no clear eval.classifier error"; }

# Every recipe's bundle feeds culturegan-infer (and the translators culturegan-eval).
photos=("$work/in/photo/"*); refs=("$work/in/ukiyo_e/"*)
"$BIN/culturegan-infer" --bundle "$work/run-starganv2/generator.bundle" --input "${photos[0]}" --target ukiyo_e \
  --reference "${refs[0]}" --output "$work/v2ref.png" > /dev/null || fail "infer --reference on the starganv2 bundle"
"$BIN/culturegan-infer" --bundle "$work/run-starganv2/generator.bundle" --input "${photos[0]}" --target all \
  --output "$work/v2all" > /dev/null || fail "infer on the starganv2 bundle"
"$BIN/culturegan-infer" --bundle "$work/run-cyclegan/generator.bundle" --input "${photos[0]}" --target ukiyo_e \
  --output "$work/cyc.png" > /dev/null || fail "infer on the cyclegan bundle"
"$BIN/culturegan-infer" --bundle "$work/run-dcgan/generator.bundle" --count 2 --target all --output "$work/dcgan" > /dev/null ||
  fail "infer --count on the dcgan bundle"
[ -s "$work/v2ref.png" ] && [ -s "$work/cyc.png" ] && [ "$(ls "$work/dcgan" | wc -l)" = 12 ] || fail "recipe bundles: missing outputs"
"$BIN/culturegan-eval" --corpus "$work/c.h5" --bundle "$work/run-starganv2/generator.bundle" --classifier "$work/clf.pt" \
  --width 4 > "$work/v2eval.json" 2> "$work/v2eval.log" || { cat "$work/v2eval.log"; fail "eval of the starganv2 bundle"; }
grep -q '"target_accuracy_mean"' "$work/v2eval.json" || fail "no starganv2 eval report"

"${CULTUREGAN_PYTHON:-/usr/bin/python3}" - "$work/report.json" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1]))
for k in ("classifier_val_accuracy", "target_accuracy", "confusion_target_to_predicted", "fid", "kid",
          "cycle_psnr_db", "cycle_ssim", "diversity"):
    assert k in r, k
assert len(r["target_accuracy"]) == len(r["cultures"]) - 1, r["target_accuracy"]
assert 0 <= r["classifier_val_accuracy"] <= 1
print("eval report keys ok:", sorted(r))
PYEOF
echo "PASS"
