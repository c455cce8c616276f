#!/usr/bin/env python3
"""Reference outputs of timm's and torchvision's ConvNeXt for graft's parity tests
(crates/graft-nn/tests/convnext.rs).

Tiny models (four stages of widths 16, 24, 32, 40, depths 1, 1, 2, 1) in each naming scheme
graft loads: timm's `ConvNeXt` with linear MLPs (tiny and up) and with 1x1-convolution MLPs
(`conv_mlp`, atto to nano, whose norm is then channels-first), and torchvision's `ConvNeXt`.
Every parameter is drawn at random (layer-scale gammas and norms included), so a wrong mapping
cannot hide behind the 1e-6 layer-scale initialisation. Outputs: each stage's globally
average-pooled features, the final features (pooled, then the head's LayerNorm) and the logits.

For the full-size registry models (timm's convnext_atto, convnext_nano and
convnext_tiny.in12k_ft_in1k, torchvision's convnext_tiny) the fixture holds the key names and
shapes and timm's pretrained preprocessing.

    /tmp/pyref/bin/python scripts/reference/convnext_reference.py

writes crates/graft-nn/tests/fixtures/convnext/{tiny_weights.safetensors,tiny_outputs.safetensors,
full_keys.json}. Needs torch 2.13, torchvision 0.28, timm 1.0.31, safetensors.
"""

import json
import pathlib
from functools import partial

import timm
import torch
import torchvision
from safetensors.torch import save_file
from timm.models.convnext import ConvNeXt as TimmConvNeXt
from torchvision.models.convnext import CNBlockConfig
from torchvision.models.convnext import ConvNeXt as TvConvNeXt
from random_models import keys, perturb, timm_full

OUT = pathlib.Path(__file__).resolve().parents[2] / "crates/graft-nn/tests/fixtures/convnext"
DEPTHS, DIMS, CLASSES, BATCH, SIDE = (1, 1, 2, 1), (16, 24, 32, 40), 5, 2, 64


def pooled(x: torch.Tensor) -> torch.Tensor:
    return x.mean((2, 3))


def timm_outputs(model, x):
    out = {}
    with torch.no_grad():
        h = model.stem(x)
        out["stem"] = pooled(h)
        for i, st in enumerate(model.stages):
            h = st(h)
            out[f"stages.{i}"] = pooled(h)
        out["features"] = model.forward_head(model.forward_features(x), pre_logits=True)
        out["logits"] = model(x)
    return out


def tv_outputs(model, x):
    out = {}
    with torch.no_grad():
        h = model.features[0](x)
        out["stem"] = pooled(h)
        for i in range(4):
            if i > 0:
                h = model.features[2 * i](h)
            h = model.features[2 * i + 1](h)
            out[f"stages.{i}"] = pooled(h)
        out["features"] = model.classifier[1](model.classifier[0](model.avgpool(h)))
        out["logits"] = model(x)
    return out


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    weights, outputs = {}, {}
    g = torch.Generator().manual_seed(0)
    x = torch.randn((BATCH, 3, SIDE, SIDE), generator=g)
    outputs["input"] = x
    for case, seed, conv_mlp in (("timm", 1, False), ("timm_conv_mlp", 2, True)):
        model = TimmConvNeXt(depths=DEPTHS, dims=DIMS, num_classes=CLASSES,
                             conv_mlp=conv_mlp).eval()
        perturb(model, seed)
        for k, v in model.state_dict().items():
            weights[f"{case}.{k}"] = v.contiguous()
        for k, v in timm_outputs(model, x).items():
            outputs[f"{case}.{k}"] = v
    setting = [CNBlockConfig(DIMS[i], DIMS[i + 1] if i < 3 else None, DEPTHS[i]) for i in range(4)]
    model = TvConvNeXt(setting, num_classes=CLASSES).eval()
    perturb(model, 3)
    for k, v in model.state_dict().items():
        weights[f"torchvision.{k}"] = v.contiguous()
    for k, v in tv_outputs(model, x).items():
        outputs[f"torchvision.{k}"] = v
    save_file(weights, OUT / "tiny_weights.safetensors")
    save_file({k: v.contiguous() for k, v in outputs.items()}, OUT / "tiny_outputs.safetensors")

    full = {}
    for name in ["convnext_atto", "convnext_nano", "convnext_tiny.in12k_ft_in1k"]:
        full[name] = timm_full(name)
    m = torchvision.models.convnext_tiny()
    full["convnext_tiny"] = dict(keys=keys(m.state_dict()),
                                 num_classes=1000)
    versions = dict(torch=torch.__version__, torchvision=torchvision.__version__,
                    timm=timm.__version__)
    (OUT / "full_keys.json").write_text(json.dumps(dict(full=full, versions=versions),
                                                   indent=1) + "\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
