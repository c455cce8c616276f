#!/usr/bin/env python3
"""How much the PyTorch probe's test accuracy moves with its seed, at a fraction of its cost.

probe_e2e_torch.py trains a linear head with Adam on a frozen backbone in eval mode, without
augmentation: every epoch feeds the head the same features, only shuffled. So the same loop run
on features computed once (extract_torch.py's, same preprocessing) trains the same head: this
script builds the backbone exactly as probe_e2e_torch.py does (so the head's initialisation
draws the same random numbers), shuffles with the same generator, and reports the test accuracy
for each seed, with their mean and standard deviation. Seed 0 is the benchmark's own run.

Usage: probe_head_seeds.py --train TRAIN.npy --test TEST.npy [--seeds 10] [--json]
(each .npy beside its .paths.txt, as extract_torch.py --out writes them; the class is the name
of each image's folder).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.dont_write_bytecode = True  # importing the sibling scripts must not leave __pycache__ behind
sys.path.insert(0, str(Path(__file__).resolve().parent))
from extract_torch import build  # noqa: E402


def load(path: Path) -> tuple[torch.Tensor, list[str]]:
    x = torch.from_numpy(np.load(path))
    classes = [Path(p).parent.name for p in path.with_name(path.name + ".paths.txt").read_text().splitlines()]
    return x, classes


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--train", type=Path, required=True)
    p.add_argument("--test", type=Path, required=True)
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--json", action="store_true")
    a = p.parse_args()

    x, train_classes = load(a.train)
    xt, test_classes = load(a.test)
    names = sorted(set(train_classes))
    y = torch.tensor([names.index(c) for c in train_classes])
    yt = torch.tensor([names.index(c) for c in test_classes])
    ds = torch.utils.data.TensorDataset(x, y)

    accuracies = []
    for seed in range(a.seeds):
        # probe_e2e_torch.py's order of random draws: the seed, the backbone, then the head.
        torch.manual_seed(seed)
        build("efficientnet_lite0", None, seed)
        head = nn.Linear(x.shape[1], len(names))
        opt = torch.optim.Adam(head.parameters(), lr=a.lr)
        loader = torch.utils.data.DataLoader(
            ds, batch_size=a.batch_size, shuffle=True, generator=torch.Generator().manual_seed(seed)
        )
        for _ in range(a.epochs):
            for xb, yb in loader:
                loss = F.cross_entropy(head(xb), yb)
                opt.zero_grad()
                loss.backward()
                opt.step()
        with torch.no_grad():
            accuracies.append(float((head(xt).argmax(-1) == yt).float().mean()))

    summary = {
        "seeds": a.seeds,
        "accuracies": accuracies,
        "mean": statistics.mean(accuracies),
        "sd": statistics.stdev(accuracies) if len(accuracies) > 1 else 0.0,
        "min": min(accuracies),
        "max": max(accuracies),
    }
    if a.json:
        print(json.dumps(summary))
    else:
        print(" ".join(f"{100 * v:.1f}" for v in accuracies))
        print(f"mean {100 * summary['mean']:.2f} % ± {100 * summary['sd']:.2f} over {a.seeds} seeds "
              f"(min {100 * summary['min']:.1f}, max {100 * summary['max']:.1f})")


if __name__ == "__main__":
    main()
