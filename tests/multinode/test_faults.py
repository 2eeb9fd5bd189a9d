"""Issue 15 point 4: the network fails while 2 nodes x 2 ranks train (launch/culturegan-mpirun
--hostfile, distributed.timeout_s = T = 5 s, a checkpoint every 5 steps, CULTUREGAN_ABORT_GRACE_S=5).
  link_down  after two checkpoints, node 1's only interface goes down (`ip link set cg-mn-eth0
             down` inside its namespace). Within T + 15 s (margin: the watchdog's 2 s query,
             the wrapper's 5 s grace, 5 s SIGTERM->SIGKILL, 3 s slack) mpirun and every rank
             have exited, the launcher non-zero; the surviving side's report names the
             collective's tag and ranks 2 and 3 as the ones that did not answer; no rank is
             left on either node. Node 1's OpenMPI daemon cannot learn that the job ended
             while its link is down (docs/multinode.md): once the link is back it must be gone
             within 30 s. Then --resume auto continues from the newest checkpoint.
  kill_node  after two checkpoints, kill -9 of node 1's ranks: within T + 15 s every process
             has exited, the launcher non-zero, the output names a killed rank and node 1;
             nothing is left on either node; --resume auto continues from the newest
             checkpoint.
  link_flap  T = 10 s: node 1's link goes down for 3 s mid-run and comes back: training goes
             on (exit 0, a step after the flap) and the final weights are bitwise those of
             the same run on one node without a flap.
Usage: test_faults.py link_down|kill_node|link_flap"""
import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mn_util import *  # noqa: E402,F403

mode = sys.argv[1]
check_environment()
T = 10 if mode == "link_flap" else 5
MARGIN = 15
GRACE = 5
work = workdir(f"faults-{mode}")
corpus = make_corpus(work)
run_dir = os.path.join(work, "run")
cid = {"link_down": 25, "kill_node": 26, "link_flap": 27}[mode]
extra = [f"distributed.timeout_s={T}"]


def progress_step(job):
    steps = re.findall(r"(?m)^step (\d+)/", job.text())
    return int(steps[-1]) if steps else 0


def no_processes(c, nodes, timeout, what):
    wait_until(lambda: not any(live(c.pids(n)) for n in nodes), timeout, what)


def resume_check(c, hostfile):
    newest = latest(run_dir)
    step = int(newest.rsplit("-", 1)[1])
    env = dict(c.wrapper_env())
    rc, out = run([WRAPPER, "--hostfile", hostfile] + train_args(corpus, run_dir, step + 2, every=5, extra=extra)[1:],
                  timeout=90, env=env)
    if rc != 0:
        fail(f"--resume auto after the failure exited {rc}")
    if "skipping damaged" in out:
        fail("the resume found a damaged checkpoint")
    if not re.search(rf"resumed from \S+step-0*{step} at step {step} \(written by world size 4, now 4\)", out):
        fail(f"did not resume from the newest checkpoint {newest}")
    return step


