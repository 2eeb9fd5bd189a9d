"""ctest bench_step_smoke: culturegan-bench-step --json at tiny settings (16 px, batch 2,
1 warm-up step, 1 repeat of 1 step, both settings) prints every field, finite and positive.
A smoke test, not a timed test: the figures themselves are not checked.

  python3 smoke_test.py BUILD/bench/step/culturegan-bench-step
"""
import json
import math
import subprocess
import sys
import time

SIZE_FIELDS = ["culturegan_images_per_second", "python_images_per_second", "step_vs_python",
               "flops_per_step", "culturegan_gflops", "python_gflops", "fraction_of_gemm_culturegan",
               "fraction_of_gemm_python", "steps", "repeats", "flops_forward_per_step",
               "gemm_gflops", "culturegan_images_per_cpu_second", "python_images_per_cpu_second"]
TOP_FIELDS = ["gemm_gflops", "python_gemm_gflops", "threads"]


def positive(v):
    return isinstance(v, (int, float)) and math.isfinite(v) and v > 0


def main():
    cmd = [sys.argv[1], "--json", "--image-size", "16", "--batch", "2", "--warmup", "1",
           "--repeats", "1", "--steps", "1", "--threads", "1"]
    t0 = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=170)
    wall = time.time() - t0
    print(" ".join(cmd), f"-> exit {p.returncode} in {wall:.1f} s")
    if p.returncode != 0:
        print(p.stdout, p.stderr)
        return 1
    line = next((l for l in p.stdout.splitlines() if l.startswith("{")), None)
    out = json.loads(line)
    bad = [f for f in TOP_FIELDS if not positive(out.get(f))]
    for f in ("commands", "load_average_before"):
        if not out.get(f):
            bad.append(f)
    if not isinstance(out.get("blas"), dict) or not out["blas"].get("libraries"):
        bad.append("blas.libraries")
    for size in ("quickstart", "paper64"):
        s = out.get("sizes", {}).get(size)
        if s is None:
            bad.append(size)
            continue
        bad += [f"{size}.{f}" for f in SIZE_FIELDS if not positive(s.get(f))]
    if bad:
        print("missing or not finite and positive:", ", ".join(bad))
        print(line)
        return 1
    print("ok:", json.dumps({k: {f: out["sizes"][k][f] for f in ("step_vs_python", "flops_per_step")}
                             for k in out["sizes"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
