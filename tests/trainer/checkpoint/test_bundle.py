"""Point 6, the generator bundle: a tiny run exports run.dir/generator.bundle; Python's
torch.load reads it (format, version, checksum, spec, cultures, image size, normalisation,
weights) and its tensors equal bit for bit (a) the C++ reader's values (bundle_probe) and
(b) G_ema in the final checkpoint. culturegan-infer translates an image with it; a damaged
bundle is refused with one error line naming the file.
Usage: test_bundle.py (CULTUREGAN_CKPT_TOOL: the ckpt_tool binary)"""
import os
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ckpt_util import *  # noqa: E402,F403

import torch  # noqa: E402

work = workdir("bundle")
corpus = make_corpus(work)
run_dir = os.path.join(work, "run")
run(mpi(2, train_args(corpus, run_dir, 4)), expect_rc=0)
bundle = os.path.join(run_dir, "generator.bundle")

d = torch.load(bundle)
for key, want in (("format", "culturegan-generator-bundle"), ("version", 1), ("model", "stargan"),
                  ("image_size", 16), ("normalisation", "[-1,1]")):
    if d.get(key) != want:
        fail(f"bundle[{key!r}] = {d.get(key)!r}, expected {want!r}")
if sorted(d["cultures"]) != sorted(CULTURES) or len(d["cultures"]) != d["spec"]["num_cultures"]:
    fail(f"cultures {d['cultures']} / spec {d['spec']}")
if d["spec"]["g_conv_dim"] != 4 or d["spec"]["g_res_blocks"] != 1:
    fail(f"spec {d['spec']}")
if not (isinstance(d["checksum"], str) and len(d["checksum"]) == 8):
    fail(f"checksum {d['checksum']!r}")
print("python torch.load: keys", sorted(d), "spec", d["spec"], "cultures", d["cultures"])

# (a) against the C++ reader
p = subprocess.run([CKPT_TOOL, "bundle", bundle], stdout=subprocess.PIPE, text=True, check=True)
checked = 0
for line in p.stdout.splitlines():
    if not line.startswith("weight "):
        continue
    _, name, numel, first, last = line.split()
    t = d["weights"][name].reshape(-1)
    if t.numel() != int(numel) or t[0].item() != float.fromhex(first) or t[-1].item() != float.fromhex(last):
        fail(f"{name}: python {t.numel()} {t[0].item()!r} {t[-1].item()!r} vs C++ {numel} {first} {last}")
    checked += 1
if checked != len(d["weights"]) or checked == 0:
    fail(f"compared {checked} of {len(d['weights'])} tensors")
name0 = next(iter(d["weights"]))
print(f"{checked} tensors equal the C++ reader's values, e.g. {name0}[0] = {d['weights'][name0].reshape(-1)[0].item()!r}")

# (b) against G_ema in the final checkpoint (another writer: torch::serialize)
ema = module_tensors(os.path.join(latest(run_dir), "G_ema.pt"))
for n, t in d["weights"].items():
    if n not in ema or not torch.equal(ema[n].float(), t):
        fail(f"bundle weight {n} != checkpoint G_ema")
print("bundle weights == checkpoint G_ema (bitwise)")

# culturegan-infer loads it
img = os.path.join(work, "corpus-images", "photo", "00.png")
out_png = os.path.join(work, "out.png")
run([os.path.join(BIN, "culturegan-infer"), "--bundle", bundle, "--input", img, "--target", "ukiyo_e",
     "--output", out_png], expect_rc=0)
if not os.path.getsize(out_png):
    fail("culturegan-infer wrote nothing")

# a damaged copy is refused, naming the file
bad = os.path.join(work, "damaged.bundle")
w = d["weights"][name0].clone()
w.view(-1)[0] += 1.0
d["weights"][name0] = w
torch.save(d, bad, _use_new_zipfile_serialization=True)  # weights changed, stored checksum not
rc, out = run([os.path.join(BIN, "culturegan-infer"), "--bundle", bad, "--input", img, "--target", "ukiyo_e",
               "--output", os.path.join(work, "bad.png")])
if rc == 0 or bad not in out or "checksum" not in out:
    fail("a bundle whose weights do not match its checksum was not refused with a clear error")
print("PASS: bundle readable from Python, equal to C++ and G_ema, used by culturegan-infer, damage detected")
