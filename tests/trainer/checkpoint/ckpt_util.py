"""Shared helpers of the checkpoint / preemption / fault tests (run by /usr/bin/python3).

Each test makes its own tiny corpus (PIL images -> culturegan-ingest), runs culturegan-train
under mpirun with a tiny model (a step takes milliseconds), and checks exit codes, logs and
checkpoint files. Environment (tests/CMakeLists.txt): CULTUREGAN_BIN_DIR,
CULTUREGAN_SOURCE_DIR, OMPI_ALLOW_RUN_AS_ROOT*, OMP_NUM_THREADS=1.
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

BIN = os.environ.get("CULTUREGAN_BIN_DIR", "build/bin")
SRC = os.environ.get("CULTUREGAN_SOURCE_DIR", os.getcwd())
TRAIN = os.path.join(BIN, "culturegan-train")
MPIRUN = shutil.which("mpirun") or "mpirun"
CULTURES = ("photo", "ukiyo_e", "ink")


def fail(msg):
    print(f"FAIL: {msg}", flush=True)
    sys.exit(1)


def skip(msg):
    print(f"SKIPPED: {msg}", flush=True)
    sys.exit(77)


def workdir(name):
    """A fresh work folder under the build tree (kept on failure for inspection)."""
    base = os.environ.get("CULTUREGAN_TEST_WORK") or os.path.join(tempfile.gettempdir(), "culturegan-ckpt-tests")
    d = os.path.join(base, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def make_corpus(work, per_culture=6, size=16, cultures=CULTURES, name="corpus"):
    """Writes per_culture PNGs per culture and ingests them; returns the corpus path."""
    from PIL import Image
    import random
    rng = random.Random(7)
    src = os.path.join(work, f"{name}-images")
    for ci, c in enumerate(cultures):
        os.makedirs(os.path.join(src, c))
        for k in range(per_culture):
            img = Image.new("RGB", (24, 24))
            img.putdata([((ci * 80 + rng.randrange(60)) % 256, rng.randrange(256), (k * 40) % 256)
                         for _ in range(24 * 24)])
            img.save(os.path.join(src, c, f"{k:02d}.png"))
    out = os.path.join(work, f"{name}.h5")
    subprocess.run([os.path.join(BIN, "culturegan-ingest"), "--input", src, "--output", out, "--size", str(size),
                    "--val-fraction", "0.25", "--no-progress"], check=True, stdout=subprocess.DEVNULL)
    return out


def train_args(corpus, run_dir, steps, every=0, batch=2, extra=()):
    """culturegan-train arguments for the tiny quickstart variant."""
    sets = {
        "data.corpus": corpus, "data.image_size": 16, "model.g_conv_dim": 4, "model.d_conv_dim": 4,
        "model.g_res_blocks": 1, "train.batch_size": batch, "data.threads": 1, "train.log_every_s": 0,
        "train.sample_every": 0, "sample.count": 1, "run.dir": run_dir, "train.steps": steps,
        "checkpoint.every": every, "checkpoint.keep": 3, "data.no_flip_cultures": "[]",
    }
    args = [TRAIN, "--config", os.path.join(SRC, "configs", "quickstart.toml")]
    for k, v in sets.items():
        args += ["--set", f"{k}={v}"]
    for e in extra:
        args += ["--set", e]
    return args


def mpi(np_, args):
    return [MPIRUN, "-np", str(np_), "--oversubscribe"] + args


def run(cmd, timeout=120, env=None, expect_rc=None):
    """Runs cmd; returns (rc, output). Fails the test on a timeout (a hang)."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    t0 = time.time()
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout,
                           env=full_env)
    except subprocess.TimeoutExpired as e:
        fail(f"{' '.join(cmd[:6])}... did not finish within {timeout} s (a hang); output:\n{e.output}")
    out = p.stdout
    print(f"---- {' '.join(os.path.basename(c) for c in cmd[:4])} ... exit {p.returncode} "
          f"({time.time() - t0:.1f} s) ----\n{out}----", flush=True)
    if expect_rc is not None and p.returncode != expect_rc:
        fail(f"expected exit status {expect_rc}, got {p.returncode}")
    return p.returncode, out


def manifest(ckpt_dir):
    """{file: (crc, bytes)} of a checkpoint's MANIFEST."""
    out = {}
    with open(os.path.join(ckpt_dir, "MANIFEST")) as f:
        for line in f:
            crc, size, name = line.split()
            out[name] = (crc, int(size))
    return out


WEIGHT_FILES = ("G.pt", "D.pt", "G_ema.pt", "rng.pt")
CKPT_TOOL = os.environ.get("CULTUREGAN_CKPT_TOOL", os.path.join(BIN, "culturegan_ckpt_tool"))


def latest(run_dir):
    with open(os.path.join(run_dir, "checkpoints", "latest")) as f:
        return os.path.join(run_dir, "checkpoints", f.read().strip())


def compare(dir_a, dir_b):
    """ckpt_tool compare: (identical, max_abs_diff) over every module tensor, Adam state
    (matched by parameter order) and the RNG state."""
    p = subprocess.run([CKPT_TOOL, "compare", dir_a, dir_b, str(len(CULTURES))], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    print(p.stdout.strip())
    if p.returncode != 0:
        fail(f"ckpt_tool compare failed: {p.stdout}")
    import re
    return "IDENTICAL" in p.stdout, float(re.search(r"max_abs_diff (\S+)", p.stdout).group(1))


def mean_abs_diff(dir_a, dir_b):
    """Mean |a - b| over every model weight (G, D, G_ema)."""
    p = subprocess.run([CKPT_TOOL, "compare", dir_a, dir_b, str(len(CULTURES))], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    if p.returncode != 0:
        fail(f"ckpt_tool compare failed: {p.stdout}")
    import re
    return float(re.search(r"mean_abs_diff_weights (\S+)", p.stdout).group(1))


def same_weights(dir_a, dir_b):
    """[] when two checkpoints hold bitwise the same models, optimizer states and RNG state,
    else what differs. Module and RNG archives are also compared byte for byte (they are
    written deterministically); optimizer archives key their state by memory address, so
    those are compared by value only."""
    a, b = manifest(dir_a), manifest(dir_b)
    diff = [f for f in WEIGHT_FILES if a.get(f) != b.get(f)]
    identical, worst = compare(dir_a, dir_b)
    if not identical:
        diff.append(f"values (max |diff| {worst:.3g})")
    return diff


def max_abs_diff(dir_a, dir_b):
    return compare(dir_a, dir_b)[1]


def module_tensors(path):
    """name -> tensor of a C++ torch::serialize archive (a TorchScript module file)."""
    import torch
    m = torch.jit.load(path, map_location="cpu")
    out = {}
    for n, t in m.named_parameters():
        out[n] = t.detach()
    for n, t in m.named_buffers():
        out[n] = t.detach()
    return out


def children_of(pid):
    """Direct children pids of pid (from /proc)."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    out.append(int(d))
            except (OSError, IndexError, ValueError):
                pass
    return out


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except OSError:
        return False


def wait_for(pred, timeout, what):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if pred():
            return
        time.sleep(0.01)
    fail(f"timed out after {timeout} s waiting for {what}")


def checkpoints(run_dir):
    d = os.path.join(run_dir, "checkpoints")
    if not os.path.isdir(d):
        return []
    return sorted(x for x in os.listdir(d) if x.startswith("step-") and "." not in x)
