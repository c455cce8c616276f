#!/usr/bin/env python3
"""The usual PyTorch linear probe, end to end: the other side of scripts/bench/probe_e2e.sh.

A frozen EfficientNet-Lite0 (extract_torch's `build`: the shared weights, strict load, eval
mode, run under `torch.no_grad()`) feeds its pooled 1280-d features to a new `nn.Linear(1280,
classes)`, trained with `torch.optim.Adam(lr 1e-3)` and cross-entropy for --epochs epochs over a
shuffled `DataLoader(batch 32, num_workers W)` that decodes every image again each epoch (PIL,
as `ImageFolder` loads them: converted to RGB), then tested once. Preprocessing is graft's for
Lite0 (extract_torch's): shorter side 256 (bilinear, antialiased), centre crop 224,
(p - 127) / 128; no augmentation, as the features are meant to be the frozen backbone's.

The clock (`seconds`) starts after `import torch` and stops once the test accuracy is known:
model build and weight load, listing both folders, all decoding, the epochs and the test pass.
`--precision bf16|fp16` runs the backbone under `torch.autocast(device, dtype)`; the head trains
in fp32. On a GPU (`--device cuda`): backbone and head on the device, pinned batches copied
asynchronously, cuDNN's autotuner.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
import torchvision
from torch import nn
from torchvision import datasets, transforms

sys.dont_write_bytecode = True  # importing extract_torch must not leave __pycache__ behind
sys.path.insert(0, str(Path(__file__).resolve().parent))
from extract_torch import build  # noqa: E402


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--weights", type=Path, help="Lite0 safetensors (default: the shared file)")
    p.add_argument("--data", type=Path, required=True, help="training ImageFolder")
    p.add_argument("--test", type=Path, required=True, help="test ImageFolder (same classes)")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    p.add_argument("--workers", type=int, default=2, help="DataLoader worker processes")
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    p.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "fp16"])
    p.add_argument("--device", default="cpu", help="cpu or cuda[:i]")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    a = p.parse_args()
    if a.epochs < 1 or a.batch_size < 1 or a.threads < 1 or a.workers < 0:
        p.error("need --epochs >= 1, --batch-size >= 1, --threads >= 1, --workers >= 0")
    for d in (a.data, a.test):
        if not d.is_dir():
            p.error(f"{d} is not a folder")
    return a


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    torch.backends.cudnn.benchmark = True
    t0 = time.perf_counter()
    torch.manual_seed(args.seed)

    backbone, norm = build("efficientnet_lite0", args.weights, args.seed)
    backbone.eval().to(device)
    for p in backbone.parameters():
        p.requires_grad_(False)
    tf = transforms.Compose([
        transforms.Resize(256, interpolation=transforms.InterpolationMode.BILINEAR, antialias=True),
        transforms.CenterCrop(224),
        transforms.ToTensor(),
        norm,
    ])
    train = datasets.ImageFolder(str(args.data), transform=tf)
    test = datasets.ImageFolder(str(args.test), transform=tf)
    if test.classes != train.classes:
        sys.exit(f"probe_e2e_torch: test classes {test.classes} differ from training classes {train.classes}")
    loader = torch.utils.data.DataLoader(
        train, batch_size=args.batch_size, shuffle=True, num_workers=args.workers,
        generator=torch.Generator().manual_seed(args.seed), pin_memory=cuda,
    )
    test_loader = torch.utils.data.DataLoader(test, batch_size=args.batch_size, num_workers=args.workers,
                                              pin_memory=cuda)
    head = nn.Linear(1280, len(train.classes)).to(device)
    opt = torch.optim.Adam(head.parameters(), lr=args.lr)
    half = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(args.precision)

    def features(x: torch.Tensor) -> torch.Tensor:
        x = x.to(device, non_blocking=True)
        with torch.no_grad(), torch.autocast(device.type, dtype=half or torch.float32, enabled=half is not None):
            return backbone(x).float()

    epoch_loss = []
    for _ in range(args.epochs):
        head.train()
        loss_sum, seen = 0.0, 0
        for x, y in loader:
            loss = F.cross_entropy(head(features(x)), y.to(device, non_blocking=True))
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(y)
            seen += len(y)
        epoch_loss.append(loss_sum / max(seen, 1))

    head.eval()
    correct = 0
    with torch.no_grad():
        for x, y in test_loader:
            correct += int((head(features(x)).argmax(-1).cpu() == y).sum())
    accuracy = correct / len(test)
    secs = time.perf_counter() - t0

    summary = {
        "command": "probe_e2e_torch",
        "model": "efficientnet_lite0",
        "n_train": len(train),
        "n_test": len(test),
        "classes": train.classes,
        "epochs": args.epochs,
        "optimizer": f"Adam lr {args.lr}",
        "batch_size": args.batch_size,
        "train_loss_per_epoch": epoch_loss,
        "accuracy": accuracy,
        "seconds": secs,
        "threads": args.threads,
        "workers": args.workers,
        "precision": args.precision,
        "device": args.device,
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
    }
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"linear probe, {args.epochs} epochs over {len(train)} images: test accuracy "
              f"{100 * accuracy:.2f}% on {len(test)} in {secs:.1f} s")


if __name__ == "__main__":
    main()
