#!/usr/bin/env python3
"""The idiomatic PyTorch way to do what `graft extract` does: the other side of the benchmark.

torchvision `ImageFolder` + `DataLoader(batch_size, num_workers, shuffle=False)` with PIL
decoding, `Resize(256)` (bilinear, antialiased) + `CenterCrop(224)` + `ToTensor` +
`Normalize`, `torch.set_num_threads(threads)`, `model.eval()` under `torch.inference_mode()`,
pooled features out. On a GPU (`--device cuda`) the usual additions: the model on the device,
pinned host batches copied asynchronously, cuDNN's autotuner, and `--precision bf16|fp16` as
`torch.autocast`.

Timing matches graft's `seconds`: the clock starts before the model is built and stops
after the features are written, so both sides pay for model construction, weight loading,
listing the folder, decoding, the forward passes and the output file. Interpreter start-up
and `import torch` are outside the clock, as process start-up and library loading are for
graft.

Models:
  resnet18            torchvision, `fc` replaced by Identity -> 512-d. Random init from
                      --seed unless --weights (a safetensors file with torchvision names).
  efficientnet_lite0  a plain-PyTorch EfficientNet-Lite0 (defined below, lukemelas
                      efficientnet_pytorch key names) -> 1280-d, with the TF Lite
                      preprocessing (x - 127) / 128.
  vit_* / convnext_*  timm's model of that name (`num_classes=0`: the pooled pre-logits
                      features), with timm's preprocessing for it (`resolve_data_config` +
                      `create_transform`: e.g. resize 248 bicubic, crop 224, mean/std 0.5 for
                      vit_small_patch16_224; 518 px for the DINOv2 models).

`--save-weights FILE` writes the (seeded) model's state dict as safetensors and exits, so
graft can be given exactly the same weights for a feature parity check.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from safetensors.torch import load_file, save_file
from torch import nn
from torchvision import datasets, transforms

LITE0_WEIGHTS = (
    Path(os.environ.get("GRAFT_SHARED_DATA", os.environ.get("GRAFT_DATA", str(Path(__file__).resolve().parents[3] / "shared" / "data"))))
    / "efficientnet_lite0"
    / "efficientnet_lite0.safetensors"
)


# --- EfficientNet-Lite0 ------------------------------------------------------------------


class Conv2dSame(nn.Conv2d):
    """Conv2d with TensorFlow "SAME" padding: total padding from the input size, the odd
    pixel going to the right/bottom (asymmetric), as the TF checkpoint was trained with."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ih, iw = x.shape[-2:]
        kh, kw = self.weight.shape[-2:]
        sh, sw = self.stride
        ph = max((math.ceil(ih / sh) - 1) * sh + kh - ih, 0)
        pw = max((math.ceil(iw / sw) - 1) * sw + kw - iw, 0)
        if ph or pw:
            x = F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2])
        return super().forward(x)


def bn(c: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c, eps=1e-3, momentum=0.01)


class MBConv(nn.Module):
    """Inverted residual without squeeze-excitation (the Lite variant), ReLU6."""

    def __init__(self, k: int, s: int, expand: int, cin: int, cout: int):
        super().__init__()
        mid = cin * expand
        self.has_expand = expand != 1
        if self.has_expand:
            self._expand_conv = Conv2dSame(cin, mid, 1, bias=False)
            self._bn0 = bn(mid)
        self._depthwise_conv = Conv2dSame(mid, mid, k, stride=s, groups=mid, bias=False)
        self._bn1 = bn(mid)
        self._project_conv = Conv2dSame(mid, cout, 1, bias=False)
        self._bn2 = bn(cout)
        self.skip = s == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        if self.has_expand:
            y = F.relu6(self._bn0(self._expand_conv(y)))
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return x + y if self.skip else y


# (kernel, stride, expand, in, out) for the 16 blocks of Lite0.
LITE0_BLOCKS = (
    [(3, 1, 1, 32, 16), (3, 2, 6, 16, 24), (3, 1, 6, 24, 24), (5, 2, 6, 24, 40), (5, 1, 6, 40, 40),
     (3, 2, 6, 40, 80)] + [(3, 1, 6, 80, 80)] * 2 + [(5, 1, 6, 80, 112)] + [(5, 1, 6, 112, 112)] * 2
    + [(5, 2, 6, 112, 192)] + [(5, 1, 6, 192, 192)] * 3 + [(3, 1, 6, 192, 320)]
)


