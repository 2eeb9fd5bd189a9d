"""Preemption soak (issue 16 point 4; docs/soak.md).

A 2-rank run of the quickstart model (configs/quickstart.toml's widths, at a small image
size) is trained to --steps twice:
  reference    uninterrupted, one start;
  soak         --cycles starts that are each interrupted at a random (seeded, printed)
               moment, then one last start that finishes. Every start is
               `mpirun -np 2 --oversubscribe culturegan-train ... --resume auto`.
Interruptions (one per cycle):
  usr1         SIGUSR1 to mpirun (forwarded to both ranks) at a random step
  term1        SIGTERM to one rank (random) at a random step
  write        a signal while rank 0 is writing a periodic checkpoint (its temp dir
               checkpoints/step-N.tmp-<pid> exists): SIGTERM to rank 0 (the writer), SIGTERM
               to rank 1 (waiting for the save's status all-reduce) or SIGUSR1 to mpirun
  startup      a signal during start-up: the ranks have installed their handlers but have not
               printed the start-up line (before the first step): SIGTERM to one rank, to both,
               or SIGUSR1 to mpirun
  kill9        kill -9 of one rank at a random step (exactly one, mid-soak): the job dies and
               the next start must resume from the newest complete checkpoint
After every start: the exit status is the expected one (75 after a preemption, non-zero
and not 75 after kill -9, 0 at the end); every checkpoint directory verifies (MANIFEST:
sizes and CRC-32 of every file, nothing missing or extra) and the new ones load
(culturegan_ckpt_tool); `latest` names a verified one; no temp file or directory is left
(after kill -9 a crashed save's temp dir may remain: it is invisible to resume and must be
gone after the next save); no process of the job (mpirun, ranks, report child: found by an
environment tag in /proc/*/environ) is alive; the next start resumes at the expected step.
At the end the final checkpoint must equal the reference's bitwise (G, D, G_ema, NCE head,
both Adam states, RNG: ckpt_util.same_weights, as test_exact_resume.py compares).

Usage: soak_preempt.py [--cycles 20] [--steps 300] [--every 10] [--size 32] [--batch 4]
                       [--seed 16] [--kill9-cycle K] [--work DIR]
Environment as the checkpoint tests (tests/CMakeLists.txt): CULTUREGAN_BIN_DIR,
CULTUREGAN_SOURCE_DIR, CULTUREGAN_CKPT_TOOL, CULTUREGAN_TEST_WORK, OMPI_ALLOW_RUN_AS_ROOT*,
OMP_NUM_THREADS=1 (set here when missing).
"""
import argparse
import importlib.util
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location(
    "ckpt_util", os.path.join(HERE, "..", "trainer", "checkpoint", "ckpt_util.py"))
cu = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cu)
fail = cu.fail

for k, v in (("OMP_NUM_THREADS", "1"), ("OMPI_ALLOW_RUN_AS_ROOT", "1"), ("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")):
    os.environ.setdefault(k, v)

ap = argparse.ArgumentParser()
ap.add_argument("--cycles", type=int, default=20, help="interrupted starts (then one that finishes)")
ap.add_argument("--steps", type=int, default=300)
ap.add_argument("--every", type=int, default=10, help="checkpoint.every")
ap.add_argument("--size", type=int, default=32, help="data.image_size")
ap.add_argument("--batch", type=int, default=4, help="train.batch_size per rank")
ap.add_argument("--seed", type=int, default=16)
ap.add_argument("--kill9-cycle", type=int, default=0, help="1-based cycle of the kill -9 (default: the middle)")
ap.add_argument("--cycle-timeout", type=float, default=300)
ap.add_argument("--leak-grace", type=float, default=20,
                help="seconds the job's processes get to vanish after mpirun exits")
ap.add_argument("--work", default="")
opt = ap.parse_args()
if opt.cycles < 5:
    fail("--cycles must be >= 5 (one of each kind)")
if opt.steps < 4 * opt.cycles:
    fail("--steps must be >= 4 x --cycles")

