"""Reference loader for culturegan-bench-loader: python3-h5py + torch.utils.data.DataLoader
reading the same corpus with the same augmentation as culturegan's Loader (random resized
crop with torchvision's parameter rule, bilinear resize align_corners=False, horizontal
flip, uint8 HWC -> float CHW in [-1, 1]).

Usage: python_loader.py CORPUS --batch 32 --workers 2 --seconds 4 --min-area 0.5
Prints one JSON line: {"images_per_second": ..., "images": ..., "seconds": ...}.
"""
import argparse
import json
import math
import os
import random
import resource
import time

import h5py
import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset


class CorpusDataset(Dataset):
    def __init__(self, path, min_area):
        self.path, self.min_area = path, min_area
        with h5py.File(path, "r") as f:
            split = f["split"][:]
            self.labels = f["labels"][:]
            self.size = int(f.attrs["image_size"])
        self.indices = np.nonzero(split == 0)[0]
        self.file = None

    def __len__(self):
        return len(self.indices)

    def crop_box(self, s):
        area = s * s
        for _ in range(10):
            target = area * random.uniform(self.min_area, 1.0)
            ratio = math.exp(random.uniform(math.log(3 / 4), math.log(4 / 3)))
            w = int(round(math.sqrt(target * ratio)))
            h = int(round(math.sqrt(target / ratio)))
            if 0 < w <= s and 0 < h <= s:
                return random.randint(0, s - h), random.randint(0, s - w), h, w
        return 0, 0, s, s

    def __getitem__(self, k):
        if self.file is None:  # one handle per worker process
            self.file = h5py.File(self.path, "r")
            self.images = self.file["images"]
        i = int(self.indices[k])
        img = torch.from_numpy(self.images[i])  # uint8 [S,S,3]
        s = self.size
        y, x, h, w = self.crop_box(s) if self.min_area > 0 else (0, 0, s, s)
        t = img[y:y + h, x:x + w].permute(2, 0, 1).unsqueeze(0).float()
        t = F.interpolate(t, size=(s, s), mode="bilinear", align_corners=False)[0]
        if random.random() < 0.5:
            t = t.flip(2)
        return t / 127.5 - 1.0, int(self.labels[i])


def cpu_seconds():
    """CPU time of this process and its (joined) worker processes."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        u = resource.getrusage(who)
        total += u.ru_utime + u.ru_stime
    return total


def worker_init(_):
    torch.set_num_threads(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--min-area", type=float, default=0.5)
    args = ap.parse_args()
    torch.set_num_threads(1)
    ds = CorpusDataset(args.corpus, args.min_area)
    loader = DataLoader(ds, batch_size=args.batch, shuffle=True, drop_last=True, num_workers=args.workers,
                        worker_init_fn=worker_init, persistent_workers=args.workers > 0,
                        prefetch_factor=4 if args.workers > 0 else None)
    images, start, warm, cpu0 = 0, None, 0, 0.0
    while start is None or time.perf_counter() - start < args.seconds:
        for x, _ in loader:
            assert x.shape == (args.batch, 3, ds.size, ds.size)
            if warm < 2:  # warm-up: worker start, file open
                warm += 1
                if warm == 2:
                    start, cpu0 = time.perf_counter(), cpu_seconds()
                continue
            images += x.shape[0]
            if time.perf_counter() - start >= args.seconds:
                break
    elapsed = time.perf_counter() - start
    del loader  # joins the workers, so their CPU time is counted in RUSAGE_CHILDREN
    cpu = cpu_seconds() - cpu0
    print(json.dumps({"images_per_second": images / elapsed, "images": images, "seconds": elapsed,
                      "images_per_cpu_second": images / cpu,
                      "workers": args.workers, "pid": os.getpid()}))


if __name__ == "__main__":
    main()
