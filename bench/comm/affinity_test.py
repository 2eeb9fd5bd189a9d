"""culturegan-bench-comm under mpirun's default binding (--bind-to core, no --bind-to none):
the rank that starts the training runs must hand them every CPU this test may use, not the
one core mpirun bound it to. Usage: affinity_test.py MPIEXEC BENCH_BIN"""
import json
import os
import subprocess
import sys

mpiexec, bench = sys.argv[1], sys.argv[2]
allowed = sorted(os.sched_getaffinity(0))
if len(allowed) < 2:
    print(f"SKIPPED: this test may use only CPU {allowed}; binding cannot be observed")
    sys.exit(0)


def expand(cpus):
    out = set()
    for part in cpus.split(","):
        if "-" in part:
            a, b = part.split("-")
            out.update(range(int(a), int(b) + 1))
        elif part:
            out.add(int(part))
    return out


cmd = [mpiexec, "-np", "2", "--bind-to", "core", "--map-by", "core", bench, "--json",
       "--skip-train", "--max-mb", "0.01", "--sweep-seconds", "0.01", "--reps", "2"]
p = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
if p.returncode != 0:
    sys.exit(f"FAIL: {' '.join(cmd)} exited {p.returncode}:\n{p.stdout}\n{p.stderr}")
line = next((l for l in p.stdout.splitlines() if l.startswith("{")), None)
if line is None:
    sys.exit(f"FAIL: no JSON line in the output:\n{p.stdout}\n{p.stderr}")
aff = json.loads(line)["affinity"]
print("affinity:", aff, "test may use:", allowed)
inherited, children = expand(aff["inherited"]), expand(aff["children"])
if aff["error"]:
    sys.exit(f"FAIL: affinity error: {aff['error']}")
if not inherited < set(allowed):
    sys.exit(f"FAIL: expected mpirun --bind-to core to bind rank 0 to a subset of {allowed}, "
             f"found {sorted(inherited)}: the test does not observe a binding")
if children != set(allowed):
    sys.exit(f"FAIL: the runs rank 0 starts should get CPUs {allowed}, found {sorted(children)}")
print("PASS: bound to", sorted(inherited), "-> children get", sorted(children))
