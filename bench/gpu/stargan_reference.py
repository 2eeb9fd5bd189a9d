"""PyTorch (Python) reference of culturegan's StarGAN training step, for images/s and FLOPs.

The same step as culturegan-train with configs/multiculture_256.toml (model.conditioning =
"cin", model.upsample = "nearest", model.d_per_culture = true, LSGAN, lambda_cls 1,
lambda_rec 10, PatchNCE lambda 0.3 on 256 locations of 5 encoder layers, DiffAugment
"translation,cutout", Adam (0.5, 0.999), n_critic 1, no R1), layer by layer as
models/stargan.cpp and trainer/algorithms/{stargan,patch_nce,regularizers,ema}.cpp build it:
  G: embed E [C,64]; encoder conv7x7 - IN - ReLU, 2x [conv4x4 s2 - IN - ReLU] (IN affine, no
     running stats, convs bias-free); 6 residual blocks conv3x3 - CIN(e) - ReLU - conv3x3 -
     CIN(e) + x; 2 decoder blocks nearest x2 - conv3x3 - CIN(e) - ReLU; conv7x7 - tanh;
     CIN(x, e) = IN(x)(1 + gamma) + beta, [gamma, beta] = Linear(64 -> 2C)(e), e = c E.
  D: L x [conv4x4 s2 (bias) - LeakyReLU 0.01] (widths d, 2d, ...), src head conv3x3 -> C
     (bias-free; the channel of each sample's culture is taken), cls head conv (S/2^L) -> C.
  One step, in culturegan's order (trainer/train_step.cpp, algorithms/stargan.cpp):
    D_main (G frozen): D(aug(x)) real + cls loss; G(x, c') with G's graph and the encoder
      features (forward_with_features), D(aug(G(x, c').detach())) fake loss; backward; Adam D.
    G_main (D frozen): D(aug(G(x, c'))) adv + cls; G(G(x, c'), c) reconstruction L1;
      PatchNCE between the encoder features of x (from D_main, detached) and of G(x, c')
      (encode, up to the middle residual block) through the projection head; backward;
      Adam G (+ head).
    EMA of G (beta = min(0.999, (1 + t) / (10 + t))).
What differs, on purpose: the batch is in-memory random data (culturegan reads HDF5 through its
loader), there is no gradient all-reduce (one process), and the DiffAugment/PatchNCE
randomness comes from torch's generator instead of counter_hash (same shapes and work).

  python3 stargan_reference.py --device cuda --precision fp32|bf16 --steps 30 --warmup 5
      [--image-size 256 --batch 16 --cultures 6 --g-conv-dim 64 --g-res-blocks 6
       --d-conv-dim 64 --d-layers 6 --nce-patches 256] [--count-flops] [--json OUT]
Prints one JSON line: images_per_second, step_ms (median), flops_per_step (with
--count-flops; exact aten counts with torch >= 2.1, else a 3x-forward estimate),
peak memory (CUDA allocator) or max RSS (CPU).
"""
import argparse
import json
import math
import resource
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

EMBED = 64


def inorm(x):
    return F.instance_norm(x, eps=1e-5)


class IN(nn.Module):  # InstanceNorm2d(affine=True, track_running_stats=False)
    def __init__(self, c):
        super().__init__()
        self.norm = nn.InstanceNorm2d(c, affine=True, track_running_stats=False)

    def forward(self, x):
        return self.norm(x)


