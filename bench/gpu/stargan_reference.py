"""PyTorch (Python) reference of culturegan's StarGAN training step, for images/s and FLOPs.

By default the same step as culturegan-train with configs/multiculture_256.toml (model.conditioning =
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
Options for the other settings culturegan offers (bench/step/ uses them for the quickstart and
the StarGAN paper's settings): --conditioning planes (the culture as C constant input planes,
the stem conv takes 3 + C channels, plain residual blocks conv3x3 - IN - ReLU - conv3x3 - IN),
--upsample transposed (convT4x4 s2 p1, bias-free) | bilinear, --d-per-culture 0 (one src map),
--adversarial wgan-gp (critic -mean/+mean, G -mean, + gp_lambda E(||grad_xhat D(xhat)||_2 - 1)^2
on xhat = a x_real_aug + (1 - a) x_fake_aug, a ~ U(0,1) per sample, judged as the real image's
culture, as regularizers.cpp), --lambda-nce 0 (no head, no feature pass), --diffaugment none,
--n-critic K (G_main and EMA every K steps; G without graph otherwise).
What differs, on purpose: the batch is in-memory random data (culturegan reads HDF5 through its
loader), there is no gradient all-reduce (one process), and the DiffAugment/PatchNCE/target/
interpolation randomness comes from torch's generator instead of counter_hash (same shapes and
work).

  python3 stargan_reference.py --device cuda --precision fp32|bf16 --steps 30 --warmup 5
      [--image-size 256 --batch 16 --cultures 6 --g-conv-dim 64 --g-res-blocks 6
       --d-conv-dim 64 --d-layers 6 --nce-patches 256] [--count-flops] [--json OUT]
      [--conditioning cin|planes --upsample nearest|bilinear|transposed --d-per-culture 1|0
       --adversarial lsgan|bce|hinge|wgan-gp --gp-lambda 10 --lambda-cls 1 --lambda-rec 10
       --lambda-nce 0.3 --nce-tau 0.07 --diffaugment translation,cutout|none --g-lr 1e-4
       --d-lr 1e-4 --beta1 0.5 --beta2 0.999 --n-critic 1 --ema-beta 0.999]
      [--flops-method auto|hooks] [--serve]
Prints one JSON line: images_per_second, step_ms (median), flops_per_step (with
--count-flops; exact aten counts with torch >= 2.1, else a 3x-forward estimate; --flops-method
hooks always takes the layer-shape count), peak memory (CUDA allocator) or max RSS (CPU).
--serve (bench/step/): builds the step, runs the warm-up (the first warm-up step counts the FLOPs
with --count-flops), prints one JSON line (torch, threads,
the loaded BLAS, parameter counts per network, a 1024^3 fp32 matmul rate, the FLOP counts with
--count-flops), then reads commands from stdin, one a line: "run K" times K steps and prints
{"steps", "seconds", "cpu_seconds", "finite"}; "quit" (or end of input) exits.
"""
import argparse
import ctypes
import json
import math
import os
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


class ResizeConv(nn.Module):  # models/upsample.cpp ResizeConv2d: x2 resize, pad 1, conv3x3
    def __init__(self, i, o, mode):
        super().__init__()
        self.mode, self.conv = mode, conv(i, o, 3, 1, 1)

    def forward(self, x):
        if self.mode == "nearest":
            return self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))
        return self.conv(F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False))


def up(i, o, mode):  # models/stargan.cpp push_up: G's x2 upsampling layer, bias-free
    if mode == "transposed":
        return nn.ConvTranspose2d(i, o, 4, 2, 1, bias=False)
    return ResizeConv(i, o, mode)


class PlainResBlock(nn.Module):  # conditioning = planes: conv3x3 - IN - ReLU - conv3x3 - IN, + x
    def __init__(self, c):
        super().__init__()
        self.body = nn.Sequential(conv(c, c, 3, 1, 1), IN(c), nn.ReLU(), conv(c, c, 3, 1, 1), IN(c))

    def forward(self, x):
        return x + self.body(x)


class ResBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1, self.norm1 = conv(c, c, 3, 1, 1), CIN(c)
        self.conv2, self.norm2 = conv(c, c, 3, 1, 1), CIN(c)

    def forward(self, x, e):
        h = torch.relu(self.norm1(self.conv1(x), e))
        return x + self.norm2(self.conv2(h), e)


class UpBlock(nn.Module):  # CondUpBlock: up (resize-conv or convT) - CIN - ReLU
    def __init__(self, i, o, mode="nearest"):
        super().__init__()
        self.up, self.norm = up(i, o, mode), CIN(o)

    def forward(self, x, e):
        return torch.relu(self.norm(self.up(x), e))


def encoder_layers(i, g):  # stem and the two down blocks: 9 layers, ReLUs at 2, 5, 8
    return [conv(i, g, 7, 1, 3), IN(g), nn.ReLU(),
            conv(g, 2 * g, 4, 2, 1), IN(2 * g), nn.ReLU(),
            conv(2 * g, 4 * g, 4, 2, 1), IN(4 * g), nn.ReLU()]


class Generator(nn.Module):
    def __init__(self, cultures, g, res_blocks, conditioning="cin", upsample="nearest"):
        super().__init__()
        self.planes = conditioning == "planes"
        self.cultures = cultures
        self.mid = (res_blocks + 1) // 2
        self.channels = [3, g, 2 * g, 4 * g] + ([4 * g] if res_blocks else [])
        if self.planes:  # the paper: one Sequential, as models/stargan.cpp "net.<i>"
            layers = encoder_layers(3 + cultures, g)
            layers += [PlainResBlock(4 * g) for _ in range(res_blocks)]
            w = 4 * g
            for _ in range(2):
                layers += [up(w, w // 2, upsample), IN(w // 2), nn.ReLU()]
                w //= 2
            layers += [conv(w, 3, 7, 1, 3), nn.Tanh()]
            self.net = nn.Sequential(*layers)
            return
        self.embed = nn.Parameter(torch.randn(cultures, EMBED))
        self.encoder = nn.Sequential(*encoder_layers(3, g))
        self.blocks = nn.ModuleList(ResBlock(4 * g) for _ in range(res_blocks))
        self.decoder = nn.ModuleList([UpBlock(4 * g, 2 * g, upsample), UpBlock(2 * g, g, upsample)])
        self.to_rgb = conv(g, 3, 7, 1, 3)

    def run_planes(self, x, c, features, full):
        planes = c.to(x.dtype).view(c.size(0), c.size(1), 1, 1).expand(-1, -1, x.size(2), x.size(3))
        h = torch.cat([x, planes], 1)
        if features is None:
            return self.net(h)
        last = 8 + self.mid if self.mid > 0 else 8
        end = len(self.net) if full else last + 1
        for i in range(end):
            h = self.net[i](h)
            if i <= last and (i in (2, 5, 8) or i == last):
                features.append(h)
        return h

    def run(self, x, c, features=None, full=True):
        if features is not None:
            features.append(x)
        if self.planes:
            return self.run_planes(x, c, features, full)
        e = c.to(self.embed.dtype) @ self.embed
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
        if features is not None and not full:
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
    def __init__(self, cultures, size, d, layers, per_culture=True):
        super().__init__()
        mods, i, w = [], 3, d
        for _ in range(layers):
            mods += [nn.Conv2d(i, w, 4, 2, 1, bias=True), nn.LeakyReLU(0.01)]
            i, w = w, w * 2
        self.trunk = nn.Sequential(*mods)
        self.per_culture = per_culture
        self.src = conv(i, cultures if per_culture else 1, 3, 1, 1)
        self.cls = conv(i, cultures, size >> layers, 1, 0)
        self.cultures = cultures

    def forward_culture(self, x, labels):
        h = self.trunk(x)
        src, cls = self.src(h), self.cls(h).view(x.size(0), self.cultures)
        if not self.per_culture:
            return src, cls
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


def parse_policy(policy):
    items = [] if policy in ("", "none") else policy.split(",")
    for item in items:
        if item not in ("color", "translation", "cutout"):
            raise SystemExit(f"stargan_reference: --diffaugment: expected color, translation, cutout or none, found {item!r}")
    return items


def diff_augment(x, policy=("translation", "cutout")):
    """DiffAugment as regularizers.cpp diff_augment (DiffAugment_pytorch.py's ratios: 1/8 and
    1/2), the items in the policy's order; an empty policy returns x."""
    b, _, h, w = x.shape
    for item in policy:
        if item == "color":
            def u(lo, hi):
                return (lo + (hi - lo) * torch.rand(b)).to(x.device, x.dtype).view(-1, 1, 1, 1)
            x = x + u(-0.5, 0.5)
            m = x.mean(1, keepdim=True)
            x = (x - m) * u(0.0, 2.0) + m
            m = x.mean((1, 2, 3), keepdim=True)
            x = (x - m) * u(0.5, 1.5) + m
        elif item == "translation":
            sx, sy = int(w * 0.125 + 0.5), int(h * 0.125 + 0.5)
            dx = torch.randint(-sx, sx + 1, (b,)).tolist()
            dy = torch.randint(-sy, sy + 1, (b,)).tolist()
            pad = max([0] + [abs(v) for v in dx + dy])
            padded = F.pad(x, (pad, pad, pad, pad))
            x = torch.stack([padded[i, :, pad - dy[i]:pad - dy[i] + h, pad - dx[i]:pad - dx[i] + w]
                             for i in range(b)])
        elif item == "cutout":
            size = int(h * 0.5 + 0.5)
            mask = torch.ones(b, 1, h, w)
            for i in range(b):
                x0 = int(torch.rand(()).item() * (w + 1 - size % 2)) - size // 2
                y0 = int(torch.rand(()).item() * (h + 1 - size % 2)) - size // 2
                mask[i, :, max(0, y0):max(0, min(h, y0 + size)), max(0, x0):max(0, min(w, x0 + size))] = 0
            x = x * mask.to(x.device, x.dtype)
    return x


# trainer/algorithms/losses.cpp: (D on real, D on fake, G's adversarial term) per loss.adversarial.
ADVERSARIAL = {
    "lsgan": (lambda s: (s - 1).pow(2).mean(), lambda s: s.pow(2).mean(), lambda s: (s - 1).pow(2).mean()),
    "bce": (lambda s: F.softplus(-s).mean(), lambda s: F.softplus(s).mean(), lambda s: F.softplus(-s).mean()),
    "hinge": (lambda s: torch.relu(1 - s).mean(), lambda s: torch.relu(1 + s).mean(), lambda s: -s.mean()),
    "wgan-gp": (lambda s: -s.mean(), lambda s: s.mean(), lambda s: -s.mean()),
}


def gradient_penalty(critic, real, fake, alpha):
    """regularizers.cpp gradient_penalty: E(||grad_xhat critic(xhat)||_2 - 1)^2 on interpolates,
    with create_graph (the penalty is differentiated again in D's backward)."""
    a = alpha.to(real.dtype).view(-1, 1, 1, 1)
    x_hat = (a * real.detach() + (1 - a) * fake.detach()).requires_grad_(True)
    scores = critic(x_hat)
    grad = torch.autograd.grad(scores.sum(), x_hat, retain_graph=True, create_graph=True)[0]
    return (grad.float().flatten(1).norm(2, dim=1) - 1).pow(2).mean()


def set_grad(module_list, on):
    for m in module_list:
        if m is None:
            continue
        for p in m.parameters():
            p.requires_grad_(on)


class Step:
    def __init__(self, a, device):
        torch.manual_seed(0)
        self.a, self.device = a, device
        self.policy = parse_policy(a.diffaugment)
        self.d_real, self.d_fake, self.g_adv = ADVERSARIAL[a.adversarial]
        self.G = Generator(a.cultures, a.g_conv_dim, a.g_res_blocks, a.conditioning, a.upsample).to(device)
        self.D = Discriminator(a.cultures, a.image_size, a.d_conv_dim, a.d_layers, bool(a.d_per_culture)).to(device)
        # CUT's heads exist only with PatchNCE (stargan.cpp builds NCE_head for lambda_nce > 0).
        self.H = NceHead(self.G.channels).to(device) if a.lambda_nce > 0 else None
        self.G_ema = Generator(a.cultures, a.g_conv_dim, a.g_res_blocks, a.conditioning, a.upsample).to(device)
        self.G_ema.load_state_dict(self.G.state_dict())
        set_grad([self.G_ema], False)
        g_params = list(self.G.parameters()) + (list(self.H.parameters()) if self.H else [])
        self.opt_g = torch.optim.Adam(g_params, lr=a.g_lr, betas=(a.beta1, a.beta2))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=a.d_lr, betas=(a.beta1, a.beta2))
        self.t = 0
        self.autocast = a.precision == "bf16"

    def ac(self):
        if self.autocast:
            return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)
        return torch.autocast(device_type=self.device.type, enabled=False)

    def aug(self, x):
        return diff_augment(x, self.policy)

    def __call__(self, x, labels):
        a, C = self.a, self.a.cultures
        nce_on = self.H is not None
        g_step = self.t % a.n_critic == 0  # G_main runs this step (AlgorithmBase: interval n_critic)
        shift = torch.randint(1, C, labels.shape, device=labels.device)
        c_trg = (labels + shift) % C
        oh_trg = F.one_hot(c_trg, C).float()
        oh_src = F.one_hot(labels, C).float()
        # D_main, G frozen
        set_grad([self.G, self.H], False)
        set_grad([self.D], True)
        self.opt_d.zero_grad(set_to_none=True)
        fake, feats_src = None, None
        with self.ac():
            real_aug = self.aug(x)
            src_real, cls_real = self.D.forward_culture(real_aug, labels)
            loss_real = self.d_real(src_real.float())
            loss_cls = F.cross_entropy(cls_real.float(), labels)
            if g_step:
                set_grad([self.G], True)  # GradientsFor: G(x, c') keeps its graph for G_main
                if nce_on:
                    fake, feats = self.G.forward_with_features(x, oh_trg)
                    feats_src = [f.detach() for f in feats]
                else:
                    fake = self.G(x, oh_trg)
                set_grad([self.G], False)
                x_fake = fake.detach()
            else:
                with torch.no_grad():
                    x_fake = self.G(x, oh_trg)
            fake_aug = self.aug(x_fake)
            src_fake, _ = self.D.forward_culture(fake_aug, c_trg)
            loss_fake = self.d_fake(src_fake.float())
            d_total = loss_real + loss_fake + a.lambda_cls * loss_cls
            if a.adversarial == "wgan-gp" and a.gp_lambda > 0:
                # Interpolates are judged as the real image's culture (stargan.cpp d_main).
                alpha = torch.rand(x.size(0)).to(x.device)
                gp = gradient_penalty(lambda z: self.D.forward_culture(z, labels)[0], real_aug, fake_aug, alpha)
                d_total = d_total + a.gp_lambda * gp
        d_total.backward()
        self.opt_d.step()
        if not g_step:
            set_grad([self.G, self.H], True)
            self.t += 1
            return d_total, d_total.detach()
        # G_main, D frozen
        set_grad([self.D], False)
        set_grad([self.G, self.H], True)
        self.opt_g.zero_grad(set_to_none=True)
        with self.ac():
            src_f, cls_f = self.D.forward_culture(self.aug(fake), c_trg)
            adv = self.g_adv(src_f.float())
            cls = F.cross_entropy(cls_f.float(), c_trg)
            rec = (x - self.G(fake, oh_src).float()).abs().mean()
            g_total = adv + a.lambda_cls * cls + a.lambda_rec * rec
            if nce_on:
                nce = patch_nce(self.H, feats_src, self.G.encode(fake, oh_trg), a.nce_patches, a.nce_tau)
                g_total = g_total + a.lambda_nce * nce
        g_total.backward()
        self.opt_g.step()
        set_grad([self.D], True)
        # EMA
        beta = min(a.ema_beta, (1.0 + self.t) / (10.0 + self.t))
        with torch.no_grad():
            for pe, pm in zip(self.G_ema.parameters(), self.G.parameters()):
                pe.lerp_(pm, 1.0 - beta)
        self.t += 1
        return d_total, g_total


