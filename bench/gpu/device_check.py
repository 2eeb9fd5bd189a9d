"""Measurement half of bench/gpu/device-check.sh: runs culturegan-train (fp32, bf16 when the
build has train.precision, and bf16 with train.channels_last when it has that key) and the
PyTorch reference (bench/gpu/stargan_reference.py, fp32, bf16 and bf16 --channels-last) with
the same model, batch and step, samples memory while each runs, and prints one table.

  python3 device_check.py --bin BUILD/bin --work DIR --corpus C.h5 --cultures K --mode gpu|cpu
      [--steps N --warmup W]
      [--launcher 'mpirun -np 1 ...'] [--out OUT.json]

Rates: culturegan's images/s is taken between progress lines (train.log_every_s = 0: one line
per step, each with the cumulative rate since the first step), from step W to the last, so
start-up, the first steps and the final checkpoint are left out; the reference times steps W..N
with a device synchronisation after each. Memory: GPU mode, the high-water mark of the GPU's
used memory (nvidia-smi every 0.1 s, every process on the GPU, less what was used before the
run); CPU mode, the high-water RSS of the run's processes (/proc). FLOPs: one reference step
counted by torch (FlopCounterMode, torch >= 2.1) in fp32; the same per image for culturegan
(same model and step). Fraction of peak = images/s x FLOPs per image / the GPU's dense bf16
peak (datasheet by name, and a bf16 8192^3 matrix product measured in the same run).
"""
import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

# Dense (no sparsity) bf16 tensor-core peaks from the vendors' datasheets, TFLOP/s.
DATASHEET_BF16_TFLOPS = [
    ("H200", 989.4), ("H100 SXM", 989.4), ("H100 80GB HBM3", 989.4), ("H100 NVL", 835.0),
    ("H100 PCIe", 756.0), ("H100", 989.4), ("GH200", 989.4), ("B200", 2250.0),
    ("A100", 312.0), ("L40S", 362.0), ("L4", 121.0), ("A10", 125.0),
]


class MemorySampler:
    """High-water memory of what runs between start() and stop()."""

    def __init__(self, mode, root_pid=None):
        self.mode, self.root_pid, self.peak, self.base = mode, root_pid, 0.0, 0.0
        self._stop = threading.Event()
        self.note = ""

    @staticmethod
    def gpu_used_mib():
        out = subprocess.run(["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits"],
                             capture_output=True, text=True, timeout=20)
        return float(out.stdout.split()[0]) if out.returncode == 0 and out.stdout.strip() else None

    def _tree_rss_mib(self):
        kids = {}
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open(f"/proc/{d}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                kids.setdefault(ppid, []).append(int(d))
            except (OSError, ValueError, IndexError):
                pass
        total, todo = 0, [self.root_pid]
        while todo:
            pid = todo.pop()
            todo += kids.get(pid, [])
            try:
                with open(f"/proc/{pid}/status") as f:
                    for line in f:
                        if line.startswith("VmRSS:"):
                            total += int(line.split()[1])
            except OSError:
                pass
        return total / 1024

    def _run(self):
        while not self._stop.is_set():
            try:
                v = self.gpu_used_mib() if self.mode == "gpu" else self._tree_rss_mib()
                if v is not None:
                    self.peak = max(self.peak, v)
            except Exception as e:  # a sampler that cannot read says so in the table
                self.note = f"sampler: {e}"
            self._stop.wait(0.1)

    def start(self):
        if self.mode == "gpu":
            self.base = self.gpu_used_mib() or 0.0
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def stop(self):
        self._stop.set()
        self._t.join(timeout=30)
        return max(0.0, self.peak - self.base)


def run_measured(cmd, mode, log_path, env=None, timeout=900):
    """Runs cmd (list), its output to log_path; returns (rc, output, peak memory MiB)."""
    with open(log_path, "w") as log:
        p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO)
        s = MemorySampler(mode, p.pid)
        s.start()
        try:
            rc = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            rc = 124
        peak = s.stop()
    with open(log_path) as f:
        return rc, f.read(), peak


