#!/usr/bin/env python3
"""Writes the first N_TRAIN training and first N_TEST test images of Fashion-MNIST as an
ImageFolder of 8-bit grayscale PNGs: OUT/train/<class>/<index>.png and OUT/test/<class>/<index>.png,
index being the position in the IDX file (five digits). Standard library only; the bytes
written depend on the inputs alone (fixed zlib level, no timestamps), so two runs give the same files.

    python3 scripts/experiments/fashion_folder.py FASHION_DIR OUT [--train 2000] [--test 1000]
"""

from __future__ import annotations

import argparse
import gzip
import struct
import sys
import zlib
from pathlib import Path

# Fashion-MNIST's labels 0..9, with characters that are awkward in folder names replaced.
CLASSES = ["T-shirt_top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle_boot"]


def read_idx(path: Path, limit: int) -> tuple[list[int], bytes]:
    """The dimensions and the first `limit` items' bytes of an IDX file of unsigned bytes."""
    with gzip.open(path, "rb") as f:
        magic = f.read(4)
        if len(magic) != 4 or magic[:3] != b"\x00\x00\x08":
            raise SystemExit(f"{path}: not an IDX file of unsigned bytes (magic {magic.hex()})")
        dims = list(struct.unpack(">" + "I" * magic[3], f.read(4 * magic[3])))
        if dims[0] < limit:
            raise SystemExit(f"{path}: holds {dims[0]} items, {limit} asked for")
        item = 1
        for d in dims[1:]:
            item *= d
        data = f.read(item * limit)
    return dims, data


def png_gray(width: int, height: int, pixels: bytes) -> bytes:
    """An 8-bit grayscale PNG (filter 0 on every row)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    raw = b"".join(b"\x00" + pixels[r * width:(r + 1) * width] for r in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def write_split(src: Path, prefix: str, n: int, out: Path) -> None:
    dims, images = read_idx(src / f"{prefix}-images-idx3-ubyte.gz", n)
    _, labels = read_idx(src / f"{prefix}-labels-idx1-ubyte.gz", n)
    h, w = dims[1], dims[2]
    for name in CLASSES:
        (out / name).mkdir(parents=True, exist_ok=True)
    counts = [0] * len(CLASSES)
    for i in range(n):
        lab = labels[i]
        if lab >= len(CLASSES):
            raise SystemExit(f"{src}/{prefix}-labels: label {lab} at item {i}, expected 0..9")
        counts[lab] += 1
        png = png_gray(w, h, images[i * h * w:(i + 1) * h * w])
        path = out / CLASSES[lab] / f"{i:05d}.png"
        # Rewriting an identical file would only change its modification time (and so the
        # feature cache's key); leave it alone.
        if not (path.exists() and path.read_bytes() == png):
            path.write_bytes(png)
    print(f"{out}: {n} images, per class " + ", ".join(f"{c} {k}" for c, k in zip(CLASSES, counts)),
          file=sys.stderr)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("fashion_dir", type=Path, help="folder with the four *-idx?-ubyte.gz files")
    ap.add_argument("out", type=Path)
    ap.add_argument("--train", type=int, default=2000)
    ap.add_argument("--test", type=int, default=1000)
    args = ap.parse_args()
    write_split(args.fashion_dir, "train", args.train, args.out / "train")
    write_split(args.fashion_dir, "t10k", args.test, args.out / "test")


if __name__ == "__main__":
    main()