def layer_forward_flops(mod, inp, out):
    """2 x multiply-accumulates of one Conv2d / ConvTranspose2d / Linear call, from its shapes."""
    if isinstance(mod, nn.Conv2d):
        k = mod.kernel_size[0] * mod.kernel_size[1] * mod.in_channels // mod.groups
        return 2 * out.numel() * k
    if isinstance(mod, nn.ConvTranspose2d):  # every input element meets out_channels x k x k weights
        k = mod.kernel_size[0] * mod.kernel_size[1] * mod.out_channels // mod.groups
        return 2 * inp[0].numel() * k
    if isinstance(mod, nn.Linear):
        return 2 * out.numel() * mod.in_features
    return 0


def count_flops_hooks(step, x, labels):
    """One real step with forward hooks on every Conv2d, ConvTranspose2d and Linear of G, D
    and the NCE head (every forward the step runs, the gradient penalty's included).
    Returns {forward, x3 (forward + backward = 3 x forward), grad_aware (each call x (1 + [input
    needs grad] + [weight needs grad]) while grad mode is on, else x 1)}."""
    total = {"forward": 0, "grad_aware": 0}

    def hook(mod, inp, out):
        f = layer_forward_flops(mod, inp, out)
        total["forward"] += f
        mult = 1
        if torch.is_grad_enabled():
            mult += int(inp[0].requires_grad) + int(mod.weight.requires_grad)
        total["grad_aware"] += mult * f
    types = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)
    hs = [m.register_forward_hook(hook) for net in (step.G, step.D, step.H) if net is not None
          for m in net.modules() if isinstance(m, types)]
    step(x, labels)
    for h in hs:
        h.remove()
    total["x3"] = 3 * total["forward"]
    return total


