"""Point 5, faults (2 ranks under mpirun):
  kill9      kill -9 of one rank mid-run (after a checkpoint): mpirun and every rank exit
             non-zero within 60 s, no process is left, and --resume auto loads the newest
             checkpoint and finishes. (rank 0 = the rank that writes checkpoints; rank 1.)
  diskfull   run.dir on a tmpfs that holds one checkpoint but not two: the second save fails,
             every rank stops with exit 1 and one clear error; the previous checkpoint still
             verifies and resumes. Skips where mount is not allowed.
  readonly   run.dir/checkpoints made immutable (chattr +i; root ignores mode bits): same.
  damaged    the newest checkpoint damaged (one flipped byte in G.pt; then also truncated
             optim_D.pt in the next): --resume auto skips it, says so, uses the previous good
             one and finishes.
  nan_stop   test fault switch CULTUREGAN_FAULT_NAN_AT_STEP=3 on rank 1, train.non_finite=stop:
             every rank stops (non-zero) with a diagnostic naming step, phase and loss term.
  nan_skip   the same with train.non_finite=skip: the step is skipped on every rank, the run
             finishes (exit 0) with finite weights.
Usage: test_faults.py MODE"""
import os
import re
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ckpt_util import *  # noqa: E402,F403

mode = sys.argv[1]
work = workdir(f"faults-{mode}")
corpus = make_corpus(work)
run_dir = os.path.join(work, "run")


def rank_of(pid):
    try:
        env = open(f"/proc/{pid}/environ", "rb").read().split(b"\0")
    except OSError:
        return None
    for kv in env:
        if kv.startswith(b"OMPI_COMM_WORLD_RANK="):
            return int(kv.split(b"=", 1)[1])
    return None


