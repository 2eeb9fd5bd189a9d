"""Issue 15 point 2, launch facts across nodes (2 network-namespace nodes).

1. 2 nodes x 2 ranks through launch/culturegan-mpirun --hostfile (4 slots, no -n): every
   rank reports its rank, local rank 0/1 on its node, local world size 2, node count 2,
   device_for with 2 GPUs per node = cuda:<local rank>, the launcher's own rank variables,
   TCP connections to exactly the other node's address and the shared-memory segment of its
   node's other rank only (tests/multinode/multinode_probe.cpp checks these against the host
   names of all ranks; one all-reduce through the project's Communicator).
2. 2 nodes x 1 rank through --host NODE0:1,NODE1:1: local rank 0 of 1, nodes 2, no shared
   memory peer.
3. culturegan-train, 2 nodes x 2 ranks (--host NODE0:2,NODE1:2), 3 steps with a checkpoint
   every step: rank 0 says "4 ranks on 2 node(s)", and node 1 sees run.dir through a bind
   mount of an empty directory (CG_MN_SHADOW): after the run that directory is still empty
   (nothing on node 1 wrote a file) while run.dir holds the checkpoints, the bundle and the
   summary (rank 0).
4. An unreadable host file is bad input (exit 2) with one line.
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mn_util import *  # noqa: E402,F403

check_environment()
work = workdir("launch-facts")
c = Cluster(21, 2)
with c:
    hostfile = c.hostfile(os.path.join(work, "hosts"), 2)
    print(open(hostfile).read().strip())

    def probe(extra, expect_ranks, local_size):
        env = dict(c.wrapper_env(), CULTUREGAN_TRAIN=PROBE)
        rc, out = run([WRAPPER] + extra + ["--resume", "none"], timeout=60, env=env)
        if rc != 0:
            fail(f"probe through the wrapper exited {rc}")
        lines = sorted(re.findall(r"^rank \d+ of .*$", out, re.M), key=lambda l: int(l.split()[1]))
        if len(lines) != expect_ranks:
            fail(f"expected {expect_ranks} probe lines, found {len(lines)}")
        for r, line in enumerate(lines):
            node, local = r // local_size, r % local_size
            other = c.net + "." + str(2 - node)  # the other node's address (node i is .i+1)
            want = (rf"^rank {r} of {expect_ranks}, local rank {local} of {local_size}, nodes 2, "
                    rf"host {c.hosts[node]}, device cpu, device with 2 GPUs per node cuda:{local}, "
                    rf"launcher rank {r} local {local}, address {re.escape(c.net)}\.{node + 1}, "
                    rf"tcp peers {re.escape(other)}, shm peers {local_size - 1}, allreduce ok$")
            if not re.match(want, line):
                fail(f"rank {r}: got\n  {line}\nexpected /{want}/")
        if "MISMATCH" in out:
            fail("a rank reported a mismatch")
        return lines

    probe(["--hostfile", hostfile], 4, 2)
    print("PASS: 2 nodes x 2 ranks (--hostfile): rank, local rank 0/1, local world size 2, node count 2, "
          "cuda:<local rank>, TCP to the other node only, shared memory within the node")
    probe(["--host", f"{c.hosts[0]}:1,{c.hosts[1]}:1"], 2, 1)
    print("PASS: 2 nodes x 1 rank (--host list): local rank 0 of 1 on each node, node count 2, TCP only")

    # The trainer: rank 0 alone writes run.dir.
    corpus = make_corpus(work)
    run_dir = os.path.join(work, "run")
    shadow = os.path.join(work, "node1-view")
    os.makedirs(run_dir)
    os.makedirs(shadow)
    env = dict(c.wrapper_env(), CG_MN_SHADOW=f"{c.hosts[1]}:{run_dir}:{shadow}")
    args = train_args(corpus, run_dir, 3, every=1)[1:]
    rc, out = run([WRAPPER, "--host", f"{c.hosts[0]}:2,{c.hosts[1]}:2"] + args, timeout=90, env=env)
    if rc != 0:
        fail(f"training across 2 nodes exited {rc}")
    if not re.search(r"culturegan-train: 4 ranks on 2 node\(s\)", out):
        fail("rank 0 did not report 4 ranks on 2 nodes")
    written = sorted(os.listdir(run_dir))
    for want in ("checkpoints", "generator.bundle", "summary.json", "config.toml"):
        if want not in written:
            fail(f"run.dir lacks {want}: {written}")
    ckpts = checkpoints(run_dir)
    if not ckpts:
        fail("no checkpoint in run.dir")
    seen_by_node1 = [os.path.join(dp, f) for dp, ds, fs in os.walk(shadow) for f in fs + ds]
    if seen_by_node1:
        fail(f"node 1 wrote into run.dir: {seen_by_node1}")
    print(f"PASS: 2 x 2 training: '4 ranks on 2 node(s)'; run.dir has {', '.join(written)} "
          f"({len(ckpts)} checkpoints); node 1 wrote nothing")

    rc, out = run([WRAPPER, "--hostfile", os.path.join(work, "no-such-file")] + args, timeout=30)
    if rc != 2 or len(re.findall(r"culturegan-mpirun: error: host file", out)) != 1:
        fail("an unreadable host file: expected exit 2 and one error line")
    print("PASS: unreadable host file -> exit 2, one line")
left = c.all_pids()
print("cluster removed; processes that were left in the nodes before removal: none" if not any(left.values())
      else f"processes left: {left}")