STEP_LINE = re.compile(r"^step (\d+)/(\d+) \([^)]*\) \| ([0-9.]+) img/s \|", re.M)


def steady_rate(output, batch, warmup):
    """images/s between step `warmup` and the last progress line (cumulative rates -> times)."""
    pts = [(int(m.group(1)), float(m.group(3))) for m in STEP_LINE.finditer(output)]
    pts = [(k, r) for k, r in pts if r > 0]
    if len(pts) < 2:
        return None
    first = next(((k, r) for k, r in pts if k >= warmup), pts[0])
    last = pts[-1]
    if last[0] <= first[0]:
        return None
    t1, t2 = first[0] * batch / first[1], last[0] * batch / last[1]
    return (last[0] - first[0]) * batch / (t2 - t1) if t2 > t1 else None


def peak_bf16(mode, log):
    """(datasheet TFLOP/s or None, device name, measured bf16 matmul TFLOP/s or None)."""
    if mode != "gpu":
        return None, "cpu", None
    import torch
    name = torch.cuda.get_device_name(0)
    sheet = next((v for k, v in DATASHEET_BF16_TFLOPS if k in name), None)
    n = 8192
    a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    torch.cuda.synchronize()
    ev0, ev1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    ev0.record()
    reps = 20
    for _ in range(reps):
        a @ b
    ev1.record()
    torch.cuda.synchronize()
    measured = 2 * n ** 3 * reps / (ev0.elapsed_time(ev1) / 1e3) / 1e12
    del a, b
    torch.cuda.empty_cache()
    log(f"device {name}: bf16 {n}^3 matrix product {measured:.0f} TFLOP/s; datasheet "
        f"{sheet if sheet else 'unknown'}")
    return sheet, name, measured


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bin", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--corpus", required=True)
    p.add_argument("--cultures", type=int, required=True)
    p.add_argument("--mode", choices=["gpu", "cpu"], required=True)
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--launcher", default="mpirun -np 1")
    p.add_argument("--python", default=sys.executable)
    p.add_argument("--train-ld-library-path", default="",
                   help="prepended to LD_LIBRARY_PATH for culturegan's processes only (the carried libraries)")
    p.add_argument("--out")
    a = p.parse_args()
    os.makedirs(a.work, exist_ok=True)
    log = lambda s: print(f"device-check: {s}", flush=True)
    gpu = a.mode == "gpu"
    config = os.path.join(REPO, "configs/multiculture_256.toml")
    if gpu:  # the recipe as it is, on one GPU
        size, batch = 256, 16
        model = dict(cultures=None, g=64, res=6, d=64, layers=6, patches=256)
        sets = ["distributed.backend=nccl", "train.device=cuda"]
    else:  # the CPU dry run: the same recipe and steps at tiny sizes
        size, batch = 32, 2
        model = dict(cultures=None, g=8, res=2, d=8, layers=3, patches=16)
        sets = ["distributed.backend=mpi", "train.device=cpu", "train.threads=1", "data.threads=1",
                "data.prefetch=2", f"model.g_conv_dim={model['g']}", f"model.g_res_blocks={model['res']}",
                f"model.d_conv_dim={model['d']}", f"model.d_layers={model['layers']}",
                f"loss.nce_patches={model['patches']}", f"train.batch_size={batch}",
                f"data.image_size={size}"]
    sets += [f"data.corpus={a.corpus}", f"train.steps={a.steps}", "train.log_every_s=0",
             "checkpoint.every=0", "report.every=0", "train.sample_every=0", "sample.count=2",
             "distributed.check_every=0"]
    cultures = a.cultures
    env = dict(os.environ)
    if a.train_ld_library_path:
        env["LD_LIBRARY_PATH"] = a.train_ld_library_path + (":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
    docs = subprocess.run([os.path.join(a.bin, "culturegan-train"), "--config-docs"],
                          capture_output=True, text=True, cwd=REPO, env=env, timeout=120)
    if docs.returncode != 0:
        sys.exit(f"device-check: culturegan-train --config-docs failed: {docs.stderr.strip()[:500]}")
    has_precision = "`train.precision`" in docs.stdout
    has_channels_last = "`train.channels_last`" in docs.stdout
    rows, failures = [], []

    def train(precision, channels_last=False):
        tag = precision + ("-cl" if channels_last else "")
        run_dir = os.path.join(a.work, f"train-{tag}")
        extra = [] if precision == "fp32" and not has_precision else [f"train.precision={precision}"]
        if channels_last:
            extra.append("train.channels_last=true")
        cmd = shlex.split(a.launcher) + [os.path.join(a.bin, "culturegan-train"), "--config", config]
        for s in sets + [f"run.dir={run_dir}"] + extra:
            cmd += ["--set", s]
        log(f"culturegan {tag}: {' '.join(shlex.quote(c) for c in cmd)}")
        t0 = time.time()
        rc, out, mem = run_measured(cmd, a.mode, os.path.join(a.work, f"train-{tag}.log"), env)
        if rc != 0:
            failures.append(f"culturegan-train {tag} exited {rc} (log {a.work}/train-{tag}.log):\n"
                            + "\n".join(out.splitlines()[-15:]))
            return
        ips = steady_rate(out, batch, a.warmup)
        if ips is None:
            failures.append(f"culturegan {tag}: no progress lines to measure (log {a.work}/train-{tag}.log)")
            return
        log(f"culturegan {tag}: {ips:.2f} images/s (steps {a.warmup}..{a.steps}), wall {time.time() - t0:.0f} s")
        # train.precision = "bf16" on a CPU without AVX-512 BF16 trains fp32 after one warning
        # (trainer/run_options.cpp): that row is fp32 and is not compared with PyTorch's bf16.
        fell_back = precision == "bf16" and "has no AVX-512 BF16" in out
        rows.append(dict(run="culturegan (LibTorch C++)", precision=precision, ips=ips, mem=mem,
                         fell_back=fell_back, layout="nhwc" if channels_last else "nchw"))

    def reference(precision, flops, channels_last=False):
        tag = precision + ("-cl" if channels_last else "")
        cmd = [a.python, os.path.join(HERE, "stargan_reference.py"), "--device", "cuda" if gpu else "cpu",
               "--precision", precision, "--steps", str(a.steps - a.warmup), "--warmup", str(min(a.warmup, 5)),
               "--image-size", str(size), "--batch", str(batch), "--cultures", str(cultures),
               "--g-conv-dim", str(model["g"]), "--g-res-blocks", str(model["res"]),
               "--d-conv-dim", str(model["d"]), "--d-layers", str(model["layers"]),
               "--nce-patches", str(model["patches"])]
        if not gpu:
            cmd += ["--threads", "1"]
        if flops:
            cmd.append("--count-flops")
        if channels_last:
            cmd.append("--channels-last")
        log(f"pytorch {tag}: {' '.join(shlex.quote(c) for c in cmd)}")
        rc, out, mem = run_measured(cmd, a.mode, os.path.join(a.work, f"reference-{tag}.log"))
        line = next((l for l in reversed(out.splitlines()) if l.startswith("{")), None)
        if rc != 0 or line is None:
            failures.append(f"stargan_reference.py {tag} exited {rc}:\n" + "\n".join(out.splitlines()[-15:]))
            return None
        r = json.loads(line)
        log(f"pytorch {tag}: {r['images_per_second']:.2f} images/s")
        rows.append(dict(run=f"PyTorch {r['torch']} (Python)", precision=precision,
                         ips=r["images_per_second"], mem=mem, layout="nhwc" if channels_last else "nchw"))
        return r

    sheet, name, measured = peak_bf16(a.mode, log)
    train("fp32")
    if has_precision:
        train("bf16")
    if has_precision and has_channels_last:  # train.channels_last: NHWC, what tensor cores read
        train("bf16", channels_last=True)
    ref32 = reference("fp32", flops=True)
    reference("bf16", flops=False)
    if has_precision and has_channels_last:
        reference("bf16", flops=False, channels_last=True)
    fpi = ref32.get("flops_per_image") if ref32 else None

    # The table.
    by = {(("culturegan" if r["run"].startswith("culturegan") else "pytorch"), r["precision"], r["layout"]): r
          for r in rows}
    kinds = [("fp32", "nchw"), ("bf16", "nchw")] + ([("bf16", "nhwc")] if has_precision and has_channels_last else [])
    peak = measured if measured else None
    head = (f"device check: {name}, {'multiculture_256 (256 px, batch 16, widths 64/64, 6 res blocks, D 6 layers)' if gpu else 'CPU dry run (32 px, batch 2, widths 8/8, 2 res blocks, D 3 layers)'}, "
            f"{a.steps} steps (rates from step {a.warmup})")
    lines = [head,
             f"{'run':<28} {'prec':<8} {'images/s':>10} {'vs PyTorch':>10} {'vs fp32':>8} {'mem MiB':>9} {'TFLOP/s':>8} {'of bf16 peak':>13}"]
    for who, label in (("culturegan", "culturegan (LibTorch C++)"), ("pytorch", None)):
        for prec, layout in kinds:
            r = by.get((who, prec, layout))
            name_prec = prec + (" CL" if layout == "nhwc" else "")
            if r is None:
                if who == "culturegan" and prec == "bf16" and not has_precision:
                    lines.append(f"{label:<28} {name_prec:<8} {'bf16: not supported by this build (no train.precision key)':>62}")
                else:
                    lines.append(f"{(label or 'PyTorch (Python)'):<28} {name_prec:<8} {'FAILED (see above)':>10}")
                continue
            other = by.get(("pytorch" if who == "culturegan" else "culturegan", prec, layout))
            vs_pt = f"{r['ips'] / other['ips']:.2f}" if who == "culturegan" and other else ("1.00" if who == "pytorch" else "-")
            if r.get("fell_back"):
                vs_pt = "-"
            f32 = by.get((who, "fp32", "nchw"))
            vs32 = f"{r['ips'] / f32['ips']:.2f}" if f32 else "-"
            tf = r["ips"] * fpi / 1e12 if fpi else None
            tfs = f"{tf:.2f}" if tf is not None else "-"
            frac = f"{100 * tf / peak:.1f} %" if (tf is not None and peak) else "n/a (CPU)" if not gpu else "-"
            shown = name_prec + ("*" if r.get("fell_back") else "")
            lines.append(f"{r['run']:<28} {shown:<8} {r['ips']:>10.2f} {vs_pt:>10} {vs32:>8} {r['mem']:>9.0f} {tfs:>8} {frac:>13}")
    if any(r["layout"] == "nhwc" for r in rows):
        lines.append("CL: train.channels_last = true (culturegan) and --channels-last (PyTorch): NHWC weights and batches")
    if any(r.get("fell_back") for r in rows):
        lines.append("bf16*: this CPU has no AVX-512 BF16, so culturegan-train fell back to fp32 with its warning "
                     "(the row is fp32); PyTorch's bf16 row runs emulated bf16")
    if fpi:
        lines.append(f"FLOPs per image: {fpi / 1e9:.2f} GFLOP ({ref32['flops_method']})")
    if gpu:
        lines.append(f"bf16 peak: {measured:.0f} TFLOP/s measured (8192^3 matrix product), datasheet "
                     f"{sheet if sheet else 'unknown'} TFLOP/s"
                     + (f" (fractions of the datasheet peak: x{measured / sheet:.2f})" if sheet else ""))
        lines.append("mem MiB: high-water of the GPU's used memory during the run (nvidia-smi), less the idle value")
    else:
        lines.append("mem MiB: high-water RSS of the run's processes; no peak on a CPU")
    print("\n".join(lines), flush=True)
    if a.out:
        with open(a.out, "w") as f:
            json.dump(dict(rows=rows, flops_per_image=fpi, peak_measured=measured, peak_datasheet=sheet,
                           device=name, has_precision=has_precision, table=lines), f, indent=1)
    if failures:
        print("\n".join(["device-check: FAILED:"] + failures), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