HOOKS_HOW = ("3 x the forward FLOPs (2 x MACs from the layer shapes) of every Conv2d, "
             "ConvTranspose2d and Linear call of one step")


def count_flops(step, x, labels, method="auto"):
    """FLOPs of one step (D_main + G_main + EMA): torch's FlopCounterMode where it exists
    (torch >= 2.1, counts every matmul/conv of forward and backward) unless method = "hooks",
    else 3x the forward FLOPs of every Conv2d/ConvTranspose2d/Linear call (an estimate)."""
    if method == "auto":
        try:
            from torch.utils.flop_counter import FlopCounterMode
            with FlopCounterMode(display=False) as m:
                step(x, labels)
            return int(m.get_total_flops()), "FlopCounterMode (forward + backward, exact for matmul/conv)"
        except ImportError:
            pass
    return count_flops_hooks(step, x, labels)["x3"], HOOKS_HOW + (
        "" if method == "hooks" else " (estimate: torch < 2.1 has no FlopCounterMode)")


def loaded_blas():
    """The BLAS / oneDNN libraries mapped into this process (/proc/self/maps), resolved paths."""
    libs = []
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split()[-1] if len(line.split()) >= 6 else ""
                name = os.path.basename(path)
                if any(k in name for k in ("libblas", "libopenblas", "libmkl", "libdnnl", "libblis")):
                    real = os.path.realpath(path)
                    if real not in libs:
                        libs.append(real)
    except OSError:
        pass
    return libs