class EfficientNetLite0(nn.Module):
    def __init__(self, num_classes: int = 1000):
        super().__init__()
        self._conv_stem = Conv2dSame(3, 32, 3, stride=2, bias=False)
        self._bn0 = bn(32)
        self._blocks = nn.ModuleList(MBConv(*b) for b in LITE0_BLOCKS)
        self._conv_head = Conv2dSame(320, 1280, 1, bias=False)
        self._bn1 = bn(1280)
        self._dropout = nn.Dropout(0.2)
        self._fc = nn.Linear(1280, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for b in self._blocks:
            x = b(x)
        x = F.relu6(self._bn1(self._conv_head(x)))
        return F.adaptive_avg_pool2d(x, 1).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._fc(self._dropout(self.forward_features(x)))


class Features(nn.Module):
    """Wraps a model so that calling it gives the pooled features."""

    def __init__(self, model: EfficientNetLite0):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.forward_features(x)


# --- building and loading ----------------------------------------------------------------


def load_strict(model: nn.Module, path: Path) -> None:
    """Every tensor in the file must fill a parameter or buffer and vice versa; only
    BatchNorm's `num_batches_tracked` counters (not stored in the files) may be absent."""
    sd = load_file(str(path))
    missing, unexpected = model.load_state_dict(sd, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        sys.exit(f"extract_torch: {path}: missing keys {missing[:8]}, unexpected keys {unexpected[:8]}")


def build(name: str, weights: Path | None, seed: int) -> tuple[nn.Module, transforms.Normalize]:
    if name == "resnet18":
        torch.manual_seed(seed)
        model = torchvision.models.resnet18(weights=None)
        if weights is not None:
            load_strict(model, weights)
        model.fc = nn.Identity()
        norm = transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])
        return model, norm
    if name == "efficientnet_lite0":
        model = EfficientNetLite0()
        load_strict(model, weights or LITE0_WEIGHTS)
        # ToTensor gives p/255; (p - 127)/128 == (p/255 - 127/255) / (128/255).
        norm = transforms.Normalize(mean=[127 / 255] * 3, std=[128 / 255] * 3)
        return Features(model), norm
    sys.exit(f"extract_torch: unknown --model {name!r} (resnet18 or efficientnet_lite0)")


def is_timm(name: str) -> bool:
    return name.startswith(("vit_", "convnext_"))


def build_timm(name: str, weights: Path | None, seed: int):
    """timm's model without its classifier and timm's whole eval transform for it."""
    import timm

    torch.manual_seed(seed)
    model = timm.create_model(name, pretrained=False, num_classes=0)
    if weights is not None:
        load_strict(model, weights)
    cfg = timm.data.resolve_data_config({}, model=model)
    return model, timm.data.create_transform(**cfg)


def save_weights(name: str, seed: int, path: Path) -> None:
    torch.manual_seed(seed)
    if name == "resnet18":
        model = torchvision.models.resnet18(weights=None)
    elif is_timm(name):
        model, _ = build_timm(name, None, seed)
    else:
        model = EfficientNetLite0()
    sd = {k: v.contiguous() for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    save_file(sd, str(tmp))
    tmp.rename(path)
    print(json.dumps({"saved": str(path), "model": name, "seed": seed, "tensors": len(sd)}))


# --- main --------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True,
                   help="resnet18, efficientnet_lite0, or a timm vit_* / convnext_* name")
    p.add_argument("--weights", type=Path, help="safetensors with the model's usual key names")
    p.add_argument("--data", type=Path, help="ImageFolder root")
    p.add_argument("--out", type=Path, help="write the n x d features here (.npy) and the image "
                   "paths, in the same order, to OUT.paths.txt")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--workers", type=int, default=2, help="DataLoader worker processes")
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    p.add_argument("--seed", type=int, default=0, help="random init of resnet18 without --weights")
    p.add_argument("--save-weights", type=Path, metavar="FILE",
                   help="write the seeded, randomly initialised model as safetensors and exit")
    p.add_argument("--device", default="cpu", help="cpu or cuda[:i]")
    p.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "fp16"],
                   help="torch.autocast dtype of the forward passes")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    return p.parse_args()


AUTOCAST = {"bf16": torch.bfloat16, "fp16": torch.float16}


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    if args.save_weights:
        save_weights(args.model, args.seed, args.save_weights)
        return
    if args.data is None:
        sys.exit("extract_torch: --data is required")
    if not args.data.is_dir():
        sys.exit(f"extract_torch: --data {args.data} is not a folder")

    device = torch.device(args.device)
    cuda = device.type == "cuda"
    torch.backends.cudnn.benchmark = True
    t0 = time.perf_counter()
    if is_timm(args.model):
        model, tf = build_timm(args.model, args.weights, args.seed)
    else:
        model, norm = build(args.model, args.weights, args.seed)
        tf = transforms.Compose([
            transforms.Resize(256, interpolation=transforms.InterpolationMode.BILINEAR, antialias=True),
            transforms.CenterCrop(224),
            transforms.ToTensor(),
            norm,
        ])
    model.eval().to(device)
    ds = datasets.ImageFolder(str(args.data), transform=tf)
    loader = torch.utils.data.DataLoader(
        ds, batch_size=args.batch_size, num_workers=args.workers, shuffle=False, pin_memory=cuda
    )
    feats = []
    half = AUTOCAST.get(args.precision)
    with torch.inference_mode(), torch.autocast(device.type, dtype=half or torch.float32, enabled=half is not None):
        for x, _ in loader:
            feats.append(model(x.to(device, non_blocking=True)).float())
    features = torch.cat(feats).cpu().numpy()
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        np.save(args.out, features)
        args.out.with_name(args.out.name + ".paths.txt").write_text(
            "".join(p + "\n" for p, _ in ds.samples)
        )
    secs = time.perf_counter() - t0

    n, d = features.shape
    summary = {
        "command": "extract_torch",
        "model": args.model,
        "n": n,
        "d": d,
        "seconds": secs,
        "images_per_second": n / secs,
        "threads": args.threads,
        "workers": args.workers,
        "batch_size": args.batch_size,
        "device": args.device,
        "precision": args.precision,
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
    }
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"extracted {n} x {d} features ({args.model}) in {secs:.1f} s ({n / secs:.1f} images/s)")


if __name__ == "__main__":
    main()