def kill9(victim_rank):
    steps = 100000
    p = subprocess.Popen(mpi(2, train_args(corpus, run_dir, steps, every=10)), stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    lines = []
    threading.Thread(target=lambda: [lines.append(l) for l in p.stdout], daemon=True).start()
    wait_for(lambda: len(checkpoints(run_dir)) >= 2 or p.poll() is not None, 120, "two checkpoints")
    if p.poll() is not None:
        fail("run ended early:\n" + "".join(lines[-30:]))
    ranks = {rank_of(c): c for c in children_of(p.pid)}
    if set(ranks) != {0, 1}:
        fail(f"rank processes under mpirun: {ranks}")
    t0 = time.time()
    os.kill(ranks[victim_rank], signal.SIGKILL)
    try:
        rc = p.wait(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        fail("mpirun did not exit within 60 s of kill -9 of a rank")
    wait_for(lambda: not any(alive(r) for r in ranks.values()), 60 - (time.time() - t0), "every rank to exit")
    dt = time.time() - t0
    print("".join(l for l in lines if not re.match(r"step \d+/", l))[-3000:])
    if rc == 0:
        fail("mpirun exited 0 after a rank was killed")
    left = [pid for pid in os.listdir("/proc") if pid.isdigit() and run_dir.encode() in
            open(f"/proc/{pid}/cmdline", "rb").read()] if True else []
    if left:
        fail(f"processes left: {left}")
    print(f"MEASURED: kill -9 of rank {victim_rank} -> every rank gone in {dt:.2f} s, mpirun status {rc}")
    newest = latest(run_dir)
    step = int(newest.rsplit("-", 1)[1])
    rc, out = run(mpi(2, train_args(corpus, run_dir, step + 3, every=10) + ["--resume", "auto"]), expect_rc=0)
    if not re.search(rf"resumed from .*step-0*{step} at step {step}", out):
        fail(f"did not resume from the newest checkpoint {newest}")
    print(f"PASS: kill -9 of rank {victim_rank}: all exited non-zero in {dt:.1f} s, nothing left, "
          f"newest checkpoint step {step} resumes")


def save_fails(setup, arm, teardown, expect_reason):
    """setup(); a first run writes step 2; arm() breaks the file system; a resumed run's
    save at step 4 must fail cleanly; teardown()."""
    setup()
    try:
        run(mpi(2, train_args(corpus, run_dir, 2, every=2)), expect_rc=0)
        arm()
        rc, out = run(mpi(2, train_args(corpus, run_dir, 6, every=2) + ["--resume", "auto"]), timeout=120)
        if rc != 1:
            fail(f"expected exit status 1 (runtime error), got {rc}")
        m = re.search(r"culturegan-train: error: checkpoint save at step 4 failed: (.*)", out)
        if not m or expect_reason not in m.group(1):
            fail(f"no clear 'checkpoint save at step 4 failed: ...{expect_reason}' error")
        if "the previous checkpoint" not in m.group(1) or "step-000000002 is intact" not in m.group(1):
            fail("the error does not say the previous checkpoint is intact")
        if len(re.findall(r"checkpoint save at step 4 failed", out)) != 1:
            fail("expected exactly one error line")
        if checkpoints(run_dir) != ["step-000000002"]:
            fail(f"checkpoints now {checkpoints(run_dir)}")
        if latest(run_dir) != os.path.join(run_dir, "checkpoints", "step-000000002"):
            fail("latest moved")
        leftovers = [x for x in os.listdir(os.path.join(run_dir, "checkpoints")) if ".tmp" in x]
        if leftovers:
            fail(f"temp files left: {leftovers}")
        copy = os.path.join(work, "copy")
        subprocess.run(["cp", "-a", run_dir, copy], check=True)
    finally:
        teardown()
    # The previous checkpoint resumes (in a copy, off the broken file system).
    subprocess.run(["chattr", "-R", "-i", copy], stderr=subprocess.DEVNULL)
    rc, out = run(mpi(2, train_args(corpus, copy, 3, every=2) + ["--resume", "auto"]), expect_rc=0)
    if "at step 2" not in out:
        fail("the previous checkpoint did not resume")
    print(f"PASS: failed save ({expect_reason}) -> exit 1 with a clear error, previous checkpoint intact and resumable")


if mode == "kill9":
    kill9(1)
    import shutil
    shutil.rmtree(run_dir)
    kill9(0)
elif mode == "diskfull":
    probe = os.path.join(work, "probe")
    run(mpi(2, train_args(corpus, probe, 2, every=2)), expect_rc=0)
    ckpt = sum(v[1] for v in manifest(latest(probe)).values()) + 4096 * 12
    rest = sum(os.path.getsize(os.path.join(dp, f)) + 4096 for dp, _, fs in os.walk(probe) for f in fs) - ckpt
    os.makedirs(run_dir)
    def setup():
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={ckpt + max(rest, 0) + ckpt // 2}", "tmpfs",
                            run_dir], stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            skip(f"cannot mount a small tmpfs here ({r.stderr.strip()})")
    save_fails(setup, lambda: None, lambda: subprocess.run(["umount", "-l", run_dir]), "No space left on device")
elif mode == "readonly":
    ck = os.path.join(run_dir, "checkpoints")
    def setup():
        if subprocess.run(["chattr", "+i", work], stderr=subprocess.DEVNULL).returncode != 0:
            skip("chattr +i is not available here")
        subprocess.run(["chattr", "-i", work])
    save_fails(setup, lambda: subprocess.run(["chattr", "+i", ck], check=True),
               lambda: subprocess.run(["chattr", "-i", ck]), "Operation not permitted")
elif mode == "damaged":
    run(mpi(2, train_args(corpus, run_dir, 6, every=2)), expect_rc=0)
    ck = os.path.join(run_dir, "checkpoints")
    with open(os.path.join(ck, "step-000000006", "G.pt"), "r+b") as f:  # bit rot, same size
        f.seek(200)
        b = f.read(1)
        f.seek(200)
        f.write(bytes([b[0] ^ 0x40]))
    os.truncate(os.path.join(ck, "step-000000004", "optim_D.pt"), 100)  # a torn copy
    # An explicit --resume of the damaged one is bad input (exit 2) naming the file.
    rc, out = run(mpi(2, train_args(corpus, os.path.join(work, "other"), 8) +
                      ["--resume", os.path.join(ck, "step-000000006")]))
    if rc != 2 or "G.pt: expected CRC-32" not in out:
        fail("--resume of a damaged checkpoint: expected exit 2 naming G.pt")
    if len(re.findall(r"error: --resume", out)) != 1:
        fail("--resume of a damaged checkpoint: expected exactly one error line (from rank 0)")
    rc, out = run(mpi(2, train_args(corpus, run_dir, 8, every=2) + ["--resume", "auto"]), expect_rc=0)
    for want in (r"skipping damaged checkpoint \S+step-000000006: \S+step-000000006/G.pt: expected CRC-32 \w+ "
                 r"\(MANIFEST\), found \w+: damaged",
                 r"skipping damaged checkpoint \S+step-000000004: \S+optim_D.pt: expected \d+ bytes \(MANIFEST\), "
                 r"found 100: truncated",
                 r"using the previous good checkpoint \S+step-000000002",
                 r"resumed from \S+step-000000002 at step 2"):
        if not re.search(want, out):
            fail(f"output lacks /{want}/")
    print("PASS: damaged/truncated newest checkpoints skipped with a message; resumed from the previous good one")
elif mode in ("nan_stop", "nan_skip"):
    policy = mode.split("_")[1]
    env = {"CULTUREGAN_FAULT_NAN_AT_STEP": "3", "CULTUREGAN_FAULT_NAN_RANK": "1"}
    rc, out = run(mpi(2, train_args(corpus, run_dir, 6, extra=[f"train.non_finite={policy}"])), env=env,
                  timeout=120)
    if policy == "stop":
        if rc != 1:
            fail(f"a non-finite loss with train.non_finite=stop: expected exit 1 on every rank, got {rc}")
        if "MPI_ABORT" in out:
            fail("the ranks were aborted instead of agreeing and exiting cleanly")
        if not re.search(r"non-finite loss at step 3 in phase D_main, term 'adv_real'", out):
            fail("no diagnostic naming the step, phase D_main and loss term")
        if "(1 of 2 ranks)" not in out:
            fail("the diagnostic does not say how many ranks saw it (agreement)")
        if os.path.exists(os.path.join(run_dir, "generator.bundle")):
            fail("the run went on to the end")
        print("PASS: non-finite loss on rank 1 -> every rank stops at step 3 naming D_main/adv_real")
    else:
        if rc != 0:
            fail(f"train.non_finite=skip: expected exit 0, got {rc}")
        if len(re.findall(r"step 3: non-finite loss, step skipped on every rank", out)) != 1:
            fail("no (single) 'skipped' line for step 3")
        import torch
        for f in ("G.pt", "D.pt", "G_ema.pt"):
            for n, t in module_tensors(os.path.join(latest(run_dir), f)).items():
                if not torch.isfinite(t).all():
                    fail(f"{f}:{n} is not finite after a skipped step")
        print("PASS: non-finite loss on rank 1 with skip -> step 3 skipped on every rank, finite weights, exit 0")
else:
    fail(f"unknown mode {mode}")
