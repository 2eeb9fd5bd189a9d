"""Interop test: python3-h5py reads a corpus written by culturegan-ingest.

Usage: check_corpus_h5py.py INGEST_BINARY WORK_DIR
Writes tiny PNGs (pure Python, zlib), runs the ingest, and checks with h5py: schema
attributes, dtypes and shapes, per-culture counts, names, source paths, content hashes
(SHA-256 of each source file), the split, and chunking (whole images per chunk).
"""
import hashlib
import os
import shutil
import struct
import subprocess
import sys
import zlib

import h5py
import numpy as np


def png_bytes(width, height, seed):
    rows = b""
    for y in range(height):
        row = bytes((x * 5 + y * 3 * (c + 1) + seed * 31 + c * 70) % 256
                    for x in range(width) for c in range(3))
        rows += b"\x00" + row

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def main():
    ingest, work = sys.argv[1], sys.argv[2]
    shutil.rmtree(work, ignore_errors=True)
    layout = {"western_impressionism": 2, "chinese_ink_landscape": 4, "ukiyo_e": 3}
    seed = 0
    hashes = {}
    for culture, n in layout.items():
        os.makedirs(os.path.join(work, "in", culture))
        for k in range(n):
            data = png_bytes(10 + k, 14, seed)
            seed += 1
            rel = f"{culture}/p{k}.png"
            with open(os.path.join(work, "in", rel), "wb") as f:
                f.write(data)
            hashes[rel] = hashlib.sha256(data).digest()
    # A defect: not an image. It must be skipped, not stored.
    with open(os.path.join(work, "in", "ukiyo_e", "readme.txt"), "w") as f:
        f.write("not an image")
    out = os.path.join(work, "corpus.h5")
    subprocess.run([ingest, "--input", os.path.join(work, "in"), "--output", out, "--size", "8",
                    "--val-fraction", "0.34", "--no-progress"], check=True)

    with h5py.File(out, "r") as f:
        assert f.attrs["schema_version"] == 1, f.attrs["schema_version"]
        assert f.attrs["image_size"] == 8
        names = [s.decode() for s in f["cultures"][:]]
        assert names == sorted(layout), names
        n = sum(layout.values())
        images, labels, split = f["images"], f["labels"][:], f["split"][:]
        assert images.shape == (n, 8, 8, 3) and images.dtype == np.uint8, (images.shape, images.dtype)
        assert images.chunks[1:] == (8, 8, 3), images.chunks  # a chunk = whole images
        assert labels.dtype == np.int32 and labels.shape == (n,)
        counts = f["culture_counts"][:]
        assert counts.dtype == np.int64
        assert list(counts) == [layout[c] for c in names], counts
        assert list(np.bincount(labels, minlength=len(names))) == list(counts)
        paths = [s.decode() for s in f["source_paths"][:]]
        assert sorted(paths) == sorted(hashes), paths
        sha = f["content_sha256"][:]
        assert sha.shape == (n, 32) and sha.dtype == np.uint8
        for i, p in enumerate(paths):
            assert bytes(sha[i]) == hashes[p], p
            assert names[labels[i]] == p.split("/")[0], (i, p)
        assert split.dtype == np.uint8 and set(split) <= {0, 1}
        for c, name in enumerate(names):  # round(n * 0.34) of each culture in val
            val = int(((labels == c) & (split == 1)).sum())
            assert val == min(int(np.floor(layout[name] * 0.34 + 0.5)), layout[name] - 1), (name, val)
        assert int(images[:].max()) > 0
    # The same input with gzip and 3 images per chunk: h5py decompresses to the same pixels.
    gz = os.path.join(work, "corpus-gz.h5")
    subprocess.run([ingest, "--input", os.path.join(work, "in"), "--output", gz, "--size", "8",
                    "--val-fraction", "0.34", "--gzip", "6", "--chunk-images", "3", "--no-progress"], check=True)
    with h5py.File(out, "r") as f, h5py.File(gz, "r") as g:
        assert g["images"].compression == "gzip" and g["images"].compression_opts == 6
        assert g["images"].chunks == (3, 8, 8, 3), g["images"].chunks
        assert g["images"].fletcher32 and f["images"].fletcher32
        assert np.array_equal(f["images"][:], g["images"][:])
        assert np.array_equal(f["split"][:], g["split"][:])
    print("h5py interop OK:", n, "images,", len(names), "cultures")


if __name__ == "__main__":
    main()