T0 = time.time()
rng = random.Random(opt.seed)
work = opt.work or cu.workdir(f"soak-{opt.cycles}")
os.makedirs(work, exist_ok=True)
corpus = cu.make_corpus(work, per_culture=8, size=opt.size)
ref_dir, soak_dir = os.path.join(work, "ref"), os.path.join(work, "soak")
ckroot = os.path.join(soak_dir, "checkpoints")
TAG = f"soak-{os.getpid()}-{int(T0)}"
CULTURES = len(cu.CULTURES)


def log(msg):
    print(f"[soak {time.time() - T0:7.1f} s] {msg}", flush=True)


def train_cmd(run_dir):
    """mpirun -np 2 culturegan-train: configs/quickstart.toml's model and losses (widths 16/32,
    2 residual blocks, PatchNCE, DiffAugment) at --size px; no time budget, no samples, the
    report only at the end, a progress line every step."""
    sets = {
        "data.corpus": corpus, "data.image_size": opt.size, "train.batch_size": opt.batch, "data.threads": 1,
        "train.log_every_s": 0, "train.sample_every": 0, "sample.count": 1, "run.dir": run_dir,
        "train.steps": opt.steps, "train.max_minutes": 0, "checkpoint.every": opt.every, "checkpoint.keep": 3,
        "report.every": 0, "data.no_flip_cultures": "[]",
    }
    args = [cu.TRAIN, "--config", os.path.join(cu.SRC, "configs", "quickstart.toml")]
    for k, v in sets.items():
        args += ["--set", f"{k}={v}"]
    return cu.mpi(2, args + ["--resume", "auto"])


# ---------------------------------------------------------------- processes

def tagged(tag):
    """pids whose environment carries CULTUREGAN_SOAK_TAG=tag (or a tag starting with it)."""
    want = f"CULTUREGAN_SOAK_TAG={tag}".encode()
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            env = open(f"/proc/{d}/environ", "rb").read()
        except OSError:
            continue
        if any(kv.startswith(want) for kv in env.split(b"\0")) and cu.alive(int(d)):
            out.append(int(d))
    return out


def describe(pid):
    try:
        cmd = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ")[:120].decode(errors="replace")
        return f"{pid} {cmd}"
    except OSError:
        return f"{pid} (gone)"


def rank_of(pid):
    try:
        env = open(f"/proc/{pid}/environ", "rb").read().split(b"\0")
    except OSError:
        return None
    for kv in env:
        if kv.startswith(b"OMPI_COMM_WORLD_RANK="):
            return int(kv.split(b"=", 1)[1])
    return None


def catches(pid, sig):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("SigCgt:"):
                return bool(int(line.split()[1], 16) & (1 << (sig - 1)))
    except OSError:
        pass
    return False


class Job:
    """One `mpirun -np 2` start, its output pumped into lines with what they say."""

    def __init__(self, run_dir, tag):
        self.tag = tag
        self.lines = []
        self.step = 0            # steps completed (the last progress line)
        self.started_line = False  # the start-up line ("2 ranks on 1 node(s) ...")
        self.resumed_at = None
        self.saved_at = None     # "preemption signal received, saving at step N"
        self.saved_t = None      # when "saved; exiting with code 75" was printed
        self.report_s = None     # the final report's time (it runs after the save)
        self.t0 = time.time()
        self.p = subprocess.Popen(train_cmd(run_dir), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                  env=dict(os.environ, CULTUREGAN_SOAK_TAG=tag))
        self.pump = threading.Thread(target=self._pump, daemon=True)
        self.pump.start()

    def _pump(self):
        for line in self.p.stdout:
            self.lines.append(line)
            m = re.match(r"step (\d+)/", line)
            if m:
                self.step = int(m.group(1))
                continue
            if re.search(r"culturegan-train: \d+ ranks on \d+ node", line):
                self.started_line = True
            m = re.search(r"resumed from \S+ at step (\d+)", line)
            if m:
                self.resumed_at = int(m.group(1))
            m = re.search(r"preemption signal received, saving at step (\d+)", line)
            if m:
                self.saved_at = int(m.group(1))
            if "exiting with code 75" in line:
                self.saved_t = time.time()
            m = re.search(r"culturegan-train: report .*final one in ([\d.]+) s", line)
            if m:
                self.report_s = float(m.group(1))

    def done(self):
        return self.p.poll() is not None

    def ranks(self):
        """{rank: pid} of the two rank processes under mpirun (found once: a /proc scan)."""
        if getattr(self, "_ranks", None) is None:
            r = {rank_of(c): c for c in cu.children_of(self.p.pid)}
            self._ranks = r if set(r) == {0, 1} else None
        return self._ranks

    def output(self, tail=60):
        return "".join(l for l in self.lines if not re.match(r"step \d+/", l))[-20000:] if tail else ""

    def wait_until(self, pred, what, timeout=None, poll=0.002):
        t_end = time.time() + (timeout or opt.cycle_timeout)
        while time.time() < t_end:
            if pred():
                return
            if self.done():
                self.abort(f"the job ended (exit {self.p.returncode}) while waiting for {what}")
            time.sleep(poll)
        self.abort(f"timed out waiting for {what} (a hang?)")

    def wait_exit(self):
        try:
            rc = self.p.wait(timeout=opt.cycle_timeout)
        except subprocess.TimeoutExpired:
            self.abort(f"mpirun did not exit within {opt.cycle_timeout} s (a hang)")
        self.pump.join(10)
        return rc

    def abort(self, why):
        left = tagged(self.tag)
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        fail(f"{why}\n---- job output (progress lines elided) ----\n{self.output()}")


