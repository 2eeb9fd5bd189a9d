"""train.precision = "bf16" (issue "GPU-ready before the first GPU", point 2), through
culturegan-train at 2 ranks on the tiny quickstart variant:
  tolerance  20 bf16 steps stay close to 20 fp32 steps, in what the networks compute: every
             loss term's 20-step mean within 5% of fp32's (measured: at most 1.4%, PatchNCE).
             In weight space the runs drift apart by about as much as the weights move, and
             the bound is 3x fp32's movement over its last 10 steps (measured 1.8x): bfloat16
             keeps 8 significant bits, and Adam normalises every weight's step to ~lr whatever
             its gradient's size, so a rounding that changes a small gradient changes that
             weight's step by up to ~2 lr. The drift must not be 0 (autocast must do
             something). The bundle is float32.
  resume     3 + 3 bf16 steps with --resume == 6 bf16 steps, bitwise.
  fallback   on a CPU without avx512_bf16 (CULTUREGAN_CPU_FLAGS, test-only) bf16 prints one
             warning and trains exactly as fp32 (bitwise).
The tolerance and resume runs force bf16 on (CULTUREGAN_CPU_FLAGS=avx512_bf16): the arithmetic
is the same with or without the instructions, only its speed differs.
Usage: test_precision.py tolerance|resume|fallback"""
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ckpt_util import *  # noqa: E402,F403

mode = sys.argv[1] if len(sys.argv) > 1 else "tolerance"
# The numerics do not depend on the CPU: without AVX-512 BF16 LibTorch emulates bfloat16 (slowly).
# The tolerance and resume tests force bf16 on with the test-only flag list, so they run anywhere.
FORCE = {"CULTUREGAN_CPU_FLAGS": "avx512_bf16"}
work = workdir(f"precision-{mode}")
corpus = make_corpus(work)
BF16 = ["train.precision=bf16"]


def losses(run_dir):
    with open(os.path.join(run_dir, "metrics.jsonl")) as f:
        rows = [json.loads(l) for l in f]
    keys = [k for k in rows[0] if k != "step"]
    return {k: sum(r[k] for r in rows) / len(rows) for k in keys}


if mode == "tolerance":
    import torch
    fp32, bf16 = os.path.join(work, "fp32"), os.path.join(work, "bf16")
    run(mpi(2, train_args(corpus, fp32, 20, every=10)), expect_rc=0)
    rc, out = run(mpi(2, train_args(corpus, bf16, 20, every=10, extra=BF16)), env=FORCE, expect_rc=0)
    if "precision bf16" not in out:
        fail("the bf16 run does not say it trains in bf16")
    d = mean_abs_diff(latest(fp32), latest(bf16))
    moved = mean_abs_diff(latest(fp32), os.path.join(fp32, "checkpoints", "step-000000010"))
    print(f"mean |w_bf16 - w_fp32| = {d:.3g}; fp32's movement over its last 10 steps = {moved:.3g}; "
          f"ratio {d / moved:.3f}")
    if d == 0:
        fail("bf16 and fp32 weights are identical: autocast did nothing")
    if not d < 3 * moved:
        fail(f"bf16 drifted {d / moved:.2f}x fp32's last-10-step movement from fp32 (bound 3x)")
    la, lb = losses(fp32), losses(bf16)
    for k in la:
        rel = abs(la[k] - lb[k]) / max(abs(la[k]), 1e-6)
        print(f"  {k}: fp32 {la[k]:.4f} bf16 {lb[k]:.4f} ({rel:.1%})")
        if rel > 0.05:
            fail(f"loss term {k} differs by {rel:.1%} (bound 5%)")
    b = torch.load(os.path.join(bf16, "generator.bundle"))
    bad = [n for n, t in b["weights"].items() if t.dtype != torch.float32]
    if bad:
        fail(f"bundle tensors not float32: {bad[:3]}")
    print(f"PASS: 20 bf16 steps: losses within 5% of fp32's, weights {d / moved:.2f}x fp32's last-10-step "
          "movement apart (bound 3x), bundle float32")
elif mode == "resume":
    full, split = os.path.join(work, "full"), os.path.join(work, "split")
    run(mpi(2, train_args(corpus, full, 6, every=3, extra=BF16)), env=FORCE, expect_rc=0)
    run(mpi(2, train_args(corpus, split, 3, every=3, extra=BF16)), env=FORCE, expect_rc=0)
    run(mpi(2, train_args(corpus, split, 6, every=3, extra=BF16) + ["--resume", "auto"]), env=FORCE,
        expect_rc=0)
    diff = same_weights(latest(full), latest(split))
    if diff:
        fail(f"resumed bf16 run differs from the uninterrupted one in {diff}")
    print("PASS: 3 + 3 bf16 steps with --resume == 6 bf16 steps, bitwise")
else:
    fp32, fb = os.path.join(work, "fp32"), os.path.join(work, "fallback")
    run(mpi(2, train_args(corpus, fp32, 4)), expect_rc=0)
    rc, out = run(mpi(2, train_args(corpus, fb, 4, extra=BF16)), env={"CULTUREGAN_CPU_FLAGS": "fpu sse2 avx2"},
                  expect_rc=0)
    warnings = re.findall(r"warning: train\.precision = \"bf16\": this CPU has no AVX-512 BF16.*training in fp32",
                          out)
    if len(warnings) != 1 or "precision fp32" not in out:
        fail(f"expected one fallback warning and 'precision fp32', found {len(warnings)} warnings")
    diff = same_weights(latest(fp32), latest(fb))
    if diff:
        fail(f"the fallback run differs from fp32 in {diff}")
    print("PASS: bf16 without avx512_bf16 warns once and trains bitwise as fp32")
