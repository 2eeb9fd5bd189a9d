"""Issue "A new culture from a hundred images", points 1-2, through culturegan-train:
  init    --init-from BUNDLE on a corpus with one culture more and one less: the new bundle
          has the corpus's cultures then the kept one; train.freeze = ["G.encoder"] leaves
          those tensors bitwise as in the source bundle after training at 2 ranks; ADA's p is
          logged and saved; a requeued run resumes its checkpoint instead of re-initialising;
          another architecture stops with exit 2 naming the tensor and both shapes.
  ada     exact resume with ADA on: 3 + 3 steps with --resume == 6 steps bitwise (weights,
          Adam, RNG, and p with the open interval's sums in state.toml).
Usage: test_init_from.py init|ada"""
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ckpt_util import *  # noqa: E402,F403

import torch  # noqa: E402

mode = sys.argv[1] if len(sys.argv) > 1 else "init"
work = workdir(f"init-from-{mode}")
# p starts at 0.3 and moves by 4/1000 per adjustment: augmentation stays on all run long.
ADA = ["ada.target=0.6", "ada.interval=1", "ada.kimg=1", "ada.p_init=0.3"]


def state_toml(ckpt):
    with open(os.path.join(ckpt, "state.toml")) as f:
        return f.read()


if mode == "init":
    base_corpus = make_corpus(work)  # photo, ukiyo_e, ink
    new_corpus = make_corpus(work, cultures=("photo", "ukiyo_e", "oil"), name="new")
    base = os.path.join(work, "base")
    run(mpi(2, train_args(base_corpus, base, 4)), expect_rc=0)
    bundle = os.path.join(base, "generator.bundle")
    src = torch.load(bundle)

    tuned = os.path.join(work, "tuned")
    args = train_args(new_corpus, tuned, 4, every=2, extra=ADA + ['train.freeze=["G.encoder"]'])
    rc, out = run(mpi(2, args + ["--init-from", bundle]), expect_rc=0)
    if "initialised from bundle" not in out or "1 new (oil" not in out:
        fail("the run did not report what it loaded and which culture is new")
    got = torch.load(os.path.join(tuned, "generator.bundle"))
    corpus_order = sorted(("photo", "ukiyo_e", "oil"))
    if got["cultures"] != corpus_order + ["ink"]:
        fail(f"bundle cultures {got['cultures']}, expected the corpus's {corpus_order} then the kept 'ink'")
    # Frozen: G's encoder in the final checkpoint is the source bundle's, bit for bit; the rest moved.
    g = module_tensors(os.path.join(latest(tuned), "G.pt"))
    enc = [n for n in g if n.startswith("encoder.")]
    if not enc:
        fail(f"no encoder tensors in G.pt: {sorted(g)[:5]}")
    for n in enc:
        if not torch.equal(g[n], src["weights"][n]):
            fail(f"frozen G.{n} changed")
    moved = [n for n in g if n.startswith("blocks.") and not torch.equal(g[n], src["weights"][n])]
    if not moved:
        fail("G's residual blocks did not train")
    print(f"frozen: {len(enc)} encoder tensors bitwise unchanged after 4 steps at 2 ranks; {len(moved)} block tensors moved")
    # ADA: p logged every step and saved with the checkpoint.
    with open(os.path.join(tuned, "metrics.jsonl")) as f:
        ps = [json.loads(l)["ada.p"] for l in f if '"ada.p"' in l]
    if len(ps) != 4 or len(set(ps)) != 4 or not all(0 < p < 1 for p in ps):
        fail(f"ada.p per step: {ps}")
    st = state_toml(latest(tuned))
    if "[ada]" not in st or not re.search(r"""^cultures = \[ ['"]oil['"], ['"]photo['"], ['"]ukiyo_e['"], ['"]ink['"] \]""",
                                          st, re.M):
        fail(f"state.toml lacks [ada] or the model's cultures:\n{st}")
    print(f"ADA p per step: {ps}")
    # Requeued (same command, --resume auto, more steps): resumes, does not re-initialise.
    args6 = train_args(new_corpus, tuned, 6, every=2, extra=ADA + ['train.freeze=["G.encoder"]'])
    rc, out = run(mpi(2, args6 + ["--init-from", bundle, "--resume", "auto"]), expect_rc=0)
    if "is not loaded again" not in out or "initialised from" in out or "at step 4" not in out:
        fail("the requeued run did not resume its own checkpoint")
    # Another architecture: one clear error, exit 2.
    rc, out = run(mpi(2, train_args(new_corpus, os.path.join(work, "wide"), 2,
                                    extra=["model.g_conv_dim=8"]) + ["--init-from", bundle]), expect_rc=2)
    m = re.search(r"error: train\.init_from = \S+: tensor 'G\.encoder\.0\.weight': shape \[4, 3, 7, 7\] in the "
                  r"file, \[8, 3, 7, 7\] expected by this config", out)
    if not m or out.count("error:") != 1:
        fail("expected one error naming the tensor and both shapes")
    print("PASS: --init-from adds a culture, keeps another, freezes G.encoder bitwise, logs ADA's p, "
          "resumes on requeue, and names a mismatched tensor")
else:
    # p moves every 2 steps: the checkpoint at step 3 holds an open interval's sums.
    ADA = ["ada.target=0.6", "ada.interval=2", "ada.kimg=1", "ada.p_init=0.3"]
    corpus = make_corpus(work)
    full, split = os.path.join(work, "full"), os.path.join(work, "split")
    run(mpi(2, train_args(corpus, full, 6, every=3, extra=ADA)), expect_rc=0)
    run(mpi(2, train_args(corpus, split, 3, every=3, extra=ADA)), expect_rc=0)
    run(mpi(2, train_args(corpus, split, 6, every=3, extra=ADA) + ["--resume", "auto"]), expect_rc=0)
    ref, got = latest(full), latest(split)
    diff = same_weights(ref, got)
    if diff:
        fail(f"resumed ADA run differs from the uninterrupted one in {diff}")
    ada = lambda d: re.search(r"^\[ada\]\n((?:.+\n)+?)(?:\n|\[|$)", state_toml(d), re.M)
    a, b = ada(ref), ada(got)
    if not a or not b or a.group(1) != b.group(1):
        fail(f"state.toml [ada] differs:\n{a and a.group(1)}\nvs\n{b and b.group(1)}")
    p_mid = re.search(r"^p = (\S+)", state_toml(os.path.join(full, "checkpoints", "step-000000003")), re.M)
    p_end = re.search(r"^p = (\S+)", a.group(1), re.M)
    if not p_mid or not p_end or len({"0.3", p_mid.group(1), p_end.group(1)}) != 3 or float(p_end.group(1)) <= 0:
        fail("p did not move, or reached 0: the test would not see a resume error")
    print(f"PASS: 3 + 3 steps with ADA and --resume == 6 steps bitwise; p {p_mid.group(1)} at step 3, "
          f"{p_end.group(1)} at step 6, identical [ada] state")