def wait_no_processes(tag, grace):
    """Seconds until no process carries the tag; kills what is left after grace and fails."""
    t0 = time.time()
    while time.time() - t0 < grace:
        if not tagged(tag):
            return time.time() - t0
        time.sleep(0.1)  # a scan reads every /proc/*/environ: not too often on 2 busy cores
    left = tagged(tag)
    desc = [describe(p) for p in left]
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    fail(f"processes of the job still alive {grace} s after mpirun exited (killed now): {desc}")


# ---------------------------------------------------------------- checkpoints on disk

loaded = {}  # checkpoint name -> MANIFEST text already loaded by ckpt_tool


def verify(d):
    """'' when d is a complete checkpoint (the trainer's verify_checkpoint, plus: no file
    outside the MANIFEST, state.toml's step = the directory's), else why not."""
    mpath = os.path.join(d, "MANIFEST")
    if not os.path.isfile(mpath):
        return "no MANIFEST (half-written)"
    listed = set()
    for line in open(mpath):
        crc, size, name = line.split()
        listed.add(name)
        p = os.path.join(d, name)
        if not os.path.isfile(p):
            return f"{name}: listed but missing"
        data = open(p, "rb").read()
        if len(data) != int(size):
            return f"{name}: {len(data)} bytes, MANIFEST says {size} (truncated)"
        if f"{zlib.crc32(data) & 0xffffffff:08x}" != crc:
            return f"{name}: CRC-32 differs from the MANIFEST (damaged)"
    extra = set(os.listdir(d)) - listed - {"MANIFEST"}
    if extra:
        return f"files not in the MANIFEST: {sorted(extra)}"
    if not listed >= {"G.pt", "D.pt", "G_ema.pt", "optim_G.pt", "optim_D.pt", "rng.pt", "state.toml", "config.toml"}:
        return f"MANIFEST lists only {sorted(listed)}"
    m = re.search(r"^step = (\d+)", open(os.path.join(d, "state.toml")).read(), re.M)
    if not m or f"step-{int(m.group(1)):09d}" != os.path.basename(d):
        return "state.toml's step does not match the directory name"
    return ""


