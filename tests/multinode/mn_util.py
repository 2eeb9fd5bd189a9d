"""Shared helpers of the multi-node tests (tests/multinode, docs/multinode.md).

A test makes its own cluster (`Cluster(id, nodes)`: tests/multinode/cluster.sh with its own
CG_MN_ID, so tests never share interfaces or addresses), runs culturegan-train across the
nodes through launch/culturegan-mpirun (or mpirun directly), and tears the cluster down in
`finally`, at exit and on SIGTERM/SIGINT. A cluster left by a test that was killed (SIGKILL
by a ctest timeout) is removed by the next test with the same id before it starts. Every
wait is bounded. Checkpoint helpers (tiny corpus, train arguments, checkpoint comparison)
come from tests/trainer/checkpoint/ckpt_util.py.
"""
import atexit
import os
import re
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "trainer", "checkpoint"))
from ckpt_util import *  # noqa: E402,F401,F403
from ckpt_util import BIN, MPIRUN, SRC, TRAIN, fail, skip  # noqa: E402

CLUSTER = os.path.join(HERE, "cluster.sh")
WRAPPER = os.path.join(SRC, "launch", "culturegan-mpirun")
PROBE = os.environ.get("CULTUREGAN_MN_PROBE", os.path.join(BIN, "culturegan_multinode_probe"))
# Without a munge daemon, PMIx's munge security module retries its socket for ~2.3 s in
# every mpirun and orted; "native" (uid check over the local socket) is what a one-machine
# cluster needs. An environment that sets it wins.
os.environ.setdefault("PMIX_MCA_psec", "native")


def check_environment():
    """Skips (77, one line) unless root and ip netns / veth / unshare --uts work here."""
    p = subprocess.run(["bash", CLUSTER, "check"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode == 77:
        skip(p.stdout.strip().replace("SKIPPED: ", ""))
    if p.returncode != 0:
        fail(f"cluster.sh check: {p.stdout}")


class Cluster:
    def __init__(self, cid, nodes=2):
        self.id, self.n = cid, nodes
        self.env = dict(os.environ, CG_MN_ID=str(cid))
        self.net = f"10.213.{cid}"
        self.hosts = [f"cg-mn{cid}-node{i}" for i in range(nodes)]
        self.up_ = False

    def sh(self, *args, check=True, timeout=60):
        p = subprocess.run(["bash", CLUSTER, *args], env=self.env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=timeout)
        if check and p.returncode != 0:
            fail(f"cluster.sh {' '.join(args)} failed ({p.returncode}): {p.stdout}")
        return p.stdout

    def up(self):
        self.sh("down")  # whatever a killed earlier run left
        self.up_ = True
        atexit.register(self.down)
        for s in (signal.SIGTERM, signal.SIGINT):
            signal.signal(s, self._on_signal)
        out = self.sh("up", "-n", str(self.n))
        print(out.strip(), flush=True)
        return self

    def down(self):
        if self.up_:
            out = self.sh("down", check=False)
            self.up_ = False
            if out.strip():
                print(out.strip(), flush=True)

    def _on_signal(self, signum, _frame):
        # whatever the main thread was doing (even tearing down): down is idempotent
        print(f"got signal {signum}: removing cluster {self.id}", flush=True)
        subprocess.run(["bash", CLUSTER, "down"], env=self.env, timeout=60)
        os._exit(1)

    def __enter__(self):
        return self.up()

    def __exit__(self, *exc):
        self.down()

    def hostfile(self, path, slots):
        with open(path, "w") as f:
            f.write(self.sh("hosts", str(slots)))
        return path

    def mpirun_args(self):
        return self.sh("mpirun-args").split()

    def mpirun(self, hostfile, np_, args):
        """mpirun across the cluster (no --oversubscribe: the host file's slots decide)."""
        return [MPIRUN, "-np", str(np_), "--hostfile", hostfile] + self.mpirun_args() + args

    def wrapper_env(self):
        """Environment for launch/culturegan-mpirun across this cluster."""
        return {"CULTUREGAN_TRAIN": TRAIN, "CULTUREGAN_MPIRUN_ARGS": " ".join(self.mpirun_args())}

    def link(self, node, state):
        self.sh("link", str(node), state)

    def pids(self, node):
        return [int(x) for x in self.sh("pids", str(node)).split()]

    def all_pids(self):
        return {h: self.pids(i) for i, h in enumerate(self.hosts)}


def cmdline(pid):
    try:
        return open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def live(pids):
    """The pids that are still running (zombies count as gone)."""
    out = []
    for p in pids:
        try:
            state = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state not in ("Z", "X"):
            out.append(p)
    return out


def trainer_pids(cluster, node):
    return [p for p in live(cluster.pids(node)) if "culturegan-train" in cmdline(p)]


class Job:
    """A background command whose output is collected line by line (with arrival times)."""

    def __init__(self, cmd, env=None):
        full = dict(os.environ)
        full.update(env or {})
        self.t0 = time.time()
        self.p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=full,
                                  start_new_session=True)
        self.lines = []
        self.thread = threading.Thread(target=self._pump, daemon=True)
        self.thread.start()

    def _pump(self):
        for line in self.p.stdout:
            self.lines.append((time.time(), line))

    def text(self):
        return "".join(l for _, l in self.lines)

    def first(self, pattern):
        """Arrival time of the first line matching pattern, or None."""
        for t, l in list(self.lines):
            if re.search(pattern, l):
                return t
        return None

    def wait(self, timeout):
        try:
            rc = self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None
        self.thread.join(5)
        return rc

    def kill(self):
        try:
            os.killpg(self.p.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            self.p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass

    def brief(self, keep=4000):
        return "".join(l for _, l in self.lines if not re.match(r"step \d+/", l))[-keep:]


def wait_until(pred, timeout, what, poll=0.05):
    t0 = time.time()
    while time.time() - t0 < timeout:
        v = pred()
        if v:
            return v
        time.sleep(poll)
    fail(f"timed out after {timeout} s waiting for {what}")
