"""Point 4, real Slurm: sbatch launch/slurm/culturegan-train.sbatch (2 tasks, srun --mpi=pmix)
with a tiny config; mid-run `scancel --signal=USR1 --batch` -> the batch shell's trap forwards
it, the ranks save together and exit 75, the script requeues the job; `scontrol update
jobid=J StartTime=now` skips the ~120 s BeginTime hold; the rerun logs SLURM_RESTART_COUNT=1,
resumes from the checkpoint and finishes. Its final weights equal an uninterrupted run's
(bitwise). Skips (exit 77) where sinfo is absent or no cluster answers; cancels its jobs.
Usage: test_slurm_requeue.py [srun|mpirun]"""
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "trainer", "checkpoint"))
from ckpt_util import *  # noqa: E402,F403

launcher = sys.argv[1] if len(sys.argv) > 1 else "srun"
if not shutil.which("sinfo") or not shutil.which("sbatch"):
    skip("sinfo/sbatch not found: no Slurm here (CI starts ../shared/tools/slurm/start-slurm.sh first)")
if subprocess.run(["sinfo", "-h"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30).returncode != 0:
    skip("sinfo finds no running Slurm controller (start ../shared/tools/slurm/start-slurm.sh)")

STEPS = 300
work = workdir(f"slurm-requeue-{launcher}")
corpus = make_corpus(work)
run_dir = os.path.join(work, "run")
template = os.path.join(SRC, "launch", "slurm", "culturegan-train.sbatch")
args = train_args(corpus, run_dir, STEPS)[1:]
log = os.path.join(work, "job-%j.out")
env = dict(os.environ, CULTUREGAN_TRAIN=TRAIN, CULTUREGAN_LAUNCHER=launcher)
jobs = []


def state(j):
    out = subprocess.run(["scontrol", "show", "job", j], stdout=subprocess.PIPE, text=True).stdout
    m = re.search(r"JobState=(\w+)", out)
    return (m.group(1) if m else "UNKNOWN"), out


def read_log(j):
    p = os.path.join(work, f"job-{j}.out")
    return open(p).read() if os.path.exists(p) else ""


try:
    sub = subprocess.run(["sbatch", "--parsable", "--ntasks=2", "--nodes=1", "--time=10", "--job-name=cg-ci-requeue",
                          f"--output={log}", "--chdir", work, template] + args,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    if sub.returncode != 0:
        fail(f"sbatch failed: {sub.stderr}")
    j = sub.stdout.strip().split(";")[0]
    jobs.append(j)
    print(f"submitted job {j}")
    wait_for(lambda: re.search(r"(?m)^step [1-9]\d+/", read_log(j)) is not None
             or state(j)[0] in ("COMPLETED", "FAILED", "CANCELLED"), 120, "training progress in the job log")
    if state(j)[0] != "RUNNING":
        fail(f"job {j} is {state(j)[0]} before the signal:\n{read_log(j)}")
    t0 = time.time()
    subprocess.run(["scancel", "--signal=USR1", "--batch", j], check=True)
    # The job saves, exits 75 and requeues itself: it comes back PENDING (BeginTime ~120 s).
    wait_for(lambda: "requeueing" in read_log(j) and state(j)[0] == "PENDING", 90, "the job to requeue itself")
    print(f"MEASURED: scancel --signal=USR1 --batch -> job saved and requeued in {time.time() - t0:.2f} s")
    # Release it only once the first run is fully cleaned up: a release within ~1 s of the
    # requeue makes slurmd refuse the launch ("Job credential revoked"), and while the old
    # step's slurmstepd lives, the new step cannot bind its PMIx socket. (A real requeue
    # waits ~120 s anyway.)
    def stepds_gone():
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    if open(f"/proc/{pid}/cmdline", "rb").read().startswith(f"slurmstepd: [{j}.".encode()):
                        return False
                except OSError:
                    pass
        return True
    wait_for(stepds_gone, 60, "the first run's slurmstepd processes to exit")
    wait_for(lambda: "comp" not in subprocess.run(["sinfo", "-h", "-o", "%T"], stdout=subprocess.PIPE,
                                                  text=True).stdout, 60, "the node to finish completing")
    time.sleep(1)
    subprocess.run(["scontrol", "update", f"jobid={j}", "StartTime=now"], check=True)
    wait_for(lambda: state(j)[0] in ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT"), 240, "the requeued job to end")
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
                 f"culturegan-train: Slurm job {j}, SLURM_RESTART_COUNT=1", f"at step {step} (written by world size 2",
                 "SLURM_RESTART_COUNT=1, 2 tasks", "training finished"):
        if want not in text:
            fail(f"the job log lacks '{want}'")
    # Uninterrupted reference (mpirun, same world size): bitwise the same final weights.
    ref = os.path.join(work, "ref")
    run(mpi(2, train_args(corpus, ref, STEPS)), timeout=300, expect_rc=0)
    diff = same_weights(latest(ref), latest(run_dir))
    if diff:
        fail(f"the preempted+requeued job's final checkpoint differs from an uninterrupted run in {diff}")
    print(f"PASS: Slurm job {j} preempted at step {step}, requeued (SLURM_RESTART_COUNT=1), resumed, finished; "
          "final weights == uninterrupted run (bitwise)")
finally:
    for j in jobs:
        subprocess.run(["scancel", j], stderr=subprocess.DEVNULL)
