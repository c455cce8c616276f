#!/usr/bin/env python3
"""The idiomatic PyTorch training step that graft's `train_step` example times: the other side
of scripts/bench/train_step.sh.

One fixed random batch (already normalised), cross-entropy over the model's own 1000-class
head, `torch.optim.SGD(lr=0.01, momentum=0.9)`, `torch.set_num_threads(threads)`. Each
timed step is `forward, loss, zero_grad, backward, step, loss.item()`, as graft's is.

Modes:
  full  every parameter trained, BatchNorm in train mode.
  last  every stage but the last frozen: the frozen prefix runs under `torch.no_grad()` in
        eval mode and its parameters have requires_grad off; the last stage, pooling and the
        head run with autograd (BatchNorm in train mode) and are the only parameters the
        optimiser sees. ResNet-18: conv1/bn1/relu/maxpool/layer1-3 frozen, layer4 + avgpool +
        fc trained. EfficientNet-Lite0: stem and the 16 MBConv blocks frozen, the 1x1 head
        convolution (`_conv_head`, `_bn1`) + pooling + dropout + `_fc` trained.

Weights are random (seeded): the cost of a step does not depend on their values.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
import torchvision
from torch import nn

sys.dont_write_bytecode = True  # importing extract_torch must not leave __pycache__ behind
sys.path.insert(0, str(Path(__file__).resolve().parent))
from extract_torch import LITE0_BLOCKS, EfficientNetLite0, MBConv  # noqa: E402


class DropConnectMBConv(MBConv):
    """MBConv with efficientnet_pytorch's training-time drop connect on the residual branch
    (whole samples zeroed with probability `rate`, survivors scaled by 1 / (1 - rate)), which
    graft's Lite0 applies too."""

    def __init__(self, *args: int, rate: float):
        super().__init__(*args)
        self.rate = rate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.skip and self.training and self.rate > 0):
            return super().forward(x)
        y = x
        if self.has_expand:
            y = F.relu6(self._bn0(self._expand_conv(y)))
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        keep = 1.0 - self.rate
        mask = torch.floor(keep + torch.rand(y.shape[0], 1, 1, 1, dtype=y.dtype))
        return x + y / keep * mask


class TrainableLite0(EfficientNetLite0):
    """extract_torch's Lite0 with drop connect rising linearly from 0 to 0.2 over the blocks
    (`drop_connect_rate * idx / len(blocks)`), as efficientnet_pytorch trains it."""

    def __init__(self, drop_connect: float = 0.2):
        super().__init__()
        n = len(LITE0_BLOCKS)
        self._blocks = nn.ModuleList(
            DropConnectMBConv(*b, rate=drop_connect * i / n) for i, b in enumerate(LITE0_BLOCKS)
        )


class LastStageOnly(nn.Module):
    """A frozen prefix under no_grad (eval mode) followed by a trainable rest."""

    def __init__(self, prefix: nn.Module, rest: nn.Module):
        super().__init__()
        self.prefix = prefix
        self.rest = rest
        for p in self.prefix.parameters():
            p.requires_grad_(False)

    def train(self, mode: bool = True) -> "LastStageOnly":
        super().train(mode)
        self.prefix.eval()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            h = self.prefix(x)
        return self.rest(h)


class Lite0Prefix(nn.Module):
    def __init__(self, m: EfficientNetLite0):
        super().__init__()
        self._conv_stem, self._bn0, self._blocks = m._conv_stem, m._bn0, m._blocks

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for b in self._blocks:
            x = b(x)
        return x


class Lite0Rest(nn.Module):
    def __init__(self, m: EfficientNetLite0):
        super().__init__()
        self._conv_head, self._bn1, self._dropout, self._fc = m._conv_head, m._bn1, m._dropout, m._fc

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu6(self._bn1(self._conv_head(x)))
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self._fc(self._dropout(x))


def build(name: str, mode: str) -> tuple[nn.Module, str]:
    """The model to train and the name of its trainable last stage (mode `last`)."""
    if name == "resnet18":
        m = torchvision.models.resnet18(weights=None)
        if mode == "full":
            return m, ""
        prefix = nn.Sequential(m.conv1, m.bn1, m.relu, m.maxpool, m.layer1, m.layer2, m.layer3)
        rest = nn.Sequential(m.layer4, m.avgpool, nn.Flatten(1), m.fc)
        return LastStageOnly(prefix, rest), "layer4"
    if name == "efficientnet_lite0":
        m = TrainableLite0()
        if mode == "full":
            return m, ""
        return LastStageOnly(Lite0Prefix(m), Lite0Rest(m)), "head"
    sys.exit(f"train_step_torch: unknown --model {name!r} (resnet18 or efficientnet_lite0)")


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, choices=["resnet18", "efficientnet_lite0"])
    p.add_argument("--mode", default="full", choices=["full", "last"])
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    if a.steps < 1 or a.warmup < 0 or a.batch < 2 or a.size < 32 or a.threads < 1:
        p.error("need --steps >= 1, --warmup >= 0, --batch >= 2, --size >= 32, --threads >= 1")
    return a


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    model, last_stage = build(args.model, args.mode)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)
    opt = torch.optim.SGD(params, lr=0.01, momentum=0.9)

    x = torch.randn(args.batch, 3, args.size, args.size)
    y = torch.randint(1000, (args.batch,))

    step_ms = []
    loss_v = float("nan")
    cpu0 = 0.0
    for i in range(args.warmup + args.steps):
        if i == args.warmup:
            cpu0 = time.process_time()
        t0 = time.perf_counter()
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        loss_v = loss.item()
        ms = (time.perf_counter() - t0) * 1e3
        if i >= args.warmup:
            step_ms.append(ms)

    cpu_ms = (time.process_time() - cpu0) * 1e3 / args.steps
    mean = statistics.fmean(step_ms)
    print(json.dumps({
        "side": "torch",
        "model": args.model,
        "mode": args.mode,
        "trainable_stage": last_stage or None,
        "batch": args.batch,
        "size": args.size,
        "threads": args.threads,
        "warmup": args.warmup,
        "steps": args.steps,
        "ms_median": statistics.median(step_ms),
        "ms_mean": mean,
        "images_per_second": args.batch * 1e3 / mean,
        "cpu_ms_mean": cpu_ms,
        "step_ms": step_ms,
        "trainable_params": sum(p.numel() for p in params),
        "frozen_params": frozen,
        "last_loss": loss_v,
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
    }))


if __name__ == "__main__":
    main()
