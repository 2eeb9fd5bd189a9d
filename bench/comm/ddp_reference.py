#!/usr/bin/python3
"""PyTorch DDP reference for culturegan-bench-comm part (c): the quickstart StarGAN
(models/stargan.h, configs/quickstart.toml: 64 px, 6 cultures, g_conv_dim 16,
2 residual blocks, d_conv_dim 16, lsgan + culture CE + 10 x L1 cycle, Adam 1e-4 (0.5, 0.999),
per-rank batch 8, n_critic 1) trained with torch.nn.parallel.DistributedDataParallel on the
gloo backend, one process per rank, 1 intra-op thread each.

The GAN step is written the way DDP allows: D sees real and fake in one forward (two
forwards before one backward confuse DDP's reducer), G's step runs D forward too, so D's
all-reduce hooks fire there as well (the well-known cost of DDP on GANs; a wrapper that
skipped it would need no_sync and manual bookkeeping). Data are random tensors in memory,
so the number favours DDP slightly (culturegan-train reads and augments HDF5 images).

Usage: ddp_reference.py --world-size N --steps S [--warmup W] [--json]
Prints images/s (global: world * batch * timed steps / seconds) measured after W warm-up steps.
"""
import argparse
import json
import os
import tempfile
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn
import torch.nn.functional as F


def inorm(c):
    return nn.InstanceNorm2d(c, affine=True, track_running_stats=False)


class Residual(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c, c, 3, 1, 1, bias=False), inorm(c), nn.ReLU(),
                                  nn.Conv2d(c, c, 3, 1, 1, bias=False), inorm(c))

    def forward(self, x):
        return x + self.body(x)


class Generator(nn.Module):
    def __init__(self, c_dim, conv_dim, res_blocks):
        super().__init__()
        layers = [nn.Conv2d(3 + c_dim, conv_dim, 7, 1, 3, bias=False), inorm(conv_dim), nn.ReLU()]
        w = conv_dim
        for _ in range(2):
            layers += [nn.Conv2d(w, w * 2, 4, 2, 1, bias=False), inorm(w * 2), nn.ReLU()]
            w *= 2
        layers += [Residual(w) for _ in range(res_blocks)]
        for _ in range(2):
            layers += [nn.ConvTranspose2d(w, w // 2, 4, 2, 1, bias=False), inorm(w // 2), nn.ReLU()]
            w //= 2
        layers += [nn.Conv2d(w, 3, 7, 1, 3, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, x, c):
        planes = c.view(c.size(0), c.size(1), 1, 1).expand(-1, -1, x.size(2), x.size(3))
        return self.net(torch.cat([x, planes], 1))


class Discriminator(nn.Module):
    def __init__(self, image_size, c_dim, conv_dim):
        super().__init__()
        layers, w, cin, n = [], conv_dim, 3, 0
        s = image_size
        while s > 2:
            layers += [nn.Conv2d(cin, w, 4, 2, 1), nn.LeakyReLU(0.01)]
            cin, w, s, n = w, w * 2, s // 2, n + 1
        self.trunk = nn.Sequential(*layers)
        self.src = nn.Conv2d(cin, 1, 3, 1, 1, bias=False)
        self.cls = nn.Conv2d(cin, c_dim, image_size >> n, 1, 0, bias=False)

    def forward(self, x):
        h = self.trunk(x)
        return self.src(h), self.cls(h).view(x.size(0), -1)


def worker(rank, world, args, init_file, out):
    torch.set_num_threads(1)
    if world > 1:
        dist.init_process_group("gloo", init_method="file://" + init_file, rank=rank, world_size=world)
    torch.manual_seed(1)
    G = Generator(args.cultures, args.g_conv_dim, args.g_res_blocks)
    D = Discriminator(args.image_size, args.cultures, args.d_conv_dim)
    if world > 1:
        G = nn.parallel.DistributedDataParallel(G)  # 25 MB buckets, 1 MB first bucket
        D = nn.parallel.DistributedDataParallel(D)
    opt_g = torch.optim.Adam(G.parameters(), 1e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), 1e-4, betas=(0.5, 0.999))
    gen = torch.Generator().manual_seed(100 + rank)
    b, S, C = args.batch, args.image_size, args.cultures
    t0 = None
    for step in range(args.warmup + args.steps):
        if step == args.warmup:
            if world > 1:
                dist.barrier()
            t0 = time.perf_counter()
        x = torch.rand(b, 3, S, S, generator=gen) * 2 - 1
        c_org = torch.randint(C, (b,), generator=gen)
        c_trg = (c_org + 1 + torch.randint(C - 1, (b,), generator=gen)) % C
        oh_trg, oh_org = F.one_hot(c_trg, C).float(), F.one_hot(c_org, C).float()
        # D_main
        with torch.no_grad():
            fake = G(x, oh_trg)
        src, cls = D(torch.cat([x, fake]))
        loss_d = (src[:b] - 1).pow(2).mean() + src[b:].pow(2).mean() + F.cross_entropy(cls[:b], c_org)
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        # G_main
        fake = G(x, oh_trg)
        src_f, cls_f = D(fake)
        rec = G(fake, oh_org)
        loss_g = (src_f - 1).pow(2).mean() + F.cross_entropy(cls_f, c_trg) + 10.0 * (x - rec).abs().mean()
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
    if world > 1:
        dist.barrier()
    seconds = time.perf_counter() - t0
    if rank == 0:
        out.put(world * b * args.steps / seconds)
    if world > 1:
        dist.destroy_process_group()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--world-size", type=int, default=1)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--image-size", type=int, default=64)
    ap.add_argument("--cultures", type=int, default=6)
    ap.add_argument("--g-conv-dim", type=int, default=16)
    ap.add_argument("--g-res-blocks", type=int, default=2)
    ap.add_argument("--d-conv-dim", type=int, default=16)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    with tempfile.TemporaryDirectory() as d:
        init_file = os.path.join(d, "init")
        procs = [ctx.Process(target=worker, args=(r, args.world_size, args, init_file, out)) for r in range(args.world_size)]
        for p in procs:
            p.start()
        ips = out.get()
        for p in procs:
            p.join()
    if args.json:
        print(json.dumps({"world_size": args.world_size, "images_per_second": ips}))
    else:
        print(f"DDP gloo world {args.world_size}: {ips:.2f} images/s")


if __name__ == "__main__":
    main()
