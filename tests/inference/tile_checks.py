#!/usr/bin/env python3
"""Helpers for infer_tiled_test.sh (numpy + PIL):
  photo PATH W H             a photo-like test image (smooth shading, edges, texture), seeded
  exif STORED.jpg UPRIGHT.png   an upright 30x40 image, stored rotated with Exif Orientation 6
  seam OUT.png TILE OVERLAP  max over tile borders of (|step| at the border) / (median |step|
                             of interior columns/rows at the same offset mod 4); prints it
  diff A.png B.png           max and mean |A - B| in 8-bit levels
  orient OUT.png UPRIGHT.png sizes equal and mean |OUT - UPRIGHT| (upright) vs the best rotation
  rss CMD...                 runs CMD, prints its peak RSS in MiB (ru_maxrss of the child)
"""
import resource, subprocess, sys
import numpy as np
from PIL import Image


def load(p):
    return np.asarray(Image.open(p).convert("RGB"), dtype=np.float64)


def starts(length, tile, overlap):  # inference/tiling.cpp tile_starts
    if length <= tile:
        return [0]
    n = (length - overlap + (tile - overlap) - 1) // (tile - overlap)
    last = length - tile
    return [last if i == n - 1 else (last * i // (n - 1)) // 4 * 4 for i in range(n)]


def bands(length, tile, overlap):
    """The blend bands [a, c): where tile k+1 starts to where tile k ends."""
    st = starts(length, tile, overlap)
    return [(st[k + 1], st[k] + tile) for k in range(len(st) - 1)]


def band_step(img, a, c, y0, y1):
    """|mean over rows y0..y1 of (columns c..c+4) - (columns a-4..a)|, max over channels."""
    return np.abs(img[y0:y1, c:c + 4].mean(axis=(0, 1)) - img[y0:y1, a - 4:a].mean(axis=(0, 1))).max()


def seam_ratio(img, tile, overlap):
    """A seam is a consistent offset across a blend band, along one tile's side. For each band
    and tile segment: the step across the band over the steps across equally wide bands at
    interior offsets (same phase mod 4) of the same segment; returns the worst
    band step / 90th percentile of the interior steps (1 = as the image's own variation)."""
    worst = 0.0
    for im in (img, img.transpose(1, 0, 2)):  # vertical borders, then horizontal
        h, w = im.shape[:2]
        bs = bands(w, min(tile, w), overlap)
        if not bs:
            continue
        segs = [(y, min(y + tile, h)) for y in starts(h, min(tile, h), overlap)]
        for y0, y1 in segs:
            for a, c in bs:
                L = c - a
                near = lambda x: any(x + L + 8 > a2 - 8 and x - 8 < c2 + 8 for a2, c2 in bs)
                ref = [band_step(im, x, x + L, y0, y1) for x in range(8 + a % 4, w - L - 8, 4) if not near(x)]
                if ref:
                    worst = max(worst, band_step(im, a, c, y0, y1) / max(np.percentile(ref, 90), 1e-9))
    return worst


def main():
    cmd = sys.argv[1]
    if cmd == "photo":
        w, h = int(sys.argv[3]), int(sys.argv[4])
        rng = np.random.default_rng(0)
        yy, xx = np.mgrid[0:h, 0:w]
        y, x = yy / max(w, h), xx / max(w, h)
        img = np.stack([0.5 + 0.4 * np.sin(6 * x + 2 * y), 0.5 + 0.4 * np.cos(5 * y - 3 * x),
                        0.5 + 0.3 * np.sin(9 * x * y + 1)], -1)
        for _ in range(40):  # discs: edges at all positions
            cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0.01, 0.08) * w
            x0, x1, y0, y1 = int(max(cx - r, 0)), int(cx + r) + 1, int(max(cy - r, 0)), int(cy + r) + 1
            m = (xx[y0:y1, x0:x1] - cx) ** 2 + (yy[y0:y1, x0:x1] - cy) ** 2 < r * r
            img[y0:y1, x0:x1][m] = rng.uniform(0, 1, 3)
        img += rng.normal(0, 0.03, img.shape)
        Image.fromarray((np.clip(img, 0, 1) * 255).astype(np.uint8)).save(sys.argv[2])
    elif cmd == "exif":
        up = np.zeros((40, 30, 3), np.uint8)
        up[:20, :15] = (255, 0, 0); up[:20, 15:] = (0, 255, 0)
        up[20:, :15] = (0, 0, 255); up[20:, 15:] = (255, 255, 0)
        Image.fromarray(up).save(sys.argv[3])
        stored = Image.fromarray(up).transpose(Image.Transpose.ROTATE_90)  # 90° CCW: 40x30
        exif = Image.Exif(); exif[0x0112] = 6  # viewer rotates 90° CW to show it upright
        stored.save(sys.argv[2], quality=95, exif=exif)
    elif cmd == "seam":
        print(f"{seam_ratio(load(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])):.3f}")
    elif cmd == "diff":
        a, b = load(sys.argv[2]), load(sys.argv[3])
        assert a.shape == b.shape, (a.shape, b.shape)
        d = np.abs(a - b)
        print(f"{d.max():.1f} {d.mean():.3f}")
    elif cmd == "orient":
        out, up = load(sys.argv[2]), load(sys.argv[3])
        if out.shape != up.shape:
            print(f"size {out.shape[1]}x{out.shape[0]} != {up.shape[1]}x{up.shape[0]}"); sys.exit(1)
        err = np.abs(out - up).mean()
        others = [np.abs(out - np.rot90(up, 2)).mean(), np.abs(out - up[::-1]).mean(),
                  np.abs(out - up[:, ::-1]).mean()]
        print(f"{err:.2f} {min(others):.2f}")
        sys.exit(0 if err < 16 and err < min(others) / 4 else 1)
    elif cmd == "rss":
        rc = subprocess.run(sys.argv[2:], stdout=subprocess.DEVNULL).returncode
        print(f"{resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f}")
        sys.exit(rc)


if __name__ == "__main__":
    main()
