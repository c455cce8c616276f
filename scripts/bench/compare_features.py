#!/usr/bin/env python3
"""Feature parity between graft and PyTorch: per-image cosine similarity of the two
feature matrices (mean and min), plus the largest absolute difference.

Both sides should compute the same function of the same pixels; what remains is the
decoder (graft's JPEG decoder vs libjpeg under PIL), the resize arithmetic and float
summation order. Rows are matched by image path (class folder + file name) when both
files record paths, else by position (both list an ImageFolder in sorted order).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from safetensors import safe_open


def tail(p: str) -> str:
    """class/file: the part of a path both sides agree on whatever root they were given."""
    parts = Path(p).parts
    return "/".join(parts[-2:])


def load_graft(path: Path) -> tuple[np.ndarray, list[str] | None]:
    with safe_open(str(path), framework="numpy") as f:
        keys = list(f.keys())
        meta = f.metadata() or {}
        if "features" in keys:
            feats = f.get_tensor("features")
        else:
            cands = [k for k in keys if f.get_slice(k).get_dtype().startswith("F")
                     and len(f.get_slice(k).get_shape()) == 2]
            if len(cands) != 1:
                sys.exit(f"compare_features: {path}: no 'features' tensor and {len(cands)} 2-D float "
                         f"tensors among {keys}")
            feats = f.get_tensor(cands[0])
    paths = None
    for k in ("paths", "files"):
        if k in meta:
            try:
                paths = json.loads(meta[k])
            except json.JSONDecodeError:
                paths = meta[k].splitlines()
            break
    return feats.astype(np.float64), paths


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--graft", type=Path, required=True, help="graft extract output (.safetensors)")
    p.add_argument("--torch", type=Path, required=True,
                   help="extract_torch.py output (.npy), or a second graft output (.safetensors)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()

    g, gpaths = load_graft(args.graft)
    if args.torch.suffix == ".safetensors":
        t, tpaths = load_graft(args.torch)
    else:
        t = np.load(args.torch).astype(np.float64)
        tpaths_file = args.torch.with_name(args.torch.name + ".paths.txt")
        tpaths = tpaths_file.read_text().splitlines() if tpaths_file.exists() else None

    matched_by = "position"
    if gpaths is not None and tpaths is not None and len(gpaths) == len(g):
        index = {tail(q): i for i, q in enumerate(tpaths)}
        rows = [index.get(tail(q)) for q in gpaths]
        if all(r is not None for r in rows):
            t = t[rows]
            matched_by = "path"
    if g.shape != t.shape:
        sys.exit(f"compare_features: shapes differ: graft {g.shape} vs torch {t.shape}")

    eps = 1e-12
    cos = (g * t).sum(1) / (np.linalg.norm(g, axis=1) * np.linalg.norm(t, axis=1) + eps)
    out = {
        "n": int(g.shape[0]),
        "d": int(g.shape[1]),
        "matched_by": matched_by,
        "cosine_mean": float(cos.mean()),
        "cosine_min": float(cos.min()),
        "max_abs_diff": float(np.abs(g - t).max()),
        "mean_abs_diff": float(np.abs(g - t).mean()),
        "worst_image": tail(gpaths[int(cos.argmin())]) if matched_by == "path" else int(cos.argmin()),
    }
    if args.json:
        print(json.dumps(out))
    else:
        print(f"cosine mean {out['cosine_mean']:.6f}  min {out['cosine_min']:.6f}  "
              f"max |diff| {out['max_abs_diff']:.3g}  ({out['n']} images, matched by {matched_by})")


if __name__ == "__main__":
    main()
