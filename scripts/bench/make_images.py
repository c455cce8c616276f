#!/usr/bin/env python3
"""Make a seeded folder of JPEG photos for the extraction benchmarks.

Real photos (not noise) matter here: JPEG decoding time depends on content, and a
benchmark of feature extraction is mostly a benchmark of decoding plus resizing. The
three sample photos in the shared test_images folder are cut into random crops and
rescaled to random sizes of 400-800 px per side, so each file needs a real downscale
to 256 px like a typical photo dataset, and the layout is torchvision's ImageFolder:

    OUT/chelsea/img_00000.jpg, OUT/coffee/img_00001.jpg, OUT/rocket/img_00002.jpg, ...

The folder is written under a temporary name and renamed at the end, so an existing
OUT is always complete (the shell scripts use its existence to skip this step).

Only numpy and pillow are needed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
DEFAULT_SOURCES = Path(os.environ.get("GRAFT_SHARED_DATA", os.environ.get("GRAFT_DATA", str(Path(__file__).resolve().parents[3] / "shared" / "data")))) / "test_images"
SOURCE_FILES = ("chelsea.png", "coffee.png", "rocket.jpg")


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=512, help="number of images (default 512)")
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output folder (default: REPO/.bench/images-N)",
    )
    p.add_argument("--sources", type=Path, default=DEFAULT_SOURCES,
                   help=f"folder with {', '.join(SOURCE_FILES)}")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--min-side", type=int, default=400)
    p.add_argument("--max-side", type=int, default=800)
    p.add_argument("--quality", type=int, default=90, help="JPEG quality")
    p.add_argument("--force", action="store_true", help="rebuild even if OUT exists")
    return p.parse_args()


def load_sources(folder: Path) -> list[tuple[str, Image.Image]]:
    sources = []
    for name in SOURCE_FILES:
        path = folder / name
        if not path.is_file():
            sys.exit(f"make_images: source photo {path} not found (set --sources or GRAFT_SHARED_DATA)")
        try:
            with Image.open(path) as im:
                sources.append((path.stem, im.convert("RGB")))
        except OSError as e:
            sys.exit(f"make_images: cannot read {path}: {e}")
    return sources


def make_one(src: Image.Image, rng: np.random.Generator, args: argparse.Namespace) -> Image.Image:
    """A random crop (40-100 % of each side) resized to a random 400-800 px box, maybe mirrored."""
    w, h = src.size
    cw = int(round(w * rng.uniform(0.4, 1.0)))
    ch = int(round(h * rng.uniform(0.4, 1.0)))
    x0 = int(rng.integers(0, w - cw + 1))
    y0 = int(rng.integers(0, h - ch + 1))
    out_w = int(rng.integers(args.min_side, args.max_side + 1))
    out_h = int(rng.integers(args.min_side, args.max_side + 1))
    im = src.crop((x0, y0, x0 + cw, y0 + ch)).resize((out_w, out_h), Image.Resampling.BICUBIC)
    if rng.random() < 0.5:
        im = im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return im


def main() -> None:
    args = parse_args()
    if args.n < 1:
        sys.exit("make_images: --n must be at least 1")
    if not (0 < args.min_side <= args.max_side):
        sys.exit("make_images: need 0 < --min-side <= --max-side")
    out: Path = args.out or REPO / ".bench" / f"images-{args.n}"
    if out.exists() and not args.force:
        print(f"make_images: {out} exists, keeping it (use --force to rebuild)")
        return
    sources = load_sources(args.sources)
    rng = np.random.default_rng(args.seed)

    tmp = out.with_name(out.name + f".tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    for cls, _ in sources:
        (tmp / cls).mkdir(parents=True)
    total_bytes = 0
    for i in range(args.n):
        cls, src = sources[i % len(sources)]
        path = tmp / cls / f"img_{i:05d}.jpg"
        make_one(src, rng, args).save(path, "JPEG", quality=args.quality)
        total_bytes += path.stat().st_size
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    print(f"make_images: wrote {args.n} JPEGs ({total_bytes / 2**20:.1f} MiB) to {out}")


if __name__ == "__main__":
    main()