class CIN(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.fc = nn.Linear(EMBED, 2 * c)
        nn.init.normal_(self.fc.weight, 0.0, 0.1 / math.sqrt(EMBED))
        nn.init.zeros_(self.fc.bias)

    def forward(self, x, e):
        gamma, beta = self.fc(e).view(x.size(0), 2 * self.c, 1, 1).chunk(2, 1)
        return inorm(x) * (1 + gamma) + beta


def conv(i, o, k, s, p, bias=False):
    return nn.Conv2d(i, o, k, s, p, bias=bias)


class ResBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1, self.norm1 = conv(c, c, 3, 1, 1), CIN(c)
        self.conv2, self.norm2 = conv(c, c, 3, 1, 1), CIN(c)

    def forward(self, x, e):
        h = torch.relu(self.norm1(self.conv1(x), e))
        return x + self.norm2(self.conv2(h), e)


class UpBlock(nn.Module):  # nearest x2, pad 1, conv3x3 (ResizeConv2d), CIN, ReLU
    def __init__(self, i, o):
        super().__init__()
        self.conv, self.norm = conv(i, o, 3, 1, 1), CIN(o)

    def forward(self, x, e):
        return torch.relu(self.norm(self.conv(F.interpolate(x, scale_factor=2, mode="nearest")), e))


class Generator(nn.Module):
    def __init__(self, cultures, g, res_blocks):
        super().__init__()
        self.embed = nn.Parameter(torch.randn(cultures, EMBED))
        self.encoder = nn.Sequential(conv(3, g, 7, 1, 3), IN(g), nn.ReLU(),
                                     conv(g, 2 * g, 4, 2, 1), IN(2 * g), nn.ReLU(),
                                     conv(2 * g, 4 * g, 4, 2, 1), IN(4 * g), nn.ReLU())
        self.blocks = nn.ModuleList(ResBlock(4 * g) for _ in range(res_blocks))
        self.decoder = nn.ModuleList([UpBlock(4 * g, 2 * g), UpBlock(2 * g, g)])
        self.to_rgb = conv(g, 3, 7, 1, 3)
        self.mid = (res_blocks + 1) // 2
        self.channels = [3, g, 2 * g, 4 * g] + ([4 * g] if res_blocks else [])

    def run(self, x, c, features=None, full=True):
        e = c.to(self.embed.dtype) @ self.embed
        if features is not None:
            features.append(x)
        h = x
        for i, layer in enumerate(self.encoder):
            h = layer(h)
            if features is not None and i in (2, 5, 8):
                features.append(h)
        for i, block in enumerate(self.blocks):
            h = block(h, e)
            if features is not None and i + 1 == self.mid:
                features.append(h)
                if not full:
                    return h
        for block in self.decoder:
            h = block(h, e)
        return torch.tanh(self.to_rgb(h))

    def forward(self, x, c):
        return self.run(x, c)

    def forward_with_features(self, x, c):
        feats = []
        y = self.run(x, c, feats, True)
        return y, feats

    def encode(self, x, c):
        feats = []
        self.run(x, c, feats, False)
        return feats


class Discriminator(nn.Module):
    def __init__(self, cultures, size, d, layers):
        super().__init__()
        mods, i, w = [], 3, d
        for _ in range(layers):
            mods += [nn.Conv2d(i, w, 4, 2, 1, bias=True), nn.LeakyReLU(0.01)]
            i, w = w, w * 2
        self.trunk = nn.Sequential(*mods)
        self.src = conv(i, cultures, 3, 1, 1)
        self.cls = conv(i, cultures, size >> layers, 1, 0)
        self.cultures = cultures

    def forward_culture(self, x, labels):
        h = self.trunk(x)
        src, cls = self.src(h), self.cls(h).view(x.size(0), self.cultures)
        idx = labels.view(-1, 1, 1, 1).expand(-1, 1, src.size(2), src.size(3))
        return src.gather(1, idx), cls


class NceHead(nn.Module):
    def __init__(self, channels, dim=256):
        super().__init__()
        self.mlps = nn.ModuleList(nn.Sequential(nn.Linear(c, dim), nn.ReLU(), nn.Linear(dim, dim))
                                  for c in channels)
        for n, p in self.named_parameters():
            if "weight" in n:
                nn.init.xavier_normal_(p, 0.02)
            else:
                nn.init.zeros_(p)


def l2n(x):
    return x / ((x.pow(2).sum(-1, keepdim=True) + 1e-30).sqrt() + 1e-7)


def info_nce(q, k, tau):
    q, k = q.float(), k.float()
    s = q.size(1)
    l_pos = (q * k).sum(-1, keepdim=True)
    l_neg = torch.bmm(q, k.transpose(1, 2))
    l_neg = l_neg.masked_fill(torch.eye(s, dtype=torch.bool, device=q.device).unsqueeze(0), -10.0)
    logits = torch.cat([l_pos, l_neg], -1) / tau
    return (torch.logsumexp(logits, -1) - logits[..., 0]).mean()


def patch_nce(head, feats_src, feats_fake, patches, tau):
    total = 0
    for layer, (fs, ff) in enumerate(zip(feats_src, feats_fake)):
        n, c, h, w = fs.shape
        ids = torch.randperm(h * w, device="cpu")[:patches].to(fs.device)  # as patch_nce.cpp: CPU ids
        def project(f):
            p = f.flatten(2).index_select(2, ids).permute(0, 2, 1).reshape(n * ids.numel(), c)
            return l2n(head.mlps[layer](p)).view(n, ids.numel(), -1)
        with torch.no_grad():
            k = project(fs.detach())
        total = total + info_nce(project(ff), k, tau)
    return total / len(feats_src)


def diff_augment(x):  # "translation,cutout" (DiffAugment_pytorch.py's ratios: 1/8 and 1/2)
    b, _, h, w = x.shape
    sx, sy = int(w * 0.125 + 0.5), int(h * 0.125 + 0.5)
    dx = torch.randint(-sx, sx + 1, (b,)).tolist()
    dy = torch.randint(-sy, sy + 1, (b,)).tolist()
    pad = max([0] + [abs(v) for v in dx + dy])
    padded = F.pad(x, (pad, pad, pad, pad))
    x = torch.stack([padded[i, :, pad - dy[i]:pad - dy[i] + h, pad - dx[i]:pad - dx[i] + w]
                     for i in range(b)])
    size = int(h * 0.5 + 0.5)
    mask = torch.ones(b, 1, h, w)
    for i in range(b):
        x0 = int(torch.rand(()).item() * (w + 1 - size % 2)) - size // 2
        y0 = int(torch.rand(()).item() * (h + 1 - size % 2)) - size // 2
        mask[i, :, max(0, y0):max(0, min(h, y0 + size)), max(0, x0):max(0, min(w, x0 + size))] = 0
    return x * mask.to(x.device, x.dtype)


def set_grad(module_list, on):
    for m in module_list:
        for p in m.parameters():
            p.requires_grad_(on)


class Step:
    def __init__(self, a, device):
        torch.manual_seed(0)
        self.a, self.device = a, device
        self.G = Generator(a.cultures, a.g_conv_dim, a.g_res_blocks).to(device)
        self.D = Discriminator(a.cultures, a.image_size, a.d_conv_dim, a.d_layers).to(device)
        self.H = NceHead(self.G.channels).to(device)
        self.G_ema = Generator(a.cultures, a.g_conv_dim, a.g_res_blocks).to(device)
        self.G_ema.load_state_dict(self.G.state_dict())
        set_grad([self.G_ema], False)
        self.opt_g = torch.optim.Adam(list(self.G.parameters()) + list(self.H.parameters()),
                                      lr=1e-4, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=1e-4, betas=(0.5, 0.999))
        self.t = 0
        self.autocast = a.precision == "bf16"

    def ac(self):
        if self.autocast:
            return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)
        return torch.autocast(device_type=self.device.type, enabled=False)

    def __call__(self, x, labels):
        a, C = self.a, self.a.cultures
        shift = torch.randint(1, C, labels.shape, device=labels.device)
        c_trg = (labels + shift) % C
        oh_trg = F.one_hot(c_trg, C).float()
        oh_src = F.one_hot(labels, C).float()
        # D_main, G frozen
        set_grad([self.G, self.H], False)
        set_grad([self.D], True)
        self.opt_d.zero_grad(set_to_none=True)
        with self.ac():
            src_real, cls_real = self.D.forward_culture(diff_augment(x), labels)
            loss_real = (src_real.float() - 1).pow(2).mean()
            loss_cls = F.cross_entropy(cls_real.float(), labels)
            set_grad([self.G], True)  # GradientsFor: G(x, c') keeps its graph for G_main
            fake, feats = self.G.forward_with_features(x, oh_trg)
            set_grad([self.G], False)
            feats_src = [f.detach() for f in feats]
            src_fake, _ = self.D.forward_culture(diff_augment(fake.detach()), c_trg)
            loss_fake = src_fake.float().pow(2).mean()
            d_total = loss_real + loss_fake + 1.0 * loss_cls
        d_total.backward()
        self.opt_d.step()
        # G_main, D frozen
        set_grad([self.D], False)
        set_grad([self.G, self.H], True)
        self.opt_g.zero_grad(set_to_none=True)
        with self.ac():
            src_f, cls_f = self.D.forward_culture(diff_augment(fake), c_trg)
            adv = (src_f.float() - 1).pow(2).mean()
            cls = F.cross_entropy(cls_f.float(), c_trg)
            rec = (x - self.G(fake, oh_src).float()).abs().mean()
            nce = patch_nce(self.H, feats_src, self.G.encode(fake, oh_trg), a.nce_patches, 0.07)
            g_total = adv + 1.0 * cls + 10.0 * rec + 0.3 * nce
        g_total.backward()
        self.opt_g.step()
        set_grad([self.D], True)
        # EMA
        beta = min(0.999, (1.0 + self.t) / (10.0 + self.t))
        with torch.no_grad():
            for pe, pm in zip(self.G_ema.parameters(), self.G.parameters()):
                pe.lerp_(pm, 1.0 - beta)
        self.t += 1
        return d_total, g_total


