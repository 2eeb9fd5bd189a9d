"""Issue 15 point 5, Slurm across nodes: a 2-node Slurm cluster on the namespace nodes
(tests/multinode/slurm-cluster.sh: one slurmd per node namespace, slurmctld on the head, all
private to this test) runs launch/slurm/culturegan-train.sbatch with --nodes=2
--ntasks-per-node=2 through `srun --mpi=pmix`: the job log says 4 tasks on both nodes and
"4 ranks on 2 node(s)"; mid-run `scancel --signal=USR1 --batch` -> the ranks save together,
exit 75, the script requeues the job; `scontrol update jobid=J StartTime=now` skips the
~120 s BeginTime hold; the rerun logs SLURM_RESTART_COUNT=1, resumes on both nodes and
finishes, and its final weights are bitwise those of an uninterrupted 4-rank run.
Skips (77) when not root, without ip netns, or without Debian's Slurm daemons."""
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mn_util import *  # noqa: E402,F403

check_environment()
missing = [b for b in ("munged", "slurmctld", "slurmd", "sbatch", "srun", "scontrol") if not shutil.which(b)]
if missing:
    skip(f"Slurm is not installed here ({', '.join(missing)} missing; apt-get install munge slurmctld slurmd "
         "slurm-client, or run ../shared/tools/slurm/start-slurm.sh once)")
CID = 28
STEPS = 40  # the signal lands at step >= 10
SLURM = os.path.join(HERE, "slurm-cluster.sh")
work = workdir("slurm-two-nodes")
corpus = make_corpus(work)
run_dir = os.path.join(work, "run")
template = os.path.join(SRC, "launch", "slurm", "culturegan-train.sbatch")
conf = f"/run/culturegan-multinode/cg-mn{CID}/slurm/slurm.conf"
env = dict(os.environ, CG_MN_ID=str(CID), SLURM_CONF=conf, CULTUREGAN_TRAIN=TRAIN, CULTUREGAN_LAUNCHER="srun",
           OMPI_MCA_btl_tcp_if_include=f"10.213.{CID}.0/24", OMPI_MCA_btl="self,vader,tcp")
os.environ.update(SLURM_CONF=conf)


def sh(*args, timeout=120):
    p = subprocess.run(["bash", SLURM, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=timeout)
    return p.returncode, p.stdout


def state(j):
    out = subprocess.run(["scontrol", "show", "job", j], stdout=subprocess.PIPE, text=True, env=env).stdout
    m = re.search(r"JobState=(\w+)", out)
    return (m.group(1) if m else "UNKNOWN"), out


def read_log(j):
    p = os.path.join(work, f"job-{j}.out")
    return open(p).read() if os.path.exists(p) else ""


def stepds(j):
    out = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if open(f"/proc/{pid}/cmdline", "rb").read().startswith(f"slurmstepd: [{j}.".encode()):
                    out.append(pid)
            except OSError:
                pass
    return out


sh("down")
rc, out = sh("up")
print(out.strip())
try:
    if rc != 0:
        fail(f"slurm-cluster.sh up failed ({rc})")
    t_start = time.time()
    # --ntasks=4 as well: the template's own "#SBATCH --ntasks=2" would otherwise cap the job
    # at 2 tasks (1 per node) whatever --ntasks-per-node says (docs/multinode.md)
    sub = subprocess.run(["sbatch", "--parsable", "--nodes=2", "--ntasks-per-node=2", "--ntasks=4", "--time=10",
                          "--job-name=cg-mn-requeue", f"--output={work}/job-%j.out", "--chdir", work, template]
                         + train_args(corpus, run_dir, STEPS)[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=env)
    if sub.returncode != 0:
        fail(f"sbatch failed: {sub.stderr}")
    j = sub.stdout.strip().split(";")[0]
    print(f"submitted job {j}")
    wait_until(lambda: re.search(r"(?m)^step [1-9]\d+/", read_log(j)) or state(j)[0] in ("COMPLETED", "FAILED",
                                                                                          "CANCELLED"),
               120, "training progress in the job log", poll=0.2)
    if state(j)[0] != "RUNNING":
        fail(f"job {j} is {state(j)[0]} before the signal:\n{read_log(j)}")
    text = read_log(j)
    for want in (rf"4 tasks on cg-mn{CID}-node\[0-1\]", r"culturegan-train: 4 ranks on 2 node\(s\)"):
        if not re.search(want, text):
            fail(f"the job log lacks /{want}/:\n{text}")
    t0 = time.time()
    subprocess.run(["scancel", "--signal=USR1", "--batch", j], check=True, env=env)
    wait_until(lambda: "requeueing" in read_log(j) and state(j)[0] == "PENDING", 90, "the job to requeue itself",
               poll=0.2)
    print(f"MEASURED: scancel --signal=USR1 --batch -> 2-node job saved and requeued in {time.time() - t0:.2f} s")
    wait_until(lambda: not stepds(j), 60, "the first run's slurmstepd processes to exit", poll=0.2)
    wait_until(lambda: "comp" not in subprocess.run(["sinfo", "-h", "-o", "%T"], stdout=subprocess.PIPE, text=True,
                                                    env=env).stdout, 60, "the nodes to finish completing", poll=0.2)
    time.sleep(1)
    subprocess.run(["scontrol", "update", f"jobid={j}", "StartTime=now"], check=True, env=env)
    wait_until(lambda: state(j)[0] in ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT"), 240, "the requeued job to end",
               poll=0.5)
    st, show = state(j)
    text = read_log(j)
    print("---- job log (progress lines elided) ----")
    print("".join(l + "\n" for l in text.splitlines() if not re.match(r"step \d+/", l)))
    if st != "COMPLETED":
        fail(f"job {j} ended {st}")
    if "Restarts=1" not in show:
        fail("scontrol does not show Restarts=1")
    m = re.search(r"preemption signal received, saving at step (\d+)", text)
    if not m:
        fail("no preemption save in the log")
    step = int(m.group(1))
    for want in ("got SIGUSR1: forwarding", "saved a checkpoint (exit 75): requeueing",
                 f"culturegan-train: Slurm job {j}, SLURM_RESTART_COUNT=1", f"at step {step} (written by world size 4",
                 f"SLURM_RESTART_COUNT=1, 4 tasks on cg-mn{CID}-node[0-1]", "training finished"):
        if want not in text:
            fail(f"the job log lacks '{want}'")
    if len(re.findall(r"culturegan-train: 4 ranks on 2 node\(s\)", text)) != 2:
        fail("both runs should report 4 ranks on 2 nodes")
    print(f"MEASURED: 2-node Slurm job with one preemption and requeue: {time.time() - t_start:.1f} s from sbatch "
          "to COMPLETED")
finally:
    rc, out = sh("down")
    print(out.strip())
ref = os.path.join(work, "ref")
run(mpi(4, train_args(corpus, ref, STEPS)), timeout=240, expect_rc=0)
diff = same_weights(latest(ref), latest(run_dir))
if diff:
    fail(f"the preempted+requeued 2-node job differs from an uninterrupted 4-rank run in {diff}")
print(f"PASS: 2-node Slurm job {j} (2 tasks per node, srun --mpi=pmix) preempted at step {step}, requeued "
      "(SLURM_RESTART_COUNT=1), resumed, finished; final weights == uninterrupted 4-rank run (bitwise)")