def loads(d):
    """ckpt_tool builds the model from d/config.toml and loads every archive (twice)."""
    p = subprocess.run([cu.CKPT_TOOL, "compare", d, d, str(CULTURES)], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    return p.returncode == 0 and "IDENTICAL" in p.stdout, p.stdout.strip()[-300:]


def temp_entries(run_dir):
    out = []
    for dp, dns, fns in os.walk(run_dir):
        for n in dns + fns:
            if ".tmp-" in n or ".old-" in n:
                out.append(os.path.relpath(os.path.join(dp, n), run_dir))
    return sorted(out)


def check_disk(run_dir, allow_temp, where, load=True):
    """Every checkpoint a resume could pick verifies and loads; latest names one; temp
    entries only where allowed (after kill -9). Returns (latest step, temp entries)."""
    if not os.path.isdir(os.path.join(run_dir, "checkpoints")):
        return None, []
    names = cu.checkpoints(run_dir)
    for n in names:
        d = os.path.join(run_dir, "checkpoints", n)
        why = verify(d)
        if why:
            fail(f"{where}: checkpoint {d} is not complete: {why}")
        man = open(os.path.join(d, "MANIFEST")).read()
        if load and loaded.get((run_dir, n)) != man:
            ok, out = loads(d)
            if not ok:
                fail(f"{where}: checkpoint {d} verifies but does not load: {out}")
            loaded[(run_dir, n)] = man
    # Anything else under checkpoints/ that is neither a checkpoint, `latest`, nor a temp entry.
    for n in os.listdir(os.path.join(run_dir, "checkpoints")):
        if n not in names and n != "latest" and ".tmp-" not in n and ".old-" not in n:
            fail(f"{where}: unexpected entry checkpoints/{n}")
    lat = None
    if names:
        lp = os.path.join(run_dir, "checkpoints", "latest")
        if not os.path.isfile(lp):
            fail(f"{where}: checkpoints exist but no `latest`")
        name = open(lp).read().strip()
        if name not in names:
            fail(f"{where}: `latest` names {name!r}, not a complete checkpoint ({names})")
        lat = int(name.split("-")[1])
    temps = temp_entries(run_dir)
    if temps and not allow_temp:
        fail(f"{where}: temp files/directories left in {run_dir}: {temps}")
    if len(names) > 3:
        fail(f"{where}: {len(names)} checkpoints, checkpoint.keep = 3")
    return lat, temps


# ---------------------------------------------------------------- the plan

def plan_kinds():
    """Kinds of the interrupted cycles: kill9 exactly once, in the middle; usr1, term1, write
    and startup at least once each; the rest drawn at random."""
    k9 = opt.kill9_cycle or (opt.cycles + 1) // 2
    rest = ["usr1", "term1", "write", "startup"]
    rest += [rng.choice(["usr1", "term1", "write", "startup"]) for _ in range(opt.cycles - 5)]
    rng.shuffle(rest)
    return rest[:k9 - 1] + ["kill9"] + rest[k9 - 1:]


KINDS = plan_kinds()
log(f"seed {opt.seed}; {opt.cycles} interrupted cycles + 1 to finish; {opt.steps} steps, checkpoint every "
    f"{opt.every}; {opt.size} px, batch {opt.batch}/rank x 2 ranks; plan: {' '.join(KINDS)}")

# ---------------------------------------------------------------- reference

t = time.time()
job = Job(ref_dir, TAG + "-ref")
rc = job.wait_exit()
if rc != 0:
    fail(f"reference run exited {rc}:\n{job.output()}")
wait_no_processes(TAG + "-ref", opt.leak_grace)
ref_wall = time.time() - t
check_disk(ref_dir, False, "reference", load=False)  # its final one is loaded by the comparison
log(f"reference run: {opt.steps} steps in {ref_wall:.1f} s ({ref_wall / opt.steps * 1000:.0f} ms/step incl. start-up)")

# ---------------------------------------------------------------- soak

records = []
expect_resume = None  # the step the next start must resume at (None: fresh start)
temps_after_kill = []
temps_after_kill_names = []
soak_t0 = time.time()
for cyc, kind in enumerate(KINDS + ["finish"], start=1):
    tag = f"{TAG}-c{cyc}"
    job = Job(soak_dir, tag)
    rec = {"cycle": cyc, "kind": kind, "target": "", "sig_step": None, "saved": None, "lost": 0,
           "lat_ckpt": None, "lat_exit": None, "note": ""}
    start_step = expect_resume or 0
    job.step = max(job.step, start_step)
    remaining = opt.cycles - cyc + 1  # interrupted cycles left, this one included
    # A random step for this cycle, leaving at least 2 steps per later cycle.
    room = opt.steps - start_step - 2 * remaining
    if "write" in KINDS[cyc:]:  # a later 'write' cycle needs a periodic checkpoint ahead
        room -= opt.every
    span = max(2, min(room, 2 * (opt.steps - start_step) // (remaining + 1)))
    t_sig = None
    if kind == "finish":
        pass
    elif kind == "startup":
        job.wait_until(lambda: job.ranks() is not None, "both rank processes", poll=0.02)
        job.wait_until(lambda: all(catches(p, signal.SIGTERM) and catches(p, signal.SIGUSR1)
                                   for p in job.ranks().values()), "both ranks to install their signal handlers")
        # Handlers are in place ~0.5 s before rank 0 prints its start-up line (MPI, corpus,
        # model, resume in between): a random moment in that window.
        delay = rng.uniform(0, 0.25)
        how = rng.choice(["TERM rank 0", "TERM rank 1", "TERM both", "USR1 mpirun"])
        t_end = time.time() + delay
        while time.time() < t_end and not job.started_line:
            time.sleep(0.002)
        rec["note"] = "after the start-up line, before step 1" if job.started_line else "before the start-up line"
        ranks = job.ranks()
        t_sig = time.time()
        if how == "USR1 mpirun":
            job.p.send_signal(signal.SIGUSR1)
        else:
            for r in ((0, 1) if how == "TERM both" else (int(how[-1]),)):
                os.kill(ranks[r], signal.SIGTERM)
        rec["target"] = f"{how}, +{delay * 1000:.0f} ms after handlers"
        rec["sig_step"] = start_step
        if job.step > start_step:
            job.abort("the start-up signal landed after the first step")
    elif kind in ("usr1", "term1", "kill9"):
        target = start_step + rng.randint(1, span)
        who = rng.choice([0, 1])
        job.wait_until(lambda: job.step >= target, f"step {target}")
        ranks = job.ranks()
        if ranks is None:
            job.abort("rank processes not found under mpirun")
        rec["sig_step"] = job.step
        t_sig = time.time()
        if kind == "usr1":
            job.p.send_signal(signal.SIGUSR1)
            rec["target"] = f"USR1 mpirun at step {target}"
        elif kind == "term1":
            os.kill(ranks[who], signal.SIGTERM)
            rec["target"] = f"TERM rank {who} at step {target}"
        else:
            writing = any(".tmp-" in n for n in os.listdir(ckroot)) if os.path.isdir(ckroot) else False
            os.kill(ranks[who], signal.SIGKILL)
            rec["target"] = f"KILL rank {who} at step {target}" + (" (during a save)" if writing else "")
    elif kind == "write":
        how = rng.choice(["TERM rank 0", "TERM rank 1", "USR1 mpirun"])
        # The next periodic checkpoint this cycle reaches (not the final one).
        first = (start_step // opt.every + 1) * opt.every
        if first >= opt.steps:
            job.abort("no periodic checkpoint left for a 'write' cycle: raise --steps")
        stale = set(temps_after_kill_names)  # a crashed save's temp dir is not a write in progress
        def writing():
            try:
                return [n for n in os.listdir(ckroot) if n.startswith("step-") and ".tmp-" in n and n not in stale]
            except OSError:
                return []
        tmp = []
        def seen():
            tmp[:] = writing()
            return bool(tmp)
        job.wait_until(seen, "a checkpoint write")
        ranks = job.ranks()
        if ranks is None:
            job.abort("rank processes not found under mpirun")
        t_sig = time.time()
        if how == "USR1 mpirun":
            job.p.send_signal(signal.SIGUSR1)
        else:
            os.kill(ranks[int(how[-1])], signal.SIGTERM)
        still = [n for n in tmp if os.path.exists(os.path.join(ckroot, n))]
        # The save of step N is under way (its progress line may not have reached us yet):
        # the ranks finish it, train step N+1, agree on the signal and save N+1.
        rec["sig_step"] = int(re.match(r"step-(\d+)", tmp[0]).group(1))
        rec["target"] = f"{how} while writing {tmp[0].split('.')[0]}"
        if not still:
            rec["note"] = "the write ended before the signal returned"
        rec["in_write"] = bool(still)
    rc = job.wait_exit()
    t_exit = time.time()
    gone = wait_no_processes(tag, opt.leak_grace)
    out = job.output()
    if "skipping damaged" in out or "no checkpoint verifies" in out:
        fail(f"cycle {cyc}: the start skipped a damaged checkpoint:\n{out}")
    # The start resumed where the previous one left off.
    if expect_resume is None:
        if job.resumed_at is not None:
            fail(f"cycle {cyc}: resumed at {job.resumed_at}, expected a fresh start")
    elif job.resumed_at != expect_resume:
        fail(f"cycle {cyc}: resumed at step {job.resumed_at}, expected {expect_resume}:\n{out}")
    if kind == "finish":
        if rc != 0:
            fail(f"cycle {cyc} (finish): exit {rc}, expected 0:\n{out}")
        lat, temps = check_disk(soak_dir, False, f"cycle {cyc}")
        if lat != opt.steps:
            fail(f"cycle {cyc}: latest is step {lat}, expected {opt.steps}")
        rec["saved"] = lat
    elif kind == "kill9":
        rec["lat_exit"] = t_exit - t_sig
        rec["gone"] = t_exit - t_sig + gone
        if rc in (0, 75):
            fail(f"cycle {cyc}: mpirun exited {rc} after kill -9 of a rank")
        lat, temps = check_disk(soak_dir, True, f"cycle {cyc}")
        temps_after_kill = temps
        temps_after_kill_names = [os.path.basename(t) for t in temps]
        if lat is None:
            fail(f"cycle {cyc}: no checkpoint to resume from after kill -9")
        rec["saved"] = lat
        rec["lost"] = job.step - lat
        rec["note"] = f"mpirun exit {rc}; all gone {rec['gone']:.2f} s after the kill" + \
                      (f"; temp left (invisible to resume): {temps}" if temps else "")
    else:
        if rc != 75:
            fail(f"cycle {cyc} ({kind}): exit {rc}, expected 75:\n{out}")
        if job.saved_at is None or "exiting with code 75 (requeue me)" not in out:
            fail(f"cycle {cyc}: no 'saving at step'/'exiting with code 75' lines:\n{out}")
        lat, temps = check_disk(soak_dir, False, f"cycle {cyc}")
        if lat != job.saved_at:
            fail(f"cycle {cyc}: latest is step {lat}, the preemption saved step {job.saved_at}")
        # The ranks stop after the step in progress: at most one step after the signal's.
        if kind == "startup" and job.saved_at != start_step + 1:
            fail(f"cycle {cyc}: a start-up signal must save after the first step ({start_step + 1}), "
                 f"saved at {job.saved_at}")
        # (the progress line of a step is printed after its preemption check, and may reach us late)
        if kind == "write" and job.saved_at != rec["sig_step"] + 1:
            fail(f"cycle {cyc}: signalled during the save of step {rec['sig_step']}, saved at {job.saved_at}")
        if kind != "startup" and not rec["sig_step"] < job.saved_at <= rec["sig_step"] + 5:
            fail(f"cycle {cyc}: signalled after step {rec['sig_step']}, saved at {job.saved_at}")
        rec["saved"] = job.saved_at
        rec["lat_exit"] = t_exit - t_sig
        rec["lat_ckpt"] = (job.saved_t - t_sig) if job.saved_t else None
        rec["report_s"] = job.report_s
        if temps_after_kill:
            log(f"cycle {cyc}: the crashed save's temp entries {temps_after_kill} are gone")
            temps_after_kill = []
            temps_after_kill_names = []
        if "still being written" in out:
            rec["note"] += " report child outlived the ranks"
    rec["wall"] = t_exit - job.t0
    expect_resume = rec["saved"]
    records.append(rec)
    log(f"cycle {cyc:2d} {kind:7s} {rec['target']}: exit {rc}, steps {start_step}->{job.step}, "
        f"checkpoint {rec['saved']}, lost {rec['lost']}, "
        f"exit latency {rec['lat_exit'] if rec['lat_exit'] is None else round(rec['lat_exit'], 2)} s, "
        f"{rec['wall']:.1f} s {rec['note']}")
soak_wall = time.time() - soak_t0

# ---------------------------------------------------------------- result

final_ref, final_soak = cu.latest(ref_dir), cu.latest(soak_dir)
diff = cu.same_weights(final_ref, final_soak)
bundle_same = open(os.path.join(ref_dir, "generator.bundle"), "rb").read() == \
    open(os.path.join(soak_dir, "generator.bundle"), "rb").read()
left = tagged(TAG)
if left:
    fail(f"processes of the soak alive at the end: {[describe(p) for p in left]}")

kinds = {}
for r in records[:-1]:
    key = r["kind"] + ("" if r["kind"] in ("usr1", "kill9") else " (" + r["target"].split(" at ")[0].split(" while")[0].split(",")[0] + ")")
    kinds[key] = kinds.get(key, 0) + 1
lat_exit = [r["lat_exit"] for r in records[:-1] if r["kind"] != "kill9"]
lat_ckpt = [r["lat_ckpt"] for r in records[:-1] if r["lat_ckpt"] is not None]
in_write = [r for r in records if r["kind"] == "write"]
print("\n==== preemption soak summary ====")
print(f"seed {opt.seed}; quickstart model (g_conv_dim 16, g_res_blocks 2, d_conv_dim 32, PatchNCE, DiffAugment) "
      f"at {opt.size} px, batch {opt.batch}/rank x 2 ranks, {opt.steps} steps, checkpoint every {opt.every}, keep 3")
print("at: the last step seen before the signal (the step being saved for 'write'); ckpt: the checkpoint the next "
      "start resumes from; ->ckpt: signal -> 'saved; exiting with code 75' line; report: the final report's time "
      "(after the save); ->exit: signal -> mpirun exit; wall: the start's wall time (s)")
print(f"{'cyc':>3} {'kind':7} {'signal':44} {'at':>4} {'ckpt':>4} {'lost':>4} {'->ckpt':>7} {'report':>7} "
      f"{'->exit':>7} {'wall':>6}")
for r in records:
    f = lambda x: "" if x is None else f"{x:.2f}"
    print(f"{r['cycle']:3d} {r['kind']:7} {r['target'][:44]:44} {'' if r['sig_step'] is None else r['sig_step']:>4} "
          f"{r['saved']:>4} {r['lost']:>4} {f(r['lat_ckpt']):>7} {f(r.get('report_s')):>7} {f(r['lat_exit']):>7} "
          f"{r['wall']:6.1f}  {r['note']}")
print(f"cycles: {len(records) - 1} interrupted + 1 finishing start ({len(records) - 1} resumes)")
print("signals by kind: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))
print(f"signals during a checkpoint write: {sum(1 for r in in_write if r.get('in_write'))} of {len(in_write)} "
      "confirmed (temp dir still there after the signal was sent)")
print("steps lost: " + ", ".join(f"cycle {r['cycle']} {r['kind']} {r['lost']}" for r in records[:-1]) +
      f"; total {sum(r['lost'] for r in records)}")
print(f"signal -> checkpoint on disk: max {max(lat_ckpt):.2f} s; signal -> mpirun exit: max {max(lat_exit):.2f} s, "
      f"mean {sum(lat_exit) / len(lat_exit):.2f} s")
k9 = [r for r in records if r["kind"] == "kill9"][0]
print(f"kill -9: mpirun exit {k9['lat_exit']:.2f} s, every process gone {k9['gone']:.2f} s after the kill")
print(f"wall time: reference {ref_wall:.1f} s, soak {soak_wall:.1f} s, total {time.time() - T0:.1f} s")
print(f"leaked processes: none (checked after every start); half-written/temp checkpoints seen: none")
print(f"final weights vs uninterrupted: {'BITWISE IDENTICAL' if not diff else 'DIFFER in ' + str(diff)}; "
      f"generator.bundle bytes {'identical' if bundle_same else 'differ'}")
if diff:
    fail(f"the soaked run's final checkpoint differs from the uninterrupted run's in {diff}")
if not any(r.get("in_write") for r in in_write):
    fail("no signal was confirmed to land during a checkpoint write")
print(f"PASS: {len(records) - 1} interruptions, final weights bitwise equal to the uninterrupted run")
