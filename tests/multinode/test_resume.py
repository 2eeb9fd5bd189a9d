"""Issue 15 point 3, resume across node counts (global batch 4, K = 4 steps, a checkpoint
every K; run.dir is on the file system both nodes see, as on a cluster):
  ref      1 node, 4 ranks x batch 1 (plain mpirun), 2K steps uninterrupted
  2n->1n   2 nodes x 2 ranks, K steps; --resume auto on 1 node x 4 ranks to 2K
  1n->2n   1 node x 4 ranks, K steps; --resume auto on 2 nodes x 2 ranks to 2K
  2n->1n2  the 2-node checkpoint at K resumed on 1 node x 2 ranks x batch 2 (another world size)
The same world size on another node count gives bitwise the same G, D, G_ema, Adam states
and RNG state as ref (the reduction order depends on the ranks, not on where they run); at
another world size the sampler state (seed, epoch, samples consumed) equals ref's and the
weights are close (tests/trainer/checkpoint/test_exact_resume.py's bound: 5 % of the last
K steps' movement). Every resumed run says it resumed from step K of a world-size-4 run."""
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mn_util import *  # noqa: E402,F403

check_environment()
K = 4
work = workdir("resume-across-nodes")
corpus = make_corpus(work)


def d(name):
    return os.path.join(work, name)


def one_node(np_, run_dir, steps, batch, resume=False):
    return mpi(np_, train_args(corpus, run_dir, steps, every=K, batch=batch) + (["--resume", "auto"] if resume else []))


def resumed(out, now):
    if not re.search(rf"resumed from \S+step-0*{K} at step {K} \(written by world size 4, now {now}\)", out):
        fail(f"the run did not resume from step {K} of the world-size-4 run")


def sampler(run_dir):
    txt = open(os.path.join(latest(run_dir), "state.toml")).read()
    return {k: re.search(rf"^{k} = (\d+)", txt, re.M).group(1) for k in ("consumed", "epoch", "seed")}


run(one_node(4, d("ref"), 2 * K, 1), timeout=120, expect_rc=0)
ref = latest(d("ref"))
with Cluster(24, 2) as c:
    hostfile = c.hostfile(os.path.join(work, "hosts"), 2)

    def two_nodes(run_dir, steps, resume=False):
        return c.mpirun(hostfile, 4, train_args(corpus, run_dir, steps, every=K, batch=1)
                        + (["--resume", "auto"] if resume else []))

    run(two_nodes(d("a"), K), timeout=90, expect_rc=0)
    shutil.copytree(d("a"), d("c"))
    rc, out = run(one_node(4, d("a"), 2 * K, 1, resume=True), timeout=90, expect_rc=0)
    resumed(out, 4)
    run(one_node(4, d("b"), K, 1), timeout=90, expect_rc=0)
    rc, out = run(two_nodes(d("b"), 2 * K, resume=True), timeout=90, expect_rc=0)
    resumed(out, 4)
for name, what in (("a", "2 nodes -> 1 node"), ("b", "1 node -> 2 nodes")):
    got = latest(d(name))
    if os.path.basename(got) != os.path.basename(ref):
        fail(f"{what}: latest {got} vs {ref}")
    diff = same_weights(ref, got)
    if diff:
        fail(f"{what}: differs from the uninterrupted 1-node run in {diff}")
    if sampler(d(name)) != sampler(d("ref")):
        fail(f"{what}: sampler state {sampler(d(name))} vs {sampler(d('ref'))}")
    print(f"PASS: {what} at world size 4: bitwise the uninterrupted run (G, D, G_ema, optimizers, RNG), "
          f"sampler {sampler(d(name))}")
# Another world size: 2 nodes x 2 ranks x batch 1 -> 1 node x 2 ranks x batch 2.
rc, out = run(one_node(2, d("c"), 2 * K, 2, resume=True), timeout=90, expect_rc=0)
resumed(out, 2)
if sampler(d("c")) != sampler(d("ref")):
    fail(f"2 nodes -> 1 node x 2 ranks: sampler state {sampler(d('c'))} vs {sampler(d('ref'))}")
dist = mean_abs_diff(ref, latest(d("c")))
moved = mean_abs_diff(ref, os.path.join(d("ref"), "checkpoints", f"step-{K:09d}"))
print(f"mean |w(2 nodes x 2 -> 1 node x 2) - w(ref)| = {dist:.3g}; movement over the last {K} steps {moved:.3g}")
if not dist < 0.05 * moved:
    fail(f"weights not close: {dist:.3g} >= 5% of {moved:.3g}")
print(f"PASS: 2 nodes x 2 ranks -> 1 node x 2 ranks x batch 2: same samples consumed {sampler(d('c'))}, "
      f"weights within {dist / moved:.1%} of the last K steps' movement")
