#!/usr/bin/env python3
"""bf16 vs fp32 training step of culturegan-train on this machine, measured in one run.

    /usr/bin/python3 bench/precision/bench_precision.py [--bin build/bin] [--steps 20] [--config configs/quickstart.toml]
                                                        [--force-bf16]

Makes a synthetic 64-px corpus (6 cultures x 24 images), then trains the config for S and 2S
steps at each precision (1 rank, 1 thread, train.max_minutes = 0) and takes the step time as
(wall(2S) - wall(S)) / S, so start-up and warm-up cancel. The child runs are started with
`mpirun -np 1 --bind-to none` and OMP_NUM_THREADS=1 whatever this script inherited, so the
answer does not depend on how it is launched. Prints one JSON object: ms/step and images/s
of each, bf16_vs_fp32 (fp32 time / bf16 time; > 1: bf16 is faster) and whether the CPU has
avx512_bf16 (without it train.precision = "bf16" falls back to fp32, and the ratio is ~1)."""
import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

ap = argparse.ArgumentParser()
ap.add_argument("--bin", default="build/bin")
ap.add_argument("--steps", type=int, default=20)
ap.add_argument("--config", default="configs/quickstart.toml")
ap.add_argument("--batch", type=int, default=16)
ap.add_argument("--force-bf16", action="store_true",
                help="train bf16 even without avx512_bf16 (LibTorch then emulates it): what the fallback avoids")
a = ap.parse_args()

work = tempfile.mkdtemp(prefix="culturegan-bench-precision-")
env = dict(os.environ, OMP_NUM_THREADS="1", OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
env.pop("CULTUREGAN_CPU_FLAGS", None)
if a.force_bf16:
    env["CULTUREGAN_CPU_FLAGS"] = "avx512_bf16"
try:
    from PIL import Image
    rng = random.Random(3)
    src = os.path.join(work, "images")
    for c in ("chinese_ink_landscape", "indian_miniature", "photo", "ukiyo_e", "western_impressionism",
              "western_oil_painting"):
        os.makedirs(os.path.join(src, c))
        for k in range(24):
            img = Image.new("RGB", (64, 64))
            img.putdata([(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(64 * 64)])
            img.save(os.path.join(src, c, f"{k:02d}.png"))
    corpus = os.path.join(work, "corpus.h5")
    subprocess.run([os.path.join(a.bin, "culturegan-ingest"), "--input", src, "--output", corpus, "--size", "64",
                    "--no-progress"], check=True, stdout=subprocess.DEVNULL, env=env)

    def wall(precision, steps):
        run_dir = os.path.join(work, f"{precision}-{steps}")
        cmd = ["mpirun", "-np", "1", "--bind-to", "none", os.path.join(a.bin, "culturegan-train"), "--config", a.config]
        for kv in (f"data.corpus={corpus}", f"run.dir={run_dir}", f"train.steps={steps}", "train.max_minutes=0",
                   f"train.batch_size={a.batch}", f"train.precision={precision}", "train.threads=1", "data.threads=1",
                   "checkpoint.every=0", "train.sample_every=0", "report.every=0", "eval.every=0",
                   "train.log_every_s=0", "sample.count=1"):
            cmd += ["--set", kv]
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        if p.returncode != 0:
            sys.exit(f"bench_precision: {' '.join(cmd)} failed:\n{p.stdout[-2000:]}")
        if f"precision {precision}" not in p.stdout:
            return None  # fell back
        return json.load(open(os.path.join(run_dir, "summary.json")))["wall_s"]

    out = {"steps": a.steps, "batch": a.batch, "config": a.config, "forced_bf16": a.force_bf16,
           "cpu_avx512_bf16": " avx512_bf16" in open("/proc/cpuinfo").read()}
    for prec in ("fp32", "bf16"):
        w1, w2 = wall(prec, a.steps), wall(prec, 2 * a.steps)
        if w1 is None or w2 is None:
            out[prec] = "fell back to fp32 (no avx512_bf16)"
            continue
        ms = (w2 - w1) / a.steps * 1000
        out[prec] = {"ms_per_step": round(ms, 1), "images_per_s": round(a.batch / ms * 1000, 2)}
    if isinstance(out.get("bf16"), dict):
        out["bf16_vs_fp32"] = round(out["fp32"]["ms_per_step"] / out["bf16"]["ms_per_step"], 3)
    print(json.dumps(out))
finally:
    shutil.rmtree(work, ignore_errors=True)
