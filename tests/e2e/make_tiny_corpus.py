"""Writes DIR/<culture>/img_<k>.png: a tiny synthetic culture-labelled image folder.
Each culture has its own colour bias so the images differ by culture.
Usage: make_tiny_corpus.py DIR [cultures] [images_per_culture] [size]"""
import os
import random
import sys

from PIL import Image

out = sys.argv[1]
cultures = int(sys.argv[2]) if len(sys.argv) > 2 else 3
per = int(sys.argv[3]) if len(sys.argv) > 3 else 6
size = int(sys.argv[4]) if len(sys.argv) > 4 else 24
rng = random.Random(0)
for c in range(cultures):
    d = os.path.join(out, f"culture_{c}")
    os.makedirs(d, exist_ok=True)
    for k in range(per):
        img = Image.new("RGB", (size + 4 * k, size))
        base = [(60 * c) % 256, (120 + 50 * c) % 256, (200 - 40 * c) % 256]
        img.putdata([tuple((b + rng.randint(-40, 40)) % 256 for b in base) for _ in range(img.width * img.height)])
        img.save(os.path.join(d, f"img_{k}.png"))
