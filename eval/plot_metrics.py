#!/usr/bin/env python3
"""Plots run.dir/metrics.jsonl (one JSON object per step, written by culturegan-train on
rank 0) as a PNG: one panel per loss term over steps, raw values in light grey and a moving
average in colour. Needs only Pillow (Debian: python3-pil).

    /usr/bin/python3 eval/plot_metrics.py runs/quickstart/metrics.jsonl -o losses.png
"""
import argparse
import json
import math

from PIL import Image, ImageDraw


def moving_average(values, k):
    out, acc, window = [], 0.0, []
    for v in values:
        window.append(v)
        acc += v
        if len(window) > k:
            acc -= window.pop(0)
        out.append(acc / len(window))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("metrics", help="metrics.jsonl")
    ap.add_argument("-o", "--output", default="metrics.png")
    ap.add_argument("--smooth", type=int, default=25, help="moving-average window in steps")
    args = ap.parse_args()
    series = {}
    for line in open(args.metrics):
        line = line.strip()
        if not line:
            continue
        row = json.loads(line)
        step = row.pop("step")
        for k, v in row.items():
            if v is not None and math.isfinite(v):
                series.setdefault(k, {})[step] = v  # a resumed run overwrites repeated steps
    if not series:
        raise SystemExit(f"{args.metrics}: no loss values")
    names = sorted(series)
    cols = 2 if len(names) > 1 else 1
    rows = (len(names) + cols - 1) // cols
    pw, ph, m = 420, 220, 44
    img = Image.new("RGB", (cols * pw, rows * ph), "white")
    d = ImageDraw.Draw(img)
    for i, name in enumerate(names):
        ox, oy = (i % cols) * pw, (i // cols) * ph
        steps = sorted(series[name])
        vals = [series[name][s] for s in steps]
        lo, hi = min(vals), max(vals)
        if hi == lo:
            hi = lo + 1.0
        s0, s1 = steps[0], max(steps[-1], steps[0] + 1)
        x = lambda s: ox + m + (s - s0) / (s1 - s0) * (pw - m - 10)
        y = lambda v: oy + ph - 24 - (v - lo) / (hi - lo) * (ph - 48)
        d.rectangle([ox + m, oy + 20, ox + pw - 10, oy + ph - 24], outline=(160, 160, 160))
        d.text((ox + m, oy + 4), name, fill="black")
        d.text((ox + 2, oy + 20), f"{hi:.3g}", fill="black")
        d.text((ox + 2, oy + ph - 34), f"{lo:.3g}", fill="black")
        d.text((ox + m, oy + ph - 20), f"step {s0}", fill="black")
        d.text((ox + pw - 90, oy + ph - 20), f"step {steps[-1]}", fill="black")
        pts = [(x(s), y(v)) for s, v in zip(steps, vals)]
        if len(pts) > 1:
            d.line(pts, fill=(200, 200, 200), width=1)
            d.line([(x(s), y(v)) for s, v in zip(steps, moving_average(vals, args.smooth))], fill=(31, 119, 180), width=2)
    img.save(args.output)
    print(f"wrote {args.output} ({len(names)} series)")


if __name__ == "__main__":
    main()
