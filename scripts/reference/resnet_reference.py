"""Reference outputs of torchvision's ResNet-18/34/50 for graft's parity test.

Weights are not committed: both this script and the Rust test
(crates/graft-nn/tests/backbones.rs) fill every tensor from the same integer hash, whose
values are exact in float32, so the two sides hold bit-identical weights and inputs. Only the
outputs are stored: per stage, the globally average-pooled features, and the logits.

    /path/to/python scripts/reference/resnet_reference.py

writes crates/graft-nn/tests/fixtures/resnet/{resnet_outputs.safetensors,resnet_keys.json}.
Needs torch, torchvision, numpy, safetensors.
"""

import json
import pathlib

import numpy as np
import torch
import torchvision
from safetensors.torch import save_file

OUT = pathlib.Path(__file__).resolve().parents[2] / "crates/graft-nn/tests/fixtures/resnet"
# (model, input side): 64 px keeps the test fast; one 224 px run covers the native size.
CASES = [("resnet18", 64), ("resnet18", 224), ("resnet34", 64), ("resnet50", 64)]
BATCH = 2
STAGES = ["stem", "layer1", "layer2", "layer3", "layer4"]


def fnv1a(name: str) -> int:
    h = 0x811C9DC5
    for b in name.encode():
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


def unit(n: int, seed: int) -> np.ndarray:
    """n values in [-0.5, 0.5), multiples of 2^-24 (exact in float32), as float64."""
    i = np.arange(n, dtype=np.uint64)
    h = (i * np.uint64(2654435761) + np.uint64(seed)) & np.uint64(0xFFFFFFFF)
    h ^= h >> np.uint64(15)
    h = (h * np.uint64(2246822519)) & np.uint64(0xFFFFFFFF)
    h ^= h >> np.uint64(13)
    return (h >> np.uint64(8)).astype(np.float64) / 2.0**24 - 0.5


def value(name: str, shape) -> np.ndarray:
    """The deterministic value of a parameter or buffer, by the role its name gives it."""
    n = int(np.prod(shape)) if len(shape) else 1
    u = unit(n, fnv1a(name))
    if name.endswith("running_mean") or name.endswith("bias"):
        v = 0.1 * u
    elif name.endswith("running_var"):
        v = 1.0 + 0.5 * (u + 0.5)
    elif len(shape) > 1:  # conv / linear weight: He-like scale, variance 2 / fan_in
        fan_in = int(np.prod(shape[1:]))
        v = u * np.sqrt(24.0 / fan_in)
    else:  # BatchNorm weight
        v = 1.0 + 0.2 * u
    return v.astype(np.float32).reshape(shape)


def filled(arch: str) -> torch.nn.Module:
    model = getattr(torchvision.models, arch)(weights=None).eval()
    sd = model.state_dict()
    for k, t in sd.items():
        if k.endswith("num_batches_tracked"):
            continue
        t.copy_(torch.from_numpy(value(k, tuple(t.shape))))
    return model


def stage_outputs(model, x):
    out = {}
    h = model.maxpool(model.relu(model.bn1(model.conv1(x))))
    out["stem"] = h
    for s in STAGES[1:]:
        h = getattr(model, s)(h)
        out[s] = h
    pooled = {s: torch.flatten(model.avgpool(h), 1) for s, h in out.items()}
    pooled["logits"] = model.fc(pooled["layer4"])
    return pooled


def main():
    torch.set_num_threads(2)
    OUT.mkdir(parents=True, exist_ok=True)
    keys = {}
    for arch in ["resnet18", "resnet34", "resnet50"]:
        sd = getattr(torchvision.models, arch)(weights=None).state_dict()
        keys[arch] = [[k, list(t.shape), str(t.dtype).replace("torch.", "")] for k, t in sd.items()]
    # One key per line: small, and diffs stay readable.
    lines = []
    for arch, entries in keys.items():
        rows = ",\n".join("    " + json.dumps(e) for e in entries)
        lines.append(f'  "{arch}": [\n{rows}\n  ]')
    (OUT / "resnet_keys.json").write_text("{\n" + ",\n".join(lines) + "\n}\n")

    tensors = {}
    with torch.no_grad():
        for arch, side in CASES:
            model = filled(arch)
            shape = (BATCH, 3, side, side)
            x = torch.from_numpy((2.0 * unit(int(np.prod(shape)), fnv1a("input"))).astype(np.float32).reshape(shape))
            for name, t in stage_outputs(model, x).items():
                tensors[f"{arch}_{side}.{name}"] = t.contiguous()
                print(f"{arch}@{side} {name}: {tuple(t.shape)} max |x| {t.abs().max().item():.4g}")
    save_file(tensors, str(OUT / "resnet_outputs.safetensors"))


if __name__ == "__main__":
    main()
