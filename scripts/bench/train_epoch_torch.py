#!/usr/bin/env python3
"""The idiomatic PyTorch fine-tuning epoch that `graft finetune --epochs 1` runs: the other side
of scripts/bench/train_epoch.sh.

What graft does with its defaults, done the usual PyTorch way:

* Data: torchvision `ImageFolder` + `DataLoader(shuffle=True, num_workers=W)`, PIL decoding in
  the worker processes. graft decodes each image once to its storage size (shorter side 256,
  bilinear antialiased, centre crop 256 x 256) and augments that copy on every step; here the
  same two transforms come first, then the standard augmentation graft applies to the stored
  copy: `RandomResizedCrop(224, scale=(0.08, 1), ratio=(3/4, 4/3))` (bilinear), a horizontal
  flip with probability 0.5 and `ColorJitter(0.1, 0.1, 0.1)` (brightness, contrast,
  saturation), then the model's normalisation (ImageNet mean/std for ResNet-18, (p - 127) /
  128 for Lite0). For one epoch both sides decode every image exactly once.
* Batches: shuffled, a last batch of one sample dropped (BatchNorm cannot train on one), as
  graft's `batching` does.
* Model: the pre-trained backbone with a new head sized to the folder's classes; every
  parameter trained, BatchNorm in train mode. ResNet-18 is extract_torch's `build` (torchvision
  names, strict load); Lite0 is train_step_torch's `TrainableLite0` (dropout 0.2 before `_fc`,
  drop connect rising to 0.2 over the blocks, as graft trains it).
* Optimiser: `torch.optim.SGD(lr, momentum 0.9, weight_decay 5e-4)` with weight decay on
  tensors of two or more dimensions only (graft leaves norms and biases undecayed), and a
  per-step cosine schedule from lr down to 0 over the run (graft's default `--schedule
  cosine`), no warm-up, no label smoothing, no gradient clipping.
* Files: after each epoch a checkpoint (model + optimiser state) and a metrics line; at the
  end the model as safetensors; graft writes the same three.
* No validation or test pass: graft runs none without --val, --val-fraction or --test.

The clock (`seconds`) starts after `import torch` and stops after the model file is written,
as graft's `seconds` covers its run from before the data is read to its summary.
`--precision bf16` runs forward and loss under `torch.autocast(device, dtype=torch.bfloat16)`;
`--precision fp16` under float16 autocast with `torch.amp.GradScaler`, as graft's fp16 runs with
its loss scale. On a GPU (`--device cuda`): model on the device, pinned batches copied
asynchronously, cuDNN's autotuner.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
import torchvision
from safetensors.torch import save_file
from torch import nn
from torchvision import datasets, transforms

sys.dont_write_bytecode = True  # importing the sibling scripts must not leave __pycache__ behind
sys.path.insert(0, str(Path(__file__).resolve().parent))
from extract_torch import LITE0_WEIGHTS, build, load_strict  # noqa: E402
from train_step_torch import TrainableLite0  # noqa: E402

IMAGENET = transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])
LITE0 = transforms.Normalize(mean=[127 / 255] * 3, std=[128 / 255] * 3)


def model_for(name: str, weights: Path | None, classes: int, seed: int) -> tuple[nn.Module, transforms.Normalize]:
    """The pre-trained backbone with a new `classes`-way head."""
    if name == "resnet18":
        model, norm = build(name, weights, seed)
        model.fc = nn.Linear(512, classes)
        return model, norm
    if name == "efficientnet_lite0":
        model = TrainableLite0()
        load_strict(model, weights or LITE0_WEIGHTS)
        model._fc = nn.Linear(1280, classes)
        return model, LITE0
    sys.exit(f"train_epoch_torch: unknown --model {name!r} (resnet18 or efficientnet_lite0)")


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, choices=["resnet18", "efficientnet_lite0"])
    p.add_argument("--weights", type=Path, help="safetensors with the model's usual key names")
    p.add_argument("--data", type=Path, required=True, help="ImageFolder root")
    p.add_argument("--out", type=Path, required=True, help="run folder (checkpoint, metrics, model)")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--workers", type=int, default=2, help="DataLoader worker processes")
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    p.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "fp16"])
    p.add_argument("--device", default="cpu", help="cpu or cuda[:i]")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    a = p.parse_args()
    if a.epochs < 1 or a.batch_size < 2 or a.threads < 1 or a.workers < 0:
        p.error("need --epochs >= 1, --batch-size >= 2, --threads >= 1, --workers >= 0")
    if not a.data.is_dir():
        p.error(f"--data {a.data} is not a folder")
    return a


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.backends.cudnn.benchmark = True
    t0 = time.perf_counter()
    torch.manual_seed(args.seed)

    bilinear = transforms.InterpolationMode.BILINEAR
    ds = datasets.ImageFolder(str(args.data))
    model, norm = model_for(args.model, args.weights, len(ds.classes), args.seed)
    model.to(device)
    ds.transform = transforms.Compose([
        transforms.Resize(256, interpolation=bilinear, antialias=True),
        transforms.CenterCrop(256),
        transforms.RandomResizedCrop(224, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3), interpolation=bilinear),
        transforms.RandomHorizontalFlip(),
        transforms.ColorJitter(brightness=0.1, contrast=0.1, saturation=0.1),
        transforms.ToTensor(),
        norm,
    ])
    n, bs = len(ds), min(args.batch_size, len(ds))
    loader = torch.utils.data.DataLoader(
        ds, batch_size=bs, shuffle=True, num_workers=args.workers, drop_last=n % bs == 1,
        generator=torch.Generator().manual_seed(args.seed), pin_memory=device.type == "cuda",
    )
    steps = len(loader)
    total = steps * args.epochs

    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.SGD(
        [{"params": [p for p in params if p.ndim > 1], "weight_decay": args.weight_decay},
         {"params": [p for p in params if p.ndim <= 1], "weight_decay": 0.0}],
        lr=args.lr, momentum=args.momentum,
    )
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s / total, 1.0))))
    half = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(args.precision)
    scaler = torch.amp.GradScaler(device.type, enabled=args.precision == "fp16")

    args.out.mkdir(parents=True, exist_ok=True)
    history = []
    for epoch in range(args.epochs):
        started = time.perf_counter()
        model.train()
        loss_sum, correct, seen, lr = 0.0, 0, 0, args.lr
        for x, y in loader:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            with torch.autocast(device.type, dtype=half or torch.float32, enabled=half is not None):
                logits = model(x)
                loss = F.cross_entropy(logits.float(), y)
            opt.zero_grad()
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            lr = sched.get_last_lr()[0]  # the rate this update used, as graft's metrics record
            sched.step()
            loss_sum += loss.item() * len(y)
            correct += int((logits.argmax(-1) == y).sum())
            seen += len(y)
        record = {"epoch": epoch + 1, "train_loss": loss_sum / max(seen, 1),
                  "train_accuracy": correct / max(seen, 1), "lr": lr,
                  "seconds": time.perf_counter() - started}
        history.append(record)
        torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                    "scheduler": sched.state_dict(), "epoch": epoch + 1}, args.out / "checkpoint.pt")
        (args.out / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in history))
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(args.out / "model.safetensors"))
    secs = time.perf_counter() - t0

    summary = {
        "command": "train_epoch_torch",
        "model": args.model,
        "train_samples": n,
        "trained_per_epoch": seen,
        "classes": ds.classes,
        "epochs_run": args.epochs,
        "steps_per_epoch": steps,
        "train_loss": history[-1]["train_loss"],
        "train_accuracy": history[-1]["train_accuracy"],
        "seconds": secs,
        "images_per_second": n * args.epochs / secs,
        "batch_size": bs,
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
        print(f"{args.model}: {args.epochs} epoch(s) over {n} images in {secs:.1f} s "
              f"({n * args.epochs / secs:.1f} images/s), final loss {history[-1]['train_loss']:.4f}")


if __name__ == "__main__":
    main()