with Cluster(cid, 2) as c:
    hostfile = c.hostfile(os.path.join(work, "hosts"), 2)
    env = dict(c.wrapper_env(), CULTUREGAN_ABORT_GRACE_S=str(GRACE))
    if mode == "link_flap":
        STEPS = 40  # training cannot advance while the link is down: the flap is always mid-run
        ref_dir = os.path.join(work, "ref")
        job = Job([WRAPPER, "--hostfile", hostfile, "--resume", "none"]
                  + train_args(corpus, run_dir, STEPS, extra=extra)[1:], env=env)
        wait_until(lambda: progress_step(job) >= 10 or job.p.poll() is not None, 90, "step 10")
        if job.p.poll() is not None:
            fail("the run ended before the flap:\n" + job.brief())
        s0 = progress_step(job)
        t0 = time.time()
        c.link(1, "down")
        time.sleep(3)
        c.link(1, "up")
        t_up = time.time()
        s_up = progress_step(job)
        rc = job.wait(120)
        print(job.brief())
        if rc is None:
            fail("the run did not finish within 120 s of the flap")
        if rc != 0:
            fail(f"the run exited {rc} after a 3 s flap (timeout_s={T})")
        if s_up >= STEPS:
            fail(f"the run finished during the flap (step {s_up}): it did not test anything")
        after = [t for t, l in job.lines if t > t_up and re.match(r"step \d+/", l)]
        if not after:
            fail("no training step after the link came back")
        stall = after[0] - t0
        print(f"MEASURED: 3 s link flap at step {s0} (step {s_up} when the link came back): "
              f"first step after it {stall:.2f} s after the link went down; run finished, exit 0")
        run(mpi(4, train_args(corpus, ref_dir, STEPS, extra=extra)), timeout=180, expect_rc=0)
        diff = same_weights(latest(ref_dir), latest(run_dir))
        if diff:
            fail(f"the flapped run differs from the uninterrupted one in {diff}")
        print(f"PASS: a {3} s link flap (< timeout_s={T}) costs nothing: the run went on and its final "
              "weights equal an uninterrupted 1-node run's (bitwise)")
        sys.exit(0)

    job = Job([WRAPPER, "--hostfile", hostfile, "--resume", "none"]
              + train_args(corpus, run_dir, 100000, every=5, extra=extra)[1:], env=env)
    wait_until(lambda: len(checkpoints(run_dir)) >= 2 or job.p.poll() is not None, 120, "two checkpoints")
    if job.p.poll() is not None:
        fail("run ended early:\n" + job.brief())
    ranks1 = trainer_pids(c, 1)
    ranks0 = trainer_pids(c, 0)
    if len(ranks0) != 2 or len(ranks1) != 2:
        fail(f"expected 2 ranks per node, found node0 {ranks0} node1 {ranks1}")
    t0 = time.time()
    if mode == "link_down":
        c.link(1, "down")
    else:
        for p in ranks1:
            os.kill(p, signal.SIGKILL)
    rc = job.wait(T + MARGIN + 30)
    t_exit = time.time() - t0
    print(job.brief())
    if rc is None:
        fail(f"the launcher did not exit within {T + MARGIN + 30} s")
    if rc == 0:
        fail("the launcher exited 0 after a node failed")
    # every rank gone (both nodes) within the bound
    wait_until(lambda: not live(ranks0 + ranks1), max(1.0, T + MARGIN - (time.time() - t0)), "every rank to exit")
    t_ranks = time.time() - t0
    if t_exit > T + MARGIN:
        fail(f"the launcher exited {t_exit:.1f} s after the failure, more than timeout_s + {MARGIN} s")
    no_processes(c, [0], 5, "node 0's processes to exit")
    out = job.text()
    if mode == "link_down":
        # One report per stuck collective, from the lowest rank that arrived at it. The link
        # may go down in the middle of a collective that some surviving ranks had already
        # finished: then rank 0 and rank 1 each report their own collective. At least one
        # report must name exactly node 1's ranks as the missing ones (not arrived, or
        # silent: a rank behind a dead link cannot answer the watchdog's question).
        reports = re.findall(r"culturegan watchdog: collective '([^']+)' \(seq (\d+)\) exceeded "
                             rf"distributed.timeout_s={T} s on rank ([01]).*\n((?:  .*\n)+)", out)
        if not reports:
            fail("no watchdog report from the surviving node (ranks 0/1) naming the collective")
        m = None
        for tag, seq, rank, body in reports:
            missing = set()
            for g in (re.search(r"ranks not arrived: ([\d, ]+|none)\n", body),
                      re.search(r"ranks that did not answer within [\d.]+ s: ([\d, ]+|none)\n", body)):
                if g and g.group(1) != "none":
                    missing |= {int(x) for x in g.group(1).split(",")}
            print(f"report by rank {rank}: collective '{tag}' (seq {seq}), missing {sorted(missing)}")
            if missing == {2, 3} and m is None:
                m = (tag, seq)
        if m is None:
            fail("no report names exactly ranks 2 and 3 (node 1) as missing")
        t_report = job.first(r"culturegan watchdog: collective") - t0
        print(f"MEASURED: link down -> watchdog report {t_report:.2f} s, launcher exit (status {rc}) "
              f"{t_exit:.2f} s, every rank gone {t_ranks:.2f} s (timeout_s={T})")
        left = live(c.pids(1))
        print(f"node 1 after the launcher exited: {[cmdline(p)[:40] for p in left]}")
        if any("culturegan-train" in cmdline(p) for p in left):
            fail("a rank is left on node 1")
        c.link(1, "up")
        t_up = time.time()
        no_processes(c, [1], 30, "node 1's stranded daemon to exit after the link came back")
        print(f"MEASURED: node 1 empty {time.time() - t_up:.2f} s after its link came back")
        print(f"PASS: link down -> report names '{m[0]}' (seq {m[1]}) and ranks 2, 3; "
              f"launcher exit {rc} in {t_exit:.1f} s (bound {T + MARGIN}); no rank left")
    else:
        if not re.search(rf"rank [23] .*node {re.escape(c.hosts[1])}|node {re.escape(c.hosts[1])}.*rank [23]", out) \
                and "culturegan watchdog: collective" not in out:
            fail("the output names neither the killed ranks on node 1 nor a stuck collective")
        no_processes(c, [1], 5, "node 1's processes to exit")
        print(f"MEASURED: kill -9 of node 1's ranks -> launcher exit (status {rc}) {t_exit:.2f} s, "
              f"every rank gone {t_ranks:.2f} s")
        print(f"PASS: kill -9 of node 1's ranks -> launcher exit {rc} in {t_exit:.1f} s, nothing left")
    step = resume_check(c, hostfile)
    print(f"PASS: the newest checkpoint (step {step}) is intact and resumes across the 2 nodes")