def openblas_threads(libs, want=0):
    """openblas_get_num_threads() of the loaded OpenBLAS (after openblas_set_num_threads(want)
    when want > 0), or None when no OpenBLAS is loaded."""
    for path in libs:
        try:
            lib = ctypes.CDLL(path)
            if want > 0:
                lib.openblas_set_num_threads(ctypes.c_int(want))
            return int(lib.openblas_get_num_threads())
        except (OSError, AttributeError):
            continue
    return None


def gemm_gflops(device, n=1024, warmup=2, repeats=5):
    """Median rate of an n x n x n fp32 matrix product, GFLOP/s."""
    a, b = torch.rand(n, n, device=device), torch.rand(n, n, device=device)
    times = []
    for i in range(warmup + repeats):
        t0 = time.perf_counter()
        torch.mm(a, b)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    return 2.0 * n ** 3 / statistics.median(times) / 1e9


def parameter_count(module):
    return 0 if module is None else sum(p.numel() for p in module.parameters())


def serve(a, step, x, labels, dev, sync):
    """--serve: warm up, print the set-up line, then time "run K" commands until "quit"."""
    libs = loaded_blas()
    info = {"what": "pytorch-reference", "torch": torch.__version__, "device": str(dev),
            "threads": torch.get_num_threads(), "blas": libs,
            "openblas_threads": openblas_threads(libs, a.threads),
            "parameters": {"G": parameter_count(step.G), "D": parameter_count(step.D),
                           "NCE_head": parameter_count(step.H)},
            "batch": a.batch, "image_size": a.image_size, "warmup": a.warmup}
    warmup = a.warmup
    if a.count_flops:  # the first warm-up step (an extra one with --warmup 0), with the hooks
        fl = count_flops_hooks(step, x, labels)
        info.update(flops_per_step=fl["x3"], flops_forward_per_step=fl["forward"],
                    flops_grad_aware_per_step=fl["grad_aware"], flops_method=HOOKS_HOW)
        warmup = max(0, warmup - 1)
    for _ in range(warmup):
        step(x, labels)
    sync()
    info["gemm_gflops"] = gemm_gflops(dev)
    print(json.dumps(info), flush=True)
    for line in sys.stdin:
        cmd = line.split()
        if not cmd:
            continue
        if cmd[0] == "quit":
            break
        if cmd[0] != "run" or len(cmd) != 2:
            print(json.dumps({"error": f"unknown command {line.strip()!r}"}), flush=True)
            continue
        k = int(cmd[1])
        c0, t0 = time.process_time(), time.perf_counter()
        last = None
        for _ in range(k):
            last = step(x, labels)
        sync()
        t1, c1 = time.perf_counter(), time.process_time()
        finite = last is None or all(math.isfinite(float(v)) for v in last)
        print(json.dumps({"steps": k, "seconds": t1 - t0, "cpu_seconds": c1 - c0, "finite": finite}),
              flush=True)


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
    p.add_argument("--d-layers", type=int, default=6, help="0 = log2(S) - 1")
    p.add_argument("--nce-patches", type=int, default=256)
    p.add_argument("--conditioning", choices=["cin", "planes"], default="cin")
    p.add_argument("--upsample", choices=["nearest", "bilinear", "transposed"], default="nearest")
    p.add_argument("--d-per-culture", type=int, choices=[0, 1], default=1)
    p.add_argument("--adversarial", choices=sorted(ADVERSARIAL), default="lsgan")
    p.add_argument("--gp-lambda", type=float, default=10.0)
    p.add_argument("--lambda-cls", type=float, default=1.0)
    p.add_argument("--lambda-rec", type=float, default=10.0)
    p.add_argument("--lambda-nce", type=float, default=0.3)
    p.add_argument("--nce-tau", type=float, default=0.07)
    p.add_argument("--diffaugment", default="translation,cutout", help='comma list, or "none"')
    p.add_argument("--g-lr", type=float, default=1e-4)
    p.add_argument("--d-lr", type=float, default=1e-4)
    p.add_argument("--beta1", type=float, default=0.5)
    p.add_argument("--beta2", type=float, default=0.999)
    p.add_argument("--n-critic", type=int, default=1)
    p.add_argument("--ema-beta", type=float, default=0.999)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--channels-last", action="store_true")
    p.add_argument("--count-flops", action="store_true")
    p.add_argument("--flops-method", choices=["auto", "hooks"], default="auto")
    p.add_argument("--serve", action="store_true", help="time steps on commands from stdin (bench/step/)")
    p.add_argument("--json")
    a = p.parse_args()
    if a.d_layers == 0:
        a.d_layers = max(1, int(math.log2(a.image_size)) - 1)
    if a.n_critic < 1:
        p.error("--n-critic must be >= 1")
    parse_policy(a.diffaugment)
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

    if a.serve:
        serve(a, step, x, labels, dev, sync)
        return

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
        flops, how = count_flops(step, x, labels, a.flops_method)
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
