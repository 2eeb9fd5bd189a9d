"""The trainer never puts host values on the data plane (issue: a host control plane).

Under mpirun -np 2 the real trainer runs with CULTUREGAN_TEST_STRICT_DATA_PLANE=1: its data-plane
Communicator is a double that rejects every tensor that is not training state (float64/int
tensors: what NCCL would reject as host tensors), while flags, resume agreement, checksums,
preemption and eval setup go over the control plane. Covered: a fresh run with in-training
evaluation and a consistency check every step, --resume auto, and a SIGUSR1 preemption (exit 75
with a checkpoint). Before the control plane, the first any-rank-failed check threw here."""
import os
import re
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "checkpoint"))
from ckpt_util import *  # noqa: E402,F403

work = workdir("strict-data-plane")
corpus = make_corpus(work)
run_dir = os.path.join(work, "run")
clf = os.path.join(work, "clf.pt")
STRICT = {"CULTUREGAN_TEST_STRICT_DATA_PLANE": "1"}

subprocess.run([os.path.join(BIN, "culturegan-eval"), "--corpus", corpus, "--epochs", "1", "--width", "4",
                "--classifier", clf], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
extra = ("eval.every=3", f"eval.classifier={clf}", "eval.classifier_width=4", "distributed.check_every=1")

rc, out = run(mpi(2, train_args(corpus, run_dir, 6, every=3, extra=extra)), env=STRICT, expect_rc=0)
if "strict data plane" not in out:
    fail("the trainer did not run on the strict data-plane double (CULTUREGAN_TEST_STRICT_DATA_PLANE)")
with open(os.path.join(run_dir, "metrics.jsonl")) as f:
    evals = [l for l in f if '"eval.target_accuracy_mean"' in l]
if len(evals) != 2:
    fail(f"expected the eval lines of steps 3 and 6 in metrics.jsonl, found {len(evals)}")

rc, out = run(mpi(2, train_args(corpus, run_dir, 9, every=3, extra=extra) + ["--resume", "auto"]), env=STRICT,
              expect_rc=0)
if "resumed from" not in out or "at step 6" not in out:
    fail("--resume auto on the strict data plane did not resume from step 6")

# Preemption: SIGUSR1 to mpirun mid-run (forwarded to every rank).
env = dict(os.environ)
env.update(STRICT)
p = subprocess.Popen(mpi(2, train_args(corpus, os.path.join(work, "run2"), 100000, every=0)),
                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
lines = []
t = threading.Thread(target=lambda: [lines.append(l) for l in p.stdout], daemon=True)
t.start()
deadline = time.time() + 120
while time.time() < deadline and p.poll() is None and not any(re.search(r"step [1-9]\d+/", l) for l in lines):
    time.sleep(0.1)
if p.poll() is not None:
    fail("the run ended before it could be signalled:\n" + "".join(lines))
p.send_signal(signal.SIGUSR1)
try:
    rc = p.wait(timeout=60)
except subprocess.TimeoutExpired:
    p.kill()
    fail("no exit within 60 s of SIGUSR1:\n" + "".join(lines[-40:]))
t.join(5)
out = "".join(l for l in lines if not re.match(r"step \d+/", l))
print(out)
if rc != 75:
    fail(f"preempted run on the strict data plane: expected exit 75, got {rc}")
if "saved; exiting with code 75" not in out:
    fail("no checkpoint saved at preemption")
print("PASS: fresh run with eval and consistency checks, resume and preemption never put a host value "
      "on the data plane")