def count_flops(step, x, labels):
    """FLOPs of one step (D_main + G_main + EMA): torch's FlopCounterMode where it exists
    (torch >= 2.1, counts every matmul/conv of forward and backward), else 3x the forward
    FLOPs of every Conv2d/Linear call (an estimate)."""
    try:
        from torch.utils.flop_counter import FlopCounterMode
        with FlopCounterMode(display=False) as m:
            step(x, labels)
        return int(m.get_total_flops()), "FlopCounterMode (forward + backward, exact for matmul/conv)"
    except ImportError:
        pass
    total = [0]

    def hook(mod, inp, out):
        if isinstance(mod, nn.Conv2d):
            k = mod.kernel_size[0] * mod.kernel_size[1] * mod.in_channels // mod.groups
            total[0] += 2 * out.numel() * k
        elif isinstance(mod, nn.Linear):
            total[0] += 2 * out.numel() * mod.in_features
    hs = [m.register_forward_hook(hook) for net in (step.G, step.D, step.H)
          for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    step(x, labels)
    for h in hs:
        h.remove()
    return 3 * total[0], "3x forward Conv2d/Linear FLOPs (estimate: torch < 2.1 has no FlopCounterMode)"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--device", default="cuda")
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--image-size", type=int, default=256)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--cultures", type=int, default=6)
    p.add_argument("--g-conv-dim", type=int, default=64)
    p.add_argument("--g-res-blocks", type=int, default=6)
    p.add_argument("--d-conv-dim", type=int, default=64)
    p.add_argument("--d-layers", type=int, default=6)
    p.add_argument("--nce-patches", type=int, default=256)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--channels-last", action="store_true")
    p.add_argument("--count-flops", action="store_true")
    p.add_argument("--json")
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    dev = torch.device(a.device)
    cuda = dev.type == "cuda"
    step = Step(a, dev)
    fmt = torch.channels_last if a.channels_last else torch.contiguous_format
    if a.channels_last:
        for net in (step.G, step.D, step.G_ema):
            net.to(memory_format=torch.channels_last)
    g = torch.Generator().manual_seed(1)
    x = (torch.rand(a.batch, 3, a.image_size, a.image_size, generator=g) * 2 - 1).to(dev).contiguous(memory_format=fmt)
    labels = torch.randint(0, a.cultures, (a.batch,), generator=g).to(dev)

    def sync():
        if cuda:
            torch.cuda.synchronize(dev)

    for _ in range(a.warmup):
        step(x, labels)
    sync()
    if cuda:
        torch.cuda.reset_peak_memory_stats(dev)
    times = []
    t0 = time.perf_counter()
    last = None
    for _ in range(a.steps):
        s0 = time.perf_counter()
        last = step(x, labels)
        sync()
        times.append(time.perf_counter() - s0)
    wall = time.perf_counter() - t0
    d_loss, g_loss = (float(v) for v in last)
    out = {
        "what": "pytorch-reference", "precision": a.precision, "device": str(dev),
        "torch": torch.__version__, "steps": a.steps, "batch": a.batch, "image_size": a.image_size,
        "images_per_second": a.batch * a.steps / wall,
        "step_ms_median": 1e3 * statistics.median(times),
        "finite": math.isfinite(d_loss) and math.isfinite(g_loss),
    }
    if cuda:
        out["gpu_max_allocated_mib"] = torch.cuda.max_memory_allocated(dev) / 2**20
        out["gpu_max_reserved_mib"] = torch.cuda.max_memory_reserved(dev) / 2**20
    out["max_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if a.count_flops:
        # In fp32, so the count does not depend on the autocast dtype (the same ops run).
        flops, how = count_flops(step, x, labels)
        out["flops_per_step"], out["flops_method"] = flops, how
        out["flops_per_image"] = flops / a.batch
    line = json.dumps(out)
    print(line)
    if a.json:
        with open(a.json, "w") as f:
            f.write(line + "\n")
    if not out["finite"]:
        print("stargan_reference: non-finite loss", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
