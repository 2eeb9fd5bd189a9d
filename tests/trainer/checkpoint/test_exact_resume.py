"""Point 2, exact resume: K steps + --resume auto + K steps gives bitwise the same G, D,
G_ema, both Adam states and the RNG state as 2K uninterrupted steps (2 ranks, CPU).
Resuming at another world size (2 ranks x batch 2 -> 1 rank x batch 4, the same global
batch) continues with the same remaining samples: the step count and sampler position
match and the weights stay close. `channels_last`: the exact resume with
train.channels_last = true (NHWC weights and batches).
Usage: test_exact_resume.py [same|world|channels_last]"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ckpt_util import *  # noqa: E402,F403

mode = sys.argv[1] if len(sys.argv) > 1 else "same"
extra = ["train.channels_last=true"] if mode == "channels_last" else []
K = 6
work = workdir(f"exact-resume-{mode}")
corpus = make_corpus(work)
full, split = os.path.join(work, "full"), os.path.join(work, "split")

# Reference: 2K steps uninterrupted (a checkpoint every K, as in the split run).
run(mpi(2, train_args(corpus, full, 2 * K, every=K, extra=extra)), expect_rc=0)
ref = latest(full)

if mode in ("same", "channels_last"):
    run(mpi(2, train_args(corpus, split, K, every=K, extra=extra)), expect_rc=0)
    rc, out = run(mpi(2, train_args(corpus, split, 2 * K, every=K, extra=extra) + ["--resume", "auto"]),
                  expect_rc=0)
    if not re.search(rf"resumed from .*step-0*{K} at step {K} \(written by world size 2, now 2\)", out):
        fail("the second run did not say it resumed from step K")
    got = latest(split)
    if os.path.basename(got) != os.path.basename(ref):
        fail(f"latest {got} vs {ref}")
    diff = same_weights(ref, got)
    if diff:
        fail(f"resumed run differs from the uninterrupted one in {diff}")
    # The state itself: same step, epoch and sampler position.
    with open(os.path.join(ref, "state.toml")) as a, open(os.path.join(got, "state.toml")) as b:
        # run.dir differs between the two runs, hence the config hash; the save time too.
        strip = lambda s: [l for l in s.read().splitlines() if not l.startswith(("saved_unix_s", "config_hash"))]
        if strip(a) != strip(b):
            fail("state.toml differs")
    print(f"PASS: {K}+{K} steps with resume == {2 * K} steps, bitwise (G, D, G_ema, optim_G, optim_D, rng)"
          + (", train.channels_last = true" if extra else ""))
else:
    run(mpi(2, train_args(corpus, split, K, every=K)), expect_rc=0)
    rc, out = run(mpi(1, train_args(corpus, split, 2 * K, every=K, batch=4) + ["--resume", "auto"]), expect_rc=0)
    if not re.search(rf"resumed from .*step-0*{K} at step {K} \(written by world size 2, now 1\)", out):
        fail("the 1-rank run did not say it resumed from the 2-rank checkpoint")
    got = latest(split)
    def sampler(d):
        txt = open(os.path.join(d, "state.toml")).read()
        return {k: re.search(rf"^{k} = (\d+)", txt, re.M).group(1) for k in ("consumed", "epoch", "seed")}
    if sampler(ref) != sampler(got):
        fail(f"sampler state differs: {sampler(ref)} vs {sampler(got)}")
    # "Close": the two trajectories differ only by float summation order (2 x 2 vs 1 x 4
    # samples per reduction). Compare their distance with how far the weights moved in the
    # last K steps (Adam moves every weight by ~lr per step, so a max-abs bound says little).
    d = mean_abs_diff(ref, got)
    moved = mean_abs_diff(ref, os.path.join(full, "checkpoints", f"step-{K:09d}"))
    print(f"mean |w_resumed_at_world_1 - w_uninterrupted_world_2| = {d:.3g}; "
          f"mean movement over the last {K} steps = {moved:.3g}; ratio {d / moved:.3g}")
    if not d < 0.05 * moved:
        fail(f"weights are not close: {d:.3g} >= 5% of the movement {moved:.3g}")
    print(f"PASS: resume at another world size: same samples consumed, weights within {d / moved:.1%} "
          "of the last K steps' movement")
